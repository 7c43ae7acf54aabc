package linuxsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/internal/rv64"
)

// TestMalformedELF feeds truncated and corrupted ELFs to Run: each must give
// an error (or run), never panic.
func TestMalformedELF(t *testing.T) {
	good := readTestELF(t, "pico.elf")
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "linuxsim"},
		{"text", []byte("#!/bin/sh\necho hi\n"), "linuxsim"},
		{"header only", good[:64], "linuxsim"},
		{"32-bit class", func() []byte { b := bytes.Clone(good); b[4] = 1; return b }(), "linuxsim"},
		{"x86-64 machine", func() []byte { b := bytes.Clone(good); b[18] = 62; return b }(), "not a little-endian RV64 ELF"},
		{"shared object", func() []byte { b := bytes.Clone(good); b[16] = 3; return b }(), "only static executables"},
	} {
		_, _, err := Run(tc.b, []string{"x"}, io.Discard, 1000)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// Random corruption of headers and program headers.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1500; i++ {
		b := bytes.Clone(good)
		for k := 0; k < 1+r.IntN(4); k++ {
			b[r.IntN(64+56*4)] = byte(r.Uint32())
		}
		if r.IntN(4) == 0 {
			b = b[:r.IntN(len(b))]
		}
		Run(b, []string{"x"}, io.Discard, 10000) // must not panic
	}
}

// FuzzLoad loads arbitrary bytes as an ELF and runs them briefly.
func FuzzLoad(f *testing.F) {
	f.Add(readTestELF(f, "pico.elf")[:512])
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Run(b, []string{"x"}, io.Discard, 1000)
	})
}

// buildELF makes a minimal static RV64 ELF with one RWX PT_LOAD segment
// holding code at its start.
func buildELF(code []uint32) []byte {
	const base = 0x10000
	var text []byte
	for _, w := range code {
		text = binary.LittleEndian.AppendUint32(text, w)
	}
	hdr := make([]byte, 64+56)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], 2)          // ET_EXEC
	le.PutUint16(hdr[18:], 243)        // EM_RISCV
	le.PutUint32(hdr[20:], 1)          // version
	le.PutUint64(hdr[24:], base+64+56) // entry
	le.PutUint64(hdr[32:], 64)         // phoff
	le.PutUint16(hdr[52:], 64)         // ehsize
	le.PutUint16(hdr[54:], 56)         // phentsize
	le.PutUint16(hdr[56:], 1)          // phnum
	ph := hdr[64:]
	le.PutUint32(ph[0:], 1)                           // PT_LOAD
	le.PutUint32(ph[4:], 7)                           // RWX
	le.PutUint64(ph[16:], base)                       // vaddr
	le.PutUint64(ph[24:], base)                       // paddr
	le.PutUint64(ph[32:], uint64(len(hdr)+len(text))) // filesz
	le.PutUint64(ph[40:], uint64(len(hdr)+len(text))) // memsz
	return append(hdr, text...)
}

func li(rd uint32, imm int32) uint32 { return uint32(imm)<<20 | rd<<7 | 0x13 }

const ecallInsn = 0x00000073

// TestSyscalls checks the shim: write to stdout and a bad fd, brk, an
// unknown call, exit.
func TestSyscalls(t *testing.T) {
	const a0, a1, a2, a7, s0 = 10, 11, 12, 17, 8
	code := []uint32{
		li(a7, 214), li(a0, 0), ecallInsn, // brk(0) -> initial break
		0x00050413,                                              // mv s0, a0
		0x10040513,                                              // addi a0, s0, 256
		ecallInsn,                                               // brk(s0+256)
		0x00a43023,                                              // sd a0, 0(s0)  (the heap is usable)
		li(a7, 64), li(a0, 1), 0x00040593, li(a2, 1), ecallInsn, // write(1, s0, 1)
		li(a7, 64), li(a0, 5), ecallInsn, // write(5, ...) -> -EBADF
		0x00a405a3,             // sb a0, 11(s0)
		li(a7, 999), ecallInsn, // unknown -> -ENOSYS
		0x00a40623,                                              // sb a0, 12(s0)
		li(a7, 64), li(a0, 2), 0x00b40593, li(a2, 2), ecallInsn, // write(2, s0+11, 2)
		li(a7, 93), li(a0, 300), ecallInsn, // exit(300) -> status 44
	}
	var out bytes.Buffer
	code0, n, err := Run(buildELF(code), []string{"prog"}, &out, 0)
	if err != nil {
		t.Fatal(err)
	}
	if code0 != 300&0xff {
		t.Errorf("exit status %d", code0)
	}
	want := []byte{0, byte(-9 & 0xff), byte(-38 & 0xff)}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output % x, want % x", out.Bytes(), want)
	}
	if n != uint64(len(code)) {
		t.Errorf("%d instructions, want %d", n, len(code))
	}
}

func TestTrapsAreErrors(t *testing.T) {
	for _, tc := range []struct {
		code []uint32
		why  rv64.Reason
	}{
		{[]uint32{0x00100073}, rv64.Ebreak},
		{[]uint32{0xffffffff}, rv64.Illegal},
		{[]uint32{0x00003503}, rv64.Fault},              // ld a0, 0(zero)
		{[]uint32{0x00000013, 0xffdff06f}, rv64.Budget}, // nop; j -4: runs out
	} {
		_, _, err := Run(buildELF(tc.code), []string{"p"}, io.Discard, 100)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Exit.Reason != tc.why {
			t.Errorf("%#x: err %v, want %v", tc.code[0], err, tc.why)
		}
	}
}

// TestArgs checks argc/argv/auxv as the bench program sees them.
func TestArgs(t *testing.T) {
	var out bytes.Buffer
	code, _, err := Run(readTestELF(t, "pico.elf"), []string{"name", "a", "b", "c"}, &out, 0)
	if err != nil || code != 3 {
		t.Fatalf("code %d err %v", code, err)
	}
	if !strings.Contains(out.String(), "argc=4 argv0=name ") {
		t.Errorf("output %q", out.String())
	}
}
