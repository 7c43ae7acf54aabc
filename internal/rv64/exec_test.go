package rv64

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyfish-os/keyfish/internal/mem"
)

const (
	a0 = 10
	a1 = 11
	a2 = 12
	a3 = 13
)

// TestALU runs one instruction computing a0 from a1 and a2 for edge cases.
func TestALU(t *testing.T) {
	const minI64 = 0x8000000000000000
	const maxU64 = math.MaxUint64
	R := func(op, f3, f7 uint32) uint32 { return encR(op, f3, f7, a0, a1, a2) }
	I := func(op, f3 uint32, imm int32) uint32 { return encI(op, f3, a0, a1, imm) }
	tests := []struct {
		name   string
		insn   uint32
		a1, a2 uint64
		want   uint64
	}{
		// shifts by >= 32 in *W ops use the low 5 bits of rs2
		{"sllw by 33", R(0x3b, 1, 0), 1, 33, 2},
		{"sllw to bit 31", R(0x3b, 1, 0), 1, 31, 0xffffffff80000000},
		{"sllw by 32 is by 0", R(0x3b, 1, 0), 0x1_2345_6789, 32, 0x23456789},
		{"srlw by 36", R(0x3b, 5, 0), 0xffffffff80000000, 36, 0x08000000},
		{"srlw by 0 sign-extends", R(0x3b, 5, 0), 0x80000000, 0, 0xffffffff80000000},
		{"sraw by 36", R(0x3b, 5, 0x20), 0x80000000, 36, 0xfffffffff8000000},
		{"sraw ignores upper half", R(0x3b, 5, 0x20), 0xffffffff_7fffffff, 63, 0},
		{"addw overflow", R(0x3b, 0, 0), 0x7fffffff, 1, 0xffffffff80000000},
		{"subw", R(0x3b, 0, 0x20), 0, 1, maxU64},
		{"slliw 31", I(0x1b, 1, 31), 1, 0, 0xffffffff80000000},
		{"srliw 0 sign-extends", I(0x1b, 5, 0), 0xffffffff, 0, maxU64},
		{"srliw 31", I(0x1b, 5, 31), 0x80000000, 0, 1},
		{"sraiw 31", I(0x1b, 5, 0x400|31), 0x80000000, 0, maxU64},
		{"addiw wraps", I(0x1b, 0, 1), 0x7fffffff, 0, 0xffffffff80000000},
		{"addiw 0 is sext.w", I(0x1b, 0, 0), 0x1_ffff_fffe, 0, 0xfffffffffffffffe},
		// 64-bit shifts use the low 6 bits
		{"sll by 65", R(0x33, 1, 0), 1, 65, 2},
		{"srl by 124", R(0x33, 5, 0), maxU64, 124, 0xf},
		{"sra by 63", R(0x33, 5, 0x20), minI64, 63, maxU64},
		{"slli 63", I(0x13, 1, 63), 1, 0, minI64},
		{"srai 63", I(0x13, 5, 0x400|63), minI64, 0, maxU64},
		{"srli 1", I(0x13, 5, 1), maxU64, 0, math.MaxInt64},
		// comparisons
		{"slt", R(0x33, 2, 0), maxU64, 0, 1},
		{"sltu", R(0x33, 3, 0), maxU64, 0, 0},
		{"slti -1 < 0", I(0x13, 2, 0), maxU64, 0, 1},
		{"sltiu sign-extended imm", I(0x13, 3, -1), 5, 0, 1},
		{"sltiu seqz", I(0x13, 3, 1), 0, 0, 1},
		{"xori not", I(0x13, 4, -1), 0x1234, 0, ^uint64(0x1234)},
		{"andi sign-extended imm", I(0x13, 7, -2048), maxU64, 0, 0xfffffffffffff800},
		// M: division edge cases
		{"div truncates", R(0x33, 4, 1), 7, uint64(1<<64 - 2), uint64(1<<64 - 3)},
		{"div by zero", R(0x33, 4, 1), 7, 0, maxU64},
		{"div overflow", R(0x33, 4, 1), minI64, maxU64, minI64},
		{"divu by zero", R(0x33, 5, 1), 7, 0, maxU64},
		{"divu", R(0x33, 5, 1), maxU64, 2, math.MaxInt64},
		{"rem sign of dividend", R(0x33, 6, 1), uint64(1<<64 - 7), 2, maxU64},
		{"rem by zero", R(0x33, 6, 1), 7, 0, 7},
		{"rem overflow", R(0x33, 6, 1), minI64, maxU64, 0},
		{"remu by zero", R(0x33, 7, 1), 9, 0, 9},
		{"divw overflow", R(0x3b, 4, 1), 0x80000000, maxU64, 0xffffffff80000000},
		{"divw by zero", R(0x3b, 4, 1), 5, 0x1_0000_0000, maxU64},
		{"divw", R(0x3b, 4, 1), 0xfffffff9, 2, 0xfffffffffffffffd},
		{"divuw by zero", R(0x3b, 5, 1), 5, 0, maxU64},
		{"divuw sign-extends", R(0x3b, 5, 1), 0xffffffff, 1, maxU64},
		{"remw overflow", R(0x3b, 6, 1), 0x80000000, maxU64, 0},
		{"remw by zero", R(0x3b, 6, 1), 0x1_8000_0001, 0, 0xffffffff80000001},
		{"remw", R(0x3b, 6, 1), 0xfffffff9, 2, maxU64},
		{"remuw by zero", R(0x3b, 7, 1), 0x80000000, 0, 0xffffffff80000000},
		{"remuw", R(0x3b, 7, 1), 0xffffffff, 10, 5},
		// M: multiplication
		{"mul", R(0x33, 0, 1), maxU64, maxU64, 1},
		{"mulh -1*-1", R(0x33, 1, 1), maxU64, maxU64, 0},
		{"mulh min*min", R(0x33, 1, 1), minI64, minI64, 0x4000000000000000},
		{"mulh -1*1", R(0x33, 1, 1), maxU64, 1, maxU64},
		{"mulhsu -1*max", R(0x33, 2, 1), maxU64, maxU64, maxU64},
		{"mulhsu 2*max", R(0x33, 2, 1), 2, maxU64, 1},
		{"mulhu max*max", R(0x33, 3, 1), maxU64, maxU64, 0xfffffffffffffffe},
		{"mulw wraps to 0", R(0x3b, 0, 1), 0x10000, 0x10000, 0},
		{"mulw sign-extends", R(0x3b, 0, 1), 0x7fffffff, 2, 0xfffffffffffffffe},
		// sign extension of U-type immediates
		{"lui bit 31", encU(0x37, a0, 0x80000), 0, 0, 0xffffffff80000000},
		{"auipc", encU(0x17, a0, 0xfffff), 0, 0, codeVA - 0x1000},
	}
	for _, tc := range tests {
		mc := newMachine(t, tc.insn, ecall)
		mc.r.X[a1], mc.r.X[a2] = tc.a1, tc.a2
		ex := mc.run(10)
		if ex.Reason != Ecall || ex.Executed != 1 || mc.r.PC != codeVA+4 {
			t.Errorf("%s: exit %+v pc %#x", tc.name, ex, mc.r.PC)
			continue
		}
		if mc.r.X[a0] != tc.want {
			t.Errorf("%s: a0 = %#x, want %#x", tc.name, mc.r.X[a0], tc.want)
		}
	}
}

// TestCompressedExec runs compressed instructions with immediates at their
// extremes.
func TestCompressedExec(t *testing.T) {
	tests := []struct {
		name string
		c    uint16
		reg  int
		in   uint64
		want uint64
	}{
		{"c.addi a0,-32", 0x1501, a0, 100, 68},
		{"c.addiw a0,-1", 0x357d, a0, 0x80000000, 0x7fffffff},
		{"c.li ra,-32", 0x5081, 1, 5, uint64(1<<64 - 32)},
		{"c.lui a0,0xfffe0", 0x7501, a0, 0, 0xfffffffffffe0000},
		{"c.lui t3,31", 0x6e7d, 28, 0, 31 << 12},
		{"c.srli s1,63", 0x90fd, 9, 1 << 63, 1},
		{"c.srai a0,33", 0x9505, a0, 1 << 63, 0xffffffffc0000000},
		{"c.andi a0,-32", 0x9901, a0, 0xff, 0xe0},
		{"c.slli a0,63", 0x157e, a0, 1, 1 << 63},
	}
	for _, tc := range tests {
		mc := newMachine(t, uint32(tc.c), ecall)
		mc.r.X[tc.reg] = tc.in
		ex := mc.run(10)
		if ex.Reason != Ecall || mc.r.PC != codeVA+2 || ex.Executed != 1 {
			t.Errorf("%s: %+v pc %#x", tc.name, ex, mc.r.PC)
		}
		if mc.r.X[tc.reg] != tc.want {
			t.Errorf("%s: x%d = %#x, want %#x", tc.name, tc.reg, mc.r.X[tc.reg], tc.want)
		}
	}
	// sp-relative forms: c.addi16sp sp,-496; c.addi4spn a0,sp,16;
	// c.sdsp a0,504(sp); c.lui a1,31
	mc := newMachine(t, 0x7141, 0x0808, 0xffaa, 0x65fd, ecall)
	mc.r.X[2] = dataVA + 496
	ex := mc.run(100)
	if ex.Reason != Ecall {
		t.Fatalf("%+v", ex)
	}
	if mc.r.X[2] != dataVA || mc.r.X[a0] != dataVA+16 {
		t.Errorf("sp %#x a0 %#x", mc.r.X[2], mc.r.X[a0])
	}
	if got := mc.data.Load64(504); got != dataVA+16 {
		t.Errorf("c.sdsp stored %#x", got)
	}
	if mc.r.X[a1] != 31<<12 {
		t.Errorf("c.lui a1,31: %#x", mc.r.X[a1])
	}
}

func TestLoadsSignExtend(t *testing.T) {
	mc := newMachine(t,
		encI(0x03, 0, 5, a1, 0),  // lb t0
		encI(0x03, 4, 6, a1, 0),  // lbu t1
		encI(0x03, 1, 7, a1, 2),  // lh t2
		encI(0x03, 5, 28, a1, 2), // lhu t3
		encI(0x03, 2, 29, a1, 4), // lw t4
		encI(0x03, 6, 30, a1, 4), // lwu t5
		encI(0x03, 3, 31, a1, 8), // ld t6
		encI(0x03, 2, 0, a1, 4),  // lw zero: the load happens, x0 stays 0
		ecall)
	mc.data.Store8(0, 0x80)
	mc.data.Store16(2, 0x8001)
	mc.data.Store32(4, 0x80000002)
	mc.data.Store64(8, 0x8000000000000003)
	mc.r.X[a1] = dataVA
	if ex := mc.run(100); ex.Reason != Ecall || ex.Executed != 8 {
		t.Fatalf("%+v", ex)
	}
	want := map[int]uint64{5: 0xffffffffffffff80, 6: 0x80, 7: 0xffffffffffff8001, 28: 0x8001,
		29: 0xffffffff80000002, 30: 0x80000002, 31: 0x8000000000000003, 0: 0}
	for r, w := range want {
		if mc.r.X[r] != w {
			t.Errorf("x%d = %#x, want %#x", r, mc.r.X[r], w)
		}
	}
}

func TestStores(t *testing.T) {
	mc := newMachine(t,
		encS(0x23, 0, a1, a2, -1), // sb a2, -1(a1)
		encS(0x23, 1, a1, a2, 2),  // sh
		encS(0x23, 2, a1, a2, 4),  // sw
		encS(0x23, 3, a1, a2, 8),  // sd
		ecall)
	mc.r.X[a1] = dataVA + 16
	mc.r.X[a2] = 0x1122334455667788
	if ex := mc.run(100); ex.Reason != Ecall {
		t.Fatalf("%+v", ex)
	}
	if mc.data.Load8(15) != 0x88 || mc.data.Load16(18) != 0x7788 || mc.data.Load32(20) != 0x55667788 ||
		mc.data.Load64(24) != 0x1122334455667788 || mc.data.Load8(16) != 0 {
		t.Errorf("stores wrong: % x", mc.data.Bytes()[8:32])
	}
}

// TestX0 checks that writes to x0 are dropped and reads give zero.
func TestX0(t *testing.T) {
	mc := newMachine(t, addi(0, 0, 5), encJ(0, 4), add(a0, 0, 0), ld(0, a1, 0), ecall)
	mc.r.X[0] = 77 // garbage in X[0] is ignored
	mc.r.X[a1] = dataVA
	mc.r.X[a0] = 9
	if ex := mc.run(100); ex.Reason != Ecall {
		t.Fatalf("%+v", ex)
	}
	if mc.r.X[0] != 0 || mc.r.X[a0] != 0 {
		t.Errorf("x0 %d a0 %d", mc.r.X[0], mc.r.X[a0])
	}
}

func TestBranchesAndJumps(t *testing.T) {
	// a0 counts the paths taken; each branch skips an "addi a0,a0,100".
	bad := addi(a0, a0, 100)
	mc := newMachine(t,
		encB(0, a1, a1, 8), bad, // beq taken
		encB(1, a1, a2, 8), bad, // bne taken
		encB(4, a2, a1, 8), bad, // blt -1 < 1 taken
		encB(5, a1, a2, 8), bad, // bge 1 >= -1 taken
		encB(6, a1, a2, 8), bad, // bltu 1 < max taken
		encB(7, a2, a1, 8), bad, // bgeu max >= 1 taken
		encB(0, a1, a2, 8), // beq not taken
		addi(a0, a0, 1),
		encJ(1, 8), bad, // jal ra, +8
		0x4501, // c.li a0,0
		ecall)
	mc.r.X[a1], mc.r.X[a2] = 1, math.MaxUint64
	ex := mc.run(100)
	if ex.Reason != Ecall {
		t.Fatalf("%+v", ex)
	}
	if mc.r.X[1] != codeVA+4*14+4 {
		t.Errorf("ra = %#x", mc.r.X[1])
	}
	if mc.r.X[a0] != 0 { // c.li a0,0 ran last
		t.Errorf("a0 = %d", mc.r.X[a0])
	}
	if ex.Executed != 10 {
		t.Errorf("executed %d", ex.Executed)
	}
	// jalr clears bit 0 and links before jumping (rd == rs1)
	mc = newMachine(t, encI(0x67, 0, a1, a1, 9), bad, bad, ecall)
	mc.r.X[a1] = codeVA + 3
	if ex := mc.run(10); ex.Reason != Ecall || mc.r.PC != codeVA+12 || mc.r.X[a1] != codeVA+4 {
		t.Errorf("jalr: %+v pc %#x a1 %#x", ex, mc.r.PC, mc.r.X[a1])
	}
	// c.jalr and c.jr
	mc = newMachine(t, 0x9582, bad, 0x8082) // c.jalr a1; bad; c.jr ra
	mc.r.X[a1] = codeVA + 6
	mc.m.storeCode(t, codeVA+6, 0x8082)
	ex = mc.run(2)
	if ex.Reason != Budget || mc.r.PC != codeVA+2 || mc.r.X[1] != codeVA+2 {
		t.Errorf("c.jalr/c.jr: %+v pc %#x ra %#x", ex, mc.r.PC, mc.r.X[1])
	}
}

func TestBudget(t *testing.T) {
	mc := newMachine(t, addi(a0, a0, 1), encJ(0, -4))
	total := uint64(0)
	for _, b := range []uint64{0, 1, 2, 3, 1000, 1001} {
		ins := mc.r.Instret
		ex := mc.run(b)
		total += b
		if ex.Reason != Budget || ex.Executed != b || mc.r.Instret-ins != b {
			t.Errorf("budget %d: %+v", b, ex)
		}
		// every other instruction is the addi
		if want := (total + 1) / 2; mc.r.X[a0] != want {
			t.Errorf("after %d instructions a0 = %d, want %d", total, mc.r.X[a0], want)
		}
	}
}

func TestTraps(t *testing.T) {
	t.Run("ecall", func(t *testing.T) {
		mc := newMachine(t, addi(a0, 0, 1), ecall)
		ex := mc.run(10)
		if ex.Reason != Ecall || ex.Executed != 1 || mc.r.PC != codeVA+4 || mc.r.Instret != 1 {
			t.Errorf("%+v pc %#x", ex, mc.r.PC)
		}
	})
	t.Run("ebreak", func(t *testing.T) {
		mc := newMachine(t, ebreak)
		if ex := mc.run(10); ex.Reason != Ebreak || ex.Executed != 0 || ex.Insn != ebreak || mc.r.PC != codeVA {
			t.Errorf("%+v", ex)
		}
		mc = newMachine(t, 0x0001, 0x9002) // c.nop; c.ebreak
		if ex := mc.run(10); ex.Reason != Ebreak || ex.Executed != 1 || ex.Insn != 0x9002 || mc.r.PC != codeVA+2 {
			t.Errorf("c.ebreak: %+v pc %#x", ex, mc.r.PC)
		}
	})
	t.Run("illegal", func(t *testing.T) {
		for _, w := range []uint32{0x30200073, 0xc0001573, 0x00052007, 0xffffffff} {
			mc := newMachine(t, addi(a0, 0, 1), w)
			if ex := mc.run(10); ex.Reason != Illegal || ex.Insn != w || ex.Executed != 1 || mc.r.PC != codeVA+4 {
				t.Errorf("%#08x: %+v pc %#x", w, ex, mc.r.PC)
			}
		}
		mc := newMachine(t) // the zero halfword
		if ex := mc.run(10); ex.Reason != Illegal || ex.Insn != 0 || mc.r.PC != codeVA {
			t.Errorf("zero halfword: %+v", ex)
		}
	})
	t.Run("misaligned", func(t *testing.T) {
		cases := []struct {
			insn uint32
			addr uint64
			acc  Access
		}{
			{encI(0x03, 1, a0, a1, 1), dataVA + 1, Read},  // lh
			{encI(0x03, 2, a0, a1, 2), dataVA + 2, Read},  // lw
			{encI(0x03, 3, a0, a1, 4), dataVA + 4, Read},  // ld
			{encI(0x03, 6, a0, a1, 6), dataVA + 6, Read},  // lwu
			{encS(0x23, 1, a1, a2, 3), dataVA + 3, Write}, // sh
			{encS(0x23, 3, a1, a2, 12), dataVA + 12, Write},
			{amo(0x00, 2, a0, a3, a2), dataVA + 2, Write}, // amoadd.w
			{amo(0x01, 3, a0, a3, a2), dataVA + 2, Write}, // amoswap.d
			{amo(0x02, 3, a0, a3, 0), dataVA + 2, Read},   // lr.d
			{amo(0x03, 2, a0, a3, a2), dataVA + 2, Write}, // sc.w
		}
		for _, tc := range cases {
			mc := newMachine(t, tc.insn)
			mc.r.X[a1], mc.r.X[a3] = dataVA, dataVA+2
			ex := mc.run(10)
			if ex.Reason != Misaligned || ex.Addr != tc.addr || ex.Access != tc.acc || mc.r.PC != codeVA || ex.Executed != 0 {
				t.Errorf("%#08x: %+v", tc.insn, ex)
			}
		}
	})
	t.Run("fault", func(t *testing.T) {
		cases := []struct {
			insn uint32
			addr uint64
			acc  Access
		}{
			{ld(a0, a1, 0), 0x90000, Read},
			{sd(a2, a1, 8), 0x90008, Write},
			{sd(a2, a3, 0), codeVA, Write},            // write to read-only code
			{amo(0x00, 3, a0, a3, a2), codeVA, Write}, // amoadd.d on read-only
		}
		for _, tc := range cases {
			mc := newMachine(t, tc.insn)
			mc.r.X[a1], mc.r.X[a3] = 0x90000, codeVA
			ex := mc.run(10)
			if ex.Reason != Fault || ex.Addr != tc.addr || ex.Access != tc.acc || mc.r.PC != codeVA || ex.Executed != 0 {
				t.Errorf("%#08x: %+v", tc.insn, ex)
			}
			// The kernel repairs the mapping and retries: it works.
			if tc.addr == 0x90000 || tc.addr == 0x90008 {
				mc.m.mapPage(0x90000, true, true, false)
				if ex := mc.run(1); ex.Reason != Budget || ex.Executed != 1 {
					t.Errorf("%#08x retry: %+v", tc.insn, ex)
				}
			}
		}
		// fetch from an unmapped page, and from a non-executable one
		mc := newMachine(t, encJ(0, 0x10000)) // jump to dataVA
		if ex := mc.run(10); ex.Reason != Fault || ex.Access != Exec || ex.Addr != dataVA || mc.r.PC != dataVA || ex.Executed != 1 {
			t.Errorf("exec data page: %+v pc %#x", ex, mc.r.PC)
		}
		mc.r.PC = 0x700000
		if ex := mc.run(10); ex.Reason != Fault || ex.Access != Exec || ex.Addr != 0x700000 {
			t.Errorf("exec unmapped: %+v", ex)
		}
		mc.r.PC = codeVA + 1
		if ex := mc.run(10); ex.Reason != Misaligned || ex.Access != Exec {
			t.Errorf("odd pc: %+v", ex)
		}
	})
}

// TestPageCrossingFetch runs a 4-byte instruction split over two pages,
// including when the second page changes or is missing.
func TestPageCrossingFetch(t *testing.T) {
	m := newTestMem()
	m.mapPage(codeVA, true, false, true)
	m.mapPage(codeVA+0x1000, true, false, true)
	m.storeCode(t, codeVA+0xffc, 0x0001, addi(a0, a0, 7), 0x0001, ecall) // c.nop; addi (split); c.nop; ecall
	c := NewCore()
	r := Regs{PC: codeVA + 0xffc}
	ex := c.Run(&r, m, 1, 100)
	if ex.Reason != Ecall || ex.Executed != 3 || r.X[a0] != 7 || r.PC != codeVA+0x1004 {
		t.Fatalf("%+v pc %#x a0 %d", ex, r.PC, r.X[a0])
	}
	// The second page is remapped to other bytes: the split instruction
	// must be fetched anew (asid 2 has its own translations).
	p3 := new(mem.Page)
	m.pages[(codeVA+0x1000)>>12] = &testPage{p: p3, r: true, x: true}
	m.storeCode(t, codeVA+0xffe, addi(a0, a0, 9)) // only the upper half lands in p3
	p3.Store16(2, 0x0001)
	p3.Store32(4, ecall)
	r = Regs{PC: codeVA + 0xffc}
	ex = c.Run(&r, m, 2, 100)
	if ex.Reason != Ecall || r.X[a0] != 9 {
		t.Fatalf("after remap: %+v a0 %d", ex, r.X[a0])
	}
	// Missing second page: fetch fault at its first byte, pc at the instruction.
	delete(m.pages, (codeVA+0x1000)>>12)
	r = Regs{PC: codeVA + 0xffe}
	ex = c.Run(&r, m, 3, 100)
	if ex.Reason != Fault || ex.Access != Exec || ex.Addr != codeVA+0x1000 || r.PC != codeVA+0xffe {
		t.Fatalf("missing page: %+v pc %#x", ex, r.PC)
	}
	// A branch in the split instruction: beq zero,zero,-0xffe back to codeVA.
	m.mapPage(codeVA+0x1000, true, false, true)
	m.storeCode(t, codeVA, ecall)
	m.storeCode(t, codeVA+0xffe, encB(0, 0, 0, -0xffe))
	r = Regs{PC: codeVA + 0xffe}
	ex = c.Run(&r, m, 4, 100)
	if ex.Reason != Ecall || r.PC != codeVA || ex.Executed != 1 {
		t.Fatalf("split branch: %+v pc %#x", ex, r.PC)
	}
}

// TestAsidIsolation runs two address spaces mapping the same addresses to
// different pages on one Core without flushing.
func TestAsidIsolation(t *testing.T) {
	mk := func(val int32) *testMem {
		m := newTestMem()
		m.mapPage(codeVA, true, false, true)
		m.mapPage(dataVA, true, true, false)
		m.storeCode(t, codeVA, ld(a0, a1, 0), addi(a0, a0, val), sd(a0, a1, 0), ecall)
		return m
	}
	m1, m2 := mk(1), mk(100)
	c := NewCore()
	for i := 0; i < 5; i++ {
		for _, x := range []struct {
			m    *testMem
			asid uint64
		}{{m1, 7}, {m2, 1 << 40}} {
			r := Regs{PC: codeVA}
			r.X[a1] = dataVA
			if ex := c.Run(&r, x.m, x.asid, 100); ex.Reason != Ecall {
				t.Fatalf("%+v", ex)
			}
		}
	}
	if a, b := m1.load64(dataVA), m2.load64(dataVA); a != 5 || b != 500 {
		t.Errorf("counters %d %d, want 5 500", a, b)
	}
	// Switching between the two keeps both address spaces' translations.
	if n := m1.calls.Load() + m2.calls.Load(); n > 8 {
		t.Errorf("%d Translate calls for 10 runs in two address spaces", n)
	}
	// Many asids recycle local ids without mixing translations.
	for i := uint64(0); i < 3*numLids; i++ {
		m := mk(int32(i))
		r := Regs{PC: codeVA}
		r.X[a1] = dataVA
		if ex := c.Run(&r, m, 1000+i, 100); ex.Reason != Ecall || m.load64(dataVA) != i {
			t.Fatalf("asid %d: %+v value %d", 1000+i, ex, m.load64(dataVA))
		}
	}
}

// TestAsidRecycledWhileRecent recycles the local id of an asid that is
// one of the Core's two most recent: running that asid again must not use
// the translations of the asid that took its id.
func TestAsidRecycledWhileRecent(t *testing.T) {
	c := NewCore()
	mems := map[uint64]*testMem{}
	run := func(asid uint64) {
		t.Helper()
		m := mems[asid]
		if m == nil {
			m = newTestMem()
			m.mapPage(codeVA, true, false, true)
			m.mapPage(dataVA, true, true, false)
			m.storeCode(t, codeVA, ld(a0, a1, 0), addi(a0, a0, 1), sd(a0, a1, 0), ecall)
			mems[asid] = m
		}
		want := m.load64(dataVA) + 1
		r := Regs{PC: codeVA}
		r.X[a1] = dataVA
		if ex := c.Run(&r, m, asid, 100); ex.Reason != Ecall || m.load64(dataVA) != want {
			t.Fatalf("asid %d: %+v, counter %d, want %d", asid, ex, m.load64(dataVA), want)
		}
	}
	// Take every local id, then run the asid that holds the next one to be
	// recycled, so that it is recent when a new asid takes its id.
	for a := uint64(1); a < numLids; a++ {
		run(a)
	}
	for round := uint64(0); round < 3*numLids; round++ {
		holder := c.asids[c.lidNext%(numLids-1)+1] // every id is in use
		run(holder)
		run(1000 + round) // takes holder's id
		run(holder)       // must not hit 1000+round's translations
		run(1000 + round)
	}
}

// TestFlushTLB checks that a removed mapping is seen after FlushTLB.
func TestFlushTLB(t *testing.T) {
	mc := newMachine(t, ld(a0, a1, 0), ecall)
	mc.r.X[a1] = dataVA
	mc.data.Store64(0, 1)
	if ex := mc.run(10); ex.Reason != Ecall || mc.r.X[a0] != 1 {
		t.Fatalf("%+v", ex)
	}
	delete(mc.m.pages, dataVA>>12)
	mc.c.FlushTLB()
	mc.r.PC = codeVA
	if ex := mc.run(10); ex.Reason != Fault || ex.Addr != dataVA {
		t.Fatalf("after flush: %+v", ex)
	}
}

// TestTLBGen checks the machine-wide TLB generation counter.
func TestTLBGen(t *testing.T) {
	var gen atomic.Uint64
	mc := newMachine(t, ld(a0, a1, 0), ecall)
	mc.c.TLBGen = &gen
	mc.r.X[a1] = dataVA
	if ex := mc.run(10); ex.Reason != Ecall {
		t.Fatalf("%+v", ex)
	}
	delete(mc.m.pages, dataVA>>12)
	mc.r.PC = codeVA
	if ex := mc.run(10); ex.Reason != Ecall { // still cached
		t.Fatalf("cached: %+v", ex)
	}
	gen.Add(1)
	mc.r.PC = codeVA
	if ex := mc.run(10); ex.Reason != Fault || ex.Addr != dataVA {
		t.Fatalf("after TLBGen: %+v", ex)
	}
}

// TestTLBCachesTranslations checks that steady-state execution does not
// call the Translator.
func TestTLBCachesTranslations(t *testing.T) {
	mc := newMachine(t, ld(a0, a1, 0), sd(a0, a1, 8), encJ(0, -8))
	mc.r.X[a1] = dataVA
	mc.run(100)
	calls := mc.m.calls.Load()
	mc.run(10000)
	if n := mc.m.calls.Load() - calls; n != 0 {
		t.Errorf("%d Translate calls in steady state", n)
	}
}

func TestLRSC(t *testing.T) {
	const W, D = 2, 3
	lr := func(f3 uint32) uint32 { return amo(0x02, f3, a0, a1, 0) }
	sc := func(f3, rd, rs1 uint32) uint32 { return amo(0x03, f3, rd, rs1, a2) }
	t.Run("success", func(t *testing.T) {
		mc := newMachine(t, lr(D), sc(D, a3, a1), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, 42
		mc.data.Store64(0, 7)
		mc.run(10)
		if mc.r.X[a0] != 7 || mc.r.X[a3] != 0 || mc.data.Load64(0) != 42 || mc.r.ResValid {
			t.Errorf("a0 %d a3 %d mem %d res %v", mc.r.X[a0], mc.r.X[a3], mc.data.Load64(0), mc.r.ResValid)
		}
	})
	t.Run("no reservation", func(t *testing.T) {
		mc := newMachine(t, sc(W, a3, a1), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, 42
		mc.run(10)
		if mc.r.X[a3] != 1 || mc.data.Load64(0) != 0 {
			t.Errorf("a3 %d mem %d", mc.r.X[a3], mc.data.Load64(0))
		}
	})
	t.Run("other address", func(t *testing.T) {
		mc := newMachine(t, lr(W), addi(a3, a1, 4), sc(W, a3, a3), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, 42
		mc.run(10)
		if mc.r.X[a3] != 1 || mc.data.Load64(0) != 0 || mc.r.ResValid {
			t.Errorf("a3 %d mem %#x", mc.r.X[a3], mc.data.Load64(0))
		}
	})
	t.Run("value changed", func(t *testing.T) {
		mc := newMachine(t, lr(W), encS(0x23, 2, a1, a3, 0), sc(W, a3, a1), ecall)
		mc.r.X[a1], mc.r.X[a2], mc.r.X[a3] = dataVA, 42, 5
		mc.run(10)
		if mc.r.X[a3] != 1 || mc.data.Load32(0) != 5 {
			t.Errorf("a3 %d mem %d", mc.r.X[a3], mc.data.Load32(0))
		}
	})
	t.Run("second sc fails", func(t *testing.T) {
		mc := newMachine(t, lr(W), sc(W, a3, a1), sc(W, 5, a1), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, 42
		mc.run(10)
		if mc.r.X[a3] != 0 || mc.r.X[5] != 1 {
			t.Errorf("a3 %d t0 %d", mc.r.X[a3], mc.r.X[5])
		}
	})
	t.Run("kernel clears reservation", func(t *testing.T) {
		mc := newMachine(t, lr(W), sc(W, a3, a1), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, 42
		mc.run(1)
		mc.r.ResValid = false
		mc.run(10)
		if mc.r.X[a3] != 1 {
			t.Errorf("a3 %d", mc.r.X[a3])
		}
	})
	t.Run("lr.w sign-extends", func(t *testing.T) {
		mc := newMachine(t, lr(W), ecall)
		mc.r.X[a1] = dataVA
		mc.data.Store32(0, 0x80000000)
		mc.run(10)
		if mc.r.X[a0] != 0xffffffff80000000 {
			t.Errorf("a0 %#x", mc.r.X[a0])
		}
	})
}

func TestAMO(t *testing.T) {
	cases := []struct {
		f5       uint32
		w        bool
		mem, src uint64
		want     uint64 // memory after
	}{
		{0x01, true, 5, 9, 9},
		{0x00, true, 0xffffffff, 1, 0},
		{0x04, true, 0xff, 0x0f, 0xf0},
		{0x0c, true, 0xff, 0x0f, 0x0f},
		{0x08, true, 0xf0, 0x0f, 0xff},
		{0x10, true, 0xffffffff, 1, 0xffffffff},
		{0x14, true, 0xffffffff, 1, 1},
		{0x18, true, 0xffffffff, 1, 1},
		{0x1c, true, 0xffffffff, 1, 0xffffffff},
		{0x01, false, 5, 9, 9},
		{0x00, false, math.MaxUint64, 1, 0},
		{0x10, false, 1 << 63, 1, 1 << 63},
		{0x14, false, 1 << 63, 1, 1},
		{0x18, false, 1 << 63, 1, 1},
		{0x1c, false, 1 << 63, 1, 1 << 63},
	}
	for _, tc := range cases {
		f3 := uint32(3)
		if tc.w {
			f3 = 2
		}
		mc := newMachine(t, amo(tc.f5, f3, a0, a1, a2), ecall)
		mc.r.X[a1], mc.r.X[a2] = dataVA, tc.src
		mc.data.Store64(0, tc.mem)
		if ex := mc.run(10); ex.Reason != Ecall {
			t.Fatalf("%+v", ex)
		}
		old, got := mc.r.X[a0], mc.data.Load64(0)
		if tc.w {
			got &= 0xffffffff
			if old != uint64(int64(int32(tc.mem))) {
				t.Errorf("f5 %#x .w: old %#x", tc.f5, old)
			}
		} else if old != tc.mem {
			t.Errorf("f5 %#x .d: old %#x", tc.f5, old)
		}
		if got != tc.want {
			t.Errorf("f5 %#x w=%v: mem %#x, want %#x", tc.f5, tc.w, got, tc.want)
		}
	}
}

// TestAtomicsAcrossCores runs harts on several Cores (goroutines) that
// increment shared counters with amoadd and with an LR/SC loop.
func TestAtomicsAcrossCores(t *testing.T) {
	const harts, iters = 4, 20000
	m := newTestMem()
	m.mapPage(codeVA, true, false, true)
	m.mapPage(dataVA, true, true, false)
	m.storeCode(t, codeVA,
		amo(0x00, 3, 0, a1, a2), // amoadd.d zero, a2, (a1)
		amo(0x02, 2, a0, a3, 0), // 1: lr.w a0, (a3)
		addi(a0, a0, 1),
		amo(0x03, 2, 5, a3, a0), // sc.w t0, a0, (a3)
		encB(1, 5, 0, -12),      // bnez t0, 1b
		addi(6, 6, -1),
		encB(1, 6, 0, -24), // bnez t1, top
		ecall)
	var wg sync.WaitGroup
	for range harts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewCore()
			r := Regs{PC: codeVA}
			r.X[a1], r.X[a2], r.X[a3], r.X[6] = dataVA, 1, dataVA+64, iters
			for {
				ex := c.Run(&r, m, 1, 1000)
				if ex.Reason == Ecall {
					return
				}
				r.ResValid = false // as a kernel may on a switch
				if ex.Reason != Budget {
					t.Errorf("%+v", ex)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := m.pages[dataVA>>12].p.AtomicLoad64(0); got != harts*iters {
		t.Errorf("amoadd counter %d, want %d", got, harts*iters)
	}
	if got := m.pages[dataVA>>12].p.AtomicLoad32(64); got != harts*iters {
		t.Errorf("lr/sc counter %d, want %d", got, harts*iters)
	}
}

func TestCounters(t *testing.T) {
	mc := newMachine(t,
		addi(0, 0, 0),
		0xc0002573, // csrrs a0, cycle, zero (rdcycle)
		0xc02035f3, // csrrc a1, instret, zero
		0xc0106673, // csrrsi a2, time, 0
		0xc00076f3, // csrrci a3, cycle, 0
		ecall)
	mc.r.Instret = 1000
	mc.c.TimeFn = func() uint64 { return 12345 }
	if ex := mc.run(100); ex.Reason != Ecall || ex.Executed != 5 {
		t.Fatalf("%+v", ex)
	}
	if mc.r.X[a0] != 1001 || mc.r.X[a1] != 1002 || mc.r.X[a2] != 12345 || mc.r.X[a3] != 1004 || mc.r.Instret != 1005 {
		t.Errorf("a0 %d a1 %d a2 %d a3 %d instret %d", mc.r.X[a0], mc.r.X[a1], mc.r.X[a2], mc.r.X[a3], mc.r.Instret)
	}
	mc.c.TimeFn = nil
	mc.r.PC = codeVA
	mc.run(100)
	if mc.r.X[a2] != 0 {
		t.Errorf("time without TimeFn: %d", mc.r.X[a2])
	}
}

// TestFenceI checks self-modifying code with fence.i, and that another Core
// sees the new code through CodeGen.
func TestFenceI(t *testing.T) {
	m := newTestMem()
	m.mapPage(codeVA, true, true, true)
	m.mapPage(dataVA, true, true, false)
	// addi a0,a0,1; ecall -- then rewritten to addi a0,a0,2
	m.storeCode(t, codeVA, addi(a0, a0, 1), ecall)
	var gen atomic.Uint64
	c1, c2 := NewCore(), NewCore()
	c1.CodeGen, c2.CodeGen = &gen, &gen
	run := func(c *Core) uint64 {
		r := Regs{PC: codeVA}
		if ex := c.Run(&r, m, 1, 100); ex.Reason != Ecall {
			t.Fatalf("%+v", ex)
		}
		return r.X[a0]
	}
	if run(c1) != 1 || run(c2) != 1 {
		t.Fatal("initial code")
	}
	// A hart on c1 stores the new instruction and executes fence.i.
	store := []uint32{sd(a2, a1, 0), 0x0000100f, ecall} // sd; fence.i; ecall
	m.storeCode(t, codeVA+0x100, store...)
	r := Regs{PC: codeVA + 0x100}
	r.X[a1] = codeVA
	r.X[a2] = uint64(ecall)<<32 | uint64(addi(a0, a0, 2))
	if ex := c1.Run(&r, m, 1, 100); ex.Reason != Ecall || ex.Executed != 2 {
		t.Fatalf("%+v", ex)
	}
	if gen.Load() != 1 {
		t.Errorf("CodeGen %d", gen.Load())
	}
	if got := run(c1); got != 2 {
		t.Errorf("c1 after fence.i: %d", got)
	}
	if got := run(c2); got != 2 {
		t.Errorf("c2 after another core's fence.i: %d", got)
	}
	// Without CodeGen, FlushCode makes the new code visible.
	c3 := NewCore()
	run(c3)
	m.storeCode(t, codeVA, addi(a0, a0, 3))
	c3.FlushCode()
	if got := run(c3); got != 3 {
		t.Errorf("after FlushCode: %d", got)
	}
}

func TestFence(t *testing.T) {
	mc := newMachine(t, 0x0ff0000f, 0x8330000f, ecall) // fence iorw,iorw; fence.tso
	if ex := mc.run(10); ex.Reason != Ecall || ex.Executed != 2 {
		t.Errorf("%+v", ex)
	}
}

// TestRunAllocatesNothing asserts that Run allocates nothing in steady state,
// including on traps and slow paths.
func TestRunAllocatesNothing(t *testing.T) {
	mc := newMachine(t,
		ld(a0, a1, 0), addi(a0, a0, 1), sd(a0, a1, 0),
		amo(0x00, 3, 0, a1, a2), 0xc0002573, 0x0000100f, 0x0ff0000f,
		encJ(0, -28))
	mc.r.X[a1], mc.r.X[a2] = dataVA, 1
	mc.c.TimeFn = func() uint64 { return 1 }
	mc.run(1000)
	if n := testing.AllocsPerRun(100, func() { mc.run(1000) }); n != 0 {
		t.Errorf("Run allocates %v times per call", n)
	}
	tr := newMachine(t, ebreak)
	tr.run(1)
	if n := testing.AllocsPerRun(100, func() { tr.r.PC = codeVA; tr.run(10) }); n != 0 {
		t.Errorf("Run allocates %v times per trapping call", n)
	}
}

// TestDecodeCacheEviction executes code spread over more pages than the
// decode cache holds.
func TestDecodeCacheEviction(t *testing.T) {
	m := newTestMem()
	const pages = blockSets*blockWays + 37
	for i := uint64(0); i < pages; i++ {
		va := codeVA + i*mem.PageSize
		m.mapPage(va, true, false, true)
		// addi a0,a0,1; jump to the next page (last: ecall)
		if i == pages-1 {
			m.storeCode(t, va, addi(a0, a0, 1), ecall)
		} else {
			m.storeCode(t, va, addi(a0, a0, 1), encJ(0, mem.PageSize-4))
		}
	}
	c := NewCore()
	for round := uint64(1); round <= 3; round++ {
		r := Regs{PC: codeVA}
		if ex := c.Run(&r, m, 1, 1<<20); ex.Reason != Ecall || r.X[a0] != pages {
			t.Fatalf("round %d: %+v a0 %d", round, ex, r.X[a0])
		}
	}
}

// TestPageUsesTLB checks that Page answers from the TLB once filled and
// refuses writes through read-only pages.
func TestPageUsesTLB(t *testing.T) {
	var p mem.Page
	calls := 0
	tr := translatorFunc(func(va uint64, acc Access) (*mem.Page, bool, bool) {
		calls++
		if va>>mem.PageShift != 5 {
			return nil, false, false
		}
		return &p, true, true
	})
	c := NewCore()
	for range 3 {
		if got := c.Page(tr, 7, 5<<mem.PageShift+8, Read); got != &p {
			t.Fatalf("Page = %p, want %p", got, &p)
		}
	}
	if calls != 1 {
		t.Fatalf("translator called %d times for three reads of one page, want 1", calls)
	}
	if c.Page(tr, 7, 6<<mem.PageShift, Read) != nil {
		t.Fatal("an unmapped page was returned")
	}
	if c.Page(tr, 8, 5<<mem.PageShift, Read) != &p || calls != 3 {
		t.Fatalf("another asid must miss: %d translator calls", calls)
	}
}

type translatorFunc func(uint64, Access) (*mem.Page, bool, bool)

func (f translatorFunc) Translate(va uint64, acc Access) (*mem.Page, bool, bool) { return f(va, acc) }
