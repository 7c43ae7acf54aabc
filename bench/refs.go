package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"time"
)

// The references. Each returns nanoseconds per operation over n
// operations.

// channelRT is a Go channel round trip: two goroutines bouncing a value
// over two unbuffered channels.
func channelRT(n int) (float64, error) {
	a, b := make(chan int), make(chan int)
	go func() {
		for v := range a {
			b <- v
		}
	}()
	t0 := time.Now()
	for i := range n {
		a <- i
		<-b
	}
	d := time.Since(t0)
	close(a)
	return float64(d.Nanoseconds()) / float64(n), nil
}

// cacheLine is a variable alone on its cache line.
type cacheLine struct {
	_ [64]byte
	v atomic.Int64
	_ [64]byte
}

// bounceRT is two threads (locked to their OS threads) bouncing one cache
// line: each waits, spinning, for the other's write and answers with its
// own. A round trip is two cross-core transfers of the line: the physical
// floor for a cross-core message and its reply.
//
// A floor is what the hardware does when both threads have a core of their
// own. On a shared machine they often do not (the scheduler may put both
// on one CPU, and then every transfer waits for a context switch), so the
// round trips run in batches of 100 in up to eight attempts, each with a
// fresh partner thread, and the result is the fastest batch's mean. n
// bounds the round trips, and a quarter of a second the time.
func bounceRT(n int) (float64, error) { return lineRT(n, false) }

// ringRT is bounceRT with the request and the reply on two cache lines,
// each written by one thread only: the floor for a queue whose replies
// travel apart from its requests, as a message in a sender's outbox or a
// slot of a ring of messages does (BENCHMARKS.md, "Session 21"). A
// message bigger than a line adds the transfers of its other lines.
func ringRT(n int) (float64, error) { return lineRT(n, true) }

// lineRT is bounceRT, on two lines if two.
func lineRT(n int, two bool) (float64, error) {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0, errors.New("needs GOMAXPROCS ≥ 2")
	}
	const batch, attempts = 100, 8
	const budget = 250 * time.Millisecond
	best := time.Duration(1 << 62)
	per := max(n/batch/attempts, 1)
	for range attempts {
		best = min(best, bounceAttempt(per, batch, time.Now().Add(budget/attempts), two))
	}
	return float64(best.Nanoseconds()) / batch, nil
}

// bounceAttempt runs batches batches of size round trips with a new
// partner thread, or as many as it can by deadline (at least one), and
// returns the fastest batch's time. The partner answers on the request's
// line, or on a line of its own if two.
func bounceAttempt(batches, size int, deadline time.Time, two bool) time.Duration {
	line, reply := new(cacheLine), new(cacheLine)
	if !two {
		reply = line
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		for i := int64(1); ; i += 2 {
			if !spinUntilOr(&line.v, i, &stop) {
				return
			}
			reply.v.Store(i + 1)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(1 << 62)
	v := int64(1)
	for b := 0; b < batches && (b == 0 || time.Now().Before(deadline)); b++ {
		t0 := time.Now()
		for range size {
			line.v.Store(v)
			spinUntilOr(&reply.v, v+1, nil)
			v += 2
		}
		best = min(best, time.Since(t0))
	}
	stop.Store(true)
	<-done
	return best
}

// spinUntilOr spins until v holds want (true) or stop is set (false),
// yielding now and then so that a descheduled partner can run on a busy
// machine.
func spinUntilOr(v *atomic.Int64, want int64, stop *atomic.Bool) bool {
	for spins := 0; v.Load() != want; spins++ {
		if spins&(1<<12-1) == 1<<12-1 {
			if stop != nil && stop.Load() {
				return false
			}
			runtime.Gosched()
		}
	}
	return true
}

// goPageAlloc is allocating a zeroed 4 KiB page on the Go heap and keeping
// it: what the kernel's page purchase does underneath.
func goPageAlloc(n int) (float64, error) {
	keep := make([][]byte, 0, n)
	t0 := time.Now()
	for range n {
		keep = append(keep, make([]byte, 4096))
	}
	d := time.Since(t0)
	runtime.KeepAlive(keep)
	return float64(d.Nanoseconds()) / float64(n), nil
}

// qemuPath finds qemu-riscv64, or says why not.
func (e *env) qemuPath() (string, error) {
	switch e.opts.QEMU {
	case "-":
		return "", errors.New("disabled")
	case "":
		p, err := exec.LookPath("qemu-riscv64")
		if err != nil {
			return "", errors.New("qemu-riscv64 not found in PATH")
		}
		return p, nil
	}
	if _, err := os.Stat(e.opts.QEMU); err != nil {
		return "", err
	}
	return e.opts.QEMU, nil
}

// qemuRun runs the ELF file at path under qemu and returns the wall time
// and its standard output.
func qemuRun(qemu, path string, args ...string) (time.Duration, []byte, error) {
	cmd := exec.Command(qemu, append([]string{path}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %v: %s", qemu, err, errOut.Bytes())
	}
	return d, out.Bytes(), nil
}
