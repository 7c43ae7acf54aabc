// Package conbuf is a console buffer that may be read while a machine's
// cores write to it.
//
// The kernel serializes its writes to Config.Console, but a test or a
// benchmark that reads what was written while the machine runs needs a
// buffer whose reads and writes are serialized too.
package conbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String.
type Buffer struct {
	mu sync.Mutex   // guards b
	b  bytes.Buffer // what was written
}

// Write appends p.
func (c *Buffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}

// String returns everything written so far.
func (c *Buffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// Reset discards everything written so far.
func (c *Buffer) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Reset()
}
