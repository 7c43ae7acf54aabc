package rv64

import "testing"

// BenchmarkMicroLoop measures a 3-instruction loop with a dependency
// through a0 (the fast path's best case for branches).
func BenchmarkMicroLoop(b *testing.B) {
	benchCode(b, []uint32{
		0x00150513, // addi a0,a0,1
		0x00b50463, // beq a0,a1,+8
		0xff9ff06f, // j -8
		0x00000073, // ecall
	})
}

// BenchmarkMicroIndep measures independent ALU instructions (dispatch
// throughput).
func BenchmarkMicroIndep(b *testing.B) {
	benchCode(b, []uint32{
		0x00160613, // addi a2,a2,1
		0x00168693, // addi a3,a3,1
		0x00170713, // addi a4,a4,1
		0x00178793, // addi a5,a5,1
		0x00180813, // addi a6,a6,1
		0x00188893, // addi a7,a7,1
		0x00190913, // addi s2,s2,1
		0x00198993, // addi s3,s3,1
		0xfe1ff06f, // j -32
	})
}

func benchCode(b *testing.B, code []uint32) {
	const insns = 100_000_000
	m := newTestMem()
	m.mapPage(codeVA, true, false, true)
	m.storeCode(b, codeVA, code...)
	c := NewCore()
	var r Regs
	for b.Loop() {
		r.PC = codeVA
		r.X[10] = 0
		r.X[11] = 1 << 62
		if ex := c.Run(&r, m, 1, insns); ex.Reason != Budget {
			b.Fatal(ex)
		}
	}
	b.ReportMetric(float64(b.N)*insns/b.Elapsed().Seconds()/1e6, "MIPS")
}

// BenchmarkRunEcall measures a Run that executes one instruction and stops
// at an ecall, alternating between two address spaces (asids) on one Core:
// the fixed cost of entering and leaving Run, as a kernel pays per system
// call or domain switch.
func BenchmarkRunEcall(b *testing.B) {
	var ms [2]*testMem
	for i := range ms {
		ms[i] = newTestMem()
		ms[i].mapPage(codeVA, true, false, true)
		ms[i].storeCode(b, codeVA, addi(a0, a0, 1), ecall)
	}
	c := NewCore()
	var r Regs
	i := 0
	for b.Loop() {
		i ^= 1
		r.PC = codeVA
		if ex := c.Run(&r, ms[i], uint64(i+1), 100); ex.Reason != Ecall {
			b.Fatal(ex)
		}
	}
}
