package rv64

import (
	"math"
	"math/bits"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// This file is a reference interpreter, written independently of the fast
// one and as plainly as possible: no caches, compressed instructions are
// expanded to their 32-bit forms, and every instruction is decoded from its
// bits when executed. Tests and fuzz targets check Core.Run against it.

type refHart struct {
	x        [32]uint64
	pc       uint64
	instret  uint64
	resValid bool
	resAddr  uint64
	resVal   uint64
	time     uint64
}

func (h *refHart) set(rd uint32, v uint64) {
	if rd != 0 {
		h.x[rd] = v
	}
}

// refRun steps h until budget instructions retire or one traps.
func refRun(h *refHart, t Translator, budget uint64) Exit {
	var n uint64
	for n < budget {
		ex, ok := refStep(h, t)
		if !ok {
			ex.Executed = n
			return ex
		}
		n++
		h.instret++
	}
	return Exit{Cause: Cause{Reason: Budget}, Executed: n}
}

func refFetch16(t Translator, va uint64) (uint16, bool) {
	p, _, ok := t.Translate(va, Exec)
	if !ok || p == nil {
		return 0, false
	}
	return p.Load16(va & mem.PageMask), true
}

// refStep executes one instruction; ok=false means it trapped (ex says how).
func refStep(h *refHart, t Translator) (Exit, bool) {
	if h.pc&1 != 0 {
		return Exit{Cause: Cause{Reason: Misaligned, Access: Exec}, Addr: h.pc}, false
	}
	lo, ok := refFetch16(t, h.pc)
	if !ok {
		return Exit{Cause: Cause{Reason: Fault, Access: Exec}, Addr: h.pc}, false
	}
	if lo&3 != 3 {
		w, legal := refExpand(lo)
		if !legal {
			return Exit{Cause: Cause{Reason: Illegal, Insn: uint32(lo)}}, false
		}
		if w == 0x00100073 {
			return Exit{Cause: Cause{Reason: Ebreak, Insn: uint32(lo)}}, false
		}
		return refExec(h, t, w, 2)
	}
	hi, ok := refFetch16(t, h.pc+2)
	if !ok {
		return Exit{Cause: Cause{Reason: Fault, Access: Exec}, Addr: h.pc + 2}, false
	}
	return refExec(h, t, uint32(lo)|uint32(hi)<<16, 4)
}

func bit(w uint32, i uint) uint32 { return w >> i & 1 }

func bitsOf(w uint32, hi, lo uint) uint32 { return w >> lo & (1<<(hi-lo+1) - 1) }

// Encoders of the expansions.
func rI(op, f3, rd, rs1 uint32, imm uint32) uint32 {
	return (imm&0xfff)<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func rR(op, f3, f7, rd, rs1, rs2 uint32) uint32 {
	return f7<<25 | rs2<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}
func rS(f3, rs1, rs2, imm uint32) uint32 {
	return (imm>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (imm&31)<<7 | 0x23
}
func rB(f3, rs1, rs2, imm uint32) uint32 {
	return bit(imm, 12)<<31 | bitsOf(imm, 10, 5)<<25 | rs2<<20 | rs1<<15 | f3<<12 | bitsOf(imm, 4, 1)<<8 | bit(imm, 11)<<7 | 0x63
}
func rJ(rd, imm uint32) uint32 {
	return bit(imm, 20)<<31 | bitsOf(imm, 10, 1)<<21 | bit(imm, 11)<<20 | bitsOf(imm, 19, 12)<<12 | rd<<7 | 0x6f
}

func sx(v uint32, n uint) uint32 { return uint32(int32(v<<(32-n)) >> (32 - n)) }

// refExpand expands a compressed instruction to its 32-bit equivalent, as
// tabulated in the RISC-V unprivileged spec (RVC chapter).
func refExpand(c uint16) (uint32, bool) {
	w := uint32(c)
	op := w & 3
	f3 := bitsOf(w, 15, 13)
	rdP := bitsOf(w, 4, 2) + 8
	rs1P := bitsOf(w, 9, 7) + 8
	r := bitsOf(w, 11, 7)
	r2 := bitsOf(w, 6, 2)
	ciImm := sx(bit(w, 12)<<5|bitsOf(w, 6, 2), 6)
	switch op<<3 | f3 {
	case 0<<3 + 0: // c.addi4spn
		imm := bitsOf(w, 12, 11)<<4 | bitsOf(w, 10, 7)<<6 | bit(w, 6)<<2 | bit(w, 5)<<3
		if imm == 0 {
			return 0, false
		}
		return rI(0x13, 0, rdP, 2, imm), true
	case 0<<3 | 2: // c.lw
		imm := bitsOf(w, 12, 10)<<3 | bit(w, 6)<<2 | bit(w, 5)<<6
		return rI(0x03, 2, rdP, rs1P, imm), true
	case 0<<3 | 3: // c.ld
		imm := bitsOf(w, 12, 10)<<3 | bitsOf(w, 6, 5)<<6
		return rI(0x03, 3, rdP, rs1P, imm), true
	case 0<<3 | 6: // c.sw
		imm := bitsOf(w, 12, 10)<<3 | bit(w, 6)<<2 | bit(w, 5)<<6
		return rS(2, rs1P, rdP, imm), true
	case 0<<3 | 7: // c.sd
		imm := bitsOf(w, 12, 10)<<3 | bitsOf(w, 6, 5)<<6
		return rS(3, rs1P, rdP, imm), true
	case 1<<3 + 0: // c.addi, c.nop
		return rI(0x13, 0, r, r, ciImm), true
	case 1<<3 | 1: // c.addiw
		if r == 0 {
			return 0, false
		}
		return rI(0x1b, 0, r, r, ciImm), true
	case 1<<3 | 2: // c.li
		return rI(0x13, 0, r, 0, ciImm), true
	case 1<<3 | 3:
		if r == 2 { // c.addi16sp
			imm := sx(bit(w, 12)<<9|bit(w, 6)<<4|bit(w, 5)<<6|bitsOf(w, 4, 3)<<7|bit(w, 2)<<5, 10)
			if imm == 0 {
				return 0, false
			}
			return rI(0x13, 0, 2, 2, imm), true
		}
		if ciImm == 0 {
			return 0, false
		}
		return ciImm<<12 | r<<7 | 0x37, true // c.lui
	case 1<<3 | 4:
		shamt := bit(w, 12)<<5 | r2
		switch bitsOf(w, 11, 10) {
		case 0:
			return rI(0x13, 5, rs1P, rs1P, shamt), true
		case 1:
			return rI(0x13, 5, rs1P, rs1P, 0x400|shamt), true
		case 2:
			return rI(0x13, 7, rs1P, rs1P, ciImm), true
		}
		switch bit(w, 12)<<2 | bitsOf(w, 6, 5) {
		case 0:
			return rR(0x33, 0, 0x20, rs1P, rs1P, rdP), true
		case 1:
			return rR(0x33, 4, 0, rs1P, rs1P, rdP), true
		case 2:
			return rR(0x33, 6, 0, rs1P, rs1P, rdP), true
		case 3:
			return rR(0x33, 7, 0, rs1P, rs1P, rdP), true
		case 4:
			return rR(0x3b, 0, 0x20, rs1P, rs1P, rdP), true
		case 5:
			return rR(0x3b, 0, 0, rs1P, rs1P, rdP), true
		}
		return 0, false
	case 1<<3 | 5: // c.j
		imm := sx(bit(w, 12)<<11|bit(w, 11)<<4|bitsOf(w, 10, 9)<<8|bit(w, 8)<<10|bit(w, 7)<<6|bit(w, 6)<<7|bitsOf(w, 5, 3)<<1|bit(w, 2)<<5, 12)
		return rJ(0, imm), true
	case 1<<3 | 6, 1<<3 | 7: // c.beqz, c.bnez
		imm := sx(bit(w, 12)<<8|bitsOf(w, 11, 10)<<3|bitsOf(w, 6, 5)<<6|bitsOf(w, 4, 3)<<1|bit(w, 2)<<5, 9)
		return rB(f3&1, rs1P, 0, imm), true
	case 2<<3 + 0: // c.slli
		return rI(0x13, 1, r, r, bit(w, 12)<<5|r2), true
	case 2<<3 | 2: // c.lwsp
		if r == 0 {
			return 0, false
		}
		return rI(0x03, 2, r, 2, bit(w, 12)<<5|bitsOf(w, 6, 4)<<2|bitsOf(w, 3, 2)<<6), true
	case 2<<3 | 3: // c.ldsp
		if r == 0 {
			return 0, false
		}
		return rI(0x03, 3, r, 2, bit(w, 12)<<5|bitsOf(w, 6, 5)<<3|bitsOf(w, 4, 2)<<6), true
	case 2<<3 | 4:
		switch {
		case bit(w, 12) == 0 && r2 == 0: // c.jr
			if r == 0 {
				return 0, false
			}
			return rI(0x67, 0, 0, r, 0), true
		case bit(w, 12) == 0: // c.mv
			return rR(0x33, 0, 0, r, 0, r2), true
		case r == 0 && r2 == 0: // c.ebreak
			return 0x00100073, true
		case r2 == 0: // c.jalr
			return rI(0x67, 0, 1, r, 0), true
		default: // c.add
			return rR(0x33, 0, 0, r, r, r2), true
		}
	case 2<<3 | 6: // c.swsp
		return rS(2, 2, r2, bitsOf(w, 12, 9)<<2|bitsOf(w, 8, 7)<<6), true
	case 2<<3 | 7: // c.sdsp
		return rS(3, 2, r2, bitsOf(w, 12, 10)<<3|bitsOf(w, 9, 7)<<6), true
	}
	return 0, false
}

func refTrans(t Translator, a, size uint64, acc Access) (*mem.Page, Exit, bool) {
	if a%size != 0 {
		return nil, Exit{Cause: Cause{Reason: Misaligned, Access: acc}, Addr: a}, false
	}
	p, w, ok := t.Translate(a, acc)
	if !ok || p == nil || acc == Write && !w {
		return nil, Exit{Cause: Cause{Reason: Fault, Access: acc}, Addr: a}, false
	}
	return p, Exit{}, true
}

// refExec executes the 32-bit instruction w of length ln at h.pc.
func refExec(h *refHart, t Translator, w uint32, ln uint64) (Exit, bool) {
	ill := func() (Exit, bool) {
		insn := w
		if ln == 2 {
			insn = uint32(uint16(insn))
		}
		return Exit{Cause: Cause{Reason: Illegal, Insn: insn}}, false
	}
	opc := w & 0x7f
	rd := bitsOf(w, 11, 7)
	rs1 := bitsOf(w, 19, 15)
	rs2 := bitsOf(w, 24, 20)
	f3 := bitsOf(w, 14, 12)
	f7 := bitsOf(w, 31, 25)
	a, b := h.x[rs1], h.x[rs2]
	iImm := uint64(int64(int32(w) >> 20))
	sImm := uint64(int64(int32(sx(bitsOf(w, 31, 25)<<5|bitsOf(w, 11, 7), 12))))
	next := h.pc + ln
	pc := h.pc
	switch opc {
	case 0x37:
		h.set(rd, uint64(int64(int32(w&0xfffff000))))
	case 0x17:
		h.set(rd, pc+uint64(int64(int32(w&0xfffff000))))
	case 0x6f:
		imm := sx(bit(w, 31)<<20|bitsOf(w, 19, 12)<<12|bit(w, 20)<<11|bitsOf(w, 30, 21)<<1, 21)
		h.set(rd, next)
		next = pc + uint64(int64(int32(imm)))
	case 0x67:
		if f3 != 0 {
			return ill()
		}
		tgt := (a + iImm) &^ 1
		h.set(rd, next)
		next = tgt
	case 0x63:
		var take bool
		switch f3 {
		case 0:
			take = a == b
		case 1:
			take = a != b
		case 4:
			take = int64(a) < int64(b)
		case 5:
			take = int64(a) >= int64(b)
		case 6:
			take = a < b
		case 7:
			take = a >= b
		default:
			return ill()
		}
		if take {
			imm := sx(bit(w, 31)<<12|bit(w, 7)<<11|bitsOf(w, 30, 25)<<5|bitsOf(w, 11, 8)<<1, 13)
			next = pc + uint64(int64(int32(imm)))
		}
	case 0x03:
		if f3 == 7 {
			return ill()
		}
		size := uint64(1) << (f3 & 3)
		addr := a + iImm
		p, ex, ok := refTrans(t, addr, size, Read)
		if !ok {
			return ex, false
		}
		o := addr & mem.PageMask
		var v uint64
		switch f3 {
		case 0:
			v = uint64(int64(int8(p.Load8(o))))
		case 1:
			v = uint64(int64(int16(p.Load16(o))))
		case 2:
			v = uint64(int64(int32(p.Load32(o))))
		case 3:
			v = p.Load64(o)
		case 4:
			v = uint64(p.Load8(o))
		case 5:
			v = uint64(p.Load16(o))
		case 6:
			v = uint64(p.Load32(o))
		}
		h.set(rd, v)
	case 0x23:
		if f3 > 3 {
			return ill()
		}
		size := uint64(1) << f3
		addr := a + sImm
		p, ex, ok := refTrans(t, addr, size, Write)
		if !ok {
			return ex, false
		}
		o := addr & mem.PageMask
		switch f3 {
		case 0:
			p.Store8(o, uint8(b))
		case 1:
			p.Store16(o, uint16(b))
		case 2:
			p.Store32(o, uint32(b))
		case 3:
			p.Store64(o, b)
		}
	case 0x13:
		sh := uint64(bitsOf(w, 25, 20))
		var v uint64
		switch f3 {
		case 0:
			v = a + iImm
		case 1:
			if bitsOf(w, 31, 26) != 0 {
				return ill()
			}
			v = a << sh
		case 2:
			v = b2u(int64(a) < int64(iImm))
		case 3:
			v = b2u(a < iImm)
		case 4:
			v = a ^ iImm
		case 5:
			switch bitsOf(w, 31, 26) {
			case 0:
				v = a >> sh
			case 0x10:
				v = uint64(int64(a) >> sh)
			default:
				return ill()
			}
		case 6:
			v = a | iImm
		case 7:
			v = a & iImm
		}
		h.set(rd, v)
	case 0x1b:
		sh := rs2
		var v uint32
		switch {
		case f3 == 0:
			v = uint32(a) + uint32(iImm)
		case f3 == 1 && f7 == 0:
			v = uint32(a) << sh
		case f3 == 5 && f7 == 0:
			v = uint32(a) >> sh
		case f3 == 5 && f7 == 0x20:
			v = uint32(int32(a) >> sh)
		default:
			return ill()
		}
		h.set(rd, uint64(int64(int32(v))))
	case 0x33:
		var v uint64
		switch f7<<3 | f3 {
		case 0:
			v = a + b
		case 0x20 << 3:
			v = a - b
		case 1:
			v = a << (b & 63)
		case 2:
			v = b2u(int64(a) < int64(b))
		case 3:
			v = b2u(a < b)
		case 4:
			v = a ^ b
		case 5:
			v = a >> (b & 63)
		case 0x20<<3 | 5:
			v = uint64(int64(a) >> (b & 63))
		case 6:
			v = a | b
		case 7:
			v = a & b
		case 1 << 3:
			v = a * b
		case 1<<3 | 1:
			hi, _ := bits.Mul64(a, b)
			if int64(a) < 0 {
				hi -= b
			}
			if int64(b) < 0 {
				hi -= a
			}
			v = hi
		case 1<<3 | 2:
			hi, _ := bits.Mul64(a, b)
			if int64(a) < 0 {
				hi -= b
			}
			v = hi
		case 1<<3 | 3:
			v, _ = bits.Mul64(a, b)
		case 1<<3 | 4:
			switch {
			case b == 0:
				v = math.MaxUint64
			case a == 1<<63 && b == math.MaxUint64:
				v = a
			default:
				v = uint64(int64(a) / int64(b))
			}
		case 1<<3 | 5:
			v = math.MaxUint64
			if b != 0 {
				v = a / b
			}
		case 1<<3 | 6:
			switch {
			case b == 0:
				v = a
			case a == 1<<63 && b == math.MaxUint64:
				v = 0
			default:
				v = uint64(int64(a) % int64(b))
			}
		case 1<<3 | 7:
			v = a
			if b != 0 {
				v = a % b
			}
		default:
			return ill()
		}
		h.set(rd, v)
	case 0x3b:
		x, y := uint32(a), uint32(b)
		var v uint32
		switch f7<<3 | f3 {
		case 0:
			v = x + y
		case 0x20 << 3:
			v = x - y
		case 1:
			v = x << (y & 31)
		case 5:
			v = x >> (y & 31)
		case 0x20<<3 | 5:
			v = uint32(int32(x) >> (y & 31))
		case 1 << 3:
			v = x * y
		case 1<<3 | 4:
			switch {
			case y == 0:
				v = math.MaxUint32
			case x == 1<<31 && y == math.MaxUint32:
				v = x
			default:
				v = uint32(int32(x) / int32(y))
			}
		case 1<<3 | 5:
			v = math.MaxUint32
			if y != 0 {
				v = x / y
			}
		case 1<<3 | 6:
			switch {
			case y == 0:
				v = x
			case x == 1<<31 && y == math.MaxUint32:
				v = 0
			default:
				v = uint32(int32(x) % int32(y))
			}
		case 1<<3 | 7:
			v = x
			if y != 0 {
				v = x % y
			}
		default:
			return ill()
		}
		h.set(rd, uint64(int64(int32(v))))
	case 0x0f:
		if f3 > 1 {
			return ill()
		}
	case 0x73:
		switch {
		case w == 0x00000073:
			return Exit{Cause: Cause{Reason: Ecall}}, false
		case w == 0x00100073:
			return Exit{Cause: Cause{Reason: Ebreak, Insn: w}}, false
		case (f3 == 2 || f3 == 3 || f3 == 6 || f3 == 7) && rs1 == 0:
			switch w >> 20 {
			case 0xc00, 0xc02:
				h.set(rd, h.instret)
			case 0xc01:
				h.set(rd, h.time)
			default:
				return ill()
			}
		default:
			return ill()
		}
	case 0x2f:
		if f3 != 2 && f3 != 3 {
			return ill()
		}
		size := uint64(4)
		if f3 == 3 {
			size = 8
		}
		ext := func(v uint64) uint64 {
			if size == 4 {
				return uint64(int64(int32(v)))
			}
			return v
		}
		f5 := w >> 27
		switch f5 {
		case 2: // lr
			if rs2 != 0 {
				return ill()
			}
			p, ex, ok := refTrans(t, a, size, Read)
			if !ok {
				return ex, false
			}
			var v uint64
			if size == 4 {
				v = ext(uint64(p.AtomicLoad32(a & mem.PageMask)))
			} else {
				v = p.AtomicLoad64(a & mem.PageMask)
			}
			h.set(rd, v)
			h.resValid, h.resAddr, h.resVal = true, a, v
		case 3: // sc
			if a%size != 0 {
				return Exit{Cause: Cause{Reason: Misaligned, Access: Write}, Addr: a}, false
			}
			res := uint64(1)
			if h.resValid && h.resAddr == a {
				p, ex, ok := refTrans(t, a, size, Write)
				if !ok {
					return ex, false
				}
				var okc bool
				if size == 4 {
					okc = p.CAS32(a&mem.PageMask, uint32(h.resVal), uint32(b))
				} else {
					okc = p.CAS64(a&mem.PageMask, h.resVal, b)
				}
				if okc {
					res = 0
				}
			}
			h.resValid = false
			h.set(rd, res)
		case 0x01, 0x00, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c:
			p, ex, ok := refTrans(t, a, size, Write)
			if !ok {
				return ex, false
			}
			o := a & mem.PageMask
			var old uint64
			if size == 4 {
				old = uint64(p.AtomicLoad32(o))
			} else {
				old = p.AtomicLoad64(o)
			}
			var nw uint64
			so, sb := int64(ext(old)), int64(ext(b))
			uo, ub := old, b
			if size == 4 {
				ub = uint64(uint32(b))
			}
			switch f5 {
			case 0x01:
				nw = b
			case 0x00:
				nw = old + b
			case 0x04:
				nw = old ^ b
			case 0x0c:
				nw = old & b
			case 0x08:
				nw = old | b
			case 0x10:
				nw = uint64(min(so, sb))
			case 0x14:
				nw = uint64(max(so, sb))
			case 0x18:
				nw = min(uo, ub)
			case 0x1c:
				nw = max(uo, ub)
			}
			if size == 4 {
				p.Store32(o, uint32(nw))
			} else {
				p.Store64(o, nw)
			}
			h.set(rd, ext(old))
		default:
			return ill()
		}
	default:
		return ill()
	}
	h.pc = next
	return Exit{}, true
}
