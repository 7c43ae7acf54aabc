package linuxsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file generates random RV64IMAC instruction sequences for the
// differential test against qemu-riscv64. Each sequence:
//
//   - starts by loading x1..x31 from its own initial-register table (random
//     values, many of them edge values), except two registers reserved as
//     data pointers: sp (x2), pointing at the sequence's 512-byte data area,
//     and B (one of x8..x15, so that c.lw/c.sw can use it), pointing at the
//     middle of the data area; it also clears any LR reservation;
//   - runs a body of random instruction groups; a group is one or more
//     instructions that must run together (e.g. an address computation and
//     the AMO using it, or c.addi16sp and the one undoing it). Control flow
//     only moves forward, to group boundaries or the end of the body;
//   - ends by storing x1..x31 over the register table, writing a marker
//     (the sequence number) after it and writing the data area, the table
//     and the marker (768 bytes) to stdout.
//
// Memory operations use B or sp with offsets that keep them aligned and
// inside the data area.

// coverage lists every mnemonic the generator must emit at least once
// across all sequences: all of RV64IMAC, compressed forms included, and the
// counter CSR reads. ebreak and c.ebreak are missing on purpose: under
// qemu-user they kill the process with SIGTRAP, so unit tests cover them.
var coverage = []string{
	// RV64I
	"lui", "auipc", "jal", "jalr", "beq", "bne", "blt", "bge", "bltu", "bgeu",
	"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "sb", "sh", "sw", "sd",
	"addi", "slti", "sltiu", "xori", "ori", "andi", "slli", "srli", "srai",
	"add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
	"addiw", "slliw", "srliw", "sraiw", "addw", "subw", "sllw", "srlw", "sraw",
	"fence", "fence.i", "ecall",
	// Zicsr counter reads
	"csrrs", "csrrc", "csrrsi", "csrrci",
	// M
	"mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
	"mulw", "divw", "divuw", "remw", "remuw",
	// A, each with every aq/rl combination
	"lr.w", "sc.w", "lr.d", "sc.d",
	"amoswap.w", "amoadd.w", "amoxor.w", "amoand.w", "amoor.w",
	"amomin.w", "amomax.w", "amominu.w", "amomaxu.w",
	"amoswap.d", "amoadd.d", "amoxor.d", "amoand.d", "amoor.d",
	"amomin.d", "amomax.d", "amominu.d", "amomaxu.d",
	// C
	"c.addi4spn", "c.lw", "c.ld", "c.sw", "c.sd", "c.nop", "c.addi", "c.addiw",
	"c.li", "c.addi16sp", "c.lui", "c.srli", "c.srai", "c.andi", "c.sub",
	"c.xor", "c.or", "c.and", "c.subw", "c.addw", "c.j", "c.beqz", "c.bnez",
	"c.slli", "c.lwsp", "c.ldsp", "c.jr", "c.mv", "c.jalr", "c.add",
	"c.swsp", "c.sdsp",
}

// aqrlSuffixes are the ordering-bit variants of A instructions.
var aqrlSuffixes = []string{"", ".aq", ".rl", ".aqrl"}

const (
	dataSize   = 512 // compared data area per sequence
	regsOff    = 512 // register table, then the marker
	recordSize = 768 // bytes each sequence writes
	seqStride  = 1024
)

type asmLine struct {
	text string // "%T" stands for the target label
	size int
	mn   string // mnemonic, for coverage
}

// branch kinds: the range their offset must fit.
const (
	brNone = iota
	brB    // conditional branch, +-4 KiB
	brJ    // jal, +-1 MiB
	brCB   // c.beqz/c.bnez, +-256 B
	brCJ   // c.j, +-2 KiB
	brAbs  // auipc-relative jump: %D stands for the distance from line 0
)

type group struct {
	lines  []asmLine
	brKind int
	brLine int // the line holding the target
	target int // group index (len(groups) means the end of the body)
}

func (g *group) size() int {
	n := 0
	for _, l := range g.lines {
		n += l.size
	}
	return n
}

type generator struct {
	r      *rand.Rand
	counts map[string]int
	base   int // B register
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), counts: map[string]int{}}
}

var regNames = [32]string{
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1",
	"a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
	"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
}

func rn(i int) string { return regNames[i] }

// wreg returns a register the body may write (not x0, sp or B).
func (g *generator) wreg() int {
	for {
		r := 1 + g.r.IntN(31)
		if r != 2 && r != g.base {
			return r
		}
	}
}

// wregOrZero is wreg, or sometimes x0 (writes to x0 are legal and ignored).
func (g *generator) wregOrZero() int {
	if g.r.IntN(12) == 0 {
		return 0
	}
	return g.wreg()
}

// creg returns a writable register among x8..x15.
func (g *generator) creg() int {
	for {
		r := 8 + g.r.IntN(8)
		if r != g.base {
			return r
		}
	}
}

// sreg returns any source register.
func (g *generator) sreg() int { return g.r.IntN(32) }

// csreg returns any source register among x8..x15.
func (g *generator) csreg() int { return 8 + g.r.IntN(8) }

func l4(mn, format string, args ...any) asmLine {
	return asmLine{text: mn + " " + fmt.Sprintf(format, args...), size: 4, mn: mn}
}

func l2(mn, format string, args ...any) asmLine {
	return asmLine{text: mn + " " + fmt.Sprintf(format, args...), size: 2, mn: mn}
}

func one(l asmLine) group { return group{lines: []asmLine{l}} }

var edgeValues = []uint64{
	0, 1, 2, 0xffffffffffffffff, 0xfffffffffffffffe, 0x8000000000000000,
	0x7fffffffffffffff, 0x80000000, 0x7fffffff, 0xffffffff,
	0xffffffff80000000, 0x100000000, 31, 32, 33, 63, 64, 0xffffffff7fffffff,
	0x8000000000000001, 0x00000000fffffffe,
}

func (g *generator) value() uint64 {
	switch g.r.IntN(5) {
	case 0, 1:
		return edgeValues[g.r.IntN(len(edgeValues))]
	case 2:
		return uint64(g.r.IntN(200)) - 100
	case 3:
		return uint64(int64(int32(g.r.Uint32())))
	}
	return g.r.Uint64()
}

func (g *generator) simm(bits int) int64 {
	lim := int64(1) << (bits - 1)
	if g.r.IntN(4) == 0 {
		return []int64{0, 1, -1, lim - 1, -lim}[g.r.IntN(5)]
	}
	return g.r.Int64N(2*lim) - lim
}

// memOff returns a base register and an offset for an access of size bytes
// inside the data area, aligned to size.
func (g *generator) memOff(size int) (int, int) {
	if g.r.IntN(2) == 0 {
		return 2, g.r.IntN(dataSize/size) * size
	}
	return g.base, g.r.IntN(dataSize/size)*size - dataSize/2
}

// sequence generates the body groups of one sequence.
func (g *generator) body(n int) []group {
	var gs []group
	for len(gs) < n {
		gs = append(gs, g.groupOf(g.r.IntN(100))...)
	}
	return gs
}

var (
	aluR   = []string{"add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and"}
	aluRW  = []string{"addw", "subw", "sllw", "srlw", "sraw"}
	mulDiv = []string{"mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu",
		"mulw", "divw", "divuw", "remw", "remuw"}
	aluI  = []string{"addi", "slti", "sltiu", "xori", "ori", "andi"}
	loads = []struct {
		mn   string
		size int
	}{{"lb", 1}, {"lh", 2}, {"lw", 4}, {"ld", 8}, {"lbu", 1}, {"lhu", 2}, {"lwu", 4}}
	stores = []struct {
		mn   string
		size int
	}{{"sb", 1}, {"sh", 2}, {"sw", 4}, {"sd", 8}}
	amoOps = []string{"amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu"}
	brs    = []string{"beq", "bne", "blt", "bge", "bltu", "bgeu"}
	cALU   = []string{"c.sub", "c.xor", "c.or", "c.and", "c.subw", "c.addw"}
)

// groupOf returns one or more groups of the kind chosen by k (0..99).
func (g *generator) groupOf(k int) []group {
	r := g.r
	switch {
	case k < 10:
		return []group{one(l4(aluR[r.IntN(len(aluR))], "%s, %s, %s", rn(g.wregOrZero()), rn(g.sreg()), rn(g.sreg())))}
	case k < 14:
		return []group{one(l4(aluRW[r.IntN(len(aluRW))], "%s, %s, %s", rn(g.wregOrZero()), rn(g.sreg()), rn(g.sreg())))}
	case k < 20:
		return []group{one(l4(mulDiv[r.IntN(len(mulDiv))], "%s, %s, %s", rn(g.wregOrZero()), rn(g.sreg()), rn(g.sreg())))}
	case k < 22: // division edge cases: x / 0, INT_MIN / -1
		a, b := g.wreg(), g.wreg()
		for b == a {
			b = g.wreg()
		}
		gr := group{}
		if r.IntN(2) == 0 {
			gr.lines = append(gr.lines, l4("addi", "%s, zero, -1", rn(a)), l4("slli", "%s, %s, 63", rn(a), rn(a)))
		} else {
			gr.lines = append(gr.lines, l4("lui", "%s, 0x80000", rn(a)))
		}
		gr.lines = append(gr.lines, l4("addi", "%s, zero, %d", rn(b), -r.IntN(2)))
		op := []string{"div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"}[r.IntN(8)]
		gr.lines = append(gr.lines, l4(op, "%s, %s, %s", rn(g.wregOrZero()), rn(a), rn(b)))
		return []group{gr}
	case k < 28:
		return []group{one(l4(aluI[r.IntN(len(aluI))], "%s, %s, %d", rn(g.wregOrZero()), rn(g.sreg()), g.simm(12)))}
	case k < 31:
		mn := []string{"slli", "srli", "srai"}[r.IntN(3)]
		return []group{one(l4(mn, "%s, %s, %d", rn(g.wregOrZero()), rn(g.sreg()), r.IntN(64)))}
	case k < 34:
		switch r.IntN(4) {
		case 0:
			return []group{one(l4("addiw", "%s, %s, %d", rn(g.wregOrZero()), rn(g.sreg()), g.simm(12)))}
		default:
			mn := []string{"slliw", "srliw", "sraiw"}[r.IntN(3)]
			return []group{one(l4(mn, "%s, %s, %d", rn(g.wregOrZero()), rn(g.sreg()), r.IntN(32)))}
		}
	case k < 36:
		mn := []string{"lui", "auipc"}[r.IntN(2)]
		return []group{one(l4(mn, "%s, 0x%x", rn(g.wregOrZero()), r.IntN(1<<20)))}
	case k < 42:
		ld := loads[r.IntN(len(loads))]
		base, off := g.memOff(ld.size)
		return []group{one(l4(ld.mn, "%s, %d(%s)", rn(g.wregOrZero()), off, rn(base)))}
	case k < 47:
		st := stores[r.IntN(len(stores))]
		base, off := g.memOff(st.size)
		return []group{one(l4(st.mn, "%s, %d(%s)", rn(g.sreg()), off, rn(base)))}
	case k < 52:
		return []group{g.branchGroup()}
	case k < 58:
		return []group{g.atomicGroup()}
	case k < 60:
		return []group{g.miscGroup()}
	default:
		return []group{g.compressedGroup()}
	}
}

func (g *generator) branchGroup() group {
	r := g.r
	switch r.IntN(8) {
	case 0:
		return group{lines: []asmLine{l4("jal", "%s, %%T", rn(g.wregOrZero()))}, brKind: brJ}
	case 1: // jalr through an auipc-computed address; bit 0 of the sum is ignored
		t := g.wreg()
		d := "%D"
		if r.IntN(2) == 0 {
			d = "%E" // distance + 1
		}
		return group{lines: []asmLine{
			l4("auipc", "%s, 0", rn(t)),
			l4("jalr", "%s, %s(%s)", rn(g.wregOrZero()), d, rn(t)),
		}, brKind: brAbs}
	case 2:
		t := g.wreg()
		mn := []string{"c.jr", "c.jalr"}[r.IntN(2)]
		return group{lines: []asmLine{
			l4("auipc", "%s, 0", rn(t)),
			l4("addi", "%s, %s, %%D", rn(t), rn(t)),
			l2(mn, "%s", rn(t)),
		}, brKind: brAbs}
	case 3:
		return group{lines: []asmLine{l2("c.j", "%%T")}, brKind: brCJ}
	case 4:
		mn := []string{"c.beqz", "c.bnez"}[r.IntN(2)]
		return group{lines: []asmLine{l2(mn, "%s, %%T", rn(g.csreg()))}, brKind: brCB}
	default:
		a, b := g.sreg(), g.sreg()
		if r.IntN(4) == 0 {
			b = a
		}
		return group{lines: []asmLine{l4(brs[r.IntN(len(brs))], "%s, %s, %%T", rn(a), rn(b))}, brKind: brB}
	}
}

func (g *generator) atomicGroup() group {
	r := g.r
	size := 4 << r.IntN(2)
	sfx := ".w"
	if size == 8 {
		sfx = ".d"
	}
	t := g.wreg()
	off := g.r.IntN(dataSize/size)*size - dataSize/2
	addr := l4("addi", "%s, %s, %d", rn(t), rn(g.base), off)
	aq := func() string { return aqrlSuffixes[r.IntN(4)] }
	gr := group{lines: []asmLine{addr}}
	switch r.IntN(6) {
	case 0, 1, 2:
		op := amoOps[r.IntN(len(amoOps))]
		gr.lines = append(gr.lines, asmLine{
			text: fmt.Sprintf("%s%s%s %s, %s, (%s)", op, sfx, aq(), rn(g.wregOrZero()), rn(g.sreg()), rn(t)),
			size: 4, mn: op + sfx})
	case 3: // lr then sc to the same address: succeeds
		rd := g.wreg()
		for rd == t {
			rd = g.wreg()
		}
		gr.lines = append(gr.lines, asmLine{text: fmt.Sprintf("lr%s%s %s, (%s)", sfx, aq(), rn(rd), rn(t)), size: 4, mn: "lr" + sfx})
		for range r.IntN(3) {
			d := g.wreg()
			for d == t {
				d = g.wreg()
			}
			gr.lines = append(gr.lines, l4("xor", "%s, %s, %s", rn(d), rn(g.sreg()), rn(g.sreg())))
		}
		gr.lines = append(gr.lines, asmLine{text: fmt.Sprintf("sc%s%s %s, %s, (%s)", sfx, aq(), rn(g.wregOrZero()), rn(g.sreg()), rn(t)), size: 4, mn: "sc" + sfx})
	case 4: // lr, then sc elsewhere (fails), or after a store changing the value (fails)
		rd := g.wreg()
		for rd == t {
			rd = g.wreg()
		}
		gr.lines = append(gr.lines, asmLine{text: fmt.Sprintf("lr%s%s %s, (%s)", sfx, aq(), rn(rd), rn(t)), size: 4, mn: "lr" + sfx})
		if r.IntN(2) == 0 {
			t2 := g.wreg()
			for t2 == t {
				t2 = g.wreg()
			}
			gr.lines = append(gr.lines, l4("addi", "%s, %s, %d", rn(t2), rn(t), size))
			t = t2
		} else {
			gr.lines = append(gr.lines, l4("not", "%s, %s", rn(rd), rn(rd)))
			gr.lines[len(gr.lines)-1].mn = "xori"
			st := map[int]string{4: "sw", 8: "sd"}[size]
			gr.lines = append(gr.lines, l4(st, "%s, 0(%s)", rn(rd), rn(t)))
		}
		gr.lines = append(gr.lines, asmLine{text: fmt.Sprintf("sc%s%s %s, %s, (%s)", sfx, aq(), rn(g.wregOrZero()), rn(g.sreg()), rn(t)), size: 4, mn: "sc" + sfx})
	default: // sc without a reservation: fails
		gr.lines = append(gr.lines, asmLine{text: fmt.Sprintf("sc%s%s %s, %s, (%s)", sfx, aq(), rn(g.wregOrZero()), rn(g.sreg()), rn(t)), size: 4, mn: "sc" + sfx})
	}
	return gr
}

func (g *generator) miscGroup() group {
	r := g.r
	switch r.IntN(4) {
	case 0:
		f := []string{"", "rw, rw", "iorw, iorw", "w, r", "r, rw"}[r.IntN(5)]
		return one(l4("fence", "%s", f))
	case 1:
		return one(l4("fence.i", ""))
	default: // counter read; the value differs between runs, so overwrite it
		rd := g.wreg()
		csr := []string{"cycle", "time", "instret"}[r.IntN(3)]
		var l asmLine
		switch r.IntN(4) {
		case 0:
			l = l4("csrrs", "%s, %s, zero", rn(rd), csr)
		case 1:
			l = l4("csrrc", "%s, %s, zero", rn(rd), csr)
		case 2:
			l = l4("csrrsi", "%s, %s, 0", rn(rd), csr)
		default:
			l = l4("csrrci", "%s, %s, 0", rn(rd), csr)
		}
		return group{lines: []asmLine{l, l4("addi", "%s, zero, %d", rn(rd), r.IntN(100))}}
	}
}

func nz(v int64) int64 {
	if v == 0 {
		return 1
	}
	return v
}

func (g *generator) compressedGroup() group {
	r := g.r
	switch r.IntN(26) {
	case 0:
		return one(l2("c.addi4spn", "%s, sp, %d", rn(g.creg()), 4*(1+r.IntN(255))))
	case 1:
		return one(l2("c.lw", "%s, %d(%s)", rn(g.creg()), 4*r.IntN(32), rn(g.base)))
	case 2:
		return one(l2("c.ld", "%s, %d(%s)", rn(g.creg()), 8*r.IntN(32), rn(g.base)))
	case 3:
		return one(l2("c.sw", "%s, %d(%s)", rn(g.csreg()), 4*r.IntN(32), rn(g.base)))
	case 4:
		return one(l2("c.sd", "%s, %d(%s)", rn(g.csreg()), 8*r.IntN(32), rn(g.base)))
	case 5:
		return one(l2("c.nop", ""))
	case 6:
		return one(l2("c.addi", "%s, %d", rn(g.wreg()), nz(g.simm(6))))
	case 7:
		return one(l2("c.addiw", "%s, %d", rn(g.wreg()), g.simm(6)))
	case 8:
		return one(l2("c.li", "%s, %d", rn(g.wreg()), g.simm(6)))
	case 9: // move sp and back; sp-relative accesses in between are adjusted
		imm := 16 * (1 + r.IntN(31))
		if r.IntN(2) == 0 {
			imm = -imm
		}
		gr := group{lines: []asmLine{l2("c.addi16sp", "sp, %d", imm)}}
		if imm < 0 && r.IntN(2) == 0 {
			off := -imm + 4*r.IntN((dataSize+imm)/4)
			if off <= 252 {
				gr.lines = append(gr.lines, l2("c.lwsp", "%s, %d(sp)", rn(g.wreg()), off))
			}
		}
		gr.lines = append(gr.lines, l2("c.addi16sp", "sp, %d", -imm))
		return gr
	case 10:
		v := 1 + r.IntN(31)
		if r.IntN(2) == 0 {
			v = 0xfffe0 + r.IntN(32)
		}
		rd := g.wreg()
		return one(l2("c.lui", "%s, 0x%x", rn(rd), v))
	case 11:
		return one(l2("c.srli", "%s, %d", rn(g.creg()), 1+r.IntN(63)))
	case 12:
		return one(l2("c.srai", "%s, %d", rn(g.creg()), 1+r.IntN(63)))
	case 13:
		return one(l2("c.andi", "%s, %d", rn(g.creg()), g.simm(6)))
	case 14, 15:
		return one(l2(cALU[r.IntN(len(cALU))], "%s, %s", rn(g.creg()), rn(g.csreg())))
	case 16:
		return one(l2("c.slli", "%s, %d", rn(g.wreg()), 1+r.IntN(63)))
	case 17:
		return one(l2("c.lwsp", "%s, %d(sp)", rn(g.wreg()), 4*r.IntN(64)))
	case 18:
		return one(l2("c.ldsp", "%s, %d(sp)", rn(g.wreg()), 8*r.IntN(64)))
	case 19:
		return one(l2("c.mv", "%s, %s", rn(g.wreg()), rn(1+r.IntN(31))))
	case 20:
		return one(l2("c.add", "%s, %s", rn(g.wreg()), rn(1+r.IntN(31))))
	case 21:
		return one(l2("c.swsp", "%s, %d(sp)", rn(g.sreg()), 4*r.IntN(64)))
	case 22:
		return one(l2("c.sdsp", "%s, %d(sp)", rn(g.sreg()), 8*r.IntN(64)))
	default:
		return g.branchGroup()
	}
}

// program is a generated test program: its assembly source and how many
// sequences it runs.
type program struct {
	src  string
	nseq int
}

// genProgram generates a program of nseq sequences numbered from first.
func (g *generator) genProgram(first, nseq int) program {
	var sb strings.Builder
	sb.WriteString("\t.option norvc\n\t.option norelax\n\t.text\n\t.globl _start\n_start:\n")
	var data strings.Builder
	data.WriteString("\t.data\n\t.balign 16\n")
	for i := first; i < first+nseq; i++ {
		g.base = 8 + g.r.IntN(8)
		b := rn(g.base)
		fmt.Fprintf(&sb, "\t.globl seq_%d\nseq_%d:\n", i, i)
		fmt.Fprintf(&sb, "\tla %s, d_%d+%d\n", b, i, dataSize/2)
		for x := 1; x < 32; x++ {
			if x != 2 && x != g.base {
				fmt.Fprintf(&sb, "\tld %s, %d(%s)\n", rn(x), dataSize/2+8*(x-1), b)
			}
		}
		// Clear any reservation left by an earlier sequence.
		fmt.Fprintf(&sb, "\taddi sp, %s, %d\n\tsc.d zero, zero, (sp)\n\taddi sp, %s, %d\n", b, dataSize/2+8, b, -dataSize/2)
		gs := g.body(15 + g.r.IntN(40))
		g.emitBody(&sb, i, gs)
		fmt.Fprintf(&sb, "\t.globl end_%d\nend_%d:\n", i, i)
		for x := 1; x < 32; x++ {
			fmt.Fprintf(&sb, "\tsd %s, %d(%s)\n", rn(x), dataSize/2+8*(x-1), b)
		}
		fmt.Fprintf(&sb, "\tli t0, %d\n\tsd t0, %d(%s)\n", i, dataSize/2+8*31, b)
		fmt.Fprintf(&sb, "\tmv t1, %s\n\tli a7, 64\n\tli a0, 1\n\taddi a1, t1, %d\n\tli a2, %d\n\tecall\n", b, -dataSize/2, recordSize)
		g.counts["ecall"]++
		// data area and register table
		fmt.Fprintf(&data, "d_%d:\n", i)
		for k := 0; k < dataSize/8; k++ {
			fmt.Fprintf(&data, "\t.quad 0x%x\n", g.value())
		}
		for x := 1; x < 32; x++ {
			fmt.Fprintf(&data, "\t.quad 0x%x\n", g.value())
		}
		fmt.Fprintf(&data, "\t.quad 0\n\t.zero %d\n", seqStride-recordSize)
	}
	sb.WriteString("\tli a7, 93\n\tli a0, 0\n\tecall\n")
	sb.WriteString(data.String())
	return program{src: sb.String(), nseq: nseq}
}

// emitBody lays out the groups, resolves their forward targets and writes
// them; compressed instructions are bracketed by .option rvc so that the
// assembler compresses nothing else.
func (g *generator) emitBody(sb *strings.Builder, seq int, gs []group) {
	offs := make([]int, len(gs)+1)
	for i := range gs {
		offs[i+1] = offs[i] + gs[i].size()
	}
	for i := range gs {
		gr := &gs[i]
		if gr.brKind == brNone {
			continue
		}
		at := offs[i]
		for _, l := range gr.lines[:gr.brLine] {
			at += l.size
		}
		lim := map[int]int{brB: 4094, brJ: 1 << 20, brCB: 254, brCJ: 2046, brAbs: 2040}[gr.brKind]
		var cands []int
		for t := i + 1; t <= len(gs); t++ {
			if offs[t]-offs[i] <= lim {
				cands = append(cands, t)
			}
		}
		// Prefer near targets so that most of the body runs.
		gr.target = cands[min(len(cands)-1, g.r.IntN(min(len(cands), 4)))]
	}
	for i, gr := range gs {
		fmt.Fprintf(sb, ".L%d_%d:\n", seq, i)
		for _, l := range gr.lines {
			text := strings.ReplaceAll(l.text, "%T", fmt.Sprintf(".L%d_%d", seq, gr.target))
			text = strings.ReplaceAll(text, "%D", fmt.Sprint(offs[gr.target]-offs[i]))
			text = strings.ReplaceAll(text, "%E", fmt.Sprint(offs[gr.target]-offs[i]+1))
			if l.size == 2 {
				fmt.Fprintf(sb, "\t.option rvc\n\t%s\n\t.option norvc\n", text)
			} else {
				fmt.Fprintf(sb, "\t%s\n", text)
			}
			g.counts[l.mn]++
			if strings.HasPrefix(l.mn, "lr.") || strings.HasPrefix(l.mn, "sc.") || strings.HasPrefix(l.mn, "amo") {
				fields := strings.Fields(text)
				g.counts["aqrl:"+fields[0]]++
			}
		}
	}
	fmt.Fprintf(sb, ".L%d_%d:\n", seq, len(gs))
}
