package rv64

import (
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/keyfish-os/keyfish/internal/mem"
)

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
	lid8 := c.lidFor(asid) << 3
	x := &c.x
	copy(x[:32], r.X[:])
	x[0] = 0
	pc := r.PC
	n := budget
	var ex Exit

outer:
	for n != 0 {
		if pc&1 != 0 {
			ex = Exit{Reason: Misaligned, Addr: pc, Access: Exec}
			break
		}
		blk := c.codeBlock(t, pc, lid8)
		if blk == nil {
			ex = Exit{Reason: Fault, Addr: pc, Access: Exec}
			break
		}
		base := pc &^ mem.PageMask
		off := pc & mem.PageMask
		for n != 0 {
			d := &blk.insts[off>>1]
		dispatch:
			switch d.op {
			case opDecode:
				p := blk.frame
				lo := p.Load16(off)
				if lo&3 == 3 && off == mem.PageSize-2 {
					blk.insts[off>>1] = inst{op: opCross, rd: sink}
					continue
				}
				var hi uint16
				if lo&3 == 3 {
					hi = p.Load16(off + 2)
				}
				blk.insts[off>>1] = decode(lo, hi)
				continue
			case opCross:
				np := c.fetchFrame(t, base+mem.PageSize, lid8)
				if np == nil {
					pc = base + off
					ex = Exit{Reason: Fault, Addr: base + mem.PageSize, Access: Exec}
					break outer
				}
				c.cross = decode(blk.frame.Load16(off), np.Load16(0))
				d = &c.cross
				goto dispatch
			case opPageEnd:
				pc = base + off
				continue outer
			case opIllegal:
				pc = base + off
				ex = Exit{Reason: Illegal, Insn: uint32(d.imm)}
				if d.length() == 2 {
					ex.Insn &= 0xffff
				}
				break outer
			case opNop:
			case opLI:
				x[d.rd&63] = uint64(int64(d.imm))
			case opMV:
				x[d.rd&63] = x[d.rs1&63]
			case opAUIPC:
				x[d.rd&63] = base + off + uint64(int64(d.imm))
			case opJAL:
				x[d.rd&63] = base + off + d.length()
				n--
				no := off + uint64(int64(d.imm))
				if no < mem.PageSize {
					off = no
					continue
				}
				pc = base + no
				continue outer
			case opJALR:
				tg := (x[d.rs1&63] + uint64(int64(d.imm))) &^ 1
				x[d.rd&63] = base + off + d.length()
				n--
				if tg&^mem.PageMask == base {
					off = tg & mem.PageMask
					continue
				}
				pc = tg
				continue outer
			case opBEQ:
				if x[d.rs1&63] == x[d.rs2&63] {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}
			case opBNE:
				if x[d.rs1&63] != x[d.rs2&63] {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}
			case opBLT:
				if int64(x[d.rs1&63]) < int64(x[d.rs2&63]) {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}
			case opBGE:
				if int64(x[d.rs1&63]) >= int64(x[d.rs2&63]) {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}
			case opBLTU:
				if x[d.rs1&63] < x[d.rs2&63] {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}
			case opBGEU:
				if x[d.rs1&63] >= x[d.rs2&63] {
					n--
					no := off + uint64(int64(d.imm))
					if no < mem.PageSize {
						off = no
						continue
					}
					pc = base + no
					continue outer
				}

			case opLB:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xfff|lid8 {
					if p = c.dpage(t, a, Read, lid8); p == nil {
						pc, ex = base+off, Exit{Reason: Fault, Addr: a, Access: Read}
						break outer
					}
				}
				x[d.rd&63] = uint64(int64(int8(p.Load8(a & mem.PageMask))))
			case opLBU:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xfff|lid8 {
					if p = c.dpage(t, a, Read, lid8); p == nil {
						pc, ex = base+off, Exit{Reason: Fault, Addr: a, Access: Read}
						break outer
					}
				}
				x[d.rd&63] = uint64(p.Load8(a & mem.PageMask))
			case opLH:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xffe|lid8 {
					if p = c.loadSlow(t, a, 2, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 2, Read)
						break outer
					}
				}
				x[d.rd&63] = uint64(int64(int16(p.Load16(a & mem.PageMask))))
			case opLHU:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xffe|lid8 {
					if p = c.loadSlow(t, a, 2, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 2, Read)
						break outer
					}
				}
				x[d.rd&63] = uint64(p.Load16(a & mem.PageMask))
			case opLW:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xffc|lid8 {
					if p = c.loadSlow(t, a, 4, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 4, Read)
						break outer
					}
				}
				x[d.rd&63] = uint64(int64(int32(p.Load32(a & mem.PageMask))))
			case opLWU:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xffc|lid8 {
					if p = c.loadSlow(t, a, 4, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 4, Read)
						break outer
					}
				}
				x[d.rd&63] = uint64(p.Load32(a & mem.PageMask))
			case opLD:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.rtag != a&^0xff8|lid8 {
					if p = c.loadSlow(t, a, 8, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 8, Read)
						break outer
					}
				}
				x[d.rd&63] = p.Load64(a & mem.PageMask)

			case opSB:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.wtag != a&^0xfff|lid8 {
					if p = c.dpage(t, a, Write, lid8); p == nil {
						pc, ex = base+off, Exit{Reason: Fault, Addr: a, Access: Write}
						break outer
					}
				}
				p.Store8(a&mem.PageMask, uint8(x[d.rs2&63]))
			case opSH:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.wtag != a&^0xffe|lid8 {
					if p = c.storeSlow(t, a, 2, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 2, Write)
						break outer
					}
				}
				p.Store16(a&mem.PageMask, uint16(x[d.rs2&63]))
			case opSW:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.wtag != a&^0xffc|lid8 {
					if p = c.storeSlow(t, a, 4, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 4, Write)
						break outer
					}
				}
				p.Store32(a&mem.PageMask, uint32(x[d.rs2&63]))
			case opSD:
				a := x[d.rs1&63] + uint64(int64(d.imm))
				e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
				p := e.page
				if e.wtag != a&^0xff8|lid8 {
					if p = c.storeSlow(t, a, 8, lid8); p == nil {
						pc, ex = base+off, c.dataTrap(a, 8, Write)
						break outer
					}
				}
				p.Store64(a&mem.PageMask, x[d.rs2&63])

			case opADDI:
				x[d.rd&63] = x[d.rs1&63] + uint64(int64(d.imm))
			case opSLTI:
				x[d.rd&63] = b2u(int64(x[d.rs1&63]) < int64(d.imm))
			case opSLTIU:
				x[d.rd&63] = b2u(x[d.rs1&63] < uint64(int64(d.imm)))
			case opXORI:
				x[d.rd&63] = x[d.rs1&63] ^ uint64(int64(d.imm))
			case opORI:
				x[d.rd&63] = x[d.rs1&63] | uint64(int64(d.imm))
			case opANDI:
				x[d.rd&63] = x[d.rs1&63] & uint64(int64(d.imm))
			case opSLLI:
				x[d.rd&63] = x[d.rs1&63] << (d.imm & 63)
			case opSRLI:
				x[d.rd&63] = x[d.rs1&63] >> (d.imm & 63)
			case opSRAI:
				x[d.rd&63] = uint64(int64(x[d.rs1&63]) >> (d.imm & 63))
			case opADD:
				x[d.rd&63] = x[d.rs1&63] + x[d.rs2&63]
			case opSUB:
				x[d.rd&63] = x[d.rs1&63] - x[d.rs2&63]
			case opSLL:
				x[d.rd&63] = x[d.rs1&63] << (x[d.rs2&63] & 63)
			case opSLT:
				x[d.rd&63] = b2u(int64(x[d.rs1&63]) < int64(x[d.rs2&63]))
			case opSLTU:
				x[d.rd&63] = b2u(x[d.rs1&63] < x[d.rs2&63])
			case opXOR:
				x[d.rd&63] = x[d.rs1&63] ^ x[d.rs2&63]
			case opSRL:
				x[d.rd&63] = x[d.rs1&63] >> (x[d.rs2&63] & 63)
			case opSRA:
				x[d.rd&63] = uint64(int64(x[d.rs1&63]) >> (x[d.rs2&63] & 63))
			case opOR:
				x[d.rd&63] = x[d.rs1&63] | x[d.rs2&63]
			case opAND:
				x[d.rd&63] = x[d.rs1&63] & x[d.rs2&63]
			case opADDIW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) + uint32(d.imm))
			case opSLLIW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) << (d.imm & 31))
			case opSRLIW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) >> (d.imm & 31))
			case opSRAIW:
				x[d.rd&63] = uint64(int64(int32(x[d.rs1&63]) >> (d.imm & 31)))
			case opADDW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) + uint32(x[d.rs2&63]))
			case opSUBW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) - uint32(x[d.rs2&63]))
			case opSLLW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) << (x[d.rs2&63] & 31))
			case opSRLW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) >> (x[d.rs2&63] & 31))
			case opSRAW:
				x[d.rd&63] = uint64(int64(int32(x[d.rs1&63]) >> (x[d.rs2&63] & 31)))

			case opMUL:
				x[d.rd&63] = x[d.rs1&63] * x[d.rs2&63]
			case opMULH:
				x[d.rd&63] = mulh(x[d.rs1&63], x[d.rs2&63])
			case opMULHSU:
				x[d.rd&63] = mulhsu(x[d.rs1&63], x[d.rs2&63])
			case opMULHU:
				x[d.rd&63], _ = bits.Mul64(x[d.rs1&63], x[d.rs2&63])
			case opDIV:
				x[d.rd&63] = div(x[d.rs1&63], x[d.rs2&63])
			case opDIVU:
				x[d.rd&63] = divu(x[d.rs1&63], x[d.rs2&63])
			case opREM:
				x[d.rd&63] = rem(x[d.rs1&63], x[d.rs2&63])
			case opREMU:
				x[d.rd&63] = remu(x[d.rs1&63], x[d.rs2&63])
			case opMULW:
				x[d.rd&63] = sx32(uint32(x[d.rs1&63]) * uint32(x[d.rs2&63]))
			case opDIVW:
				x[d.rd&63] = divw(x[d.rs1&63], x[d.rs2&63])
			case opDIVUW:
				x[d.rd&63] = divuw(x[d.rs1&63], x[d.rs2&63])
			case opREMW:
				x[d.rd&63] = remw(x[d.rs1&63], x[d.rs2&63])
			case opREMUW:
				x[d.rd&63] = remuw(x[d.rs1&63], x[d.rs2&63])

			case opFENCE:
				atomic.AddUint64(&c.fenceVar, 1)
			case opFENCEI:
				c.FlushCode()
				if c.CodeGen != nil {
					c.seenGen = c.CodeGen.Add(1)
				}
				n--
				pc = base + off + d.length()
				continue outer
			case opECALL:
				pc, ex = base+off, Exit{Reason: Ecall}
				break outer
			case opEBREAK:
				pc, ex = base+off, Exit{Reason: Ebreak}
				break outer
			case opRDCYCLE:
				x[d.rd&63] = r.Instret + (budget - n)
			case opRDTIME:
				var v uint64
				if c.TimeFn != nil {
					v = c.TimeFn()
				}
				x[d.rd&63] = v

			case opLRW, opLRD:
				a := x[d.rs1&63]
				size := uint64(4)
				if d.op == opLRD {
					size = 8
				}
				p := c.loadSlow(t, a, size, lid8)
				if p == nil {
					pc, ex = base+off, c.dataTrap(a, size, Read)
					break outer
				}
				var v uint64
				if size == 4 {
					v = sx32(p.AtomicLoad32(a & mem.PageMask))
				} else {
					v = p.AtomicLoad64(a & mem.PageMask)
				}
				x[d.rd&63] = v
				r.ResValid, r.ResAddr, r.ResVal = true, a, v
			case opSCW, opSCD:
				a := x[d.rs1&63]
				size := uint64(4)
				if d.op == opSCD {
					size = 8
				}
				if a&(size-1) != 0 {
					pc, ex = base+off, Exit{Reason: Misaligned, Addr: a, Access: Write}
					break outer
				}
				fail := uint64(1)
				if r.ResValid && r.ResAddr == a {
					p := c.storeSlow(t, a, size, lid8)
					if p == nil {
						pc, ex = base+off, c.dataTrap(a, size, Write)
						break outer
					}
					var ok bool
					if size == 4 {
						ok = p.CAS32(a&mem.PageMask, uint32(r.ResVal), uint32(x[d.rs2&63]))
					} else {
						ok = p.CAS64(a&mem.PageMask, r.ResVal, x[d.rs2&63])
					}
					if ok {
						fail = 0
					}
				}
				r.ResValid = false
				x[d.rd&63] = fail
			case opAMOSWAPW, opAMOADDW, opAMOXORW, opAMOANDW, opAMOORW,
				opAMOMINW, opAMOMAXW, opAMOMINUW, opAMOMAXUW:
				a := x[d.rs1&63]
				p := c.storeSlow(t, a, 4, lid8)
				if p == nil {
					pc, ex = base+off, c.dataTrap(a, 4, Write)
					break outer
				}
				x[d.rd&63] = sx32(amo32(d.op, p.Addr32(a&mem.PageMask), uint32(x[d.rs2&63])))
			case opAMOSWAPD, opAMOADDD, opAMOXORD, opAMOANDD, opAMOORD,
				opAMOMIND, opAMOMAXD, opAMOMINUD, opAMOMAXUD:
				a := x[d.rs1&63]
				p := c.storeSlow(t, a, 8, lid8)
				if p == nil {
					pc, ex = base+off, c.dataTrap(a, 8, Write)
					break outer
				}
				x[d.rd&63] = amo64(d.op, p.Addr64(a&mem.PageMask), x[d.rs2&63])
			default:
				// Unreachable: every op is handled above. Report it as
				// illegal rather than panic.
				pc, ex = base+off, Exit{Reason: Illegal, Insn: uint32(d.imm)}
				break outer
			}
			n--
			off += d.length()
		}
		pc = base + off
	}
	x[0] = 0
	copy(r.X[:], x[:32])
	r.PC = pc
	ex.Executed = budget - n
	r.Instret += ex.Executed
	return ex
}

// loadSlow returns the page for a load of size bytes at a through the
// Translator, or nil if the load traps (see dataTrap).
func (c *Core) loadSlow(t Translator, a, size, lid8 uint64) *mem.Page {
	if a&(size-1) != 0 {
		return nil
	}
	e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
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
	e := &c.dtlb[a>>mem.PageShift&(dtlbSize-1)]
	if e.wtag == a&^mem.PageMask|lid8 {
		return e.page
	}
	return c.dpage(t, a, Write, lid8)
}

// dataTrap describes the trap of a failed loadSlow or storeSlow.
func (c *Core) dataTrap(a, size uint64, acc Access) Exit {
	if a&(size-1) != 0 {
		return Exit{Reason: Misaligned, Addr: a, Access: acc}
	}
	return Exit{Reason: Fault, Addr: a, Access: acc}
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
