package rv64

// inst is one pre-decoded instruction. rd = x0 is decoded as the sink
// register 32 so that writes need no test. The instruction's length is
// implied by op: compressed instructions use the twin ops.
type inst uint64

// mkInst packs a decoded instruction: op in bits 0..7, rd in 8..15, rs1 in
// 16..23, rs2 in 24..31 and the sign-extended immediate in 32..63.
func mkInst(op, rd, rs1, rs2 uint8, imm int32) inst {
	return inst(uint64(op) | uint64(rd)<<8 | uint64(rs1)<<16 | uint64(rs2)<<24 | uint64(uint32(imm))<<32)
}

func (d inst) op() uint8  { return uint8(d) }
func (d inst) rd() uint8  { return uint8(d >> 8) }
func (d inst) rs1() uint8 { return uint8(d >> 16) }
func (d inst) rs2() uint8 { return uint8(d >> 24) }

// imm returns the immediate sign-extended to 64 bits.
func (d inst) imm() uint64 { return uint64(int64(d) >> 32) }

// Instruction lengths given to mk, and the sink register.
const (
	len2 = 2
	len4 = 4
	sink = 32
)

// length returns the instruction's length in bytes.
func (d inst) length() uint64 {
	if d.op() == opIllegal && d.imm()&3 != 3 || baseOps[d.op()] != d.op() {
		return 2
	}
	return 4
}

// Operations of decoded instructions. opDecode is zero so that a cleared
// block is entirely "not decoded yet".
const (
	opDecode  uint8 = iota // slot not decoded yet
	opCross                // 4-byte instruction crossing into the next page
	opPageEnd              // sentinel just past the page
	opIllegal              // imm holds the instruction bits
	opNop
	opLI    // rd = imm (lui, li)
	opAUIPC // rd = pc + imm
	opJAL
	opJALR
	opBEQ
	opBNE
	opBLT
	opBGE
	opBLTU
	opBGEU
	opLB
	opLH
	opLW
	opLD
	opLBU
	opLHU
	opLWU
	opSB
	opSH
	opSW
	opSD
	opADDI
	opSLTI
	opSLTIU
	opXORI
	opORI
	opANDI
	opSLLI
	opSRLI
	opSRAI
	opADD
	opSUB
	opSLL
	opSLT
	opSLTU
	opXOR
	opSRL
	opSRA
	opOR
	opAND
	opADDIW
	opSLLIW
	opSRLIW
	opSRAIW
	opADDW
	opSUBW
	opSLLW
	opSRLW
	opSRAW
	opMUL
	opMULH
	opMULHSU
	opMULHU
	opDIV
	opDIVU
	opREM
	opREMU
	opMULW
	opDIVW
	opDIVUW
	opREMW
	opREMUW
	opFENCE
	opFENCEI
	opECALL
	opEBREAK
	opRDCYCLE // also rdinstret: both return the retired count
	opRDTIME
	opLRW
	opSCW
	opAMOSWAPW
	opAMOADDW
	opAMOXORW
	opAMOANDW
	opAMOORW
	opAMOMINW
	opAMOMAXW
	opAMOMINUW
	opAMOMAXUW
	opLRD
	opSCD
	opAMOSWAPD
	opAMOADDD
	opAMOXORD
	opAMOANDD
	opAMOORD
	opAMOMIND
	opAMOMAXD
	opAMOMINUD
	opAMOMAXUD
	opMV // rd = rs1
	numOps

	// Compressed twins: the same operations for 2-byte instructions, so
	// that the fast path advances the pc by a constant.
	opCNop
	opCLI
	opCMV
	opCADDI
	opCADDIW
	opCSLLI
	opCSRLI
	opCSRAI
	opCANDI
	opCADD
	opCSUB
	opCXOR
	opCOR
	opCAND
	opCSUBW
	opCADDW
	opCJAL
	opCJALR
	opCBEQ
	opCBNE
	opCLW
	opCLD
	opCSW
	opCSD
	opCEBREAK
	numAllOps
)

// mk builds a decoded instruction. rd = 0 becomes the sink register.
func mk(op uint8, rd, rs1, rs2 uint32, imm int32, ln uint8) inst {
	if rd == 0 {
		rd = sink
	}
	if ln == len2 && twinOps[op] != 0 {
		op = twinOps[op]
	}
	return mkInst(op, uint8(rd), uint8(rs1), uint8(rs2), imm)
}

func illegal(bits uint32, ln uint8) inst {
	return mkInst(opIllegal, sink, 0, 0, int32(bits))
}

// sext sign-extends the low n bits of v.
func sext(v uint32, n uint) int32 {
	return int32(v<<(32-n)) >> (32 - n)
}

// decode32 decodes a 32-bit instruction (its low two bits are 11).
func decode32(w uint32) inst {
	rd := w >> 7 & 31
	rs1 := w >> 15 & 31
	rs2 := w >> 20 & 31
	f3 := w >> 12 & 7
	f7 := w >> 25
	immI := int32(w) >> 20
	immS := int32(w)>>25<<5 | int32(w>>7&31)
	immB := int32(w)>>31<<12 | int32(w>>7&1)<<11 | int32(w>>25&63)<<5 | int32(w>>8&15)<<1
	immU := int32(w & 0xfffff000)
	immJ := int32(w)>>31<<20 | int32(w>>12&255)<<12 | int32(w>>20&1)<<11 | int32(w>>21&1023)<<1
	const L = len4
	switch w & 0x7f {
	case 0x37: // lui
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		return mk(opLI, rd, 0, 0, immU, L)
	case 0x17: // auipc
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		return mk(opAUIPC, rd, 0, 0, immU, L)
	case 0x6f:
		return mk(opJAL, rd, 0, 0, immJ, L)
	case 0x67:
		if f3 != 0 {
			break
		}
		return mk(opJALR, rd, rs1, 0, immI, L)
	case 0x63:
		ops := [8]uint8{opBEQ, opBNE, 0, 0, opBLT, opBGE, opBLTU, opBGEU}
		if ops[f3] == 0 {
			break
		}
		return mk(ops[f3], 0, rs1, rs2, immB, L)
	case 0x03:
		ops := [8]uint8{opLB, opLH, opLW, opLD, opLBU, opLHU, opLWU, 0}
		if ops[f3] == 0 {
			break
		}
		return mk(ops[f3], rd, rs1, 0, immI, L)
	case 0x23:
		ops := [8]uint8{opSB, opSH, opSW, opSD, 0, 0, 0, 0}
		if ops[f3] == 0 {
			break
		}
		return mk(ops[f3], 0, rs1, rs2, immS, L)
	case 0x13:
		var op uint8
		imm := immI
		switch f3 {
		case 0:
			op = opADDI
		case 1:
			if w>>26 != 0 {
				return illegal(w, L)
			}
			op, imm = opSLLI, int32(w>>20&63)
		case 2:
			op = opSLTI
		case 3:
			op = opSLTIU
		case 4:
			op = opXORI
		case 5:
			switch w >> 26 {
			case 0:
				op = opSRLI
			case 0x10:
				op = opSRAI
			default:
				return illegal(w, L)
			}
			imm = int32(w >> 20 & 63)
		case 6:
			op = opORI
		case 7:
			op = opANDI
		}
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		return aluImm(op, rd, rs1, imm, L)
	case 0x33:
		var op uint8
		switch f7 {
		case 0:
			op = [8]uint8{opADD, opSLL, opSLT, opSLTU, opXOR, opSRL, opOR, opAND}[f3]
		case 0x20:
			switch f3 {
			case 0:
				op = opSUB
			case 5:
				op = opSRA
			}
		case 1:
			op = [8]uint8{opMUL, opMULH, opMULHSU, opMULHU, opDIV, opDIVU, opREM, opREMU}[f3]
		}
		if op == 0 {
			break
		}
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		if op == opADD && rs1 == 0 {
			return mk(opMV, rd, rs2, 0, 0, L)
		}
		if op == opADD && rs2 == 0 {
			return mk(opMV, rd, rs1, 0, 0, L)
		}
		return mk(op, rd, rs1, rs2, 0, L)
	case 0x1b:
		var op uint8
		imm := immI
		switch f3 {
		case 0:
			op = opADDIW
		case 1:
			if f7 == 0 {
				op, imm = opSLLIW, int32(rs2)
			}
		case 5:
			switch f7 {
			case 0:
				op, imm = opSRLIW, int32(rs2)
			case 0x20:
				op, imm = opSRAIW, int32(rs2)
			}
		}
		if op == 0 {
			break
		}
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		return mk(op, rd, rs1, 0, imm, L)
	case 0x3b:
		var op uint8
		switch f7 {
		case 0:
			switch f3 {
			case 0:
				op = opADDW
			case 1:
				op = opSLLW
			case 5:
				op = opSRLW
			}
		case 0x20:
			switch f3 {
			case 0:
				op = opSUBW
			case 5:
				op = opSRAW
			}
		case 1:
			op = [8]uint8{opMULW, 0, 0, 0, opDIVW, opDIVUW, opREMW, opREMUW}[f3]
		}
		if op == 0 {
			break
		}
		if rd == 0 {
			return mk(opNop, 0, 0, 0, 0, L)
		}
		return mk(op, rd, rs1, rs2, 0, L)
	case 0x0f:
		switch f3 {
		case 0:
			return mk(opFENCE, 0, 0, 0, 0, L)
		case 1:
			return mk(opFENCEI, 0, 0, 0, 0, L)
		}
	case 0x73:
		switch w {
		case 0x00000073:
			return mk(opECALL, 0, 0, 0, 0, L)
		case 0x00100073:
			return mk(opEBREAK, 0, 0, 0, 0, L)
		}
		// csrrs/csrrc with rs1 = x0, csrrsi/csrrci with uimm = 0: reads only.
		if rs1 != 0 || f3&3 < 2 {
			break
		}
		switch w >> 20 {
		case 0xc00, 0xc02: // cycle, instret
			return mk(opRDCYCLE, rd, 0, 0, 0, L)
		case 0xc01: // time
			return mk(opRDTIME, rd, 0, 0, 0, L)
		}
	case 0x2f:
		var op uint8
		f5 := w >> 27
		switch f3 {
		case 2:
			op = amoW[f5]
		case 3:
			op = amoD[f5]
		}
		if op == 0 || (op == opLRW || op == opLRD) && rs2 != 0 {
			break
		}
		return mk(op, rd, rs1, rs2, 0, L)
	}
	return illegal(w, L)
}

var amoW = [32]uint8{
	0x00: opAMOADDW, 0x01: opAMOSWAPW, 0x02: opLRW, 0x03: opSCW,
	0x04: opAMOXORW, 0x08: opAMOORW, 0x0c: opAMOANDW,
	0x10: opAMOMINW, 0x14: opAMOMAXW, 0x18: opAMOMINUW, 0x1c: opAMOMAXUW,
}

var amoD = [32]uint8{
	0x00: opAMOADDD, 0x01: opAMOSWAPD, 0x02: opLRD, 0x03: opSCD,
	0x04: opAMOXORD, 0x08: opAMOORD, 0x0c: opAMOANDD,
	0x10: opAMOMIND, 0x14: opAMOMAXD, 0x18: opAMOMINUD, 0x1c: opAMOMAXUD,
}

// aluImm builds an OP-IMM instruction, using cheaper forms where the
// operands allow (li, mv). rd is not x0.
func aluImm(op uint8, rd, rs1 uint32, imm int32, ln uint8) inst {
	if op == opADDI {
		if rs1 == 0 {
			return mk(opLI, rd, 0, 0, imm, ln)
		}
		if imm == 0 {
			return mk(opMV, rd, rs1, 0, 0, ln)
		}
	}
	return mk(op, rd, rs1, 0, imm, ln)
}

// decode16 decodes a compressed instruction (its low two bits are not 11).
func decode16(h uint16) inst {
	w := uint32(h)
	const L = len2
	f3 := w >> 13
	rdp := w>>2&7 + 8  // rd' / rs2'
	rs1p := w>>7&7 + 8 // rs1' / rd'
	rd := w >> 7 & 31
	rs2 := w >> 2 & 31
	immCI := sext(w>>7&0x20|w>>2&0x1f, 6)
	switch w & 3 {
	case 0:
		switch f3 {
		case 0: // c.addi4spn
			imm := w>>7&0x30 | w>>1&0x3c0 | w>>4&4 | w>>2&8
			if imm == 0 {
				break
			}
			return mk(opADDI, rdp, 2, 0, int32(imm), L)
		case 2: // c.lw
			imm := w>>7&0x38 | w>>4&4 | w<<1&0x40
			return mk(opLW, rdp, rs1p, 0, int32(imm), L)
		case 3: // c.ld
			imm := w>>7&0x38 | w<<1&0xc0
			return mk(opLD, rdp, rs1p, 0, int32(imm), L)
		case 6: // c.sw
			imm := w>>7&0x38 | w>>4&4 | w<<1&0x40
			return mk(opSW, 0, rs1p, rdp, int32(imm), L)
		case 7: // c.sd
			imm := w>>7&0x38 | w<<1&0xc0
			return mk(opSD, 0, rs1p, rdp, int32(imm), L)
		}
	case 1:
		switch f3 {
		case 0: // c.addi (c.nop, hints)
			if rd == 0 {
				return mk(opNop, 0, 0, 0, 0, L)
			}
			return aluImm(opADDI, rd, rd, immCI, L)
		case 1: // c.addiw
			if rd == 0 {
				break
			}
			return mk(opADDIW, rd, rd, 0, immCI, L)
		case 2: // c.li
			if rd == 0 {
				return mk(opNop, 0, 0, 0, 0, L)
			}
			return mk(opLI, rd, 0, 0, immCI, L)
		case 3:
			if rd == 2 { // c.addi16sp
				imm := sext(w>>3&0x200|w>>2&0x10|w<<1&0x40|w<<4&0x180|w<<3&0x20, 10)
				if imm == 0 {
					break
				}
				return mk(opADDI, 2, 2, 0, imm, L)
			}
			if immCI == 0 { // c.lui with nzimm = 0 is reserved
				break
			}
			if rd == 0 {
				return mk(opNop, 0, 0, 0, 0, L)
			}
			return mk(opLI, rd, 0, 0, immCI<<12, L)
		case 4:
			switch w >> 10 & 3 {
			case 0: // c.srli
				return mk(opSRLI, rs1p, rs1p, 0, int32(w>>7&0x20|w>>2&0x1f), L)
			case 1: // c.srai
				return mk(opSRAI, rs1p, rs1p, 0, int32(w>>7&0x20|w>>2&0x1f), L)
			case 2: // c.andi
				return mk(opANDI, rs1p, rs1p, 0, immCI, L)
			case 3:
				ops := [8]uint8{opSUB, opXOR, opOR, opAND, opSUBW, opADDW, 0, 0}
				op := ops[w>>10&4|w>>5&3]
				if op == 0 {
					break
				}
				return mk(op, rs1p, rs1p, rdp, 0, L)
			}
		case 5: // c.j
			return mk(opJAL, 0, 0, 0, cjImm(w), L)
		case 6, 7: // c.beqz, c.bnez
			imm := sext(w>>4&0x100|w>>7&0x18|w<<1&0xc0|w>>2&6|w<<3&0x20, 9)
			op := opBEQ
			if f3 == 7 {
				op = opBNE
			}
			return mk(op, 0, rs1p, 0, imm, L)
		}
	case 2:
		switch f3 {
		case 0: // c.slli
			if rd == 0 {
				return mk(opNop, 0, 0, 0, 0, L)
			}
			return mk(opSLLI, rd, rd, 0, int32(w>>7&0x20|w>>2&0x1f), L)
		case 2: // c.lwsp
			if rd == 0 {
				break
			}
			imm := w>>7&0x20 | w>>2&0x1c | w<<4&0xc0
			return mk(opLW, rd, 2, 0, int32(imm), L)
		case 3: // c.ldsp
			if rd == 0 {
				break
			}
			imm := w>>7&0x20 | w>>2&0x18 | w<<4&0x1c0
			return mk(opLD, rd, 2, 0, int32(imm), L)
		case 4:
			if w>>12&1 == 0 {
				if rs2 == 0 { // c.jr
					if rd == 0 {
						break
					}
					return mk(opJALR, 0, rd, 0, 0, L)
				}
				if rd == 0 { // c.mv hint
					return mk(opNop, 0, 0, 0, 0, L)
				}
				return mk(opMV, rd, rs2, 0, 0, L)
			}
			if rs2 == 0 {
				if rd == 0 {
					return mk(opEBREAK, 0, 0, 0, 0, L)
				}
				return mk(opJALR, 1, rd, 0, 0, L) // c.jalr
			}
			if rd == 0 { // c.add hint
				return mk(opNop, 0, 0, 0, 0, L)
			}
			return mk(opADD, rd, rd, rs2, 0, L)
		case 6: // c.swsp
			imm := w>>7&0x3c | w>>1&0xc0
			return mk(opSW, 0, 2, rs2, int32(imm), L)
		case 7: // c.sdsp
			imm := w>>7&0x38 | w>>1&0x1c0
			return mk(opSD, 0, 2, rs2, int32(imm), L)
		}
	}
	return illegal(w, L)
}

// cjImm extracts the offset of c.j / c.jal.
func cjImm(w uint32) int32 {
	v := w>>1&0x800 | w>>7&0x10 | w>>1&0x300 | w<<2&0x400 | w>>1&0x40 | w<<1&0x80 | w>>2&0xe | w<<3&0x20
	return sext(v, 12)
}

// decode decodes the instruction whose first halfword is lo and, for a
// 32-bit instruction, second halfword hi.
func decode(lo, hi uint16) inst {
	if lo&3 != 3 {
		return decode16(lo)
	}
	return decode32(uint32(lo) | uint32(hi)<<16)
}

// twinOps maps an operation to its compressed twin (zero if it has none).
var twinOps = [numOps]uint8{
	opNop:    opCNop,
	opLI:     opCLI,
	opMV:     opCMV,
	opADDI:   opCADDI,
	opADDIW:  opCADDIW,
	opSLLI:   opCSLLI,
	opSRLI:   opCSRLI,
	opSRAI:   opCSRAI,
	opANDI:   opCANDI,
	opADD:    opCADD,
	opSUB:    opCSUB,
	opXOR:    opCXOR,
	opOR:     opCOR,
	opAND:    opCAND,
	opSUBW:   opCSUBW,
	opADDW:   opCADDW,
	opJAL:    opCJAL,
	opJALR:   opCJALR,
	opBEQ:    opCBEQ,
	opBNE:    opCBNE,
	opLW:     opCLW,
	opLD:     opCLD,
	opSW:     opCSW,
	opSD:     opCSD,
	opEBREAK: opCEBREAK,
}

// baseOps maps every operation, twins included, to its 4-byte form.
var baseOps = func() (b [numAllOps]uint8) {
	for op := range b {
		b[op] = uint8(op)
	}
	for op, tw := range twinOps {
		if tw != 0 {
			b[tw] = uint8(op)
		}
	}
	return b
}()
