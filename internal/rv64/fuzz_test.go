package rv64

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// Address space of the differential runs against the reference: two code
// pages (read+execute), a read-write and a read-only data page, and nothing
// else.
const (
	fCode  = 0x10000
	fData  = 0x20000
	fROnly = 0x21000
	fTime  = 777
)

func fuzzMem(code []byte, seed uint64) *testMem {
	m := newTestMem()
	c0 := m.mapPage(fCode, true, false, true)
	c1 := m.mapPage(fCode+mem.PageSize, true, false, true)
	c0.Write(0, code)
	if len(code) > mem.PageSize {
		c1.Write(0, code[mem.PageSize:])
	}
	d := m.mapPage(fData, true, true, false)
	ro := m.mapPage(fROnly, true, false, false)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := uint64(0); i < mem.PageSize; i += 8 {
		d.Store64(i, r.Uint64())
		ro.Store64(i, r.Uint64())
	}
	return m
}

// regValue turns a random word into a value for register i: x1 and x5..x7
// mostly hold code addresses, x2 and x8..x15 mostly aligned data addresses
// (jumps and memory accesses use those), others anything.
func regValue(i int, v uint64) uint64 {
	switch {
	case v&15 == 15:
		return v
	case i == 1 || i >= 5 && i <= 7:
		return fCode + (v >> 4 & 0x1ffe)
	case i == 2 || i >= 8 && i <= 15:
		switch v & 15 {
		case 14:
			return fData + (v >> 4 & 0x1fff)
		case 13:
			return fData + (v >> 4 & 0x1ff8)
		}
		return fData + 0x200 + (v >> 4 & 0xbf8)
	}
	switch v & 7 {
	case 0, 1:
		return fData + (v >> 3 & 0x1fff)
	case 2, 3:
		return uint64(int64(int8(v >> 3)))
	}
	return v
}

// diffRun runs the same program on Core.Run (in chunks of the budget) and
// on the reference interpreter and fails on any difference.
func diffRun(t testing.TB, code []byte, regs [32]uint64, pc, budget, chunk, seed uint64) {
	t.Helper()
	m1, m2 := fuzzMem(code, seed), fuzzMem(code, seed)
	c := NewCore()
	c.TimeFn = func() uint64 { return fTime }
	r := Regs{X: regs, PC: pc}
	var ex Exit
	var done uint64
	chunk = max(chunk, 1)
	for done < budget {
		ex = c.Run(&r, m1, 5, min(chunk, budget-done))
		done += ex.Executed
		if ex.Reason != Budget {
			break
		}
	}
	ex.Executed = done
	h := refHart{x: regs, pc: pc, time: fTime}
	h.x[0] = 0
	want := refRun(&h, m2, budget)
	if ex != want {
		t.Fatalf("exit %+v, reference %+v (pc %#x)", ex, want, h.pc)
	}
	if r.X != h.x || r.PC != h.pc || r.Instret != h.instret {
		for i := range r.X {
			if r.X[i] != h.x[i] {
				t.Errorf("x%d = %#x, reference %#x", i, r.X[i], h.x[i])
			}
		}
		t.Fatalf("pc %#x (reference %#x), instret %d (reference %d)", r.PC, h.pc, r.Instret, h.instret)
	}
	if r.ResValid != h.resValid || r.ResValid && (r.ResAddr != h.resAddr || r.ResVal != h.resVal) {
		t.Fatalf("reservation %v %#x %#x, reference %v %#x %#x", r.ResValid, r.ResAddr, r.ResVal, h.resValid, h.resAddr, h.resVal)
	}
	for _, va := range []uint64{fData, fROnly} {
		if *m1.pages[va>>12].p != *m2.pages[va>>12].p {
			t.Fatalf("page %#x differs", va)
		}
	}
}

// fuzzInput decodes a fuzz input: a flags byte, 31 register words (as far
// as the input goes), then the code.
func fuzzInput(data []byte) (code []byte, regs [32]uint64, pc, chunk, seed uint64) {
	pc = fCode
	if len(data) > 0 {
		f := data[0]
		data = data[1:]
		if f&1 != 0 {
			pc = fCode + mem.PageSize - 2*uint64(f>>1&7) // near the page end
		}
		chunk = uint64(f>>4) * 7
	}
	nregs := 0
	if len(data) > 0 {
		nregs = int(data[0] & 31)
		data = data[1:]
	}
	for i := 1; i <= nregs && len(data) >= 8; i++ {
		regs[i] = regValue(i, binary.LittleEndian.Uint64(data))
		data = data[8:]
	}
	if pc != fCode {
		// put the code so that it starts at pc
		pad := make([]byte, pc-fCode)
		data = append(pad, data...)
	}
	if len(data) > 2*mem.PageSize {
		data = data[:2*mem.PageSize]
	}
	return data, regs, pc, chunk, uint64(len(data))
}

// FuzzRun runs random bytes as code on the interpreter and the reference.
func FuzzRun(f *testing.F) {
	f.Add([]byte{0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0x13, 0x05, 0x15, 0x00, 0x73, 0, 0, 0})
	f.Add(append([]byte{0x35, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0x13, 0x05, 0x15, 0x00, 0x01, 0x00, 0x6f, 0xf0, 0xbf, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		code, regs, pc, chunk, seed := fuzzInput(data)
		diffRun(t, code, regs, pc, 300, chunk, seed)
	})
}

// FuzzDecode decodes a 32-bit word (or two compressed instructions) and
// executes it on the interpreter and the reference from random registers.
func FuzzDecode(f *testing.F) {
	for _, w := range []uint32{0x00150513, 0x0000100f, 0xc0002573, 0x1005b52f, 0x06b6252f, 0x9502_0808, 0x00000000, 0xffffffff} {
		f.Add(w, uint64(w)*0x9e3779b97f4a7c15)
	}
	f.Fuzz(func(t *testing.T, w uint32, seed uint64) {
		d := decode(uint16(w), uint16(w>>16))
		if d.op() >= numAllOps || d.op() == opDecode || d.op() == opCross || d.op() == opPageEnd {
			t.Fatalf("%#08x decoded to op %d", w, d.op())
		}
		checkRegFields(t, w, d)
		code := binary.LittleEndian.AppendUint32(nil, w)
		code = binary.LittleEndian.AppendUint32(code, ecall)
		code = binary.LittleEndian.AppendUint32(code, ecall)
		var regs [32]uint64
		r := rand.New(rand.NewPCG(seed, 2))
		for i := 1; i < 32; i++ {
			regs[i] = regValue(i, r.Uint64())
		}
		diffRun(t, code, regs, fCode, 4, 4, seed)
	})
}

// randomInsn returns a random, mostly legal instruction word (a compressed
// one in the low half, or a 32-bit one), with small immediates so that
// memory accesses and jumps often stay in the mapped pages.
func randomInsn(r *rand.Rand) (uint32, int) {
	reg := func() uint32 { return uint32(r.IntN(32)) }
	small := func() int32 { return int32(r.IntN(160)) - 64 }
	ptr := func() uint32 { return uint32(8 + r.IntN(8)) }
	aligned := func(size int) int32 { return int32(r.IntN(64)-16) * int32(size) }
	pick := func(v ...uint32) uint32 { return v[r.IntN(len(v))] }
	odd := r.IntN(50) == 0 // allow encodings that are often illegal
	n := func(legal, all int) uint32 {
		if odd {
			return uint32(r.IntN(all))
		}
		return uint32(r.IntN(legal))
	}
	fwd := func() int32 { return int32(r.IntN(20)-2) * 2 }
	switch r.IntN(40) {
	case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12:
		for {
			h := uint16(r.Uint32())
			if h&3 == 3 {
				continue
			}
			w, ok := refExpand(h)
			if w&0x7f == 0x6f || w&0x7f == 0x63 || w&0x7f == 0x67 {
				ok = ok && r.IntN(8) == 0 // few compressed jumps: they go far
			}
			if ok || r.IntN(50) == 0 {
				return uint32(h), 2
			}
		}
	case 13:
		if r.IntN(10) == 0 {
			return r.Uint32() | 3, 4
		}
	}
	var w uint32
	switch r.IntN(15) {
	case 0:
		w = encU(pick(0x37, 0x17), reg(), r.Uint32()&0xfffff)
	case 1:
		w = encJ(reg(), fwd())
	case 2:
		w = encI(0x67, 0, reg(), uint32(5+r.IntN(3)), small())
		if r.IntN(4) != 0 {
			w = encB(pick(0, 1, 4, 5, 6, 7), reg(), reg(), fwd())
		}
	case 3:
		w = encB(pick(0, 1, 4, 5, 6, 7, n(1, 4)), reg(), reg(), fwd())
	case 4:
		f3 := n(7, 8)
		w = encI(0x03, f3, reg(), ptr(), aligned(1<<(f3&3)))
	case 5:
		f3 := n(4, 8)
		w = encS(0x23, f3, ptr(), reg(), aligned(1<<(f3&3)))
	case 6, 7:
		f3 := uint32(r.IntN(8))
		imm := int32(r.Uint32()) >> 20
		if f3 == 1 || f3 == 5 {
			imm = int32(pick(0, 0x400, 0x400, 0x800)) | int32(r.IntN(64))
		}
		w = encI(0x13, f3, reg(), reg(), imm)
	case 8, 9:
		f3 := uint32(r.IntN(8))
		f7 := pick(0, 1)
		if f3 == 0 || f3 == 5 {
			f7 = pick(0, 1, 0x20)
		}
		w = encR(pick(0x33, 0x3b), f3, f7, reg(), reg(), reg())
	case 10:
		f3 := pick(0, 1, 5, 3)
		w = encI(0x1b, f3, reg(), reg(), int32(r.Uint32())>>20)
		if f3 != 0 {
			w = encR(0x1b, f3, pick(0, 0x20, n(1, 2)), reg(), reg(), reg())
		}
	case 11:
		w = encI(0x0f, n(2, 8), reg(), reg(), int32(r.Uint32())>>20)
	case 12:
		w = 0xc0000073 | pick(0, 1, 2)<<20 | pick(2, 3, 6, 7)<<12 | reg()<<7 // counter reads
		if r.IntN(30) == 0 {
			w = pick(0x73, 0x00100073, 0x10500073, 0xc0000073|pick(0, 1, 2, 0x80, 0x102)<<20|pick(1, 2, 3, 5, 6, 7)<<12|pick(0, 0, 0, 5)<<15|reg()<<7)
		}
	default:
		f5 := pick(0, 1, 2, 3, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c, 0x1e*n(1, 2))
		rs2 := reg()
		if f5 == 2 && r.IntN(8) != 0 {
			rs2 = 0
		}
		w = encR(0x2f, 2+n(2, 6), f5<<2|uint32(r.IntN(4)), reg(), ptr(), rs2)
	}
	return w, 4
}

// randomProgram returns n random instructions.
func randomProgram(r *rand.Rand, n int) []byte {
	var b []byte
	for range n {
		w, ln := randomInsn(r)
		if ln == 2 {
			b = binary.LittleEndian.AppendUint16(b, uint16(w))
		} else {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
	}
	return b
}

// TestAgainstReference runs thousands of random programs on the interpreter
// and the reference interpreter.
func TestAgainstReference(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	r := rand.New(rand.NewPCG(42, 42))
	for i := range n {
		code := randomProgram(r, 64)
		var regs [32]uint64
		for k := 1; k < 32; k++ {
			regs[k] = regValue(k, r.Uint64())
		}
		pc := uint64(fCode)
		if i%5 == 0 { // start near the page end to cross it
			off := uint64(mem.PageSize - 2*(1+r.IntN(16)))
			code = append(make([]byte, off), code...)
			pc += off
		}
		diffRun(t, code, regs, pc, 200, uint64(1+r.IntN(50)), uint64(i))
	}
}

// TestRunNeverPanics runs random bytes with random registers, including
// pointers and absurd values, on one long-lived Core.
func TestRunNeverPanics(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	c := NewCore()
	for i := range 2000 {
		code := make([]byte, 256)
		for k := range code {
			code[k] = byte(r.Uint32())
		}
		m := fuzzMem(code, uint64(i))
		c.FlushTLB() // a new address space under reused asids
		var regs Regs
		for k := range regs.X {
			regs.X[k] = regValue(k, r.Uint64())
		}
		regs.PC = fCode + uint64(r.IntN(64))*2
		if i%7 == 0 {
			regs.PC = r.Uint64()
		}
		c.Run(&regs, m, uint64(r.IntN(4)), 1000)
	}
}
