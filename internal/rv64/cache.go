package rv64

import (
	"unsafe"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// slotsPerPage is the number of 2-byte instruction slots in a page.
const slotsPerPage = mem.PageSize / 2

// block holds the decoded instructions of one page frame, one slot for each
// halfword, decoded lazily. Two sentinel slots after the page (offsets 4096
// and 4098, reached by falling off the end of the page) hold opPageEnd.
//
// insts comes first: the fast path addresses slot off/2 as block + off*4.
type block struct {
	insts [slotsPerPage + 2]inst
	frame *mem.Page
}

func newBlock() *block {
	b := new(block)
	b.insts[slotsPerPage] = mkInst(opPageEnd, sink, 0, 0, 0)
	b.insts[slotsPerPage+1] = mkInst(opPageEnd, sink, 0, 0, 0)
	return b
}

// reset empties b and assigns it to frame.
func (b *block) reset(frame *mem.Page) {
	clear(b.insts[:slotsPerPage])
	b.frame = frame
}

// blockSet returns the decode cache set for frame.
func blockSet(frame *mem.Page) int {
	h := uint64(uintptr(unsafe.Pointer(frame))>>mem.PageShift) * 0x9e3779b97f4a7c15
	return int(h >> 58 & (blockSets - 1))
}

// lookupBlock returns the decode block for frame, assigning one if needed.
func (c *Core) lookupBlock(frame *mem.Page) *block {
	set := blockSet(frame)
	ways := &c.blocks[set]
	for _, b := range ways {
		if b != nil && b.frame == frame {
			return b
		}
	}
	for i, b := range ways {
		if b == nil {
			b = newBlock()
			b.reset(frame)
			ways[i] = b
			return b
		}
		if b.frame == nil {
			b.reset(frame)
			return b
		}
	}
	// Evict round-robin. ITLB entries may point at the victim.
	v := c.bnext[set] % blockWays
	c.bnext[set] = (v + 1) % blockWays
	b := ways[v]
	b.reset(frame)
	c.itlb = [itlbSize]itlbEntry{}
	return b
}

// FlushCode drops every decoded instruction of this Core. Run calls it on
// fence.i and when Core.CodeGen changed; the kernel may call it too, while
// the Core is not running.
func (c *Core) FlushCode() {
	for s := range c.blocks {
		for _, b := range c.blocks[s] {
			if b != nil {
				b.frame = nil
			}
		}
	}
	c.itlb = [itlbSize]itlbEntry{}
}

// FlushTLB drops every cached translation of this Core, for every asid. The
// kernel calls it (on every Core) when a mapping is removed or made
// stricter, while the Core is not running.
func (c *Core) FlushTLB() {
	c.dtlb = [dtlbSize]dtlbEntry{}
	c.itlb = [itlbSize]itlbEntry{}
}

// lidFor returns the local id (1..numLids-1) this Core uses to tag TLB
// entries for asid, recycling the oldest id (and flushing its entries) when
// all are taken. The last two asids are looked at first: a call and its
// reply alternate between two address spaces on one core.
func (c *Core) lidFor(asid uint64) uint64 {
	if m := c.recent[0]; m.lid != 0 && m.asid == asid {
		return m.lid
	}
	if m := c.recent[1]; m.lid != 0 && m.asid == asid {
		c.recent[0], c.recent[1] = m, c.recent[0]
		return m.lid
	}
	for i := 1; i < numLids; i++ {
		if c.lidUsed[i] && c.asids[i] == asid {
			c.noteLid(asid, uint64(i))
			return uint64(i)
		}
	}
	c.lidNext++
	if c.lidNext >= numLids {
		c.lidNext = 1
	}
	i := c.lidNext
	if c.lidUsed[i] {
		c.flushLid(uint64(i))
	}
	c.lidUsed[i] = true
	c.asids[i] = asid
	c.noteLid(asid, uint64(i))
	return uint64(i)
}

// noteLid makes asid, with local id lid, the most recent of c.recent. An
// entry left naming lid for another asid (whose id was recycled) is
// dropped.
func (c *Core) noteLid(asid, lid uint64) {
	c.recent[1] = c.recent[0]
	c.recent[0] = asidLid{asid, lid}
	if c.recent[1].lid == lid {
		c.recent[1] = asidLid{}
	}
}

// flushLid drops the TLB entries tagged with local id lid.
func (c *Core) flushLid(lid uint64) {
	for i := range c.dtlb {
		e := &c.dtlb[i]
		if e.rtag&lidMask == lid<<3 || e.wtag&lidMask == lid<<3 {
			*e = dtlbEntry{}
		}
	}
	for i := range c.itlb {
		if c.itlb[i].tag&lidMask == lid<<3 {
			c.itlb[i] = itlbEntry{}
		}
	}
}

// lidMask selects the local id bits of a TLB tag.
const lidMask = 0xff8

// codeBlock returns the decode block for the page holding pc, or nil if the
// fetch faults.
func (c *Core) codeBlock(t Translator, pc, lid8 uint64) *block {
	e := &c.itlb[(pc>>mem.PageShift^lid8)&(itlbSize-1)]
	tag := pc&^mem.PageMask | lid8
	if e.tag == tag {
		return e.blk
	}
	p, _, ok := t.Translate(pc, Exec)
	if !ok || p == nil {
		return nil
	}
	b := c.lookupBlock(p)
	e = &c.itlb[(pc>>mem.PageShift^lid8)&(itlbSize-1)]
	e.tag, e.blk = tag, b
	return b
}

// dpage translates a data access at a (already known to be aligned), fills
// the TLB and returns the page, or nil if the access faults.
func (c *Core) dpage(t Translator, a uint64, acc Access, lid8 uint64) *mem.Page {
	p, w, ok := t.Translate(a, acc)
	if !ok || p == nil || acc == Write && !w {
		return nil
	}
	e := &c.dtlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
	tag := a&^mem.PageMask | lid8
	e.rtag, e.page = tag, p
	e.wtag = 0
	if w {
		e.wtag = tag
	}
	return p
}

// fetchFrame returns the frame of the code page holding pc without touching
// the decode cache, or nil if the fetch faults.
func (c *Core) fetchFrame(t Translator, pc, lid8 uint64) *mem.Page {
	e := &c.itlb[(pc>>mem.PageShift^lid8)&(itlbSize-1)]
	if e.tag == pc&^mem.PageMask|lid8 {
		return e.blk.frame
	}
	p, _, ok := t.Translate(pc, Exec)
	if !ok {
		return nil
	}
	return p
}

// Page returns the page holding vaddr for an access of kind acc (Read or
// Write) in the address space tagged asid, through this Core's TLB, filling
// it from t on a miss, or nil if the access faults. The kernel uses it to
// copy message strings in and out of guest memory at the cost of a TLB
// hit. The Core must not be inside Run.
func (c *Core) Page(t Translator, asid, vaddr uint64, acc Access) *mem.Page {
	lid8 := c.lidFor(asid) << 3
	e := &c.dtlb[(vaddr>>mem.PageShift^lid8)&(dtlbSize-1)]
	tag := vaddr&^mem.PageMask | lid8
	switch {
	case acc == Read && e.rtag == tag, acc == Write && e.wtag == tag:
		return e.page
	}
	return c.dpage(t, vaddr, acc, lid8)
}
