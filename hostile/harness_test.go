package hostile

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/internal/conbuf"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// seeds is how many seeds each hostile program runs under in deterministic
// mode (fewer with -short).
var seeds = flag.Int("hostile.seeds", 4, "seeds per hostile program in deterministic mode (-short: 2)")

// pauseEvery is how many kernel events a run goes between pauses, at each
// of which the invariant checker runs on the machine as it stands
// (domains mid-call, messages in flight, queues full).
var pauseEvery = flag.Int64("hostile.pause", 1000, "kernel events between invariant checks during a run")

// runLimit bounds one Run of a hostile test; the watchdog fires a minute
// later.
var runLimit = flag.Duration("hostile.runlimit", 3*time.Minute, "how long one run of the machine may take")

// topo is a machine configuration a hostile program runs on.
type topo struct {
	name string
	cfg  kernel.Config
}

// topologies are where every hostile program runs: two rv64 cores sharing a
// ready queue in parallel mode (real concurrency, the race detector's
// ground), and two single-core rv64 clusters (a multikernel: every
// invocation between them is a message) in deterministic mode under
// several seeds. Both have a native cluster for the system services.
func topologies() []topo {
	n := *seeds
	if testing.Short() {
		n = min(n, 2)
	}
	ts := []topo{{"parallel-rv64:2", kernel.Config{Topology: "rv64:2,native"}}}
	for i := range n {
		seed := uint64(1 + 7919*i)
		ts = append(ts, topo{fmt.Sprintf("det-2x1-seed%d", seed),
			kernel.Config{Topology: "2*rv64:1,native", Deterministic: true, Seed: seed}})
	}
	return ts
}

// forTopologies runs f on a fresh system for every topology.
func forTopologies(t *testing.T, f func(t *testing.T, e *env)) {
	for _, tp := range topologies() {
		t.Run(tp.name, func(t *testing.T) {
			e := newEnv(t, tp.cfg)
			f(t, e)
		})
	}
}

// env is a system under attack.
type env struct {
	t   *testing.T
	s   *system.System
	m   *kernel.Machine
	con *conbuf.Buffer
	// good are the well-behaved programs and what each must print.
	good []goodProc

	// events counts kernel events (Config.Trace); when it reaches pauseAt
	// the run in progress is canceled, so that run can check the
	// invariants mid-run.
	events  atomic.Int64
	pauseAt atomic.Int64
	cancel  atomic.Pointer[context.CancelFunc]
	// pauses counts the mid-run invariant checks made.
	pauses int
	// limit bounds each run (default -hostile.runlimit).
	limit time.Duration
	// det is whether the machine runs in deterministic mode.
	det bool
}

type goodProc struct {
	p    *system.Proc
	line string
}

func newEnv(t *testing.T, cfg kernel.Config) *env {
	t.Helper()
	e := &env{t: t, con: &conbuf.Buffer{}, limit: *runLimit, det: cfg.Deterministic}
	cfg.Console = e.con
	if cfg.Memory == 0 {
		cfg.Memory = 256 << 20
	}
	trace := cfg.Trace
	cfg.Trace = func(ev kernel.Event) {
		if trace != nil {
			trace(ev)
		}
		if e.events.Add(1) == e.pauseAt.Load() {
			if c := e.cancel.Load(); c != nil {
				(*c)()
			}
		}
	}
	s, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.s, e.m = s, s.M
	return e
}

// image returns a committed image: "hostile/NAME" or an example's name.
func image(t *testing.T, name string) []byte {
	t.Helper()
	img, ok := images.Get(name)
	if !ok {
		t.Fatalf("no image %q (build it with make -C sdk)", name)
	}
	return img
}

// load loads a program, stopped.
func (e *env) load(name string, opt system.Options) *system.Proc {
	e.t.Helper()
	short := strings.TrimPrefix(name, "hostile/")
	if len(opt.Args) == 0 {
		opt.Args = []string{short}
	}
	p, err := e.s.Load(short, image(e.t, name), opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// start makes p run.
func (e *env) start(p *system.Proc) {
	e.t.Helper()
	if err := p.Start(); err != nil {
		e.t.Fatal(err)
	}
}

// server loads and starts a program that becomes available at once (pong,
// recover, a keeper) and returns a start key to it with data byte 0.
func (e *env) server(name string, opt system.Options) (*system.Proc, kernel.Key) {
	e.t.Helper()
	p := e.load(name, opt)
	k, err := e.m.StartKey(p.Domain, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	e.start(p)
	return p, k
}

// wellBehaved loads the well-behaved programs that run beside every
// hostile one: ping making 200 round trips to pong, and compute. Their
// completion is asserted by finish.
func (e *env) wellBehaved() {
	e.t.Helper()
	_, pong := e.server("pong", system.Options{})
	ping := e.load("ping", system.Options{Args: []string{"ping", "200"},
		Keys: map[int]kernel.Key{int(abi.KRArg0): pong}})
	compute := e.load("compute", system.Options{Args: []string{"compute", "1"}})
	e.start(ping)
	e.start(compute)
	e.good = append(e.good, goodProc{ping, "ping: 200 round trips ok"},
		goodProc{compute, "compute: checksum 0x439387bcb761cb27"})
}

// recoverKeeper starts a recover keeper (sdk/hostile/recover.c) and
// returns a start key to it, for a program's domain keeper slot.
func (e *env) recoverKeeper() kernel.Key {
	return e.recoverKeeperBudget(0)
}

// recoverKeeperBudget is recoverKeeper with a meter budget (0: unlimited).
// A domain that its keeper restarts into the same trap, again and again,
// costs its keeper, not itself (a trapping instruction is not retired):
// a bounded keeper bounds that.
func (e *env) recoverKeeperBudget(budget uint64) kernel.Key {
	keybits, _ := e.m.DeviceKey(abi.KTKeybits)
	_, k := e.server("hostile/recover", system.Options{Budget: budget,
		Keys: map[int]kernel.Key{int(abi.KRArg0): keybits}})
	return k
}

// run runs the machine until it has nothing left to do, pausing every
// pauseEvery kernel events to run the invariant checker on the machine as
// it stands. A hostile program must not be able to keep the machine from
// coming to rest (its meter or keeper ends it), nor hang the kernel inside
// an event: a watchdog turns a hang into a failure with every goroutine's
// stack.
func (e *env) run() {
	e.t.Helper()
	deadline := time.Now().Add(e.limit)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(e.limit + time.Minute):
			panic("hostile: the machine did not come back from Run")
		}
	}()
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		e.cancel.Store(&cancel)
		e.pauseAt.Store(e.events.Load() + *pauseEvery)
		err := e.s.Run(ctx)
		e.cancel.Store(nil)
		cancel()
		switch {
		case err == nil:
			return
		case time.Now().After(deadline):
			e.t.Fatalf("run: the machine did not come to rest within %v (%d pauses): %v\nconsole:\n%s", e.limit, e.pauses, err, e.con)
		}
		e.pauses++
		if err := e.m.Check(); err != nil {
			e.t.Fatalf("invariant check at pause %d (event %d): %v", e.pauses, e.events.Load(), err)
		}
	}
}

// finish checks what every run must leave behind: the invariant checker
// passes and the well-behaved programs did their work.
func (e *env) finish() {
	e.t.Helper()
	e.t.Logf("%d kernel events, %d mid-run invariant checks", e.events.Load(), e.pauses)
	e.check()
	for _, g := range e.good {
		e.wantExit(g.p, 0)
		e.wantLine(g.line)
	}
}

// check runs the machine-wide invariant checker.
func (e *env) check() {
	e.t.Helper()
	if err := e.m.Check(); err != nil {
		e.t.Fatalf("invariant check: %v", err)
	}
}

func (e *env) wantExit(p *system.Proc, status int64) {
	e.t.Helper()
	got, done := p.Exit()
	if !done {
		st, trap, _ := p.State()
		e.t.Fatalf("%s did not exit (state %d, trap %s)\nconsole:\n%s", p.Name, st, kernel.TrapName(trap), e.con)
	}
	if got != status {
		e.t.Fatalf("%s exited %d, want %d\nconsole:\n%s", p.Name, got, status, e.con)
	}
}

// wantLine checks that the console holds the line. (Hostile programs may
// write anything to the console, even in the middle of another's line, so
// the line is looked for as a substring followed by a newline.)
func (e *env) wantLine(line string) {
	e.t.Helper()
	if !strings.Contains(e.con.String(), line+"\n") {
		e.t.Fatalf("console lacks %q:\n%q", line, e.con)
	}
}

// linePrefixed returns the first console line holding prefix, from prefix
// on.
func (e *env) linePrefixed(prefix string) string {
	e.t.Helper()
	c := e.con.String()
	i := strings.Index(c, prefix)
	if i < 0 {
		e.t.Fatalf("console lacks a line starting %q:\n%q", prefix, c)
	}
	l, _, _ := strings.Cut(c[i:], "\n")
	return l
}

// state returns a domain's state and trap.
func (e *env) state(dom kernel.Key) (abi.State, abi.Trap) {
	e.t.Helper()
	r := e.call(dom, abi.OCDomainGetState, nil)
	return abi.State(r.Word(int(abi.DomainStateState))), abi.Trap(r.Word(int(abi.DomainStateTrap)))
}

// call makes a host call that must succeed.
func (e *env) call(k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) kernel.Reply {
	e.t.Helper()
	r, err := e.m.Call(k, int64(order), data, keys...)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.RC != 0 && order != abi.OCKeyType {
		e.t.Fatalf("%v order %d: return code %d", k, order, r.RC)
	}
	return r
}

// ledger returns a bank's ledger.
func (e *env) ledger(bank kernel.Key) [abi.LedgerWords]uint64 {
	e.t.Helper()
	r := e.call(bank, abi.OCBankGetLedger, nil)
	var w [abi.LedgerWords]uint64
	for i := range w {
		w[i] = r.Word(i)
	}
	return w
}

// destroy destroys bank (a sub-bank of the prime bank, unless it was
// destroyed already) and checks instant recovery: at once, every key to what was bought from it is void, the
// prime bank's use drops by exactly what the bank held plus the bank
// itself, and the invariants hold.
func (e *env) destroy(bank kernel.Key) {
	e.t.Helper()
	if r := e.call(bank, abi.OCKeyType, nil); r.RC != int64(abi.KTBank) {
		// Already destroyed (by the program itself, perhaps): its key is
		// void, as it must be.
		if r.RC != 0 {
			e.t.Fatalf("a bank key answers key type %d", r.RC)
		}
		e.check()
		return
	}
	before := e.ledger(e.m.PrimeBank())[abi.LedgerUsedBytes]
	held := e.ledger(bank)[abi.LedgerUsedBytes]
	e.call(bank, abi.OCBankDestroy, nil)
	after := e.ledger(e.m.PrimeBank())[abi.LedgerUsedBytes]
	if want := before - held - uint64(abi.CostBank); after != want {
		e.t.Fatalf("destroying a bank holding %d bytes: prime bank uses %d, was %d, want %d", held, after, before, want)
	}
	if r, _ := e.m.Call(bank, int64(abi.OCKeyType), nil); r.RC != 0 {
		e.t.Fatalf("a key to a destroyed bank still answers: key type %d", r.RC)
	}
	e.check()
}

// scaled returns n, or a tenth of it with -short: the size of a hostile
// program's work (its meter budget, its rounds). Expected results do not
// depend on it.
func scaled(n uint64) uint64 {
	if testing.Short() {
		return max(n/10, 1)
	}
	return n
}

// limits makes a bank's limits in abi.Ledger order.
func limits(bytes, pages, nodes, domains, meters, banks uint64) []uint64 {
	return []uint64{bytes, pages, nodes, domains, meters, banks}
}

const unl = abi.Unlimited
