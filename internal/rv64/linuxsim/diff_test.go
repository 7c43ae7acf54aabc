package linuxsim

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireTools returns the paths of the named host tools. When one is
// missing the test is skipped, unless KEYFISH_REQUIRE_TOOLS=1 (as in CI),
// which makes it fail.
func requireTools(t testing.TB, tools ...string) []string {
	t.Helper()
	var paths []string
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			if os.Getenv("KEYFISH_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is not installed and KEYFISH_REQUIRE_TOOLS=1", tool)
			}
			t.Skipf("%s is not installed: skipping (KEYFISH_REQUIRE_TOOLS=1 makes this fail)", tool)
		}
		paths = append(paths, p)
	}
	return paths
}

const (
	diffPrograms    = 8
	diffSeqPerProg  = 260
	gccArch         = "-march=rv64imac_zicsr_zifencei"
	diffMaxInsns    = 100_000_000
	qemuTimeout     = 2 * time.Minute
	defaultDiffSeed = 20260601
)

func diffSeed(t testing.TB) uint64 {
	if s := os.Getenv("KEYFISH_DIFF_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("KEYFISH_DIFF_SEED: %v", err)
		}
		return v
	}
	return defaultDiffSeed
}

// genPrograms generates the differential test programs and the generator's
// mnemonic counts.
func genPrograms(seed uint64) ([]program, map[string]int) {
	g := newGenerator(seed)
	var progs []program
	for p := range diffPrograms {
		progs = append(progs, g.genProgram(p*diffSeqPerProg, diffSeqPerProg))
	}
	return progs, g.counts
}

// TestGeneratorCoverage checks that the random sequences cover every
// RV64IMAC mnemonic (see coverage) and every aq/rl variant of the A
// instructions. It needs no tools.
func TestGeneratorCoverage(t *testing.T) {
	progs, counts := genPrograms(diffSeed(t))
	n := 0
	for _, p := range progs {
		n += p.nseq
	}
	if n < 2000 {
		t.Errorf("only %d sequences", n)
	}
	var missing []string
	for _, mn := range coverage {
		if counts[mn] == 0 {
			missing = append(missing, mn)
		}
		if strings.HasPrefix(mn, "lr.") || strings.HasPrefix(mn, "sc.") || strings.HasPrefix(mn, "amo") {
			for _, sfx := range aqrlSuffixes {
				if counts["aqrl:"+mn+sfx] == 0 {
					missing = append(missing, mn+sfx)
				}
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("mnemonics never generated: %v", missing)
	}
	var sb strings.Builder
	for _, mn := range coverage {
		fmt.Fprintf(&sb, "%s=%d ", mn, counts[mn])
	}
	t.Logf("%d sequences; counts: %s", n, sb.String())
}

// assemble builds src into an ELF in dir.
func assemble(gcc, dir, name, src string) (string, error) {
	s := filepath.Join(dir, name+".S")
	out := filepath.Join(dir, name+".elf")
	if err := os.WriteFile(s, []byte(src), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command(gcc, gccArch, "-mabi=lp64", "-nostdlib", "-static", "-Wl,--build-id=none", "-o", out, s)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("assembling %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// runQEMU runs an ELF under qemu-riscv64 and returns its stdout and exit
// status.
func runQEMU(qemu, path string, args ...string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), qemuTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, append([]string{path}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return out.Bytes(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.Bytes(), -1, fmt.Errorf("qemu-riscv64 %s: %v\n%s", path, err, stderr.Bytes())
	}
	return out.Bytes(), 0, nil
}

// TestDifferentialRandom runs >= 2,000 random instruction sequences under
// qemu-riscv64 and on the interpreter and compares registers x1..x31, the
// sequence marker and the data area after each sequence.
func TestDifferentialRandom(t *testing.T) {
	tools := requireTools(t, "riscv64-unknown-elf-gcc", "qemu-riscv64")
	gcc, qemu := tools[0], tools[1]
	start := time.Now()
	progs, _ := genPrograms(diffSeed(t))
	dir := t.TempDir()

	type result struct {
		path string
		err  error
	}
	results := make([]result, len(progs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range progs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			path, err := assemble(gcc, dir, fmt.Sprintf("diff%d", i), p.src)
			results[i] = result{path, err}
		}()
	}
	wg.Wait()
	built := time.Since(start)

	var qemuTime, simTime time.Duration
	var insns uint64
	for i, p := range progs {
		if results[i].err != nil {
			t.Fatal(results[i].err)
		}
		path := results[i].path
		elfBytes, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		want, wantCode, err := runQEMU(qemu, path)
		qemuTime += time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		t0 = time.Now()
		code, n, err := Run(elfBytes, []string{path}, &got, diffMaxInsns)
		simTime += time.Since(t0)
		insns += n
		if err != nil {
			t.Errorf("program %d: simulator: %v", i, err)
		}
		if code != wantCode {
			t.Errorf("program %d: exit status %d, qemu %d", i, code, wantCode)
		}
		if len(want) != p.nseq*recordSize {
			t.Errorf("program %d: qemu wrote %d bytes, want %d", i, len(want), p.nseq*recordSize)
		}
		if fails := compareRecords(t, path, elfBytes, want, got.Bytes()); fails > 0 {
			t.Errorf("program %d (%s): %d sequences differ", i, path, fails)
		}
	}
	t.Logf("%d sequences, %d instructions; assembling %v, qemu %v, simulator %v, total %v",
		diffPrograms*diffSeqPerProg, insns, built.Round(time.Millisecond), qemuTime.Round(time.Millisecond),
		simTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// compareRecords compares the per-sequence records written by QEMU (want)
// and the simulator (got) and reports the first few differing sequences
// with their disassembly.
func compareRecords(t *testing.T, path string, elfBytes, want, got []byte) int {
	t.Helper()
	fails := 0
	n := max(len(want), len(got)) / recordSize
	for k := 0; k < n; k++ {
		w := rec(want, k)
		g := rec(got, k)
		if bytes.Equal(w, g) {
			continue
		}
		fails++
		if fails > 3 {
			continue
		}
		var sb strings.Builder
		if len(w) != recordSize || len(g) != recordSize {
			fmt.Fprintf(&sb, "record %d: qemu has %d bytes, simulator %d\n", k, len(w), len(g))
		} else {
			seq := binary.LittleEndian.Uint64(w[regsOff+8*31:])
			fmt.Fprintf(&sb, "sequence %d (record %d) differs:\n", seq, k)
			for x := 1; x < 32; x++ {
				a := binary.LittleEndian.Uint64(w[regsOff+8*(x-1):])
				b := binary.LittleEndian.Uint64(g[regsOff+8*(x-1):])
				if a != b {
					fmt.Fprintf(&sb, "  x%d (%s): qemu %#x, simulator %#x\n", x, regNames[x], a, b)
				}
			}
			if m1, m2 := binary.LittleEndian.Uint64(w[regsOff+8*31:]), binary.LittleEndian.Uint64(g[regsOff+8*31:]); m1 != m2 {
				fmt.Fprintf(&sb, "  marker: qemu %d, simulator %d\n", m1, m2)
			}
			for off := 0; off < dataSize; off += 8 {
				a := binary.LittleEndian.Uint64(w[off:])
				b := binary.LittleEndian.Uint64(g[off:])
				if a != b {
					fmt.Fprintf(&sb, "  data+%d: qemu %#x, simulator %#x\n", off, a, b)
				}
			}
			sb.WriteString(disassemble(path, elfBytes, int(seq)))
		}
		t.Log(sb.String())
	}
	return fails
}

func rec(b []byte, k int) []byte {
	lo := min(k*recordSize, len(b))
	hi := min(lo+recordSize, len(b))
	return b[lo:hi]
}

// disassemble returns the objdump listing of sequence seq.
func disassemble(path string, elfBytes []byte, seq int) string {
	f, err := elf.NewFile(bytes.NewReader(elfBytes))
	if err != nil {
		return err.Error()
	}
	syms, err := f.Symbols()
	if err != nil {
		return err.Error()
	}
	var lo, hi uint64
	for _, s := range syms {
		switch s.Name {
		case fmt.Sprintf("seq_%d", seq):
			lo = s.Value
		case fmt.Sprintf("end_%d", seq):
			hi = s.Value
		}
	}
	objdump, err := exec.LookPath("riscv64-unknown-elf-objdump")
	if err != nil || lo == 0 || hi == 0 {
		return fmt.Sprintf("(no disassembly: seq_%d at %#x, end at %#x, %v)\n", seq, lo, hi, err)
	}
	out, err := exec.Command(objdump, "-d", "-M", "no-aliases",
		fmt.Sprintf("--start-address=%#x", lo), fmt.Sprintf("--stop-address=%#x", hi), path).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("objdump: %v\n%s", err, out)
	}
	return string(out)
}

// TestCPrograms runs the C test programs under qemu-riscv64 and on the
// interpreter and compares their output and exit status; without QEMU it
// compares with the recorded outputs in testdata.
func TestCPrograms(t *testing.T) {
	cases := []struct {
		elf  string
		args []string
		gold string
	}{
		{"bench.elf", []string{"1"}, "bench-1.out"},
		{"bench.elf", []string{"2"}, ""},
		{"pico.elf", []string{"x", "yz"}, "pico.out"},
	}
	qemu, qerr := exec.LookPath("qemu-riscv64")
	if qerr != nil && os.Getenv("KEYFISH_REQUIRE_TOOLS") == "1" {
		t.Fatal("qemu-riscv64 is not installed and KEYFISH_REQUIRE_TOOLS=1")
	}
	for _, tc := range cases {
		t.Run(tc.elf+"-"+strings.Join(tc.args, "-"), func(t *testing.T) {
			path := "../testdata/" + tc.elf
			elfBytes := readTestELF(t, tc.elf)
			var got bytes.Buffer
			code, n, err := Run(elfBytes, append([]string{path}, tc.args...), &got, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d instructions", n)
			if tc.gold != "" {
				gold, err := os.ReadFile("../testdata/" + tc.gold)
				if err != nil {
					t.Fatal(err)
				}
				// The recorded output ends with a line "exit N".
				wantOut := fmt.Sprintf("%sexit %d\n", got.Bytes(), code)
				if wantOut != string(gold) {
					t.Errorf("output and status differ from %s:\ngot:\n%s\nwant:\n%s", tc.gold, wantOut, gold)
				}
			}
			if qerr != nil {
				t.Log("qemu-riscv64 is not installed: compared with the recorded output only")
				return
			}
			want, wantCode, err := runQEMU(qemu, path, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) || code != wantCode {
				t.Errorf("simulator (status %d):\n%s\nqemu (status %d):\n%s", code, got.Bytes(), wantCode, want)
			}
		})
	}
}

// TestRebuildELFs checks that the Makefile in testdata rebuilds the
// committed ELFs byte for byte.
func TestRebuildELFs(t *testing.T) {
	requireTools(t, "riscv64-unknown-elf-gcc", "make")
	dir := t.TempDir()
	out, err := exec.Command("make", "-C", "../testdata", "O="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	for _, name := range []string{"bench.elf", "pico.elf"} {
		built, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, readTestELF(t, name)) {
			t.Errorf("%s: the rebuilt ELF differs from the committed one; run make -C internal/rv64/testdata", name)
		}
	}
}
