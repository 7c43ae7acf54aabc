package rv64

import (
	"sync/atomic"
	"testing"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// testMem is a Translator over a map of pages with permissions.
type testMem struct {
	pages map[uint64]*testPage
	calls atomic.Int64 // Translate calls
}

type testPage struct {
	p       *mem.Page
	r, w, x bool
}

func newTestMem() *testMem { return &testMem{pages: map[uint64]*testPage{}} }

// mapPage maps a fresh page at vaddr (page-aligned) and returns it.
func (m *testMem) mapPage(vaddr uint64, r, w, x bool) *mem.Page {
	p := new(mem.Page)
	m.pages[vaddr>>mem.PageShift] = &testPage{p: p, r: r, w: w, x: x}
	return p
}

func (m *testMem) Translate(vaddr uint64, acc Access) (*mem.Page, bool, bool) {
	m.calls.Add(1)
	tp, ok := m.pages[vaddr>>mem.PageShift]
	if !ok {
		return nil, false, false
	}
	switch acc {
	case Read:
		ok = tp.r
	case Write:
		ok = tp.w
	case Exec:
		ok = tp.x
	}
	return tp.p, tp.w, ok
}

// storeCode writes 32-bit words and 16-bit halfwords (values < 0x10000 whose
// low bits are not 11 are written as halfwords) at vaddr.
func (m *testMem) storeCode(t testing.TB, vaddr uint64, code ...uint32) uint64 {
	t.Helper()
	for _, w := range code {
		if w&3 != 3 {
			m.store16(vaddr, uint16(w))
			vaddr += 2
			continue
		}
		m.store16(vaddr, uint16(w))
		m.store16(vaddr+2, uint16(w>>16))
		vaddr += 4
	}
	return vaddr
}

func (m *testMem) store16(vaddr uint64, h uint16) {
	m.pages[vaddr>>mem.PageShift].p.Store16(vaddr&mem.PageMask, h)
}

func (m *testMem) load64(vaddr uint64) uint64 {
	return m.pages[vaddr>>mem.PageShift].p.Load64(vaddr & mem.PageMask)
}

// Encoders for the unit tests.

func encR(op, f3, f7, rd, rs1, rs2 uint32) uint32 {
	return f7<<25 | rs2<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}

func encI(op, f3, rd, rs1 uint32, imm int32) uint32 {
	return uint32(imm)<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}

func encS(op, f3, rs1, rs2 uint32, imm int32) uint32 {
	u := uint32(imm)
	return (u>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u&31)<<7 | op
}

func encB(f3, rs1, rs2 uint32, imm int32) uint32 {
	u := uint32(imm)
	return (u>>12&1)<<31 | (u>>5&0x3f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u>>1&15)<<8 | (u>>11&1)<<7 | 0x63
}

func encU(op, rd uint32, imm20 uint32) uint32 { return imm20<<12 | rd<<7 | op }

func encJ(rd uint32, imm int32) uint32 {
	u := uint32(imm)
	return (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12 | rd<<7 | 0x6f
}

func addi(rd, rs1 uint32, imm int32) uint32 { return encI(0x13, 0, rd, rs1, imm) }
func add(rd, rs1, rs2 uint32) uint32        { return encR(0x33, 0, 0, rd, rs1, rs2) }
func ld(rd, rs1 uint32, imm int32) uint32   { return encI(0x03, 3, rd, rs1, imm) }
func sd(rs2, rs1 uint32, imm int32) uint32  { return encS(0x23, 3, rs1, rs2, imm) }
func amo(f5, f3, rd, rs1, rs2 uint32) uint32 {
	return encR(0x2f, f3, f5<<2, rd, rs1, rs2)
}

const (
	ecall  = 0x00000073
	ebreak = 0x00100073
	codeVA = 0x10000
	dataVA = 0x20000
)

// machine is a small test setup: code at codeVA (RX), data at dataVA (RW).
type machine struct {
	m    *testMem
	code *mem.Page
	data *mem.Page
	c    *Core
	r    Regs
}

func newMachine(t testing.TB, code ...uint32) *machine {
	t.Helper()
	mc := &machine{m: newTestMem(), c: NewCore()}
	mc.code = mc.m.mapPage(codeVA, true, false, true)
	mc.data = mc.m.mapPage(dataVA, true, true, false)
	mc.m.storeCode(t, codeVA, code...)
	mc.r.PC = codeVA
	return mc
}

func (mc *machine) run(budget uint64) Exit {
	return mc.c.Run(&mc.r, mc.m, 1, budget)
}
