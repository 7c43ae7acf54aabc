package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
)

// keyfishBin is the keyfish binary the tests run, built once by TestMain.
var keyfishBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "keyfish-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keyfishBin = filepath.Join(dir, "keyfish")
	out, err := exec.Command("go", "build", "-o", keyfishBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building keyfish: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	status         int
	stdout, stderr string
}

// keyfish runs the binary with args and returns what it did.
func runKeyfish(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(keyfishBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("keyfish %s: %v", strings.Join(args, " "), err)
	}
	r := result{status: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	noPanic(t, r, args)
	return r
}

// stackTrace matches the header of a goroutine's stack in a Go trace.
var stackTrace = regexp.MustCompile(`goroutine \d+ \[`)

// noPanic fails if the output shows a Go panic or a stack trace.
func noPanic(t *testing.T, r result, args []string) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "panic:") || stackTrace.MatchString(s) {
			t.Fatalf("keyfish %s panicked:\n%s", strings.Join(args, " "), s)
		}
	}
}

// image writes a built-in example to a temporary file and returns its path.
func image(t *testing.T, name string) string {
	t.Helper()
	b, ok := images.Get(name)
	if !ok {
		t.Fatalf("no image %q", name)
	}
	return writeFile(t, name+".elf", b)
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The RISC-V instructions the crafted programs use.
const (
	insEcall    = 0x00000073
	insEbreak   = 0x00100073
	insIllegal  = 0x00000000
	insJumpSelf = 0x0000006f // j .
	insLoadNil  = 0x00003503 // ld a0, 0(zero): address 0 is not mapped
	insLoadOdd  = 0x00113503 // ld a0, 1(sp): misaligned
)

// addi returns addi rd, zero, imm.
func addi(rd, imm uint32) uint32 { return imm&0xfff<<20 | rd<<7 | 0x13 }

// exitWith is the code of a program that exits with status: RETURN to
// key register 5 (abi.KRExit) with the status as the order code.
func exitWith(status int32) []uint32 {
	desc := uint32(abi.KRExit) | uint32(abi.InvReturn)<<uint(abi.EcallTypeShift)
	return []uint32{addi(10, desc), addi(11, uint32(status)), insEcall, insJumpSelf}
}

// codeStart is where crafted programs' code lies: right after the ELF
// header and the one program header, in a segment loaded at 0x10000.
const codeStart = 0x10000 + 64 + 56

// craftELF builds a minimal static ELF64 executable for machine whose only
// segment (read and execute, at 0x10000) holds the headers and code.
func craftELF(machine uint16, code []uint32) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	ident := [16]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}
	b.Write(ident[:])
	size := uint64(64 + 56 + 4*len(code))
	binary.Write(&b, le, struct {
		Type, Machine              uint16
		Version                    uint32
		Entry, Phoff, Shoff        uint64
		Flags                      uint32
		Ehsize, Phentsize, Phnum   uint16
		Shentsize, Shnum, Shstrndx uint16
	}{2, machine, 1, codeStart, 64, 0, 0, 64, 56, 1, 64, 0, 0})
	binary.Write(&b, le, struct {
		Type, Flags                             uint32
		Off, Vaddr, Paddr, Filesz, Memsz, Align uint64
	}{1, 5, 0, 0x10000, 0x10000, size, size, 0x1000})
	binary.Write(&b, le, code)
	return b.Bytes()
}

func rvProgram(t *testing.T, name string, code ...uint32) string {
	return writeFile(t, name+".elf", craftELF(243, code))
}

func TestBootDefault(t *testing.T) {
	r := runKeyfish(t, "boot")
	if r.status != 0 {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"Keyfish: booting the demo on rv64:", ",native:1 (parallel) with 256MiB of memory",
		"hello from keyfish\n", "argv[3]=demo\n", "ping: 1000 round trips ok\n",
		"pagertest: 10 pages ok, pager served 10 faults\n", "outgrow: bank refused after ",
		"spinner: start\n", "compute: checksum 0xf3d413e45f708eb8\n", "malloc: ok\n",
		"--- summary: finished after ", "programs:", "domains:", "instructions:", "invocations:",
		"traps:", "fault ", "meter 1", "cores:", "% busy", "memory:", "checks:       ok",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("boot's output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, line := range []string{"hello", "pong", "ping", "pager", "pagertest", "outgrow", "spinner", "compute1", "compute4", "malloc"} {
		found := false
		for _, l := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(l)
			if strings.HasPrefix(l, "  ") && len(f) > 0 && f[0] == line {
				found = true
				if !strings.Contains(l, " ok") {
					t.Errorf("program line not ok: %q", l)
				}
			}
		}
		if !found {
			t.Errorf("no summary line for %s", line)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestBootJSON(t *testing.T) {
	r := runKeyfish(t, "boot", "-json", "-deterministic", "-seed", "3", "-topology", "2*rv64:1,native", "-computes", "2", "-memory", "64MiB")
	if r.status != 0 {
		t.Fatalf("status %d, stderr %s", r.status, r.stderr)
	}
	var got struct {
		Topology string
		Mode     string
		Seed     uint64
		End      string
		Memory   struct{ Total, Used, Free uint64 }
		Programs []struct {
			Name, Want, Outcome string
			OK                  *bool
			Exited              bool
			Status              int64
			Trap                string
			Ticks               uint64
			BankPages           uint64 `json:"bank_pages"`
		}
		Domains struct {
			Total   int
			ByState map[string]int `json:"by_state"`
			ByKind  map[string]int `json:"by_kind"`
		}
		Stats struct {
			Ticks            uint64
			InvocationsTotal uint64 `json:"invocations_total"`
			FastInvocations  uint64 `json:"fast_invocations"`
			Invocations      map[string]uint64
			Traps            map[string]uint64
			Messages         uint64
			Cores            []struct {
				Kind   string
				Events uint64
			}
		}
		Check   struct{ OK bool }
		Console string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("boot -json: %v\n%s", err, r.stdout)
	}
	if got.Topology != "rv64:1,rv64:1,native:1" || got.Mode != "deterministic" || got.Seed != 3 || got.End != "finished" {
		t.Errorf("topology %q mode %q seed %d end %q", got.Topology, got.Mode, got.Seed, got.End)
	}
	if got.Memory.Total != 64<<20 || got.Memory.Used == 0 || got.Memory.Used+got.Memory.Free != got.Memory.Total {
		t.Errorf("memory %+v", got.Memory)
	}
	if len(got.Programs) != 10 {
		t.Fatalf("%d programs, want 10", len(got.Programs))
	}
	for _, p := range got.Programs {
		if p.OK == nil || !*p.OK {
			t.Errorf("%s: %s, want %s", p.Name, p.Outcome, p.Want)
		}
		switch p.Name {
		case "spinner":
			if p.Trap != "meter" || p.Ticks != 5_000_000 {
				t.Errorf("spinner: trap %q after %d ticks", p.Trap, p.Ticks)
			}
		case "outgrow":
			if p.BankPages != 100 {
				t.Errorf("outgrow's bank holds %d pages, want its limit 100", p.BankPages)
			}
		case "hello":
			if !p.Exited || p.Status != 0 {
				t.Errorf("hello: %+v", p)
			}
		}
	}
	if got.Domains.Total != got.Domains.ByKind["rv64"]+got.Domains.ByKind["native"] || got.Domains.ByKind["rv64"] != 10 || got.Domains.ByState["stopped"] != 1 {
		t.Errorf("domains %+v", got.Domains)
	}
	if got.Stats.Ticks < 100_000_000 || got.Stats.Invocations["start"] == 0 || got.Stats.Invocations["resume"] < 1000 ||
		got.Stats.Traps["meter"] != 1 || got.Stats.Traps["fault"] == 0 || len(got.Stats.Cores) != 3 || got.Stats.Messages == 0 ||
		got.Stats.FastInvocations > got.Stats.InvocationsTotal {
		t.Errorf("stats %+v", got.Stats)
	}
	if !got.Check.OK {
		t.Errorf("checks failed")
	}
	if !strings.Contains(got.Console, "hello from keyfish\n") || !strings.Contains(got.Console, "malloc: ok\n") {
		t.Errorf("console %q", got.Console)
	}
	// The same seed gives the same run.
	again := runKeyfish(t, "boot", "-json", "-deterministic", "-seed", "3", "-topology", "2*rv64:1,native", "-computes", "2", "-memory", "64MiB")
	if strip(again.stdout) != strip(r.stdout) {
		t.Errorf("two runs with seed 3 differ")
	}
}

// TestBootGeneralPath boots the demo deterministically with and without
// the kernel's invocation fast path: the same run, but for the count of
// fast invocations (some, then none).
func TestBootGeneralPath(t *testing.T) {
	args := []string{"boot", "-json", "-deterministic", "-seed", "5", "-computes", "2", "-memory", "64MiB"}
	fast := runKeyfish(t, args...)
	general := runKeyfish(t, append(args, "-general-path")...)
	if fast.status != 0 || general.status != 0 {
		t.Fatalf("status %d and %d, stderr %s %s", fast.status, general.status, fast.stderr, general.stderr)
	}
	count := regexp.MustCompile(`"fast_invocations": (\d+)`)
	if m := count.FindStringSubmatch(fast.stdout); m == nil || m[1] == "0" {
		t.Errorf("fast invocations: %v, want some", m)
	}
	if m := count.FindStringSubmatch(general.stdout); m == nil || m[1] != "0" {
		t.Errorf("fast invocations with -general-path: %v, want 0", m)
	}
	if a, b := count.ReplaceAllString(strip(fast.stdout), ""), count.ReplaceAllString(strip(general.stdout), ""); a != b {
		t.Errorf("the runs differ")
	}
}

// strip drops the lines of boot's JSON that hold wall-clock time.
func strip(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "wall_seconds") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// start runs keyfish in the background, returning once stdout shows line.
func start(t *testing.T, line string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(keyfishBin, args...)
	var stdout, stderr bytes.Buffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	seen := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		ok := false
		for sc.Scan() {
			stdout.WriteString(sc.Text() + "\n")
			if !ok && strings.Contains(sc.Text(), line) {
				ok = true
				seen <- true
			}
		}
		pr.Close()
		if !ok {
			seen <- false
		}
	}()
	select {
	case ok := <-seen:
		if !ok {
			cmd.Wait()
			t.Fatalf("keyfish %s ended without printing %q:\n%s\n%s", strings.Join(args, " "), line, &stdout, &stderr)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("keyfish %s did not print %q", strings.Join(args, " "), line)
	}
	return cmd, &stdout, &stderr
}

func TestBootInterrupt(t *testing.T) {
	cmd, stdout, stderr := start(t, "hello from keyfish", "boot", "-computes", "64", "-topology", "rv64:1,native")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("boot did not stop on SIGINT")
	}
	time.Sleep(10 * time.Millisecond) // the reader goroutine drains stdout
	r := result{status: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	noPanic(t, r, []string{"boot"})
	if r.status != 130 || !strings.Contains(r.stdout, "--- summary: interrupted after") || r.stderr != "keyfish: boot: interrupted\n" {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
	}
}

func TestBootTimeout(t *testing.T) {
	r := runKeyfish(t, "boot", "-timeout", "100ms", "-computes", "64", "-topology", "rv64:1,native")
	if r.status != 1 || !strings.Contains(r.stdout, "--- summary: timeout after") ||
		r.stderr != "keyfish: boot: the demo was still running after -timeout 100ms\n" {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
	}
}

func TestRunHello(t *testing.T) {
	hello := image(t, "hello")
	r := runKeyfish(t, "run", hello, "one", "two")
	want := "hello from keyfish\nargc=3\nargv[0]=" + hello + "\nargv[1]=one\nargv[2]=two\n"
	if r.status != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
	}
	// The same in deterministic mode on a multikernel topology.
	r = runKeyfish(t, "run", "-deterministic", "-topology", "2*rv64:1,2*native:1", hello, "one", "two")
	if r.status != 0 || r.stdout != want {
		t.Fatalf("status %d\nstdout:\n%s\nstderr:\n%s", r.status, r.stdout, r.stderr)
	}
}

// TestCPUProfile: -cpuprofile writes a pprof profile (gzipped protocol
// buffers) of the command, for go tool pprof and for the build's profile
// (make pgo); a file that cannot be made is a one-line error.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", image(t, "hello")},
		{"boot", "-computes", "1"},
		{"bench", "-short", "-q", "-run", "^bank/buy-page$"},
	} {
		path := filepath.Join(dir, args[0]+".pprof")
		args = append([]string{args[0], "-cpuprofile", path}, args[1:]...)
		r := runKeyfish(t, args...)
		if r.status != 0 {
			t.Fatalf("keyfish %s: status %d\nstderr:\n%s", strings.Join(args, " "), r.status, r.stderr)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("keyfish %s: the profile is not a gzipped pprof profile (%d bytes)", args[0], len(b))
		}
	}
	r := runKeyfish(t, "run", "-cpuprofile", filepath.Join(dir, "no", "such", "dir"), image(t, "hello"))
	if r.status != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "keyfish: run:") {
		t.Errorf("an impossible profile file: status %d, stderr %q; want 1 and one line", r.status, r.stderr)
	}
}

func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		status int32
		want   int
		stderr string
	}{
		{0, 0, ""},
		{42, 42, ""},
		{255, 255, ""},
		{300, 1, "exited with status 300, outside 0 to 255"},
		{-1, 1, "exited with status -1, outside 0 to 255"},
	} {
		p := rvProgram(t, fmt.Sprint("exit", tc.status), exitWith(tc.status)...)
		r := runKeyfish(t, "run", p)
		if r.status != tc.want || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
			t.Errorf("exit(%d): status %d, stderr %q, stdout %q", tc.status, r.status, r.stderr, r.stdout)
		}
	}
	// An example that fails: ping without a pong gets wrong replies.
	r := runKeyfish(t, "run", image(t, "ping"), "3")
	if r.status != 1 || !strings.HasPrefix(r.stdout, "ping: round trip 0: got order 0") || r.stderr != "" {
		t.Errorf("ping alone: status %d, stdout %q, stderr %q", r.status, r.stdout, r.stderr)
	}
}

func TestRunTrap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   []uint32
		status int
		msg    string
	}{
		{"illegal", []uint32{insIllegal}, 132, fmt.Sprintf("stopped by an illegal trap at pc %#x", codeStart)},
		{"ebreak", []uint32{insEbreak}, 133, fmt.Sprintf("stopped by a breakpoint trap at pc %#x", codeStart)},
		{"fault", []uint32{insLoadNil}, 139, fmt.Sprintf("stopped by a fault trap at pc %#x (address 0x0)", codeStart)},
		{"misaligned", []uint32{insLoadOdd}, 135, fmt.Sprintf("stopped by a misaligned trap at pc %#x", codeStart)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := rvProgram(t, tc.name, tc.code...)
			r := runKeyfish(t, "run", p)
			want := "keyfish: run: " + p + " " + tc.msg
			if r.status != tc.status || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("status %d (want %d)\nstderr: %q\nwant:   %q", r.status, tc.status, r.stderr, want)
			}
		})
	}
	t.Run("meter", func(t *testing.T) {
		r := runKeyfish(t, "run", "-budget", "100000", image(t, "spinner"))
		if r.status != 152 || r.stdout != "spinner: start\n" ||
			!strings.Contains(r.stderr, "stopped by a meter trap at pc 0x1") || !strings.HasSuffix(r.stderr, "after its budget of 100,000 ticks\n") {
			t.Fatalf("status %d\nstdout: %q\nstderr: %q", r.status, r.stdout, r.stderr)
		}
	})
	t.Run("full bank", func(t *testing.T) {
		// malloc loads in 40 KiB but its heap does not fit.
		r := runKeyfish(t, "run", "-memory", "40KiB", image(t, "malloc"))
		if r.status != 139 || !strings.Contains(r.stderr, "stopped by a fault trap") || !strings.HasSuffix(r.stderr, "its bank is full (40KiB): raise -memory or -pages\n") {
			t.Fatalf("status %d\nstderr: %q", r.status, r.stderr)
		}
	})
}

func TestRunNeverExits(t *testing.T) {
	r := runKeyfish(t, "run", image(t, "pong"))
	if r.status != 1 || !strings.HasSuffix(r.stderr, "did not exit: it is available, waiting for a message, and nothing else can run\n") {
		t.Fatalf("status %d, stderr %q", r.status, r.stderr)
	}
	// A program that CALLs a start key to itself stalls on itself for ever.
	stall := rvProgram(t, "stall",
		0xff010113,                              // addi sp, sp, -16
		0x00013023,                              // sd zero, 0(sp)
		addi(10, uint32(abi.KRSelf)),            // a0: CALL key register 4, a domain key to itself
		addi(11, uint32(abi.OCDomainMakeStart)), // a1: make a start key
		0x00010613,                              // a2 = sp: the string [0], its data byte
		addi(13, 8),                             // a3: 8 bytes
		addi(17, 8),                             // a7: key 0 of the reply lands in register 8
		insEcall,
		addi(10, 8), addi(13, 0), addi(17, 0), // CALL register 8
		insEcall,
		insJumpSelf)
	r = runKeyfish(t, "run", stall)
	if r.status != 1 || !strings.HasSuffix(r.stderr, "did not exit: it is stalled on a start key of a domain that is not available, and nothing else can run\n") {
		t.Fatalf("status %d, stderr %q", r.status, r.stderr)
	}
	r = runKeyfish(t, "run", "-timeout", "200ms", image(t, "spinner"))
	if r.status != 124 || !strings.HasSuffix(r.stderr, "was still running after -timeout 200ms\n") {
		t.Fatalf("status %d, stderr %q", r.status, r.stderr)
	}
}

func TestRunInterrupt(t *testing.T) {
	cmd, _, stderr := start(t, "spinner: start", "run", image(t, "spinner"))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("run did not stop on SIGINT")
	}
	if st := cmd.ProcessState.ExitCode(); st != 130 || !strings.HasPrefix(stderr.String(), "keyfish: run: interrupted; ") {
		t.Fatalf("status %d, stderr %q", st, stderr)
	}
}

func TestInspectText(t *testing.T) {
	r := runKeyfish(t, "inspect", "-check", "-deterministic", "-topology", "rv64:2,native")
	if r.status != 0 || r.stderr != "" {
		t.Fatalf("status %d\nstderr:\n%s", r.status, r.stderr)
	}
	for _, want := range []string{
		"system: rv64:2,native:1 (deterministic, seed 1), finished after", "banks (25):", "  bank#0 ", " prime ",
		"limits: 100 pages", "domains (", "native zero, home cluster 1, available", "native creator",
		"rv64 hello, home cluster 0, available: exited with status 0", "rv64 spinner, home cluster 0, stopped by a meter trap at pc 0x1",
		"rv64 pong, home cluster 0, available;", "k7=start(domain#1/", "meters (25):", " consumed ", " under meter#0 ",
		"checks: ok", "console:\n  | ", "  | hello from keyfish\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect's output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	hello, pong := image(t, "hello"), image(t, "pong")
	r := runKeyfish(t, "inspect", "-json", "-check", hello, pong)
	if r.status != 0 || r.stderr != "" {
		t.Fatalf("status %d\nstderr:\n%s", r.status, r.stderr)
	}
	var got struct {
		Topology string
		End      string
		Banks    []struct {
			Ref, Name  string
			ID, Parent uint64
			Depth      int
			Bytes      uint64
			Used       map[string]uint64
		}
		Domains []struct {
			Ref, Name, Kind, State, Outcome, Program string
			ID, Bank                                 uint64
			Keys                                     []string
			Meter, Space                             string
		}
		Meters []struct {
			Ref, Name    string
			ID, Superior uint64
			Remaining    int64
			Consumed     uint64
		}
		Programs []struct{ Name, Outcome string }
		Stats    struct{ Ticks uint64 }
		Check    *struct {
			OK         bool
			Violations []string
		}
		Console string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("inspect -json: %v\n%s", err, r.stdout)
	}
	if got.End != "finished" || got.Check == nil || !got.Check.OK || got.Stats.Ticks == 0 {
		t.Errorf("end %q check %+v ticks %d", got.End, got.Check, got.Stats.Ticks)
	}
	// The prime bank; for each program the bank its limits are set on,
	// and the sub-bank of it that the program holds.
	if len(got.Banks) != 5 || got.Banks[0].Parent != 0 || got.Banks[0].Ref != "bank#0" || got.Banks[0].Used["domain"] != 6 {
		t.Errorf("banks %+v", got.Banks)
	}
	bankOf := map[string]uint64{}
	for _, b := range got.Banks[1:] {
		bankOf[b.Name] = b.ID
	}
	for _, b := range got.Banks[1:] {
		outer := !strings.HasSuffix(b.Name, "/program")
		switch {
		case outer && (b.Parent != got.Banks[0].ID || b.Depth != 1 || b.Used["bank"] != 1 || b.Used["meter"] != 1),
			!outer && (b.Parent != bankOf[strings.TrimSuffix(b.Name, "/program")] || b.Depth != 2),
			b.Used["domain"] != 1 || b.Used["page"] == 0:
			t.Errorf("program bank %+v", b)
		}
	}
	byName := map[string]int{}
	for i, d := range got.Domains {
		byName[d.Name] = i
		if !strings.HasPrefix(d.Ref, "domain#") || d.Meter == "" || d.Space == "" {
			t.Errorf("domain %+v", d)
		}
	}
	for name, want := range map[string]string{hello: "exited with status 0", pong: "available"} {
		i, ok := byName[name]
		if !ok {
			t.Fatalf("no domain named %s in %+v", name, got.Domains)
		}
		d := got.Domains[i]
		if d.Kind != "rv64" || d.Outcome != want || d.Bank != bankOf[name+"/program"] || len(d.Keys) < 7 || !strings.HasPrefix(d.Keys[0], "k1=console") {
			t.Errorf("%s: %+v", name, d)
		}
	}
	for _, n := range []string{"zero", "creator", "exit(" + hello + ")"} {
		if i, ok := byName[n]; !ok || got.Domains[i].Kind != "native" {
			t.Errorf("no native domain %s", n)
		}
	}
	meterOf := map[string]uint64{}
	for _, mt := range got.Meters {
		meterOf[mt.Name] = mt.ID
	}
	if len(got.Meters) != 5 || got.Meters[0].Superior != 0 {
		t.Errorf("meters %+v", got.Meters)
	}
	for _, name := range []string{hello, pong} {
		if mt := meterOf[name]; mt == 0 {
			t.Errorf("no meter named %s: %+v", name, got.Meters)
		}
		for _, mt := range got.Meters {
			if mt.Name == name+"/program" && mt.Superior != meterOf[name] || mt.Name == name && mt.Superior != got.Meters[0].ID {
				t.Errorf("meter %+v", mt)
			}
		}
	}
	if len(got.Programs) != 2 || got.Console != "hello from keyfish\nargc=1\nargv[0]="+hello+"\n" {
		t.Errorf("programs %+v console %q", got.Programs, got.Console)
	}
}

func TestBadInput(t *testing.T) {
	hello, _ := images.Get("hello")
	x86 := append([]byte(nil), hello...)
	binary.LittleEndian.PutUint16(x86[18:], 62) // e_machine: EM_X86_64
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7 + i>>3)
	}
	self, err := os.Executable() // this test binary: an ELF for the host
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	helloPath := writeFile(t, "hello.elf", hello)
	randomPath := writeFile(t, "random.elf", random)
	truncPath := writeFile(t, "trunc.elf", hello[:200])
	headerOnly := writeFile(t, "header.elf", hello[:64])
	x86Path := writeFile(t, "x86.elf", x86)
	x86Crafted := writeFile(t, "x86c.elf", craftELF(62, exitWith(0)))
	empty := writeFile(t, "empty.elf", nil)
	missing := filepath.Join(dir, "missing.elf")

	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"bogus"}, 2, `keyfish: unknown command "bogus"`},
		{[]string{"-x"}, 2, "keyfish: flags go after the command"},
		{[]string{"help", "bogus"}, 2, `keyfish: help: unknown command "bogus"`},
		{[]string{"boot", "-bogus"}, 2, "keyfish: boot: flag provided but not defined: -bogus"},
		{[]string{"boot", "extra"}, 2, `keyfish: boot: unexpected argument "extra"`},
		{[]string{"boot", "-topology", "rv64:0,native"}, 2, `keyfish: boot: topology "rv64:0,native": bad core count "0"`},
		{[]string{"boot", "-topology", "arm64,native"}, 2, `unknown CPU kind "arm64" (want rv64 or native)`},
		{[]string{"boot", "-topology", ""}, 2, "keyfish: boot: topology: empty"},
		{[]string{"boot", "-topology", "rv64:4"}, 2, "has no native cluster"},
		{[]string{"boot", "-topology", "native:2"}, 2, "has no rv64 cluster"},
		{[]string{"boot", "-topology", "2000*rv64,native"}, 2, "bad repeat count"},
		{[]string{"boot", "-memory", "12XB"}, 2, `keyfish: boot: invalid value "12XB" for flag -memory`},
		{[]string{"boot", "-memory", "0"}, 2, "keyfish: boot: -memory 0B is too small"},
		{[]string{"boot", "-memory", "99999999TiB"}, 2, "is more than"},
		{[]string{"boot", "-memory", "200KiB"}, 1, "keyfish: boot: the demo does not fit in -memory 200KiB"},
		{[]string{"boot", "-memory", "1MiB"}, 1, "keyfish: boot: malloc stopped by a fault trap at pc 0x"},
		{[]string{"boot", "-memory", "64KiB"}, 2, "keyfish: boot: -memory 64KiB is too small: the system needs at least 128KiB"},
		{[]string{"boot", "-seed", "-3"}, 2, "keyfish: boot: invalid value"},
		{[]string{"boot", "-timeout", "soon"}, 2, "keyfish: boot: invalid value"},
		{[]string{"run"}, 2, "keyfish: run: no program given"},
		{[]string{"run", "-budget", "x", helloPath}, 2, "keyfish: run: invalid value"},
		{[]string{"run", missing}, 1, "keyfish: run: open " + missing + ": no such file or directory"},
		{[]string{"run", dir}, 1, "keyfish: run: " + dir + ": not a regular file"},
		{[]string{"run", empty}, 1, "keyfish: run: " + empty + ": empty file, not an ELF image"},
		{[]string{"run", randomPath}, 1, "keyfish: run: " + randomPath + ": not a valid ELF file: bad magic number"},
		{[]string{"run", truncPath}, 1, "keyfish: run: " + truncPath + ": truncated ELF file"},
		{[]string{"run", headerOnly}, 1, "keyfish: run: " + headerOnly + ": "},
		{[]string{"run", x86Path}, 1, "built for EM_X86_64, want RISC-V (EM_RISCV)"},
		{[]string{"run", x86Crafted}, 1, "built for EM_X86_64, want RISC-V (EM_RISCV)"},
		{[]string{"run", self}, 1, "want RISC-V (EM_RISCV)"},
		{[]string{"run", "-pages", "2", helloPath}, 1, "the bank refused: too small for the program (after 2 pages); its bank's limit is 256MiB and 2 pages: raise -memory or -pages"},
		{[]string{"run", "-memory", "16KiB", helloPath}, 1, "the bank refused: too small for the program"},
		{[]string{"run", "-topology", "rv64", helloPath}, 2, "has no native cluster"},
		{[]string{"inspect", missing}, 1, "keyfish: inspect: open " + missing},
		{[]string{"inspect", "-json", randomPath}, 1, "keyfish: inspect: " + randomPath + ": not a valid ELF file"},
		{[]string{"inspect", "-json", "-memory", "200KiB"}, 1, "keyfish: inspect: the demo does not fit in -memory 200KiB: "},
		{[]string{"inspect", "-memory", "16KiB", helloPath}, 2, "keyfish: inspect: -memory 16KiB is too small: the system needs at least 128KiB"},
		{[]string{"inspect", "-topology", "x"}, 2, "keyfish: inspect: topology"},
		{[]string{"version", "extra"}, 2, `keyfish: version: unexpected argument "extra"`},
	} {
		r := runKeyfish(t, tc.args...)
		if r.status != tc.status || !strings.Contains(r.stderr, tc.stderr) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("keyfish %s: status %d (want %d), stderr:\n%s(want one line with %q)", strings.Join(tc.args, " "), r.status, tc.status, r.stderr, tc.stderr)
		}
		if r.status == 2 && strings.Contains(r.stdout, "--- summary") {
			t.Errorf("keyfish %s: a summary after a usage error", strings.Join(tc.args, " "))
		}
	}
	// No command: the usage, on stderr, status 2.
	r := runKeyfish(t)
	if r.status != 2 || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("keyfish: status %d, stderr %q", r.status, r.stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := runKeyfish(t, "version")
	if r.status != 0 || !strings.HasPrefix(r.stdout, "keyfish ") || !strings.Contains(r.stdout, " go1.") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("version: status %d, %q", r.status, r.stdout)
	}
	r = runKeyfish(t, "help")
	for _, c := range []string{"boot", "run", "inspect", "version"} {
		if !strings.Contains(r.stdout, "\t"+c+" ") {
			t.Errorf("help lacks %s:\n%s", c, r.stdout)
		}
	}
	for _, args := range [][]string{{"help", "run"}, {"run", "-h"}, {"run", "--help"}} {
		r = runKeyfish(t, args...)
		out := r.stdout + r.stderr
		if r.status != 0 || !strings.Contains(out, "usage: keyfish run [flags] PROGRAM.elf [ARGS...]") ||
			!strings.Contains(out, "139 memory fault (SIGSEGV)") || !strings.Contains(out, "-budget ticks") {
			t.Errorf("keyfish %s: status %d\n%s", strings.Join(args, " "), r.status, out)
		}
	}
	for _, c := range []string{"boot", "inspect", "version"} {
		r = runKeyfish(t, c, "-h")
		if r.status != 0 || !strings.Contains(r.stderr, "usage: keyfish "+c) {
			t.Errorf("keyfish %s -h: status %d\n%s", c, r.status, r.stderr)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "4096": 4096, "64MiB": 64 << 20, "1GiB": 1 << 30, "1G": 1 << 30, "512K": 512 << 10,
		"500MB": 500e6, "2kB": 2000, "10B": 10, "1_000": 1000, " 3 MiB ": 3 << 20,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5GiB", "12XB", "2000000PiB", "99999999TiB"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) did not fail", in)
		}
	}
	for n, want := range map[uint64]string{0: "0B", 100: "100B", 1536: "1.5KiB", 256 << 20: "256MiB", 1<<30 + 1<<29: "1.5GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
