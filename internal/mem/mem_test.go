package mem

import (
	"bytes"
	"testing"
)

func TestAccessors(t *testing.T) {
	var p Page
	p.Store64(8, 0x0807060504030201)
	p.Store32(20, 0xdeadbeef)
	p.Store16(30, 0xcafe)
	p.Store8(33, 0x7f)
	tests := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"load64", p.Load64(8), 0x0807060504030201},
		{"load32 low", uint64(p.Load32(8)), 0x04030201},
		{"load16", uint64(p.Load16(10)), 0x0403},
		{"load8", uint64(p.Load8(15)), 0x08},
		{"store32", uint64(p.Load32(20)), 0xdeadbeef},
		{"store16", uint64(p.Load16(30)), 0xcafe},
		{"store8", uint64(p.Load8(33)), 0x7f},
		{"neighbour of store8", uint64(p.Load8(32)), 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

func TestReadWriteBounds(t *testing.T) {
	var p Page
	src := bytes.Repeat([]byte{0xab}, 100)
	if n := p.Write(PageSize-10, src); n != 10 {
		t.Fatalf("Write at end copied %d, want 10", n)
	}
	dst := make([]byte, 100)
	if n := p.Read(PageSize-10, dst); n != 10 || dst[9] != 0xab {
		t.Fatalf("Read at end copied %d (%x)", n, dst[:10])
	}
	if !p.CAS64(PageSize-8, 0xabababababababab, 1) || p.Load64(PageSize-8) != 1 {
		t.Fatal("CAS64 did not swap")
	}
	p.Zero()
	if p.Load64(PageSize-8) != 0 {
		t.Fatal("Zero left data")
	}
}
