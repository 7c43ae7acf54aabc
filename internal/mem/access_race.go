//go:build race || keyfish_atomicmem

package mem

import "sync/atomic"

// In race builds every access is a sync/atomic access to the aligned 32-bit
// word holding the bytes, so guest-level races (which are legal, as on real
// hardware) are not reported, while races on the kernel's own data still are.
// The build tag keyfish_atomicmem selects these accesses without the race
// detector, to measure what they cost (BENCHMARKS.md).

func (p *Page) word(off uint64) *uint32 { return (*uint32)(p.ptr(off &^ 3)) }

// Load8 returns the byte at off.
func (p *Page) Load8(off uint64) uint8 {
	return uint8(atomic.LoadUint32(p.word(off)) >> ((off & 3) * 8))
}

// Load16 returns the little-endian halfword at off, which must be 2-aligned.
func (p *Page) Load16(off uint64) uint16 {
	return uint16(atomic.LoadUint32(p.word(off)) >> ((off & 2) * 8))
}

// Load32 returns the little-endian word at off, which must be 4-aligned.
func (p *Page) Load32(off uint64) uint32 { return atomic.LoadUint32(p.word(off)) }

// Load64 returns the little-endian doubleword at off, which must be 8-aligned.
func (p *Page) Load64(off uint64) uint64 {
	return atomic.LoadUint64((*uint64)(p.ptr(off &^ 7)))
}

func (p *Page) storeMasked(off uint64, v, mask uint32) {
	w := p.word(off)
	sh := (off & 3) * 8
	for {
		old := atomic.LoadUint32(w)
		nw := old&^(mask<<sh) | (v&mask)<<sh
		if atomic.CompareAndSwapUint32(w, old, nw) {
			return
		}
	}
}

// Store8 stores v at off.
func (p *Page) Store8(off uint64, v uint8) { p.storeMasked(off, uint32(v), 0xff) }

// Store16 stores v at off, which must be 2-aligned.
func (p *Page) Store16(off uint64, v uint16) { p.storeMasked(off&^1, uint32(v), 0xffff) }

// Store32 stores v at off, which must be 4-aligned.
func (p *Page) Store32(off uint64, v uint32) { atomic.StoreUint32(p.word(off), v) }

// Store64 stores v at off, which must be 8-aligned.
func (p *Page) Store64(off uint64, v uint64) {
	atomic.StoreUint64((*uint64)(p.ptr(off&^7)), v)
}

// Read copies page bytes starting at off into dst and returns the count
// copied (bounded by the end of the page).
func (p *Page) Read(off uint64, dst []byte) int {
	off &= PageMask
	n := min(len(dst), PageSize-int(off))
	for i := 0; i < n; i++ {
		dst[i] = p.Load8(off + uint64(i))
	}
	return n
}

// Write copies src into the page starting at off and returns the count
// copied (bounded by the end of the page).
func (p *Page) Write(off uint64, src []byte) int {
	off &= PageMask
	n := min(len(src), PageSize-int(off))
	for i := 0; i < n; i++ {
		p.Store8(off+uint64(i), src[i])
	}
	return n
}

// Zero clears the page.
func (p *Page) Zero() {
	for i := range p {
		atomic.StoreUint64(&p[i], 0)
	}
}
