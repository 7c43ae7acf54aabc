// Package mem is guest-visible memory: the 4096-byte page frame that the
// kernel's page objects own and that CPU simulators read and write.
//
// Page bytes are memory shared between cores, as on real hardware: guest loads
// and stores from different cores race exactly as they would there. To keep
// Go's race detector meaningful for the kernel's own data, every access to page
// bytes goes through the functions of this package, which use sync/atomic
// word accesses in builds with the race tag and plain accesses otherwise
// (see access_race.go and access_norace.go). Kernel code never touches a
// Page's bytes any other way.
package mem

import "unsafe"

// PageSize is the size of a page in bytes.
const PageSize = 4096

// PageShift is log2(PageSize).
const PageShift = 12

// PageMask masks the offset within a page.
const PageMask = PageSize - 1

// Page is one page frame. It is an array of words so that it is 8-byte
// aligned, which the word-sized and atomic accessors rely on.
type Page [PageSize / 8]uint64

// ptr returns the address of byte off of p. off must be < PageSize.
func (p *Page) ptr(off uint64) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(p), off&PageMask)
}

// Bytes returns the page's bytes as a slice. Only the race-free paths of
// the kernel (a page that no domain can reach yet, such as one being loaded
// before its key is handed out) may use it; everything else uses Read and
// Write.
func (p *Page) Bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), PageSize)
}
