package rv64

import (
	"testing"

	"github.com/keyfish-os/keyfish/internal/mem"
)

type flatMem struct{ pages map[uint64]*mem.Page }

func (m *flatMem) Translate(va uint64, acc Access) (*mem.Page, bool, bool) {
	p, ok := m.pages[va>>12]
	return p, ok, ok
}

func BenchmarkMicroLoop(b *testing.B) {
	benchCode(b, []uint32{
		0x00150513, // addi a0,a0,1
		0x00b50463, // beq a0,a1,+8
		0xff9ff06f, // j -8
		0x00000073, // ecall
	})
}

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
	m := &flatMem{pages: map[uint64]*mem.Page{0x10: new(mem.Page), 0x20: new(mem.Page)}}
	for i, w := range code {
		m.pages[0x10].Store32(uint64(4*i), w)
	}
	c := NewCore()
	var r Regs
	b.ResetTimer()
	for b.Loop() {
		r.PC = 0x10000
		r.X[10] = 0
		r.X[11] = 1 << 62
		ex := c.Run(&r, m, 1, 100_000_000)
		if ex.Reason != Budget {
			b.Fatal(ex)
		}
	}
	b.ReportMetric(float64(b.N)*1e8/b.Elapsed().Seconds()/1e6, "MIPS")
}
