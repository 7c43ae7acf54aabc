package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// byteSize is a flag value in bytes: a number with an optional unit, B,
// KiB, MiB, GiB or TiB (powers of 1024; K, M, G and T alone mean the
// same), or kB, MB, GB, TB (powers of 1000).
type byteSize uint64

// minMemory is the least memory boot and inspect accept: the services and
// one small program fit.
const minMemory = 128 << 10

// maxBytes bounds a byte size: far more than any host has, and far from
// overflowing the sums the commands make.
const maxBytes = 1 << 50

var byteUnits = []struct {
	name string
	mult uint64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"k", 1 << 10}, {"B", 1},
}

// parseBytes parses a byte size.
func parseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.name) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.name)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (want a number of bytes with an optional unit: 64MiB, 1GiB, 500MB)", s)
	}
	if n > maxBytes/mult {
		return 0, fmt.Errorf("%q is more than %s", s, formatBytes(maxBytes))
	}
	return n * mult, nil
}

func (b *byteSize) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func (b *byteSize) String() string { return formatBytes(uint64(*b)) }

// formatBytes renders n in the largest binary unit not above it: exact
// when the unit divides it ("256MiB", "100B"), else with one decimal
// ("1.5KiB").
func formatBytes(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for i < len(units)-1 && n >= 1<<(10*(i+1)) {
		i++
	}
	if n%(1<<(10*i)) == 0 {
		return strconv.FormatUint(n>>(10*i), 10) + units[i]
	}
	return strconv.FormatFloat(float64(n)/float64(uint64(1)<<(10*i)), 'f', 1, 64) + units[i]
}

// cpuProfileFlag registers -cpuprofile.
func cpuProfileFlag(fs *flag.FlagSet) *string {
	return fs.String("cpuprofile", "", "write a CPU profile of the command (pprof format, for go tool pprof) to this `file`")
}

// startCPUProfile starts the CPU profile that -cpuprofile names, if any,
// and returns the function that ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// machineFlags are the flags that describe a machine.
type machineFlags struct {
	topology      string
	deterministic bool
	seed          uint64
	generalPath   bool
	timeout       time.Duration
}

// register adds -topology, -deterministic, -seed, -general-path and
// -timeout.
func (f *machineFlags) register(fs *flag.FlagSet, topology string, timeout time.Duration, timeoutHelp string) {
	fs.StringVar(&f.topology, "topology", topology, "the machine's `clusters`: comma-separated [N*]KIND[:CORES], KIND rv64 or native; rv64:4,native is one 4-core rv64 cluster and a native core, 4*rv64:1,native four 1-core rv64 clusters")
	fs.BoolVar(&f.deterministic, "deterministic", false, "run every core on one goroutine in an order drawn from -seed: a seed reproduces a run exactly")
	fs.Uint64Var(&f.seed, "seed", 1, "the seed of -deterministic")
	fs.BoolVar(&f.generalPath, "general-path", false, "turn off the kernel's invocation fast path: every invocation takes the general path (the same events, slower; for comparing)")
	fs.DurationVar(&f.timeout, "timeout", timeout, timeoutHelp)
}

// defaultTopology is one rv64 cluster of n cores and one native core.
func defaultTopology(n int) string {
	return fmt.Sprintf("rv64:%d,native:1", min(max(n, 1), kernel.MaxCores-1))
}

// check validates the topology: it parses, and has the clusters the
// system needs. It returns a message for a usage error, or "".
func (f *machineFlags) check() string {
	specs, err := kernel.ParseTopology(f.topology)
	if err != nil {
		return strings.TrimPrefix(err.Error(), "keyfish: ")
	}
	var rv, native bool
	for _, s := range specs {
		rv = rv || s.Kinds.Has(abi.KindRV64)
		native = native || s.Kinds.Has(abi.KindNative)
	}
	switch {
	case !native:
		return fmt.Sprintf("topology %q has no native cluster: the system services (zero keeper, creator) run there; add ,native (or make a cluster rv64+native)", f.topology)
	case !rv:
		return fmt.Sprintf("topology %q has no rv64 cluster: programs run there; add rv64", f.topology)
	}
	if f.timeout < 0 {
		return fmt.Sprintf("-timeout %v is negative", f.timeout)
	}
	return ""
}

// config returns the kernel configuration.
func (f *machineFlags) config(memory uint64, console, log io.Writer) kernel.Config {
	return kernel.Config{
		Topology: f.topology, Memory: memory, Deterministic: f.deterministic, Seed: f.seed,
		GeneralPath: f.generalPath, Console: console, Log: log,
	}
}

// mode names the scheduling mode for summaries.
func (f *machineFlags) mode() string {
	if f.deterministic {
		return fmt.Sprintf("deterministic, seed %d", f.seed)
	}
	return "parallel"
}

// runEnd says why a run ended.
type runEnd int

const (
	endQuiet       runEnd = iota // nothing left to do
	endInterrupted               // SIGINT
	endTimeout                   // -timeout passed
)

// runMachine runs the machine until it is quiet, the timeout passes
// (0: none) or the user interrupts it (SIGINT cancels the run's context).
func runMachine(m *kernel.Machine, timeout time.Duration) (runEnd, error) {
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx := sig
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(sig, timeout)
		defer cancel()
	}
	err := m.Run(ctx)
	switch {
	case err == nil:
		return endQuiet, nil
	case sig.Err() != nil:
		return endInterrupted, nil
	case errors.Is(err, context.DeadlineExceeded):
		return endTimeout, nil
	}
	return endQuiet, err
}

// consoleBuffer keeps what domains write to the console, up to a limit,
// for summaries; it is safe for concurrent writes.
type consoleBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	dropped uint64
}

// consoleLimit bounds what a consoleBuffer keeps.
const consoleLimit = 1 << 20

func (c *consoleBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := min(len(p), consoleLimit-c.b.Len())
	c.b.Write(p[:keep])
	c.dropped += uint64(len(p) - keep)
	return len(p), nil
}

// String returns what was kept, with a note of what was not.
func (c *consoleBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.b.String()
	if c.dropped > 0 {
		s += fmt.Sprintf("\n(%d more bytes not kept)\n", c.dropped)
	}
	return s
}
