package mem

import "sync/atomic"

// The RISC-V A extension is atomic across cores: these operate on aligned
// words of the page with sync/atomic in every build.

// Addr32 returns a pointer to the aligned 32-bit word at off for sync/atomic.
func (p *Page) Addr32(off uint64) *uint32 { return (*uint32)(p.ptr(off &^ 3)) }

// Addr64 returns a pointer to the aligned 64-bit word at off for sync/atomic.
func (p *Page) Addr64(off uint64) *uint64 { return (*uint64)(p.ptr(off &^ 7)) }

// CAS32 atomically replaces the word at off with nw if it holds old.
func (p *Page) CAS32(off uint64, old, nw uint32) bool {
	return atomic.CompareAndSwapUint32(p.Addr32(off), old, nw)
}

// CAS64 atomically replaces the doubleword at off with nw if it holds old.
func (p *Page) CAS64(off uint64, old, nw uint64) bool {
	return atomic.CompareAndSwapUint64(p.Addr64(off), old, nw)
}

// AtomicLoad32 loads the word at off atomically.
func (p *Page) AtomicLoad32(off uint64) uint32 { return atomic.LoadUint32(p.Addr32(off)) }

// AtomicLoad64 loads the doubleword at off atomically.
func (p *Page) AtomicLoad64(off uint64) uint64 { return atomic.LoadUint64(p.Addr64(off)) }
