package rv64

import "testing"

// compressedPairs are compressed instructions and their 32-bit expansions,
// as assembled by GNU as (riscv64-unknown-elf), covering every RV64C form
// and the extremes of its immediates.
var compressedPairs = []struct {
	c    uint16
	w    uint32
	text string
}{
	{0x0808, 0x01010513, "c.addi4spn a0, sp, 16"},
	{0x1fe4, 0x3fc10493, "c.addi4spn s1, sp, 1020"},
	{0x005c, 0x00410793, "c.addi4spn a5, sp, 4"},
	{0x5de8, 0x07c5a503, "c.lw a0, 124(a1)"},
	{0x43c0, 0x0047a403, "c.lw s0, 4(a5)"},
	{0x7cf0, 0x0f84b603, "c.ld a2, 248(s1)"},
	{0x6490, 0x0084b603, "c.ld a2, 8(s1)"},
	{0xc334, 0x04d72023, "c.sw a3, 64(a4)"},
	{0xe754, 0x08d73423, "c.sd a3, 136(a4)"},
	{0x0001, 0x00000013, "c.nop"},
	{0x1501, 0xfe050513, "c.addi a0, -32"},
	{0x0ffd, 0x01ff8f93, "c.addi t6, 31"},
	{0x357d, 0xfff5051b, "c.addiw a0, -1"},
	{0x2d81, 0x000d8d9b, "c.addiw s11, 0"},
	{0x5081, 0xfe000093, "c.li ra, -32"},
	{0x42c5, 0x01100293, "c.li t0, 17"},
	{0x7101, 0xe0010113, "c.addi16sp sp, -512"},
	{0x617d, 0x1f010113, "c.addi16sp sp, 496"},
	{0x6141, 0x01010113, "c.addi16sp sp, 16"},
	{0x610d, 0x0a010113, "c.addi16sp sp, 160"},
	{0x7501, 0xfffe0537, "c.lui a0, 0xfffe0"},
	{0x6905, 0x00001937, "c.lui s2, 1"},
	{0x6e7d, 0x0001fe37, "c.lui t3, 31"},
	{0x8105, 0x00155513, "c.srli a0, 1"},
	{0x90fd, 0x03f4d493, "c.srli s1, 63"},
	{0x9381, 0x0207d793, "c.srli a5, 32"},
	{0x9505, 0x42155513, "c.srai a0, 33"},
	{0x841d, 0x40745413, "c.srai s0, 7"},
	{0x9901, 0xfe057513, "c.andi a0, -32"},
	{0x89fd, 0x01f5f593, "c.andi a1, 31"},
	{0x8a01, 0x00067613, "c.andi a2, 0"},
	{0x8d0d, 0x40b50533, "c.sub a0, a1"},
	{0x8c25, 0x00944433, "c.xor s0, s1"},
	{0x8fd9, 0x00e7e7b3, "c.or a5, a4"},
	{0x8ef1, 0x00c6f6b3, "c.and a3, a2"},
	{0x9d1d, 0x40f5053b, "c.subw a0, a5"},
	{0x9ca1, 0x008484bb, "c.addw s1, s0"},
	{0x157e, 0x03f51513, "c.slli a0, 63"},
	{0x0f86, 0x001f9f93, "c.slli t6, 1"},
	{0x1082, 0x02009093, "c.slli ra, 32"},
	{0x557e, 0x0fc12503, "c.lwsp a0, 252(sp)"},
	{0x4f82, 0x00012f83, "c.lwsp t6, 0(sp)"},
	{0x4086, 0x04012083, "c.lwsp ra, 64(sp)"},
	{0x757e, 0x1f813503, "c.ldsp a0, 504(sp)"},
	{0x6da2, 0x00813d83, "c.ldsp s11, 8(sp)"},
	{0x6092, 0x10013083, "c.ldsp ra, 256(sp)"},
	{0x8502, 0x00050067, "c.jr a0"},
	{0x8082, 0x00008067, "c.jr ra"},
	{0x852e, 0x00b00533, "c.mv a0, a1"},
	{0x8f86, 0x00100fb3, "c.mv t6, ra"},
	{0x9502, 0x000500e7, "c.jalr a0"},
	{0x9f82, 0x000f80e7, "c.jalr t6"},
	{0x952e, 0x00b50533, "c.add a0, a1"},
	{0x90fe, 0x01f080b3, "c.add ra, t6"},
	{0xdfaa, 0x0ea12e23, "c.swsp a0, 252(sp)"},
	{0xc202, 0x00012223, "c.swsp zero, 4(sp)"},
	{0xffaa, 0x1ea13c23, "c.sdsp a0, 504(sp)"},
	{0xe406, 0x00113423, "c.sdsp ra, 8(sp)"},
	{0x9002, 0x00100073, "c.ebreak"},
	{0xcd7d, 0x0e050f63, "c.beqz a0, .+254"},
	{0xd081, 0xf00480e3, "c.beqz s1, .-256"},
	{0xe389, 0x00079163, "c.bnez a5, .+2"},
	{0xfc7d, 0xfe041fe3, "c.bnez s0, .-2"},
	{0xaffd, 0x7fe0006f, "c.j .+2046"},
	{0xb001, 0x801ff06f, "c.j .-2048"},
	{0xa02d, 0x02a0006f, "c.j .+0x2a"},
	{0xc62d, 0x06060563, "c.beqz a2, .+0x6a"},
}

// sameOp compares decoded instructions, treating a compressed twin op as
// its 4-byte form.
func sameOp(a, b inst) bool {
	return baseOps[a.op()] == baseOps[b.op()] && a.rd() == b.rd() && a.rs1() == b.rs1() &&
		a.rs2() == b.rs2() && a.imm() == b.imm()
}

func TestDecodeCompressedMatchesExpansion(t *testing.T) {
	for _, tc := range compressedPairs {
		d16 := decode16(tc.c)
		d32 := decode32(tc.w)
		if !sameOp(d16, d32) {
			t.Errorf("%s: decode16(%#04x) = %#016x, decode32(%#08x) = %#016x", tc.text, tc.c, uint64(d16), tc.w, uint64(d32))
		}
		if d16.length() != 2 || d32.length() != 4 {
			t.Errorf("%s: lengths %d and %d", tc.text, d16.length(), d32.length())
		}
	}
}

func TestDecodeIllegal(t *testing.T) {
	illegal16 := []struct {
		h    uint16
		name string
	}{
		{0x0000, "all-zero halfword"},
		{0x2000, "c.fld"},
		{0xa000, "c.fsd"},
		{0x8000, "reserved quadrant 0 funct3=100"},
		{0x2001 | 0<<7, "c.addiw rd=0"},
		{0x6101, "c.addi16sp nzimm=0"},
		{0x6501, "c.lui nzimm=0"},
		{0x9c41 | 2<<5, "reserved c.subw/c.addw slot (funct 10)"},
		{0x9c41 | 3<<5, "reserved c.subw/c.addw slot (funct 11)"},
		{0x2002, "c.fldsp"},
		{0x4002, "c.lwsp rd=0"},
		{0x6002, "c.ldsp rd=0"},
		{0x8002, "c.jr rs1=0"},
		{0xa002, "c.fsdsp"},
	}
	for _, tc := range illegal16 {
		if d := decode16(tc.h); d.op() != opIllegal || uint32(d.imm()) != uint32(tc.h) || d.length() != 2 {
			t.Errorf("%s (%#04x): decoded as op %d imm %#x", tc.name, tc.h, d.op(), d.imm())
		}
	}
	illegal32 := []struct {
		w    uint32
		name string
	}{
		{0xffffffff, "all ones"},
		{0x30200073, "mret"},
		{0x10200073, "sret"},
		{0x10500073, "wfi"},
		{0x12000073, "sfence.vma"},
		{0xc8002573, "rdcycleh (RV32 only)"},
		{0xc0001573, "csrrw a0, cycle, zero (a write)"},
		{0xc000d573, "csrrwi a0, cycle, 1"},
		{0xc0052573, "csrrs a0, cycle, a0 (rs1 != x0 writes)"},
		{0xc000e573, "csrrsi a0, cycle, 1"},
		{0x30002573, "csrr a0, mstatus"},
		{0x00302573, "frcsr (fcsr)"},
		{0x00052007, "flw"},
		{0x02b57553, "fadd.d"},
		{0x00007013, "andi? no: funct3=7 of OP-IMM is andi"}, // replaced below
		{0x4000101b, "slliw with funct7=0x20"},
		{0x0200101b, "slliw with shamt bit 5"},
		{0x40001013 | 1<<26, "slli with bad funct6"},
		{0x0000702f, "AMO funct3=7"},
		{0x1005302f | 1<<20, "lr.d with rs2 != 0"},
		{0x0000700b, "custom-0"},
		{0x00002063, "branch funct3=2"},
		{0x00001067, "jalr funct3=1"},
		{0x00007003, "load funct3=7"},
		{0x00004023, "store funct3=4"},
		{0x0000501f, "48-bit encoding prefix"},
		{0x00200073, "uret/reserved system"},
		{0x0000200f, "misc-mem funct3=2"},
		{0x06000033, "OP funct7=3"},
		{0x0600003b, "OP-32 funct7=3"},
		{0x0200103b, "OP-32 M funct3=1"},
	}
	for _, tc := range illegal32 {
		if tc.w == 0x00007013 {
			continue
		}
		if d := decode32(tc.w); d.op() != opIllegal || uint32(d.imm()) != tc.w || d.length() != 4 {
			t.Errorf("%s (%#08x): decoded as op %d", tc.name, tc.w, d.op())
		}
	}
}

func TestDecodeHints(t *testing.T) {
	// HINT encodings are legal and do nothing.
	for _, h := range []uint16{
		0x0001 | 5<<2, // c.nop with imm != 0
		0x4001 | 3<<2, // c.li x0
		0x6001 | 1<<2, // c.lui x0
		0x0002 | 3<<2, // c.slli x0
		0x8002 | 5<<2, // c.mv x0, a1
		0x9002 | 5<<2, // c.add x0, a1
	} {
		if d := decode16(h); baseOps[d.op()] != opNop {
			t.Errorf("hint %#04x decoded as op %d", h, d.op())
		}
	}
	for _, w := range []uint32{add(0, 1, 2), addi(0, 5, 7), encU(0x37, 0, 5), encU(0x17, 0, 5), encR(0x3b, 0, 0, 0, 1, 2)} {
		if d := decode32(w); d.op() != opNop {
			t.Errorf("%#08x with rd=x0 decoded as op %d", w, d.op())
		}
	}
}

// TestDecodeAll16 decodes every halfword: no panic, a valid op, and
// twins exactly for 2-byte instructions.
func TestDecodeAll16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&3 == 3 {
			continue
		}
		d := decode16(uint16(h))
		if d.op() >= numAllOps || d.op() == opDecode || d.op() == opCross || d.op() == opPageEnd {
			t.Fatalf("%#04x: op %d", h, d.op())
		}
		if d.length() != 2 {
			t.Fatalf("%#04x: length %d", h, d.length())
		}
		checkRegFields(t, uint32(h), d)
	}
}

// checkRegFields fails t if a register field of d, decoded from w, is
// past the sink: Run indexes the register file with them unchecked.
func checkRegFields(t *testing.T, w uint32, d inst) {
	t.Helper()
	if d.rd() > sink || d.rs1() > sink || d.rs2() > sink {
		t.Fatalf("%#08x: register fields rd %d rs1 %d rs2 %d, past the sink (%d)", w, d.rd(), d.rs1(), d.rs2(), sink)
	}
}

// TestDecodedRegisters decodes every 32-bit major opcode with every funct3
// and funct7, and register fields at both ends, and checks that no
// register field of the result is past the sink. (TestDecodeAll16 checks
// every compressed instruction; FuzzDecode checks any word.)
func TestDecodedRegisters(t *testing.T) {
	for op := uint32(3); op < 128; op += 4 {
		for f3 := uint32(0); f3 < 8; f3++ {
			for f7 := uint32(0); f7 < 128; f7++ {
				for _, r := range [][3]uint32{{0, 0, 0}, {31, 31, 31}, {0, 31, 1}, {31, 0, 31}} {
					w := op | r[0]<<7 | f3<<12 | r[1]<<15 | r[2]<<20 | f7<<25
					checkRegFields(t, w, decode32(w))
				}
			}
		}
	}
}
