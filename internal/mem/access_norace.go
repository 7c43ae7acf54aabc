//go:build !race && !keyfish_atomicmem

package mem

import "unsafe"

// Load8 returns the byte at off.
func (p *Page) Load8(off uint64) uint8 { return *(*uint8)(p.ptr(off)) }

// Load16 returns the little-endian halfword at off, which must be 2-aligned.
func (p *Page) Load16(off uint64) uint16 { return *(*uint16)(p.ptr(off)) }

// Load32 returns the little-endian word at off, which must be 4-aligned.
func (p *Page) Load32(off uint64) uint32 { return *(*uint32)(p.ptr(off)) }

// Load64 returns the little-endian doubleword at off, which must be 8-aligned.
func (p *Page) Load64(off uint64) uint64 { return *(*uint64)(p.ptr(off)) }

// Store8 stores v at off.
func (p *Page) Store8(off uint64, v uint8) { *(*uint8)(p.ptr(off)) = v }

// Store16 stores v at off, which must be 2-aligned.
func (p *Page) Store16(off uint64, v uint16) { *(*uint16)(p.ptr(off)) = v }

// Store32 stores v at off, which must be 4-aligned.
func (p *Page) Store32(off uint64, v uint32) { *(*uint32)(p.ptr(off)) = v }

// Store64 stores v at off, which must be 8-aligned.
func (p *Page) Store64(off uint64, v uint64) { *(*uint64)(p.ptr(off)) = v }

// Read copies page bytes starting at off into dst and returns the count
// copied (bounded by the end of the page).
func (p *Page) Read(off uint64, dst []byte) int {
	return copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(p)), PageSize)[off&PageMask:])
}

// Write copies src into the page starting at off and returns the count
// copied (bounded by the end of the page).
func (p *Page) Write(off uint64, src []byte) int {
	return copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), PageSize)[off&PageMask:], src)
}

// Zero clears the page.
func (p *Page) Zero() { *p = Page{} }
