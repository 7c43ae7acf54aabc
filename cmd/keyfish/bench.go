package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/keyfish-os/keyfish/bench"
)

func init() {
	commands["bench"] = command{summary: "run the benchmark suite", run: benchCmd}
}

// benchCmd runs the benchmark suite: progress on stderr, the table (or
// JSON) on stdout. It exits 1 if a benchmark failed; a missed target is a
// result, not a failure.
func benchCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("bench", "[flags]", stderr)
	run := fs.String("run", "", "run only the benchmarks whose names match this regular expression")
	count := fs.Int("count", 0, "samples of each measurement (default 5, or 3 with -short)")
	short := fs.Bool("short", false, "small sizes: a quick check that the benchmarks work, not figures to quote")
	cores := fs.String("cores", "", "core counts for the scaling benchmark, e.g. 1,2,4,8,16 (default 1, powers of two, and the CPUs here)")
	asJSON := fs.Bool("json", false, "write the results as JSON (a bench.Report) instead of a table")
	qemu := fs.String("qemu", "", `qemu-riscv64 to compare the interpreter with (default: from PATH; "-" leaves it out)`)
	list := fs.Bool("list", false, "list the benchmarks and exit")
	quiet := fs.Bool("q", false, "no progress on stderr")
	timeout := fs.Duration("timeout", 2*time.Minute, "the longest one machine run may take")
	from := fs.String("from", "", "print the table of a report saved with -json instead of running")
	prof := cpuProfileFlag(fs)
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "keyfish bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *from != "" {
		return benchFrom(*from, stdout, stderr)
	}
	if *list {
		for _, b := range bench.List() {
			fmt.Fprintf(stdout, "%-20s %s\n", b.Name, b.Desc)
		}
		return 0
	}
	opts := bench.Options{Run: *run, Count: *count, Short: *short, QEMU: *qemu, Timeout: *timeout}
	if *count < 0 {
		fmt.Fprintln(stderr, "keyfish bench: -count must be positive")
		return 2
	}
	if *cores != "" {
		cs, err := bench.ParseCores(*cores)
		if err != nil {
			fmt.Fprintf(stderr, "keyfish bench: -cores: %v\n", err)
			return 2
		}
		opts.Cores = cs
	}
	stop, err := startCPUProfile(*prof)
	if err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
		return 1
	}
	defer stop()
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	start := time.Now()
	results, err := bench.Run(opts, progress)
	if err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
		return 2
	}
	status := 0
	for _, r := range results {
		if r.Err != "" {
			status = 1
		}
	}
	if *asJSON {
		qpath := opts.QEMU
		if qpath == "" {
			qpath, _ = exec.LookPath("qemu-riscv64")
		} else if qpath == "-" {
			qpath = ""
		}
		rep := bench.Report{Time: start.UTC(), Host: bench.ThisHost(qpath), Options: opts, Results: results}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
			return 1
		}
		return status
	}
	if err := bench.WriteTable(stdout, results); err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
		return 1
	}
	return status
}

// benchFrom prints the table of a saved report, with its host.
func benchFrom(path string, stdout, stderr io.Writer) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
		return 1
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %s is not a report written by keyfish bench -json: %v\n", path, err)
		return 1
	}
	h := rep.Host
	fmt.Fprintf(stdout, "%s: %s/%s, %d CPUs (%s), GOMAXPROCS %d, %s\n", rep.Time.Format(time.RFC3339), h.OS, h.Arch, h.CPUs, h.CPU, h.GOMAXPROCS, h.Go)
	if h.QEMU != "" {
		fmt.Fprintln(stdout, h.QEMU)
	}
	fmt.Fprintln(stdout)
	if err := bench.WriteTable(stdout, rep.Results); err != nil {
		fmt.Fprintf(stderr, "keyfish bench: %v\n", err)
		return 1
	}
	return 0
}
