package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

func init() {
	commands["boot"] = command{summary: "boot the built-in demo system and summarize what it did", run: boot}
	commandDocs["boot"] = `Boot builds a machine with a prime bank of -memory bytes, the prime meter,
the console and clock, the domain creator and the demand-zero keeper, and
runs the SDK's example programs as a small system, each in its own bank
under its own meter: hello; pong serving ping; pager serving pagertest's
faults; outgrow in a bank of 100 pages; a spinner stopped by its meter;
compute domains in parallel (one per rv64 core, at least 4); malloc.

The console shows as the programs write it. When the system is quiescent
(or on Ctrl-C, or at -timeout) boot prints a summary: each program's
outcome, the domains, instructions, invocations by key type, traps,
per-core utilization, memory use, and the system-wide invariant checks.

Exit status: 0 when every program did what it should and the checks pass;
1 otherwise, or at -timeout; 130 on Ctrl-C; 2 for usage errors.
`
}

func boot(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("boot", "[flags]", stderr)
	var mf machineFlags
	mf.register(fs, defaultTopology(runtime.NumCPU()), time.Minute, "stop the demo if it is still running after this `duration` (0: never)")
	mem := byteSize(256 << 20)
	fs.Var(&mem, "memory", "the prime bank's `size`: all the storage the system may use (64MiB, 1GiB, ...)")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout; the console output goes into it")
	computes := fs.Int("computes", 0, "how many compute domains to run (0: one per rv64 core, at least 4)")
	prof := cpuProfileFlag(fs)
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "boot", "unexpected argument %q", fs.Arg(0))
	}
	if msg := mf.check(); msg != "" {
		return usageError(stderr, "boot", "%s", msg)
	}
	if mem < minMemory {
		return usageError(stderr, "boot", "-memory %v is too small: the system needs at least %s", &mem, formatBytes(minMemory))
	}
	if *computes < 0 || *computes > 1024 {
		return usageError(stderr, "boot", "-computes %d is out of range (0 to 1024)", *computes)
	}
	if *computes == 0 {
		*computes = demoComputes(mf.topology)
	}
	stop, err := startCPUProfile(*prof)
	if err != nil {
		return failure(stderr, "boot", err)
	}
	defer stop()

	console := stdout // the kernel serializes its console writes
	buf := &consoleBuffer{}
	if *asJSON {
		console = buf
	}
	s, err := system.New(mf.config(uint64(mem), console, stderr))
	if err != nil {
		return failure(stderr, "boot", err)
	}
	progs, err := s.LoadDemo(system.DemoOptions{Computes: *computes})
	if err != nil {
		return failure(stderr, "boot", demoError(err, mem))
	}
	want := map[*system.Proc]*system.DemoProgram{}
	var names []string
	for _, p := range progs {
		want[p.Proc] = p
		names = append(names, p.Name)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "Keyfish: booting the demo on %s (%s) with %v of memory\n", kernel.FormatTopology(s.M.Clusters()), mf.mode(), &mem)
		fmt.Fprintf(stdout, "%d programs: %s\n\n", len(progs), strings.Join(names, ", "))
	}
	if err := system.StartAll(progs); err != nil {
		return failure(stderr, "boot", err)
	}
	end, err := runMachine(s.M, mf.timeout)
	if err != nil {
		return failure(stderr, "boot", err)
	}
	r, err := newReport(s, &mf, end, want, true)
	if err != nil {
		return failure(stderr, "boot", err)
	}
	if *asJSON {
		r.Console = buf.String()
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return failure(stderr, "boot", err)
		}
	} else {
		writeSummary(stdout, r)
	}
	switch {
	case end == endInterrupted:
		fmt.Fprintln(stderr, "keyfish: boot: interrupted")
		return 130
	case end == endTimeout:
		fmt.Fprintf(stderr, "keyfish: boot: the demo was still running after -timeout %v\n", mf.timeout)
		return 1
	case !r.Check.OK:
		fmt.Fprintf(stderr, "keyfish: boot: the invariant checks found %d violations\n", len(r.Check.Violations))
		return 1
	case !r.allOK():
		var bad []string
		for _, p := range r.Programs {
			if p.OK != nil && !*p.OK {
				bad = append(bad, fmt.Sprintf("%s %s, want %s", p.Name, p.Outcome, p.Want))
			}
		}
		fmt.Fprintf(stderr, "keyfish: boot: %s\n", strings.Join(bad, "; "))
		return 1
	}
	return 0
}

// writeSummary prints boot's summary.
func writeSummary(w io.Writer, r *report) {
	st := &r.Stats
	fmt.Fprintf(w, "\n--- summary: %s after %.2fs (%s) ---\n", r.End, st.WallSeconds, r.modeText())

	fmt.Fprintln(w, "programs:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range r.Programs {
		verdict := ""
		if p.OK != nil {
			verdict = "ok"
			if !*p.OK {
				verdict = "FAILED: want " + p.Want
			} else if p.Want == system.WantServe {
				verdict = "ok (a server)"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s ticks\t%s in its bank\n", p.Name, p.Outcome, verdict, commas(p.Ticks), formatBytes(p.BankBytes))
	}
	tw.Flush()

	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	d := &r.Domains
	fmt.Fprintf(tw, "domains:\t%d (%s); %s\n", d.Total, sortedCounts(d.ByKind), sortedCounts(d.ByState))
	rate := ""
	if st.WallSeconds > 0 && r.Seed == nil {
		rate = fmt.Sprintf(" (%.0f million per second)", float64(st.RV64Instructions)/st.WallSeconds/1e6)
	}
	fmt.Fprintf(tw, "instructions:\t%s rv64%s; native code charged %s ticks (ns)\n", commas(st.RV64Instructions), rate, commas(st.NativeTicks))
	fmt.Fprintf(tw, "invocations:\t%s (%s by the fast path) by key type: %s\n", commas(st.InvocationsTotal), commas(st.FastInvocations), sortedCounts(st.Invocations))
	fmt.Fprintf(tw, "traps:\t%s\n", sortedCounts(st.Traps))
	fmt.Fprintf(tw, "messages:\t%s between clusters; longest inbox %d, longest stall queue %d\n", commas(st.Messages), st.MaxInbox, st.MaxStallQueue)
	tw.Flush()

	fmt.Fprintln(w, "cores:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range st.Cores {
		busy := fmt.Sprintf("%.1f%% busy", 100*c.Utilization)
		if r.Seed != nil {
			busy = "(deterministic)"
		}
		fmt.Fprintf(tw, "  core %d\t%s\tcluster %d\t%s\t%s events\t%s ticks\t\n", c.Core, c.Kind, c.Cluster, busy, commas(c.Events), commas(c.Ticks))
	}
	tw.Flush()

	m := &r.Memory
	counts := map[string]uint64{}
	for k, v := range m.Objects {
		counts[k] = uint64(v)
	}
	fmt.Fprintf(w, "memory:       %s of %s used (%s), %s free\n", formatBytes(m.Used), formatBytes(m.Total), objectCounts(counts), formatBytes(m.Free))
	if r.Check != nil {
		if r.Check.OK {
			fmt.Fprintln(w, "checks:       ok (ledgers balance, every object accounted for, no void key works, queues within bounds)")
		} else {
			fmt.Fprintf(w, "checks:       %d violations:\n", len(r.Check.Violations))
			for _, v := range r.Check.Violations {
				fmt.Fprintf(w, "  %s\n", v)
			}
		}
	}
}

// demoError explains a failure to load the demo.
func demoError(err error, mem byteSize) error {
	if errors.Is(err, loader.ErrNoSpace) {
		return fmt.Errorf("the demo does not fit in -memory %v: %v", &mem, err)
	}
	return err
}
