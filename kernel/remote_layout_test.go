package kernel

import (
	"testing"
	"unsafe"
)

// TestOutboxFirstLine checks the outbox layout that a message without a
// string or keys relies on: everything it needs, on the outbox's first
// cache line, and the outbox on a line of its own in the domain.
func TestOutboxFirstLine(t *testing.T) {
	var o outbox
	fields := []struct {
		name      string
		off, size uintptr
	}{
		{"inext", unsafe.Offsetof(o.inext), unsafe.Sizeof(o.inext)},
		{"key", unsafe.Offsetof(o.key), unsafe.Sizeof(o.key)},
		{"order", unsafe.Offsetof(o.order), unsafe.Sizeof(o.order)},
		{"gen", unsafe.Offsetof(o.gen), unsafe.Sizeof(o.gen)},
		{"n", unsafe.Offsetof(o.n), unsafe.Sizeof(o.n)},
		{"kind", unsafe.Offsetof(o.kind), unsafe.Sizeof(o.kind)},
		{"typ", unsafe.Offsetof(o.typ), unsafe.Sizeof(o.typ)},
		{"keyMask", unsafe.Offsetof(o.keyMask), unsafe.Sizeof(o.keyMask)},
		{"resume", unsafe.Offsetof(o.resume), unsafe.Sizeof(o.resume)},
		{"nrel", unsafe.Offsetof(o.nrel), unsafe.Sizeof(o.nrel)},
		{"stopOnReturn", unsafe.Offsetof(o.stopOnReturn), unsafe.Sizeof(o.stopOnReturn)},
		{"rel[0]", unsafe.Offsetof(o.rel), unsafe.Sizeof(o.rel[0])},
	}
	for _, f := range fields {
		if f.off+f.size > 64 {
			t.Errorf("outbox.%s ends at byte %d, past the first cache line", f.name, f.off+f.size)
		}
	}
	var d Domain
	if off := unsafe.Offsetof(d.out); off%64 != 0 {
		t.Errorf("Domain.out at byte %d, not on a cache line of its own", off)
	}
	if sz := unsafe.Sizeof(d); sz < 1024 {
		t.Errorf("a Domain is %d bytes: at that size the allocator may not place it on a cache line", sz)
	}
}
