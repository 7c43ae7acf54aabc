package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/kernel"
)

func hello(t testing.TB) []byte {
	img, ok := images.Get("hello")
	if !ok {
		t.Fatal("no hello image")
	}
	return img
}

// patch returns a copy of img with a little-endian value written at off.
func patch(img []byte, off int, v any) []byte {
	out := append([]byte(nil), img...)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	copy(out[off:], b.Bytes())
	return out
}

func TestParseErrors(t *testing.T) {
	img := hello(t)
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	phoff := int(binary.LittleEndian.Uint64(img[0x20:]))
	// The first PT_LOAD's fields: p_type at 0, p_flags 4, p_offset 8,
	// p_vaddr 16, p_paddr 24, p_filesz 32, p_memsz 40.
	var load int
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			load = phoff + i*56
			break
		}
	}
	tests := []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"garbage", []byte("this is not an ELF file at all, just words"), "not a valid ELF file"},
		{"truncated", img[:100], "truncated ELF file"},
		{"32-bit", patch(img, 4, byte(elf.ELFCLASS32)), ""},
		{"big-endian", patch(img, 5, byte(elf.ELFDATA2MSB)), ""},
		{"x86", patch(img, 18, uint16(elf.EM_X86_64)), "want RISC-V"},
		{"shared object", patch(img, 16, uint16(elf.ET_DYN)), "want a static executable"},
		{"entry outside", patch(img, 24, uint64(0x5000000)), "not in an executable segment"},
		{"filesz over memsz", patch(img, load+32, uint64(1<<40)), "larger than its memory size"},
		{"past the image", patch(img, load+16, uint64(abi.LayoutImageEnd)-8), "extends past"},
		{"data past the file", patch(img, load+8, uint64(len(img))), "past the end of the file"},
		{"writable and executable", patch(img, load+4, uint32(elf.PF_R|elf.PF_W|elf.PF_X)), "both writable and executable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("prog.elf", tc.img)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "prog.elf: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one naming the file and saying %q", err, tc.want)
			}
		})
	}
	if _, err := Parse("hello", img); err != nil {
		t.Fatalf("hello: %v", err)
	}
}

func TestLoadRefusedByBank(t *testing.T) {
	m, err := kernel.New(kernel.Config{Topology: "rv64,native", Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	bank := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), kernel.Words(abi.Unlimited, 2)).Keys[0]
	_, err = Load(m, hello(t), Options{Name: "hello", Bank: bank, Meter: m.PrimeMeter()})
	if err == nil || !strings.Contains(err.Error(), "too small") {
		t.Fatalf("loading into a 2-page bank: %v, want a refusal", err)
	}
	// Nothing bought is kept.
	led := m.MustCall(bank, int64(abi.OCBankGetLedger), nil)
	if used := led.Word(int(abi.LedgerUsedBytes)); used != 0 {
		t.Fatalf("the failed load left %d bytes in the bank", used)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// FuzzLoad feeds arbitrary bytes to the loader: it must return an image or
// a clear error, never panic, and a successful load must leave a machine
// whose invariants hold.
func FuzzLoad(f *testing.F) {
	img := hello(f)
	f.Add(img)
	f.Add(img[:64])
	f.Add(img[:len(img)/2])
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add(patch(img, 0x20, uint64(1<<62)))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Parse("fuzz.elf", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.elf: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(im.segments) == 0 {
			t.Fatal("parsed without segments")
		}
		m, err := kernel.New(kernel.Config{Topology: "rv64,native", Deterministic: true, Memory: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(m, data, Options{Name: "fuzz.elf", Bank: m.PrimeBank(), Meter: m.PrimeMeter()}); err != nil &&
			!strings.HasPrefix(err.Error(), "fuzz.elf: ") {
			t.Fatalf("load error does not name the file: %v", err)
		}
		if err := m.Check(); err != nil {
			t.Fatal(err)
		}
	})
}
