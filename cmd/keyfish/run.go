package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

func init() {
	commands["run"] = command{summary: "run a RISC-V program as a domain", run: run}
	commandDocs["run"] = `Run loads PROGRAM.elf, a static RV64IMAC executable built with the SDK
(sdk/README.md), as a domain with a fresh bank and meter, passes it ARGS
(argv[0] is PROGRAM.elf as given), and runs it until it exits. Its console
output goes to stdout. The bank's limits (-memory, -pages) cover the image,
the heap and stack pages it touches, and its domain; the meter's budget
(-budget) counts its instructions.

Exit status:
  the program's status    when it exits (0 to 255)
  128+N                   when it stops on a trap, N the Unix signal it
                          resembles: 132 illegal instruction (SIGILL),
                          133 ebreak (SIGTRAP), 135 misaligned access
                          (SIGBUS), 139 memory fault (SIGSEGV), 152 meter
                          exhausted (SIGXCPU); a one-line message names the
                          trap and pc
  124                     at -timeout
  130                     on Ctrl-C
  1                       when it cannot run (no such file, not a RISC-V
                          executable, a bank too small to load it), when it
                          exits with a status outside 0 to 255, or when it
                          can never exit: it waits for a message nobody sends
  2                       usage errors
`
}

// trapStatus maps a trap to the exit status of the Unix signal it
// resembles.
var trapStatus = map[abi.Trap]int{
	abi.TrapIllegal:    128 + 4,  // SIGILL
	abi.TrapBreakpoint: 128 + 5,  // SIGTRAP
	abi.TrapMisaligned: 128 + 7,  // SIGBUS
	abi.TrapFault:      128 + 11, // SIGSEGV
	abi.TrapMeter:      128 + 24, // SIGXCPU
	abi.TrapNoMeter:    128 + 24,
	abi.TrapStopped:    128 + 15, // SIGTERM
}

// maxImage bounds an ELF file: its segments must lie below
// abi.LayoutImageEnd, and a file much larger is not a program.
const maxImage = 2 * int64(abi.LayoutImageEnd)

// servicesMemory is what the services and the exit collector need besides
// the program's bank.
const servicesMemory = 16 << 20

func run(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "[flags] PROGRAM.elf [ARGS...]", stderr)
	var mf machineFlags
	mf.register(fs, "rv64:1,native:1", 0, "stop the program if it is still running after this `duration` (0: never)")
	mem := byteSize(256 << 20)
	fs.Var(&mem, "memory", "the program bank's limit in `bytes` (64MiB, 1GiB, ...): image, heap, stack and domain")
	pages := fs.Uint64("pages", 0, "the program bank's limit in `pages` (0: none)")
	budget := fs.Uint64("budget", 0, "the program meter's budget in `ticks`, one per instruction (0: unlimited)")
	prof := cpuProfileFlag(fs)
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "run", "no program given")
	}
	if msg := mf.check(); msg != "" {
		return usageError(stderr, "run", "%s", msg)
	}
	if mem == 0 {
		return usageError(stderr, "run", "-memory 0: the program needs some memory")
	}
	path := fs.Arg(0)
	img, err := readImage(path)
	if err != nil {
		return failure(stderr, "run", err)
	}
	if _, err := loader.Parse(path, img); err != nil {
		return failure(stderr, "run", err)
	}
	stop, err := startCPUProfile(*prof)
	if err != nil {
		return failure(stderr, "run", err)
	}
	defer stop()

	s, err := system.New(mf.config(uint64(mem)+servicesMemory, stdout, stderr))
	if err != nil {
		return failure(stderr, "run", err)
	}
	limits := []uint64{uint64(mem), abi.Unlimited, abi.Unlimited, abi.Unlimited, abi.Unlimited, abi.Unlimited}
	if *pages > 0 {
		limits[abi.LedgerLimitPages-abi.LedgerLimitBytes] = *pages
	}
	p, err := s.Load(path, img, system.Options{Args: fs.Args(), Limits: limits, Budget: *budget})
	if err != nil {
		if errors.Is(err, loader.ErrNoSpace) {
			err = fmt.Errorf("%v; its bank's limit is %s: raise -memory or -pages", err, limitText(uint64(mem), *pages))
		}
		return failure(stderr, "run", err)
	}
	if err := p.Start(); err != nil {
		return failure(stderr, "run", err)
	}
	end, err := runMachine(s.M, mf.timeout)
	if err != nil {
		return failure(stderr, "run", err)
	}
	o, err := p.Outcome()
	if err != nil {
		return failure(stderr, "run", err)
	}
	switch {
	case o.Exited && o.Status >= 0 && o.Status <= 255:
		return int(o.Status)
	case o.Exited:
		fmt.Fprintf(stderr, "keyfish: run: %s exited with status %d, outside 0 to 255\n", path, o.Status)
		return 1
	case end == endInterrupted:
		fmt.Fprintf(stderr, "keyfish: run: interrupted; %s was %s\n", path, o)
		return 130
	case end == endTimeout:
		fmt.Fprintf(stderr, "keyfish: run: %s was still running after -timeout %v\n", path, mf.timeout)
		return 124
	case o.State == abi.StateStopped && o.Trap != abi.TrapNone:
		msg := fmt.Sprintf("keyfish: run: %s %s", path, o)
		if o.Trap == abi.TrapFault && bankFull(s, p) {
			msg += fmt.Sprintf("; its bank is full (%s): raise -memory or -pages", limitText(uint64(mem), *pages))
		}
		if o.Trap == abi.TrapMeter {
			msg += fmt.Sprintf(" after its budget of %s ticks", commas(*budget))
		}
		fmt.Fprintln(stderr, msg)
		if st, ok := trapStatus[o.Trap]; ok {
			return st
		}
		return 1
	}
	what := "it is " + o.String()
	switch o.State {
	case abi.StateAvailable:
		what = "it is available, waiting for a message,"
	case abi.StateRunning:
		// Running in name only: nothing runs once the machine is quiet,
		// so it waits to send to a domain that is not available.
		what = "it is stalled on a start key of a domain that is not available,"
	}
	fmt.Fprintf(stderr, "keyfish: run: %s did not exit: %s and nothing else can run\n", path, what)
	return 1
}

// readImage reads an ELF file, refusing what cannot be one.
func readImage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > maxImage {
		return nil, fmt.Errorf("%s: %s is too large for a program (its image must end below %#x)", path, formatBytes(uint64(fi.Size())), abi.LayoutImageEnd)
	}
	return io.ReadAll(io.LimitReader(f, maxImage+1))
}

// bankFull reports whether the program's bank cannot pay for another page.
func bankFull(s *system.System, p *system.Proc) bool {
	r, err := s.M.Call(p.Bank, int64(abi.OCBankGetLedger), nil)
	if err != nil || r.RC != 0 {
		return false
	}
	used, limit := r.Word(int(abi.LedgerUsedBytes)), r.Word(int(abi.LedgerLimitBytes))
	pages, pageLimit := r.Word(int(abi.LedgerUsedPages)), r.Word(int(abi.LedgerLimitPages))
	return used+uint64(abi.CostPage) > limit || pages >= pageLimit
}

// limitText renders a bank's limits.
func limitText(bytes, pages uint64) string {
	s := formatBytes(bytes)
	if pages > 0 {
		s += fmt.Sprintf(" and %d %s", pages, plural("page", pages))
	}
	return s
}
