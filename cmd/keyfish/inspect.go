package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

func init() {
	commands["inspect"] = command{summary: "show a system's object graph: banks, domains, meters", run: inspect}
	commandDocs["inspect"] = `Inspect builds a system, runs it until it is quiescent (nothing left to run,
or -timeout), and shows its object graph: the bank tree with each bank's use
and limits, every domain with its state, trap, key registers and root slots,
and every meter with its budget. With no PROGRAM it runs boot's demo; with
PROGRAM.elf arguments it loads each as a domain with its own bank and meter
(argv[0] is its path) and runs them together.

-json prints the same as one JSON object: topology, mode, end, memory,
banks, domains, meters, programs, stats, check (with -check) and console.
-check runs the system-wide invariant checks (ledgers balance, every object
accounted for, no void key works, queues within bounds).

Exit status: 0, or 1 when -check finds violations (they are listed) or the
system cannot be built; 130 on Ctrl-C; 2 for usage errors. A system still
running at -timeout is shown as it was then.
`
}

// bankJSON, domainJSON and meterJSON add to the kernel's descriptions the
// object as keys name it (ref: "bank#3") and the program it belongs to,
// when there is one.
type (
	bankJSON struct {
		Ref string `json:"ref"`
		kernel.BankInfo
		Name string `json:"name,omitempty"`
	}
	domainJSON struct {
		Ref string `json:"ref"`
		kernel.DomainInfo
		Name    string `json:"name,omitempty"`
		Outcome string `json:"outcome,omitempty"`
	}
	meterJSON struct {
		Ref string `json:"ref"`
		kernel.MeterInfo
		Name string `json:"name,omitempty"`
	}
)

// ref names an object as keys do: kind#index.
func ref(kind string, id uint64) string { return fmt.Sprintf("%s#%d", kind, idIndex(id)) }

// graphJSON is inspect's JSON output.
type graphJSON struct {
	Topology string        `json:"topology"`
	Mode     string        `json:"mode"`
	Seed     *uint64       `json:"seed,omitempty"`
	End      string        `json:"end"`
	Memory   memoryJSON    `json:"memory"`
	Banks    []bankJSON    `json:"banks"`
	Domains  []domainJSON  `json:"domains"`
	Meters   []meterJSON   `json:"meters"`
	Programs []programJSON `json:"programs"`
	Stats    statsJSON     `json:"stats"`
	Check    *checkJSON    `json:"check,omitempty"`
	Console  string        `json:"console"`
}

func inspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("inspect", "[flags] [PROGRAM.elf...]", stderr)
	var mf machineFlags
	mf.register(fs, defaultTopology(runtime.NumCPU()), time.Minute, "stop the system if it is still running after this `duration` and show it as it is then (0: never)")
	mem := byteSize(256 << 20)
	fs.Var(&mem, "memory", "the prime bank's `size`: all the storage the system may use (64MiB, 1GiB, ...)")
	asJSON := fs.Bool("json", false, "print the object graph as JSON")
	check := fs.Bool("check", false, "run the system-wide invariant checks; exit 1 if any fails")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if msg := mf.check(); msg != "" {
		return usageError(stderr, "inspect", "%s", msg)
	}
	if mem < minMemory {
		return usageError(stderr, "inspect", "-memory %v is too small: the system needs at least %s", &mem, formatBytes(minMemory))
	}
	images := map[string][]byte{}
	for _, path := range fs.Args() {
		img, err := readImage(path)
		if err != nil {
			return failure(stderr, "inspect", err)
		}
		images[path] = img
	}

	console := &consoleBuffer{}
	s, err := system.New(mf.config(uint64(mem), console, stderr))
	if err != nil {
		return failure(stderr, "inspect", err)
	}
	var want map[*system.Proc]*system.DemoProgram
	if fs.NArg() == 0 {
		progs, err := s.LoadDemo(system.DemoOptions{Computes: demoComputes(mf.topology)})
		if err != nil {
			return failure(stderr, "inspect", demoError(err, mem))
		}
		want = map[*system.Proc]*system.DemoProgram{}
		for _, p := range progs {
			want[p.Proc] = p
		}
		if err := system.StartAll(progs); err != nil {
			return failure(stderr, "inspect", err)
		}
	} else {
		for _, path := range fs.Args() {
			p, err := s.Load(path, images[path], system.Options{Args: []string{path}})
			if err != nil {
				return failure(stderr, "inspect", err)
			}
			if err := p.Start(); err != nil {
				return failure(stderr, "inspect", err)
			}
		}
	}
	end, err := runMachine(s.M, mf.timeout)
	if err != nil {
		return failure(stderr, "inspect", err)
	}
	r, err := newReport(s, &mf, end, want, *check)
	if err != nil {
		return failure(stderr, "inspect", err)
	}
	r.Console = console.String()
	if *asJSON {
		if err := writeGraphJSON(stdout, r); err != nil {
			return failure(stderr, "inspect", err)
		}
	} else {
		writeGraph(stdout, r)
	}
	switch {
	case end == endInterrupted:
		fmt.Fprintln(stderr, "keyfish: inspect: interrupted")
		return 130
	case r.Check != nil && !r.Check.OK:
		fmt.Fprintf(stderr, "keyfish: inspect: the invariant checks found %d violations\n", len(r.Check.Violations))
		return 1
	}
	return 0
}

// demoComputes is how many compute domains the demo runs on a topology:
// one per rv64 core, at least 4 and at most 64.
func demoComputes(topology string) int {
	n := 0
	specs, _ := kernel.ParseTopology(topology)
	for _, s := range specs {
		if s.Kinds.Has(abi.KindRV64) {
			n += s.Cores
		}
	}
	return min(max(n, 4), 64)
}

func writeGraphJSON(w io.Writer, r *report) error {
	g := graphJSON{
		Topology: r.Topology, Mode: r.Mode, Seed: r.Seed, End: r.End, Memory: r.Memory,
		Programs: r.Programs, Stats: r.Stats, Check: r.Check, Console: r.Console,
		Banks: []bankJSON{}, Domains: []domainJSON{}, Meters: []meterJSON{},
	}
	outcome := map[uint64]string{}
	for _, p := range r.Programs {
		outcome[p.Domain] = p.Outcome
	}
	for _, b := range r.snap.Banks {
		g.Banks = append(g.Banks, bankJSON{Ref: ref("bank", b.ID), BankInfo: b, Name: r.name(b.ID)})
	}
	for _, d := range r.snap.Domains {
		if d.Keys == nil {
			d.Keys = []string{}
		}
		g.Domains = append(g.Domains, domainJSON{Ref: ref("domain", d.ID), DomainInfo: d, Name: r.name(d.ID), Outcome: outcome[d.ID]})
	}
	for _, m := range r.snap.Meters {
		g.Meters = append(g.Meters, meterJSON{Ref: ref("meter", m.ID), MeterInfo: m, Name: r.name(m.ID)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// writeGraph prints the object graph as text.
func writeGraph(w io.Writer, r *report) {
	fmt.Fprintf(w, "system: %s (%s), %s after %.2fs\n", r.Topology, r.modeText(), r.End, r.Stats.WallSeconds)
	m := &r.Memory
	counts := map[string]uint64{}
	for k, v := range m.Objects {
		counts[k] = uint64(v)
	}
	fmt.Fprintf(w, "memory: %s of %s used, %s free; %s\n", formatBytes(m.Used), formatBytes(m.Total), formatBytes(m.Free), objectCounts(counts))

	fmt.Fprintf(w, "\nbanks (%d):\n", len(r.snap.Banks))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, b := range r.snap.Banks {
		name := r.name(b.ID)
		if b.Parent == 0 {
			name = "prime"
		}
		line := fmt.Sprintf("  %s%s\t%s\t%s\t%s", strings.Repeat("  ", b.Depth), ref("bank", b.ID), name, formatBytes(b.Bytes), objectCounts(b.Used))
		if len(b.Limits) > 0 {
			var ls []string
			for _, k := range []string{"bytes", "page", "node", "domain", "meter", "bank"} {
				if v, ok := b.Limits[k]; ok {
					if k == "bytes" {
						ls = append(ls, formatBytes(v))
					} else {
						ls = append(ls, fmt.Sprintf("%s %s", commas(v), plural(k, v)))
					}
				}
			}
			line += "; limits: " + strings.Join(ls, ", ")
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()

	outcome := map[uint64]string{}
	for _, p := range r.Programs {
		outcome[p.Domain] = p.Outcome
	}
	fmt.Fprintf(w, "\ndomains (%d):\n", len(r.snap.Domains))
	for _, d := range r.snap.Domains {
		head := fmt.Sprintf("  domain#%d %s %s, home cluster %d, ", idIndex(d.ID), d.Kind, orDash(r.name(d.ID)), d.Home)
		switch o := outcome[d.ID]; {
		case strings.HasPrefix(o, d.State):
			head += o
		case o != "":
			head += d.State + ": " + o
		case d.Trap != "":
			head += fmt.Sprintf("%s by %s trap at pc %#x", d.State, d.Trap, d.TrapPC)
		default:
			head += d.State
		}
		head += fmt.Sprintf("; %s ticks; bank#%d", commas(d.Ticks), idIndex(d.Bank))
		if d.Kind == "rv64" {
			head += fmt.Sprintf("; pc %#x", d.PC)
		}
		if d.Stalled > 0 {
			head += fmt.Sprintf("; %d stalled on it", d.Stalled)
		}
		fmt.Fprintln(w, head)
		fmt.Fprintf(w, "      meter=%s keeper=%s space=%s\n", d.Meter, d.Keeper, d.Space)
		if len(d.Keys) > 0 {
			fmt.Fprintf(w, "      %s\n", strings.Join(d.Keys, " "))
		}
	}

	fmt.Fprintf(w, "\nmeters (%d):\n", len(r.snap.Meters))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, mt := range r.snap.Meters {
		name, sup := r.name(mt.ID), fmt.Sprintf("under meter#%d", idIndex(mt.Superior))
		if mt.Superior == 0 {
			name, sup = "prime", ""
		}
		remaining := commas(uint64(mt.Remaining)) + " left"
		if mt.Remaining >= 1<<62 {
			remaining = "unlimited"
		}
		keeper := ""
		if mt.Keeper != "DK(0)" {
			keeper = "keeper " + mt.Keeper
		}
		fmt.Fprintf(tw, "  meter#%d\t%s\t%s consumed\t%s\t%s\t%s\n", idIndex(mt.ID), orDash(name), commas(mt.Consumed), remaining, sup, keeper)
	}
	tw.Flush()

	st := &r.Stats
	fmt.Fprintf(w, "\nactivity: %s rv64 instructions, %s native ticks; %s invocations (%s); traps: %s; %s messages between clusters\n",
		commas(st.RV64Instructions), commas(st.NativeTicks), commas(st.InvocationsTotal), sortedCounts(st.Invocations), sortedCounts(st.Traps), commas(st.Messages))
	if r.Check != nil {
		if r.Check.OK {
			fmt.Fprintln(w, "checks: ok (ledgers balance, every object accounted for, no void key works, queues within bounds)")
		} else {
			fmt.Fprintf(w, "checks: %d violations:\n", len(r.Check.Violations))
			for _, v := range r.Check.Violations {
				fmt.Fprintf(w, "  %s\n", v)
			}
		}
	}
	if r.Console != "" {
		fmt.Fprintln(w, "\nconsole:")
		for _, line := range strings.SplitAfter(strings.TrimSuffix(r.Console, "\n"), "\n") {
			fmt.Fprintf(w, "  | %s", strings.TrimSuffix(line, "\n")+"\n")
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
