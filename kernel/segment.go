package kernel

import (
	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/internal/mem"
)

// Address segments. A domain's address slot holds a page key (a 4 KiB
// space) or a segment key: a node of size k spans 16^k pages, each of its 16
// slots 16^(k-1) pages, recursively down to pages. A slot may hold a
// smaller segment, which maps only the start of the slot's range. A red
// segment node carries its format in slot 15 (abi.Red): its size, how many
// slots map memory, and which slot holds its segment keeper. A red node
// whose format says 0 mapping slots is a window: slot 0 holds a segment of
// the red node's own size that maps its whole range, leaving the other
// slots free for the keeper's use. Below the root, a slot may hold a node
// key, which maps as a segment one size smaller than its parent (the
// largest that fits): a keeper can then build and walk its tree with node
// keys. Read-only anywhere on the path makes the
// mapping read-only; a no-call key hides the keepers of its node and below.

// segFault describes a failed translation: why, and which segment keeper
// (if any) should hear of it.
type segFault struct {
	detail abi.Fault
	keeper Key    // the innermost visible red segment's keeper, or DK(0)
	node   Key    // a node key to that red segment node
	offset uint64 // the address's offset within that red segment
}

// maxPath bounds a walk: sizes shrink at every level except windows, and a
// window must be followed by a real node.
const maxPath = 2*int(abi.LimitMaxSegSize) + 2

// translate walks space for vaddr. It returns the page and whether it may
// be written, or nil with f describing the fault. Every page and node on a
// successful path is marked mapped, so that changing them later waits for a
// grace period.
//
// wc, if not nil, is the calling core's page-walk cache: the walk starts
// from it when it holds the same space and 64 KiB, and leaves there where
// it entered the node that maps vaddr's 64 KiB.
func translate(space Key, vaddr uint64, write bool, f *segFault, wc *walkCache) (*Page, bool) {
	*f = segFault{detail: abi.FaultNotMapped}
	var red redSeen
	p, w := walkSpace(space, vaddr, write, f, wc, &red)
	if p == nil && red.node != nil {
		// The innermost visible red node's keeper hears of the fault: the
		// key in its keeper slot now.
		f.keeper = red.node.fetch(red.slot)
		f.node = keyTo(&red.node.header, abi.KTNode, 0, 0)
		f.offset = red.off
	}
	return p, w
}

// redSeen is the innermost red segment node with a keeper slot that a walk
// passed, its keeper hidden by no no-call key.
type redSeen struct {
	node *Node
	slot int
	off  uint64 // the address's offset within its segment
}

// walkCache is a core's page-walk cache: the state of its last walk where
// it entered a segment that maps 64 KiB (size 1), so that the next walk in
// the same 64 KiB of the same space starts there instead of at the root.
// It holds a path down to that segment every slot of which held a key
// (only the last node's slots are read again), so it goes stale only when
// one of those slots is changed or its node sold: either bumps the map
// epoch if the node is mapped, as every node a walk reads is, and so
// flushes the cache with the TLB (rvKind.flush) before the call that made
// the change returns. Filling an empty slot, which does not bump it, never
// changes a cached path. (Core-local: only its core touches it.)
type walkCache struct {
	hi        uint64 // vaddr>>16 + 1 of the walk that filled it; 0: empty
	space     Key    // the space it walked
	k         Key    // the size-1 segment's key
	childSize uint
	ro        bool
	nocall    bool
	red       redSeen // with off less its low 16 bits
}

// walkCacheShift is the span of a size-1 segment: 16 pages.
const walkCacheShift = mem.PageShift + 4

// walkSpace is translate's walk. It starts from wc when wc holds vaddr's
// 64 KiB of space, and otherwise fills wc on its way down; seen gets the
// red node whose keeper hears of a fault.
func walkSpace(space Key, vaddr uint64, write bool, f *segFault, wc *walkCache, seen *redSeen) (*Page, bool) {
	low := vaddr & (1<<walkCacheShift - 1)
	var k Key
	addr := vaddr
	ro, nocall := false, false
	childSize := uint(0) // the size a node key at this level maps as
	fill := wc != nil    // a walk from the root fills the cache
	if fill && wc.hi == vaddr>>walkCacheShift+1 && wc.space == space && wc.k.hdr.valid(wc.k.alloc) {
		k, addr, childSize, ro, nocall, *seen = wc.k, low, wc.childSize, wc.ro, wc.nocall, wc.red
		seen.off |= low
		fill = false
	} else {
		k = space.live()
	}
	for range maxPath {
		if fill && addr == low && k.flags&flRed == 0 &&
			(k.kt == ktSegment && k.db == 1 || k.kt == ktNode && childSize == 1) {
			*wc = walkCache{hi: vaddr>>walkCacheShift + 1, space: space, k: k, childSize: childSize, ro: ro, nocall: nocall, red: *seen}
			wc.red.off &^= 1<<walkCacheShift - 1
		}
		if k.flags&flReadOnly != 0 {
			ro = true
		}
		if k.flags&flNoCall != 0 {
			nocall = true
		}
		switch k.kt {
		case ktPage:
			if addr >= mem.PageSize {
				return nil, false
			}
			if write && ro {
				f.detail = abi.FaultReadOnly
				return nil, false
			}
			p := mapPage(k)
			if p == nil {
				return nil, false // sold meanwhile: nothing mapped
			}
			return p, !ro
		case ktSegment:
		case ktNode:
			if childSize == 0 {
				f.detail = abi.FaultBadSegment // a node key is no root
				return nil, false
			}
			k.db = uint8(childSize)
		case 0:
			return nil, false // nothing mapped (DK(n) or a void key)
		default:
			f.detail = abi.FaultBadSegment
			return nil, false
		}
		n := k.hdr.node()
		size := uint(k.db)
		n.mu.Lock()
		if !n.mapped.Load() {
			n.mapped.Store(true)
		}
		var format uint64
		red := k.flags&flRed != 0
		if red {
			fk := n.slots[abi.RedFormatSlot]
			if fk.kt != 0 {
				n.mu.Unlock()
				f.detail = abi.FaultBadSegment
				return nil, false
			}
			format = fk.val
			size = uint(format & 0xff)
		}
		if size < 1 || size > uint(abi.LimitMaxSegSize) {
			n.mu.Unlock()
			f.detail = abi.FaultBadSegment
			return nil, false
		}
		shift := mem.PageShift + 4*size // bytes spanned: 1 << shift
		if shift < 64 && addr>>shift != 0 {
			n.mu.Unlock()
			return nil, false
		}
		var child Key
		childMax := size - 1
		if red {
			nslots := format >> abi.RedSlotsShift & 0xff
			ks := format >> abi.RedKeeperShift & 0xff
			if !nocall && ks < 16 && ks != uint64(abi.RedFormatSlot) {
				*seen = redSeen{node: n, slot: int(ks), off: addr}
			}
			if nslots == 0 {
				// A window: slot 0 maps the whole range.
				child = n.slots[0]
				childMax = size
				n.mu.Unlock()
				k = child.live()
				childSize = childMax
				if k.kt == ktSegment && k.flags&flRed == 0 && uint(k.db) > childMax {
					f.detail = abi.FaultBadSegment
					return nil, false
				}
				continue
			}
			idx := addr >> (shift - 4)
			if idx >= nslots || idx >= uint64(abi.RedFormatSlot) {
				n.mu.Unlock()
				return nil, false
			}
		}
		idx := addr >> (shift - 4) & 15
		child = n.slots[idx]
		n.mu.Unlock()
		addr &= 1<<(shift-4) - 1
		k = child.live()
		childSize = childMax
		if k.kt == ktSegment && k.flags&flRed == 0 && uint(k.db) > childMax {
			f.detail = abi.FaultBadSegment
			return nil, false
		}
	}
	f.detail = abi.FaultBadSegment
	return nil, false
}

// mapPage marks the page k names as mapped (part of a cached translation)
// and returns it, or nil if k went void meanwhile. A sale voids the key
// (alloc) and then waits for a grace period only if the page is marked
// mapped; a walk checks the key and then marks the page. Checking the key
// again after marking it closes the gap between the two: either the sale
// sees the mark and waits until no core can still hold the translation,
// or this walk sees the sale and maps nothing.
func mapPage(k Key) *Page {
	if !k.hdr.mapped.Load() {
		k.hdr.mapped.Store(true)
	}
	if !k.hdr.valid(k.alloc) {
		return nil
	}
	return k.hdr.page()
}
