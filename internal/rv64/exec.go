package rv64

import (
	"math"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// Events that end a run of the fast path (hot).
const (
	evBudget uint8 = iota // the budget is spent
	evLeave               // control left the page (or block)
	evSlow                // the instruction at pc needs the slow path
	evEcall               // the instruction at pc is an ecall: Run returns
)

// hot is the fast path: it executes the instructions of one decode block,
// starting at offset off of the page at base, while they are plain ALU
// operations, branches, jumps, and loads and stores that hit the TLB. It
// calls nothing, so that its state stays in host registers. It returns the
// pc and the remaining budget, and why it stopped; for evSlow, pc is the
// address of the instruction the slow path must handle. x is the domain's
// register file (Regs.regs).
//
// Under -race, checkptr would check each register access and each slot
// fetch in hot and slow, a runtime call apiece: the race tests' guests ran
// at a third of the speed. The register fields are checked by the decoder
// tests (checkRegFields); slot offsets are bounded as commented below.
//
//go:nocheckptr
func (c *Core) hot(x regs, blk *block, base, off, n, lid8 uint64) (pc, left uint64, ev uint8) {
	tlb := &c.dtlb
	for n != 0 {
		// off is even and at most mem.PageSize+2 (see block), so this is
		// &blk.insts[off>>1] without a bounds check.
		d := *(*inst)(unsafe.Add(unsafe.Pointer(blk), off*4))
		switch d.op() {
		case opDecode, opCross, opPageEnd, opIllegal:
			return base + off, n, evSlow
		case opECALL:
			// Straight out of Run, without a look at the slow path: the
			// kernel's way in, once per invocation.
			return base + off, n, evEcall
		case opNop:
			n--
			off += 4
			continue
		case opCNop:

			n--
			off += 2
			continue
		case opLI:
			x.set(d.rd(), d.imm())
			n--
			off += 4
			continue
		case opCLI:
			x.set(d.rd(), d.imm())
			n--
			off += 2
			continue
		case opMV:
			x.set(d.rd(), x.get(d.rs1()))
			n--
			off += 4
			continue
		case opCMV:
			x.set(d.rd(), x.get(d.rs1()))
			n--
			off += 2
			continue
		case opAUIPC:
			x.set(d.rd(), base+off+d.imm())
			n--
			off += 4
			continue
		case opJAL:
			x.set(d.rd(), base+off+4)
			n--
			no := off + d.imm()
			if no < mem.PageSize {
				off = no
				continue
			}
			return base + no, n, evLeave
		case opCJAL:
			x.set(d.rd(), base+off+2)
			n--
			no := off + d.imm()
			if no < mem.PageSize {
				off = no
				continue
			}
			return base + no, n, evLeave
		case opJALR:
			tg := (x.get(d.rs1()) + d.imm()) &^ 1
			x.set(d.rd(), base+off+4)
			n--
			if tg&^mem.PageMask == base {
				off = tg & mem.PageMask
				continue
			}
			return tg, n, evLeave
		case opCJALR:
			tg := (x.get(d.rs1()) + d.imm()) &^ 1
			x.set(d.rd(), base+off+2)
			n--
			if tg&^mem.PageMask == base {
				off = tg & mem.PageMask
				continue
			}
			return tg, n, evLeave
		case opBEQ:
			if x.get(d.rs1()) == x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opCBEQ:
			if x.get(d.rs1()) == x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 2
			continue
		case opBNE:
			if x.get(d.rs1()) != x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opCBNE:
			if x.get(d.rs1()) != x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 2
			continue
		case opBLT:
			if int64(x.get(d.rs1())) < int64(x.get(d.rs2())) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opBGE:
			if int64(x.get(d.rs1())) >= int64(x.get(d.rs2())) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opBLTU:
			if x.get(d.rs1()) < x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opBGEU:
			if x.get(d.rs1()) >= x.get(d.rs2()) {
				n--
				no := off + d.imm()
				if no < mem.PageSize {
					off = no
					continue
				}
				return base + no, n, evLeave
			}
			n--
			off += 4
			continue
		case opLB:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xfff|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(int64(int8(e.page.Load8(a&mem.PageMask)))))
			n--
			off += 4
			continue
		case opLBU:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xfff|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(e.page.Load8(a&mem.PageMask)))
			n--
			off += 4
			continue
		case opLH:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xffe|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(int64(int16(e.page.Load16(a&mem.PageMask)))))
			n--
			off += 4
			continue
		case opLHU:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xffe|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(e.page.Load16(a&mem.PageMask)))
			n--
			off += 4
			continue
		case opLW:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xffc|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(int64(int32(e.page.Load32(a&mem.PageMask)))))
			n--
			off += 4
			continue
		case opCLW:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xffc|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(int64(int32(e.page.Load32(a&mem.PageMask)))))
			n--
			off += 2
			continue
		case opLWU:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xffc|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), uint64(e.page.Load32(a&mem.PageMask)))
			n--
			off += 4
			continue
		case opLD:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xff8|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), e.page.Load64(a&mem.PageMask))
			n--
			off += 4
			continue
		case opCLD:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.rtag != a&^0xff8|lid8 {
				return base + off, n, evSlow
			}
			x.set(d.rd(), e.page.Load64(a&mem.PageMask))
			n--
			off += 2
			continue
		case opSB:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xfff|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store8(a&mem.PageMask, uint8(x.get(d.rs2())))
			n--
			off += 4
			continue
		case opSH:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xffe|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store16(a&mem.PageMask, uint16(x.get(d.rs2())))
			n--
			off += 4
			continue
		case opSW:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xffc|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store32(a&mem.PageMask, uint32(x.get(d.rs2())))
			n--
			off += 4
			continue
		case opCSW:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xffc|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store32(a&mem.PageMask, uint32(x.get(d.rs2())))
			n--
			off += 2
			continue
		case opSD:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xff8|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store64(a&mem.PageMask, x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCSD:
			a := x.get(d.rs1()) + d.imm()
			e := &tlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
			if e.wtag != a&^0xff8|lid8 {
				return base + off, n, evSlow
			}
			e.page.Store64(a&mem.PageMask, x.get(d.rs2()))
			n--
			off += 2
			continue
		case opADDI:
			x.set(d.rd(), x.get(d.rs1())+d.imm())
			n--
			off += 4
			continue
		case opCADDI:
			x.set(d.rd(), x.get(d.rs1())+d.imm())
			n--
			off += 2
			continue
		case opSLTI:
			x.set(d.rd(), b2u(int64(x.get(d.rs1())) < int64(d.imm())))
			n--
			off += 4
			continue
		case opSLTIU:
			x.set(d.rd(), b2u(x.get(d.rs1()) < d.imm()))
			n--
			off += 4
			continue
		case opXORI:
			x.set(d.rd(), x.get(d.rs1())^d.imm())
			n--
			off += 4
			continue
		case opORI:
			x.set(d.rd(), x.get(d.rs1())|d.imm())
			n--
			off += 4
			continue
		case opANDI:
			x.set(d.rd(), x.get(d.rs1())&d.imm())
			n--
			off += 4
			continue
		case opCANDI:
			x.set(d.rd(), x.get(d.rs1())&d.imm())
			n--
			off += 2
			continue
		case opSLLI:
			x.set(d.rd(), x.get(d.rs1())<<(d.imm()&63))
			n--
			off += 4
			continue
		case opCSLLI:
			x.set(d.rd(), x.get(d.rs1())<<(d.imm()&63))
			n--
			off += 2
			continue
		case opSRLI:
			x.set(d.rd(), x.get(d.rs1())>>(d.imm()&63))
			n--
			off += 4
			continue
		case opCSRLI:
			x.set(d.rd(), x.get(d.rs1())>>(d.imm()&63))
			n--
			off += 2
			continue
		case opSRAI:
			x.set(d.rd(), uint64(int64(x.get(d.rs1()))>>(d.imm()&63)))
			n--
			off += 4
			continue
		case opCSRAI:
			x.set(d.rd(), uint64(int64(x.get(d.rs1()))>>(d.imm()&63)))
			n--
			off += 2
			continue
		case opADD:
			x.set(d.rd(), x.get(d.rs1())+x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCADD:
			x.set(d.rd(), x.get(d.rs1())+x.get(d.rs2()))
			n--
			off += 2
			continue
		case opSUB:
			x.set(d.rd(), x.get(d.rs1())-x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCSUB:
			x.set(d.rd(), x.get(d.rs1())-x.get(d.rs2()))
			n--
			off += 2
			continue
		case opSLL:
			x.set(d.rd(), x.get(d.rs1())<<(x.get(d.rs2())&63))
			n--
			off += 4
			continue
		case opSLT:
			x.set(d.rd(), b2u(int64(x.get(d.rs1())) < int64(x.get(d.rs2()))))
			n--
			off += 4
			continue
		case opSLTU:
			x.set(d.rd(), b2u(x.get(d.rs1()) < x.get(d.rs2())))
			n--
			off += 4
			continue
		case opXOR:
			x.set(d.rd(), x.get(d.rs1())^x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCXOR:
			x.set(d.rd(), x.get(d.rs1())^x.get(d.rs2()))
			n--
			off += 2
			continue
		case opSRL:
			x.set(d.rd(), x.get(d.rs1())>>(x.get(d.rs2())&63))
			n--
			off += 4
			continue
		case opSRA:
			x.set(d.rd(), uint64(int64(x.get(d.rs1()))>>(x.get(d.rs2())&63)))
			n--
			off += 4
			continue
		case opOR:
			x.set(d.rd(), x.get(d.rs1())|x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCOR:
			x.set(d.rd(), x.get(d.rs1())|x.get(d.rs2()))
			n--
			off += 2
			continue
		case opAND:
			x.set(d.rd(), x.get(d.rs1())&x.get(d.rs2()))
			n--
			off += 4
			continue
		case opCAND:
			x.set(d.rd(), x.get(d.rs1())&x.get(d.rs2()))
			n--
			off += 2
			continue
		case opADDIW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))+uint32(d.imm())))
			n--
			off += 4
			continue
		case opCADDIW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))+uint32(d.imm())))
			n--
			off += 2
			continue
		case opSLLIW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))<<(d.imm()&31)))
			n--
			off += 4
			continue
		case opSRLIW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))>>(d.imm()&31)))
			n--
			off += 4
			continue
		case opSRAIW:
			x.set(d.rd(), uint64(int64(int32(x.get(d.rs1()))>>(d.imm()&31))))
			n--
			off += 4
			continue
		case opADDW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))+uint32(x.get(d.rs2()))))
			n--
			off += 4
			continue
		case opCADDW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))+uint32(x.get(d.rs2()))))
			n--
			off += 2
			continue
		case opSUBW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))-uint32(x.get(d.rs2()))))
			n--
			off += 4
			continue
		case opCSUBW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))-uint32(x.get(d.rs2()))))
			n--
			off += 2
			continue
		case opSLLW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))<<(x.get(d.rs2())&31)))
			n--
			off += 4
			continue
		case opSRLW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))>>(x.get(d.rs2())&31)))
			n--
			off += 4
			continue
		case opSRAW:
			x.set(d.rd(), uint64(int64(int32(x.get(d.rs1()))>>(x.get(d.rs2())&31))))
			n--
			off += 4
			continue
		case opMUL:
			x.set(d.rd(), x.get(d.rs1())*x.get(d.rs2()))
			n--
			off += 4
			continue
		case opMULH:
			x.set(d.rd(), mulh(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opMULHSU:
			x.set(d.rd(), mulhsu(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opMULHU:
			hi, _ := bits.Mul64(x.get(d.rs1()), x.get(d.rs2()))
			x.set(d.rd(), hi)
			n--
			off += 4
			continue
		case opDIV:
			x.set(d.rd(), div(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opDIVU:
			x.set(d.rd(), divu(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opREM:
			x.set(d.rd(), rem(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opREMU:
			x.set(d.rd(), remu(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opMULW:
			x.set(d.rd(), sx32(uint32(x.get(d.rs1()))*uint32(x.get(d.rs2()))))
			n--
			off += 4
			continue
		case opDIVW:
			x.set(d.rd(), divw(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opDIVUW:
			x.set(d.rd(), divuw(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opREMW:
			x.set(d.rd(), remw(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		case opREMUW:
			x.set(d.rd(), remuw(x.get(d.rs1()), x.get(d.rs2())))
			n--
			off += 4
			continue
		}
		return base + off, n, evSlow
	}
	return base + off, 0, evBudget
}

// Run interprets r's code until budget instructions are retired or the hart
// traps, and reports why it stopped. asid names r's address space: TLB
// entries filled under one asid are never used under another, so the kernel
// may switch address spaces on a Core without flushing it. On a trap r.PC is
// left at the trapping instruction, which is not retired. Run allocates
// nothing and does not panic, whatever the guest does.
func (c *Core) Run(r *Regs, t Translator, asid uint64, budget uint64) Exit {
	if c.CodeGen != nil {
		if g := c.CodeGen.Load(); g != c.seenGen {
			c.FlushCode()
			c.seenGen = g
		}
	}
	if c.TLBGen != nil {
		if g := c.TLBGen.Load(); g != c.seenTLB {
			c.FlushTLB()
			c.seenTLB = g
		}
	}
	lid8 := c.lidFor(asid) << 3
	x := r.regs()
	r.X[0] = 0
	pc := r.PC
	n := budget
	var ex Exit
	for n != 0 {
		if pc&1 != 0 {
			ex = Exit{Cause: Cause{Reason: Misaligned, Access: Exec}, Addr: pc}
			break
		}
		blk := c.codeBlock(t, pc, lid8)
		if blk == nil {
			ex = Exit{Cause: Cause{Reason: Fault, Access: Exec}, Addr: pc}
			break
		}
		base := pc &^ mem.PageMask
		if blk.insts[(pc&mem.PageMask)>>1].op() == opCross {
			// Decode the page-crossing instruction into the cross block,
			// whose other slots all leave it, and run it from there.
			np := c.fetchFrame(t, base+mem.PageSize, lid8)
			if np == nil {
				ex = Exit{Cause: Cause{Reason: Fault, Access: Exec}, Addr: base + mem.PageSize}
				break
			}
			c.crossBlk.insts[0] = decode(blk.frame.Load16(mem.PageSize-2), np.Load16(0))
			blk, base = c.crossBlk, pc
		}
		var ev uint8
		pc, n, ev = c.hot(x, blk, base, pc-base, n, lid8)
		if ev == evEcall {
			ex = Exit{Cause: Cause{Reason: Ecall}}
			break
		}
		if ev != evSlow {
			continue
		}
		var stop bool
		pc, n, ex, stop = c.slow(r, t, blk, base, pc, n, budget, lid8)
		if stop {
			break
		}
	}
	r.PC = pc
	ex.Executed = budget - n
	r.Instret += ex.Executed
	return ex
}

// newCrossBlock returns a block whose slots all hold opPageEnd.
func newCrossBlock() *block {
	b := new(block)
	for i := range b.insts {
		b.insts[i] = mkInst(opPageEnd, sink, 0, 0, 0)
	}
	return b
}

// slow handles the instruction at pc in blk (whose offset 0 is at base)
// that hot could not: it decodes a slot, fills the TLB for a load or store
// (which hot then retries), or executes a rare instruction. It returns the
// new pc and budget, and stop with the trap when the hart traps.
//
// slow is not checked by checkptr either (see hot).
//
//go:nocheckptr
func (c *Core) slow(r *Regs, t Translator, blk *block, base, pc, n, budget, lid8 uint64) (uint64, uint64, Exit, bool) {
	x := r.regs()
	off := pc - base
	slot := &blk.insts[(off>>1)%uint64(len(blk.insts))]
	d := *slot
	switch baseOps[d.op()] {
	case opDecode:
		p := blk.frame
		lo := p.Load16(off)
		if lo&3 == 3 && off == mem.PageSize-2 {
			*slot = mkInst(opCross, sink, 0, 0, 0)
			return pc, n, Exit{}, false
		}
		var hi uint16
		if lo&3 == 3 {
			hi = p.Load16(off + 2)
		}
		*slot = decode(lo, hi)
		return pc, n, Exit{}, false
	case opCross, opPageEnd:
		// Run looks the pc up again.
		return pc, n, Exit{}, false
	case opIllegal:
		ex := Exit{Cause: Cause{Reason: Illegal, Insn: uint32(d.imm())}}
		if d.length() == 2 {
			ex.Insn &= 0xffff
		}
		return pc, n, ex, true
	case opLB, opLBU:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 1, Read, lid8)
	case opLH, opLHU:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 2, Read, lid8)
	case opLW, opLWU:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 4, Read, lid8)
	case opLD:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 8, Read, lid8)
	case opSB:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 1, Write, lid8)
	case opSH:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 2, Write, lid8)
	case opSW:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 4, Write, lid8)
	case opSD:
		return c.fill(t, pc, n, x.get(d.rs1())+d.imm(), 8, Write, lid8)
	case opFENCE:
		atomic.AddUint64(&c.fenceVar, 1)
	case opFENCEI:
		c.FlushCode()
		if c.CodeGen != nil {
			c.seenGen = c.CodeGen.Add(1)
		}
	case opECALL:
		return pc, n, Exit{Cause: Cause{Reason: Ecall}}, true
	case opEBREAK:
		ex := Exit{Cause: Cause{Reason: Ebreak, Insn: 0x00100073}}
		if d.length() == 2 {
			ex.Insn = 0x9002
		}
		return pc, n, ex, true
	case opRDCYCLE:
		x.set(d.rd(), r.Instret+(budget-n))
	case opRDTIME:
		var v uint64
		if c.TimeFn != nil {
			v = c.TimeFn()
		}
		x.set(d.rd(), v)
	case opLRW, opLRD:
		a := x.get(d.rs1())
		size := uint64(4)
		if d.op() == opLRD {
			size = 8
		}
		p := c.loadSlow(t, a, size, lid8)
		if p == nil {
			return pc, n, c.dataTrap(a, size, Read), true
		}
		var v uint64
		if size == 4 {
			v = sx32(p.AtomicLoad32(a & mem.PageMask))
		} else {
			v = p.AtomicLoad64(a & mem.PageMask)
		}
		x.set(d.rd(), v)
		r.ResValid, r.ResAddr, r.ResVal = true, a, v
	case opSCW, opSCD:
		a := x.get(d.rs1())
		size := uint64(4)
		if d.op() == opSCD {
			size = 8
		}
		if a&(size-1) != 0 {
			return pc, n, Exit{Cause: Cause{Reason: Misaligned, Access: Write}, Addr: a}, true
		}
		fail := uint64(1)
		if r.ResValid && r.ResAddr == a {
			p := c.storeSlow(t, a, size, lid8)
			if p == nil {
				return pc, n, c.dataTrap(a, size, Write), true
			}
			var ok bool
			if size == 4 {
				ok = p.CAS32(a&mem.PageMask, uint32(r.ResVal), uint32(x.get(d.rs2())))
			} else {
				ok = p.CAS64(a&mem.PageMask, r.ResVal, x.get(d.rs2()))
			}
			if ok {
				fail = 0
			}
		}
		r.ResValid = false
		x.set(d.rd(), fail)
	case opAMOSWAPW, opAMOADDW, opAMOXORW, opAMOANDW, opAMOORW,
		opAMOMINW, opAMOMAXW, opAMOMINUW, opAMOMAXUW:
		a := x.get(d.rs1())
		p := c.storeSlow(t, a, 4, lid8)
		if p == nil {
			return pc, n, c.dataTrap(a, 4, Write), true
		}
		x.set(d.rd(), sx32(amo32(d.op(), p.Addr32(a&mem.PageMask), uint32(x.get(d.rs2())))))
	case opAMOSWAPD, opAMOADDD, opAMOXORD, opAMOANDD, opAMOORD,
		opAMOMIND, opAMOMAXD, opAMOMINUD, opAMOMAXUD:
		a := x.get(d.rs1())
		p := c.storeSlow(t, a, 8, lid8)
		if p == nil {
			return pc, n, c.dataTrap(a, 8, Write), true
		}
		x.set(d.rd(), amo64(d.op(), p.Addr64(a&mem.PageMask), x.get(d.rs2())))
	default:
		// Every other op is executed by hot, which does not send it here.
		return pc, n, Exit{Cause: Cause{Reason: Illegal, Insn: uint32(d.imm())}}, true
	}
	return pc + d.length(), n - 1, Exit{}, false
}

// fill makes the TLB hold the translation for an access of size bytes at
// a, so that hot can retry the instruction at pc, or reports its trap.
func (c *Core) fill(t Translator, pc, n, a, size uint64, acc Access, lid8 uint64) (uint64, uint64, Exit, bool) {
	var p *mem.Page
	if acc == Read {
		p = c.loadSlow(t, a, size, lid8)
	} else {
		p = c.storeSlow(t, a, size, lid8)
	}
	if p == nil {
		return pc, n, c.dataTrap(a, size, acc), true
	}
	return pc, n, Exit{}, false
}

// loadSlow returns the page for a load of size bytes at a through the
// Translator, or nil if the load traps (see dataTrap).
func (c *Core) loadSlow(t Translator, a, size, lid8 uint64) *mem.Page {
	if a&(size-1) != 0 {
		return nil
	}
	e := &c.dtlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
	if e.rtag == a&^mem.PageMask|lid8 {
		return e.page
	}
	return c.dpage(t, a, Read, lid8)
}

// storeSlow is loadSlow for stores and AMOs.
func (c *Core) storeSlow(t Translator, a, size, lid8 uint64) *mem.Page {
	if a&(size-1) != 0 {
		return nil
	}
	e := &c.dtlb[(a>>mem.PageShift^lid8)&(dtlbSize-1)]
	if e.wtag == a&^mem.PageMask|lid8 {
		return e.page
	}
	return c.dpage(t, a, Write, lid8)
}

// dataTrap describes the trap of a failed loadSlow or storeSlow.
func (c *Core) dataTrap(a, size uint64, acc Access) Exit {
	if a&(size-1) != 0 {
		return Exit{Cause: Cause{Reason: Misaligned, Access: acc}, Addr: a}
	}
	return Exit{Cause: Cause{Reason: Fault, Access: acc}, Addr: a}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// sx32 sign-extends a 32-bit result to 64 bits.
func sx32(v uint32) uint64 { return uint64(int64(int32(v))) }

func mulh(a, b uint64) uint64 {
	hi, _ := bits.Mul64(a, b)
	hi -= uint64(int64(a)>>63) & b
	hi -= uint64(int64(b)>>63) & a
	return hi
}

func mulhsu(a, b uint64) uint64 {
	hi, _ := bits.Mul64(a, b)
	hi -= uint64(int64(a)>>63) & b
	return hi
}

func div(a, b uint64) uint64 {
	switch {
	case b == 0:
		return math.MaxUint64
	case int64(a) == math.MinInt64 && int64(b) == -1:
		return a
	}
	return uint64(int64(a) / int64(b))
}

func divu(a, b uint64) uint64 {
	if b == 0 {
		return math.MaxUint64
	}
	return a / b
}

func rem(a, b uint64) uint64 {
	switch {
	case b == 0:
		return a
	case int64(a) == math.MinInt64 && int64(b) == -1:
		return 0
	}
	return uint64(int64(a) % int64(b))
}

func remu(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return a % b
}

func divw(a, b uint64) uint64 {
	x, y := int32(a), int32(b)
	switch {
	case y == 0:
		return math.MaxUint64
	case x == math.MinInt32 && y == -1:
		return sx32(uint32(x))
	}
	return uint64(int64(x / y))
}

func divuw(a, b uint64) uint64 {
	x, y := uint32(a), uint32(b)
	if y == 0 {
		return math.MaxUint64
	}
	return sx32(x / y)
}

func remw(a, b uint64) uint64 {
	x, y := int32(a), int32(b)
	switch {
	case y == 0:
		return sx32(uint32(x))
	case x == math.MinInt32 && y == -1:
		return 0
	}
	return uint64(int64(x % y))
}

func remuw(a, b uint64) uint64 {
	x, y := uint32(a), uint32(b)
	if y == 0 {
		return sx32(x)
	}
	return sx32(x % y)
}

// amo32 performs a 32-bit AMO on *p atomically and returns the old value.
func amo32(op uint8, p *uint32, v uint32) uint32 {
	switch op {
	case opAMOSWAPW:
		return atomic.SwapUint32(p, v)
	case opAMOADDW:
		return atomic.AddUint32(p, v) - v
	case opAMOANDW:
		return atomic.AndUint32(p, v)
	case opAMOORW:
		return atomic.OrUint32(p, v)
	}
	for {
		old := atomic.LoadUint32(p)
		var nw uint32
		switch op {
		case opAMOXORW:
			nw = old ^ v
		case opAMOMINW:
			nw = uint32(min(int32(old), int32(v)))
		case opAMOMAXW:
			nw = uint32(max(int32(old), int32(v)))
		case opAMOMINUW:
			nw = min(old, v)
		default: // opAMOMAXUW
			nw = max(old, v)
		}
		if atomic.CompareAndSwapUint32(p, old, nw) {
			return old
		}
	}
}

// amo64 performs a 64-bit AMO on *p atomically and returns the old value.
func amo64(op uint8, p *uint64, v uint64) uint64 {
	switch op {
	case opAMOSWAPD:
		return atomic.SwapUint64(p, v)
	case opAMOADDD:
		return atomic.AddUint64(p, v) - v
	case opAMOANDD:
		return atomic.AndUint64(p, v)
	case opAMOORD:
		return atomic.OrUint64(p, v)
	}
	for {
		old := atomic.LoadUint64(p)
		var nw uint64
		switch op {
		case opAMOXORD:
			nw = old ^ v
		case opAMOMIND:
			nw = uint64(min(int64(old), int64(v)))
		case opAMOMAXD:
			nw = uint64(max(int64(old), int64(v)))
		case opAMOMINUD:
			nw = min(old, v)
		default: // opAMOMAXUD
			nw = max(old, v)
		}
		if atomic.CompareAndSwapUint64(p, old, nw) {
			return old
		}
	}
}
