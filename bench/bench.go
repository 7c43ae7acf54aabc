// Package bench is Keyfish's benchmark suite. Every figure it reports is
// the median of several samples and comes with a reference measured in the
// same run, interleaved sample by sample with the thing it is compared with,
// so that a noisy machine slows both alike: a Linux pipe round trip between
// two processes, a Go channel round trip, two threads bouncing one cache
// line (the physical floor for a cross-core message), qemu-riscv64 on the
// same RISC-V binary, or another Keyfish configuration (one core against
// two, a shared ready queue against per-core ones).
//
// Run runs the benchmarks whose names match Options.Run; List names them.
// The keyfish command's bench subcommand prints the results as a table or
// JSON; BENCHMARKS.md describes each benchmark and records a run.
//
// Speed targets live here, in the results (Result.Target, Result.Met),
// never in tests: a test asserts behaviour only.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options selects and sizes the benchmarks.
type Options struct {
	// Run is a regular expression; only benchmarks whose names it matches
	// run. Empty runs them all.
	Run string `json:"run"`
	// Count is the number of samples of each measurement (0: 5, or 3 with
	// Short).
	Count int `json:"count"`
	// Short makes every benchmark smaller (fewer round trips, fewer pages,
	// fewer objects): a quick check that they work, not a measurement to
	// quote.
	Short bool `json:"short"`
	// Cores are the core counts of the scaling benchmark (nil: 1 and the
	// powers of two up to runtime.NumCPU(), and NumCPU itself).
	Cores []int `json:"cores"`
	// QEMU is the qemu-riscv64 to compare the interpreter with ("" looks
	// it up in PATH as qemu-riscv64; "-" disables the reference).
	QEMU string `json:"qemu,omitempty"`
	// Timeout bounds each machine run (0: 2 minutes). A run that takes
	// longer is an error of its benchmark.
	Timeout time.Duration `json:"timeout_ns,omitempty"`

	// tiny shrinks every size further, for the package's tests.
	tiny bool
}

// Result is one benchmark figure: the median of its samples, and the
// references it is compared with, measured in the same run.
type Result struct {
	// Name identifies the figure ("call/native", "scaling/2", ...).
	Name string `json:"name"`
	// Desc says what was measured.
	Desc string `json:"description"`
	// Value is the median of Samples (for a count that must stay at a
	// bound, such as messages lost, the worst sample).
	Value float64 `json:"value"`
	// Unit is Value's unit ("ns", "MIPS", ...).
	Unit string `json:"unit"`
	// Samples are the individual measurements, in the order taken.
	Samples []float64 `json:"samples"`
	// Refs are the references, the first being the main one.
	Refs []Ref `json:"refs,omitempty"`
	// Target states the goal, if the figure has one ("≤ 50 ns, ≤ 0.25×
	// Go channel round trip"), and Met whether the median meets it.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"`
	// Extra holds auxiliary figures (counts, derived costs) by name.
	Extra map[string]float64 `json:"extra,omitempty"`
	// Note says anything a reader of the figure must know.
	Note string `json:"note,omitempty"`
	// Err is set when the benchmark failed; the other fields may be empty.
	Err string `json:"error,omitempty"`
}

// Ref is a reference a Result is compared with.
type Ref struct {
	// Name says what the reference is.
	Name string `json:"name"`
	// Value is the median of Samples, in Unit.
	Value   float64   `json:"value"`
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples,omitempty"`
	// Ratio is the Result's Value over this Value (0 when the reference
	// is missing).
	Ratio float64 `json:"ratio"`
	// Note explains a missing reference.
	Note string `json:"note,omitempty"`
}

// benchmark is one entry of the suite; run may return several results.
type benchmark struct {
	name string
	desc string
	run  func(e *env) ([]Result, error)
}

// suite is every benchmark, in the order Run runs them.
var suite []benchmark

// register adds a benchmark to the suite.
func register(name, desc string, run func(e *env) ([]Result, error)) {
	suite = append(suite, benchmark{name, desc, run})
}

// Benchmark names a benchmark of the suite.
type Benchmark struct {
	Name string
	Desc string
}

// List returns the suite's benchmarks in the order Run runs them.
func List() []Benchmark {
	out := make([]Benchmark, len(suite))
	for i, b := range suite {
		out[i] = Benchmark{b.name, b.desc}
	}
	return out
}

// ParseCores parses a comma-separated list of core counts ("1,2,4").
func ParseCores(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("bad core count %q in %q (want numbers 1..1024)", f, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// DefaultCores is the scaling benchmark's default core counts: 1, the
// powers of two below runtime.NumCPU(), and NumCPU.
func DefaultCores() []int {
	n := runtime.NumCPU()
	out := []int{1}
	for c := 2; c < n; c *= 2 {
		out = append(out, c)
	}
	if n > 1 {
		out = append(out, n)
	}
	return out
}

// env is what a running benchmark sees.
type env struct {
	opts     Options
	count    int
	progress io.Writer
	name     string // the benchmark running
	idx, of  int    // its place in the run
}

// logf reports progress.
func (e *env) logf(format string, args ...any) {
	if e.progress != nil {
		fmt.Fprintf(e.progress, "bench [%d/%d] %s: %s\n", e.idx, e.of, e.name, fmt.Sprintf(format, args...))
	}
}

// size picks a benchmark size: full, or short with Options.Short.
func (e *env) size(full, short int) int {
	if e.opts.tiny {
		return max(short/10, 2)
	}
	if e.opts.Short {
		return short
	}
	return full
}

// timeout is how long one machine run may take.
func (e *env) timeout() time.Duration {
	if e.opts.Timeout <= 0 {
		return 2 * time.Minute
	}
	return e.opts.Timeout
}

func (e *env) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), e.timeout())
}

// Run runs the benchmarks that opts selects, in suite order, writing a
// line to progress (if not nil) as each sample is taken, and returns their
// results. A benchmark that fails gives a Result with Err set and the run
// goes on; the error is for bad options only.
func Run(opts Options, progress io.Writer) ([]Result, error) {
	re, err := regexp.Compile(opts.Run)
	if err != nil {
		return nil, fmt.Errorf("bench: -run: %v", err)
	}
	if opts.Count < 0 {
		return nil, errors.New("bench: the sample count must be positive")
	}
	if opts.Count == 0 {
		opts.Count = 5
		if opts.Short {
			opts.Count = 3
		}
	}
	if len(opts.Cores) == 0 {
		opts.Cores = DefaultCores()
	}
	var sel []benchmark
	for _, b := range suite {
		if re.MatchString(b.name) {
			sel = append(sel, b)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("bench: no benchmark matches %q (see List)", opts.Run)
	}
	var out []Result
	for i, b := range sel {
		e := &env{opts: opts, count: opts.Count, progress: progress, name: b.name, idx: i + 1, of: len(sel)}
		e.logf("start (%d samples)", opts.Count)
		t0 := time.Now()
		rs, err := runOne(b, e)
		if err != nil {
			rs = append(rs, Result{Name: b.name, Desc: b.desc, Err: err.Error()})
			e.logf("FAILED: %v", err)
		} else {
			e.logf("done in %.1fs", time.Since(t0).Seconds())
		}
		out = append(out, rs...)
	}
	return out, nil
}

// runOne runs a benchmark, turning a panic into an error: the suite goes
// on whatever one benchmark does.
func runOne(b benchmark, e *env) (rs []Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			rs, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	rs, err = b.run(e)
	for i := range rs {
		if rs[i].Desc == "" {
			rs[i].Desc = b.desc
		}
		rs[i].sanitize()
	}
	return rs, err
}

// sanitize replaces values that are not finite numbers (a median of no
// samples, a division by a zero difference) by 0, with a note: JSON has
// no NaN.
func (r *Result) sanitize() {
	bad := false
	fix := func(v *float64) {
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			*v, bad = 0, true
		}
	}
	fix(&r.Value)
	for i := range r.Samples {
		fix(&r.Samples[i])
	}
	for i := range r.Refs {
		fix(&r.Refs[i].Value)
		fix(&r.Refs[i].Ratio)
		for j := range r.Refs[i].Samples {
			fix(&r.Refs[i].Samples[j])
		}
	}
	for k, v := range r.Extra {
		fix(&v)
		r.Extra[k] = v
	}
	if bad {
		if r.Note != "" {
			r.Note += "; "
		}
		r.Note += "some figures were not finite numbers (too little work to time) and read 0"
	}
}

// measure takes one sample of a quantity.
type measure func() (float64, error)

// series is a quantity to sample: the thing measured or a reference.
type series struct {
	name    string
	m       measure
	probe   func() error // if set and failing, the series is missing
	missing string       // why it could not be measured
	samples []float64
}

// newSeries names a measure.
func newSeries(name string, m measure) *series { return &series{name: name, m: m} }

// optional makes a reference that is left out, with a note, when probe
// fails (a tool is missing, the system is not Linux).
func optional(name string, m measure, probe func() error) *series {
	return &series{name: name, m: m, probe: probe}
}

// ref returns s as a reference in unit.
func (s *series) ref(unit string) Ref {
	if s.missing != "" {
		return missingRef(s.name, unit, s.missing)
	}
	return ref(s.name, unit, s.samples)
}

// sample takes e.count rounds of samples; each round samples every series
// once, in order, so that references and the things compared with them
// see the same machine conditions. A warm-up round comes first and is not
// kept (except with Options.Short): the first measurements of a process
// run slow on the VMs this was written on, by 50 to 70% for a native
// round trip and a Go channel round trip alike (BENCHMARKS.md), and the
// first benchmark of a run would carry that in one of its samples.
func (e *env) sample(ss ...*series) error {
	for _, s := range ss {
		if s.probe != nil {
			if err := s.probe(); err != nil {
				s.missing = err.Error()
				e.logf("%s: left out: %v", s.name, err)
			}
		}
	}
	first := 0
	if !e.opts.Short {
		first = -1
	}
	for round := first; round < e.count; round++ {
		var b strings.Builder
		for _, s := range ss {
			if s.missing != "" {
				continue
			}
			runtime.GC()
			v, err := s.m()
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if round >= 0 {
				s.samples = append(s.samples, v)
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", s.name, fmtNum(v))
		}
		if round < 0 {
			e.logf("warm-up (not kept): %s", b.String())
		} else {
			e.logf("sample %d/%d: %s", round+1, e.count, b.String())
		}
	}
	return nil
}

// median returns the median of xs (the mean of the middle two for an even
// count), or NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// result makes a Result from samples and references.
func result(name, unit string, samples []float64, refs ...Ref) Result {
	r := Result{Name: name, Unit: unit, Samples: samples, Value: median(samples)}
	for _, ref := range refs {
		if ref.Value != 0 && ref.Note == "" {
			ref.Ratio = r.Value / ref.Value
		}
		r.Refs = append(r.Refs, ref)
	}
	return r
}

// ref makes a reference from samples.
func ref(name, unit string, samples []float64) Ref {
	return Ref{Name: name, Unit: unit, Samples: samples, Value: median(samples)}
}

// missingRef is a reference that could not be measured.
func missingRef(name, unit, why string) Ref {
	return Ref{Name: name, Unit: unit, Note: why}
}

// goal is one condition of a target: the value (ref < 0) or the ratio to
// reference ref is at most (le) or at least bound.
type goal struct {
	ref   int
	le    bool
	bound float64
}

func atMost(bound float64) goal            { return goal{ref: -1, le: true, bound: bound} }
func atLeast(bound float64) goal           { return goal{ref: -1, bound: bound} }
func ratioAtMost(ref int, b float64) goal  { return goal{ref: ref, le: true, bound: b} }
func ratioAtLeast(ref int, b float64) goal { return goal{ref: ref, bound: b} }

// setTarget states the target made of goals and whether r's median meets
// all of them. A goal on a missing reference cannot be judged: Met stays
// unset.
func (r *Result) setTarget(goals ...goal) {
	var parts []string
	met, known := true, true
	for _, g := range goals {
		op := "≥"
		if g.le {
			op = "≤"
		}
		v := r.Value
		if g.ref < 0 {
			parts = append(parts, fmt.Sprintf("%s %s %s", op, strconv.FormatFloat(g.bound, 'f', -1, 64), r.Unit))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s× %s", op, strconv.FormatFloat(g.bound, 'f', -1, 64), r.Refs[g.ref].Name))
			v = r.Refs[g.ref].Ratio
			if r.Refs[g.ref].Note != "" {
				known = false
				continue
			}
		}
		if g.le && !(v <= g.bound) || !g.le && !(v >= g.bound) {
			met = false
		}
	}
	r.Target = strings.Join(parts, ", ")
	if known {
		r.Met = &met
	}
}

// fmtNum formats a number with about four significant digits and no
// exponent for ordinary sizes.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "NaN"
	case a == 0:
		return "0"
	case a >= 1e7 || a < 1e-3:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}
