package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // for go:linkname

	"github.com/keyfish-os/keyfish/abi"
)

// Config describes a machine.
type Config struct {
	// Topology is the clusters, in ParseTopology's syntax.
	Topology string
	// Memory is the storage the prime bank may hand out, in bytes.
	Memory uint64
	// Deterministic runs every core on one goroutine, stepping them and
	// delivering messages in an order drawn from Seed.
	Deterministic bool
	// Seed seeds deterministic mode.
	Seed uint64
	// Console receives what domains write to the console. The kernel
	// serializes its writes (one OCConsoleWrite, one Write call), but they
	// come from whichever core the writer runs on: a Console read while
	// the machine runs needs a lock of its own.
	Console io.Writer
	// Slice is the time slice in ticks: how long a core runs a domain
	// taken from the ready queue, and the domains it switches to directly
	// by CALL and RETURN, before the running one goes to the back of the
	// queue. An rv64 instruction is a tick; a native event counts 100
	// (default 100000; deterministic mode uses 1000).
	Slice int64
	// Trace, if set, receives every kernel event (see Event).
	Trace func(Event)
	// Log receives kernel diagnostics (native panics); nil discards them.
	Log io.Writer
	// GeneralPath turns off the invocation fast path (a CALL or RETURN
	// to a start or resume key, done in one step: a direct switch to a
	// domain of the invoker's own cluster, or the message sent to one of
	// another), so that every invocation takes the general one. The two
	// must behave identically, event for event: this is for comparing
	// them.
	GeneralPath bool
}

// Machine is a Keyfish machine: its clusters and cores, its objects, and
// the prime bank and meter.
type Machine struct {
	cfg      Config
	det      bool
	clusters []*Cluster
	cores    []*Core
	epochs   epochs
	store    store
	ledger   sync.Mutex // guards every bank's ledger and object lists
	console  console
	programs []registeredProgram
	asids    atomic.Uint64
	// leaseRecall is bumped to make every core give back its meter lease.
	leaseRecall atomic.Uint64
	codeGen     atomic.Uint64 // rv64: bumped by fence.i on any core
	host        *Core         // runs host calls (host.go)

	prime      *Bank
	primeMeter *Meter

	start     time.Time
	startMono int64
	vclock    atomic.Int64 // deterministic mode: virtual nanoseconds
	rng       *rand.Rand   // deterministic mode
	readyBuf  []*Core      // deterministic mode: cores with work, reused
	slice     int64

	tracing bool // cfg.Trace != nil

	running  atomic.Bool
	runNanos int64 // wall time spent in Run
	// active is, in parallel mode, the number of cores not asleep (low 32
	// bits) and how many times a core has woken (the rest): see quiet.
	active atomic.Int64
	done   chan struct{}
	// cancelled is set when the current parallel Run's context ends: busy
	// cores read it between events. A new flag for each Run, stored
	// before the cores start.
	cancelled *atomic.Bool
	doneMu    sync.Mutex

	stats machineStats
}

// machineStats counts machine-wide events (atomics: any core).
type machineStats struct {
	// Pending work that lives outside ready queues and inboxes, counted so
	// that quiescence can be judged from atomics alone. Every core reads
	// these at every event, and they change rarely: they get a cache line
	// of their own.
	_                      [64]byte
	timers, grace, zombies atomic.Int64
	outWaiters             atomic.Int64 // domains parked until their outbox is free
	_                      [64]byte
	domainsFreed           atomic.Uint64
	// the longest stall queue seen, to check that no queue grows past the
	// number of domains
	maxStall atomic.Int64
}

func atomicMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// New builds a machine: its clusters and cores, the prime bank holding all
// of cfg.Memory, and the prime meter with an unlimited budget.
func New(cfg Config) (*Machine, error) {
	specs, err := ParseTopology(cfg.Topology)
	if err != nil {
		return nil, err
	}
	if cfg.Memory == 0 {
		cfg.Memory = 1 << 30
	}
	m := &Machine{cfg: cfg, det: cfg.Deterministic, start: time.Now(), startMono: nanotime()}
	m.slice = cfg.Slice
	if m.slice <= 0 {
		m.slice = 100000
		if m.det {
			m.slice = 1000
		}
	}
	m.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	m.console.w = cfg.Console
	m.tracing = cfg.Trace != nil
	for i, s := range specs {
		for k := abi.Kind(0); k < 64; k++ {
			if s.Kinds.Has(k) && !validKind(k) {
				return nil, fmt.Errorf("topology %q: CPU kind %s is not built in", cfg.Topology, KindName(k))
			}
		}
		cl := &Cluster{m: m, index: i, kinds: s.Kinds, shared: s.Cores > 1}
		for range s.Cores {
			c := m.newCore(cl, len(m.cores))
			c.wake = make(chan struct{}, 1)
			c.seen.Store(quiescent)
			cl.cores = append(cl.cores, c)
			m.cores = append(m.cores, c)
		}
		m.clusters = append(m.clusters, cl)
	}
	m.epochs.cores = m.cores
	hostCl := &Cluster{m: m, index: -1}
	m.host = m.newCore(hostCl, -1)

	h := m.newObjectUnlocked(objBank)
	m.prime = h.bankObj()
	m.prime.limits = unlimitedLimits()
	m.prime.limits[0] = cfg.Memory
	h.bank.Store(m.prime)
	h = m.newObjectUnlocked(objMeter)
	m.primeMeter = h.meter()
	m.primeMeter.remaining.Store(infiniteBudget)
	h.bank.Store(m.prime)
	return m, nil
}

func (m *Machine) newObjectUnlocked(k objKind) *header {
	m.ledger.Lock()
	defer m.ledger.Unlock()
	return m.newObject(k)
}

// clusterFor picks the home cluster for a new domain of kind k: the
// invoker's cluster if it runs that kind, else the least loaded one that
// does.
func (m *Machine) clusterFor(k abi.Kind, c *Core) *Cluster {
	if c != nil && c.cl.kinds.Has(k) && c.cl.index >= 0 {
		return c.cl
	}
	var best *Cluster
	for _, cl := range m.clusters {
		if cl.kinds.Has(k) && (best == nil || cl.homed.Load() < best.homed.Load()) {
			best = cl
		}
	}
	if best != nil {
		best.homed.Add(1)
	}
	return best
}

// now is the machine's clock in nanoseconds since boot: virtual time in
// deterministic mode.
func (m *Machine) now() int64 {
	if m.det {
		return m.vclock.Load()
	}
	return m.clockAt(nanotime())
}

// clockAt is parallel mode's clock at t, a reading of nanotime: the loop of
// a core reads the clock once and uses it for more than one thing.
func (m *Machine) clockAt(t int64) int64 { return t - m.startMono }

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// advance moves deterministic mode's virtual clock.
func (m *Machine) advance(ticks int64) { m.vclock.Add(ticks) }

func (m *Machine) logf(format string, args ...any) {
	if m.cfg.Log != nil {
		fmt.Fprintf(m.cfg.Log, "keyfish: "+format+"\n", args...)
	}
}

// ErrRunning is returned by operations that need the machine stopped.
var ErrRunning = errors.New("keyfish: machine is running")

// Run runs the machine until nothing is left to do (no domain ready, no
// message in flight, no clock wait pending) or ctx is done. When ctx ends
// it, each core stops between events: the machine is consistent, no
// domain is executing (those that were about to run on are ready), and a
// later Run goes on where this one stopped.
func (m *Machine) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	defer func() {
		for _, c := range m.cores {
			c.flushMeter()
		}
	}()
	t0 := nanotime()
	defer func() { m.runNanos += nanotime() - t0 }()
	var err error
	if m.det {
		err = m.runDeterministic(ctx)
	} else {
		err = m.runParallel(ctx)
	}
	for _, c := range m.cores {
		c.stopRun()
	}
	return err
}

// stopRun ends c's part in a Run that is returning (in parallel mode,
// after its goroutine has ended): the domain it was about to continue goes
// back to its ready queue, so that no domain of a stopped machine is
// executing and the host may stop it, read it or move it; the outboxes it
// took and had not yet marked free are marked free.
func (c *Core) stopRun() {
	if d := c.cur; d != nil {
		c.preempt.Store(true) // finishEvent's way of taking d off the core
		c.finishEvent(d)
	}
	c.flushReleases()
}

// hasWork reports whether c has something to do now.
func (c *Core) hasWork() bool {
	cl := c.cl
	if c.cur != nil || !cl.inbox.empty() || !cl.reap.empty() || !cl.withdraw.empty() {
		return true
	}
	cl.lock()
	defer cl.unlock()
	if cl.readyHead != nil {
		return true
	}
	if cl.graceHead != nil && (c.seenLocal != c.m.epochs.global.Load() || c.m.epochs.safe() >= minGrace(cl)) {
		// Either this core has an epoch to acknowledge, or the grace
		// period has passed.
		return true
	}
	for _, z := range cl.zombies {
		if !z.outBusy.Load() && !z.withdrawing.Load() {
			return true
		}
	}
	if cl.outWaitKick.Load() {
		return true
	}
	return len(cl.timers) > 0 && cl.timers[0].timerAt <= c.m.now()
}

func minGrace(cl *Cluster) uint64 {
	e := uint64(quiescent)
	for d := cl.graceHead; d != nil; d = d.qnext {
		e = min(e, d.graceEpoch)
	}
	return e
}

// runDeterministic steps cores chosen by the seeded random source.
func (m *Machine) runDeterministic(ctx context.Context) error {
	ready := m.readyBuf[:0]
	defer func() { m.readyBuf = ready[:0] }()
	graceRound := false
	done := ctx.Done()
	for {
		// Between any two events, as in parallel mode: a caller that
		// cancels from Config.Trace stops the machine after that event.
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		ready = ready[:0]
		for _, c := range m.cores {
			if c.hasWork() {
				if c.seen.Load() == quiescent {
					c.wakeUp()
				}
				ready = append(ready, c)
			} else if c.cur == nil {
				c.flushMeter()
				c.goIdle()
			}
		}
		if len(ready) == 0 && m.stats.grace.Load() > 0 && !graceRound {
			// Every core is quiescent now, which may end a grace period.
			graceRound = true
			continue
		}
		graceRound = false
		if len(ready) == 0 {
			next := int64(0)
			for _, cl := range m.clusters {
				if t := cl.nextTimer(); t != 0 && (next == 0 || t < next) {
					next = t
				}
			}
			if next == 0 {
				return nil
			}
			m.vclock.Store(next)
			continue
		}
		c := ready[m.rng.IntN(len(ready))]
		c.guarded(func() { c.step() }) // a program's panic ends the step: its event is done
	}
}

// runParallel runs each core on its own goroutine.
func (m *Machine) runParallel(ctx context.Context) error {
	m.done = make(chan struct{})
	m.active.Store(int64(len(m.cores)))
	// Busy cores look at a flag between events, not at ctx.Done(): a
	// channel receive at every event costs more than a load.
	// The flag is this run's own: the setter of a run cancelled as it
	// ended may fire late, and must not stop the next run.
	cancelled := new(atomic.Bool)
	m.cancelled = cancelled
	stop := context.AfterFunc(ctx, func() { cancelled.Store(true) })
	defer stop()
	var wg sync.WaitGroup
	for _, c := range m.cores {
		c.wakeUp()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// loop is a core's goroutine in parallel mode: step while there is work;
// idle, poll briefly, then sleep until notified or the next timer.
func (c *Core) loop(ctx context.Context) {
	// A native program's panic ends run's loop; its event is finished,
	// and the loop starts again.
	for !c.guarded(func() { c.run(ctx) }) {
	}
}

// run is loop's body, under its guard.
func (c *Core) run(ctx context.Context) {
	m := c.m
	cancelled := m.cancelled
	spins := 0
	defer func() {
		if c.idling {
			c.endIdle()
		}
	}()
	for {
		if c.step() {
			spins = 0
			// A core that always has work must still notice the end of
			// Run's context: it stops between events, where the machine is
			// consistent.
			if cancelled.Load() {
				return
			}
			continue
		}
		if !c.idling {
			c.beginIdle()
		}
		if spins%16 == 0 && m.aloneAndQuiet() {
			// Nothing can come for this core but from the host: polling
			// would only delay the end of the run (by 9 µs, most of an
			// empty Run on one core).
			spins = spinLimit
		}
		if spins < spinLimit {
			spins++
			c.stats.idleSpins++
			if spins%16 == 0 && idleYield {
				// Let other goroutines in: a core just woken (or anything
				// else the host runs) must not wait behind this spin.
				// Spinning without yielding measured 35 times slower
				// cross-core calls on a loaded two-CPU host.
				runtime.Gosched()
			}
			c.lastPoll = nanotime()
			continue
		}
		spins = 0
		if !c.sleep(ctx) {
			return
		}
		if m.isDone() || ctx.Err() != nil {
			return
		}
		c.lastPoll = nanotime()
	}
}

// idleYield makes idle cores yield to Go's scheduler every 16 polls. Only
// benchmarks turn it off, before a machine runs, to measure what the
// yield costs: on a 16-CPU host with CPUs to spare, where it might only
// have moved core goroutines between threads, cross-cluster round trips
// took the same time with it and without it (BENCHMARKS.md, "16 cores").
var idleYield = true

// beginIdle starts an idle spell of c (parallel mode): the native events
// that ran since the last clock reading are charged up to now, and the
// spell is charged to nobody.
func (c *Core) beginIdle() {
	c.idling = true
	c.idleSince = nanotime()
	c.lastPoll = c.idleSince
	c.chargeIdle(c.m.clockAt(c.idleSince))
}

// endIdle ends c's idle spell. step calls it before it runs a domain, so
// that the domain's run time is counted from the spell's end: counted
// from the end of the event, as it once was, a native domain woken from
// idle for every message it served was never charged for serving it. The
// end is the clock reading of the last poll, taken just before the step
// that found work: a reading costs about 30 ns on a VM, and taken here it
// would delay every message that wakes the core. So a domain pays for one
// look at the cluster's messages, as it does for the kernel's work between
// events when the core is busy, and for no idle time.
func (c *Core) endIdle() {
	c.idling = false
	c.stats.idleNanos += c.lastPoll - c.idleSince
	c.lease.clock = c.m.clockAt(c.lastPoll)
}

// spinLimit is how many times an idle core polls for work before it
// sleeps: a message arriving while it polls is picked up at once, one
// arriving later pays a wake-up.
const spinLimit = 200

// sleep parks the core until notified, its cluster's next timer, or the
// machine finishing. It reports false when the machine is finished.
func (c *Core) sleep(ctx context.Context) bool {
	m := c.m
	c.flushMeter()
	// A wake left from before would end this sleep for nothing, to poll
	// all over again: one for a sleep that ended otherwise (a timer, the
	// end of the last run, whose finish notifies every core). Dropped
	// before the core says it sleeps, it cannot be one meant for now.
	select {
	case <-c.wake:
	default:
	}
	c.sleeping.Store(true)
	c.cl.idle.Add(1)
	c.goIdle()
	defer func() {
		c.sleeping.Store(false)
		c.cl.idle.Add(-1)
		c.wakeUp()
	}()
	if c.hasWork() {
		return true
	}
	if v := m.active.Add(-1); uint32(v) == 0 && m.quiet(v) {
		m.finish()
		return false
	}
	c.stats.sleeps++
	var timeout <-chan time.Time
	wait := time.Duration(-1)
	if t := c.cl.nextTimer(); t != 0 {
		wait = time.Duration(max(t-m.now(), 0))
	}
	if c.cl.hasGrace() {
		// A grace period ends when other cores pass an event boundary;
		// nobody signals that, so poll.
		wait = 20 * time.Microsecond
	}
	if wait >= 0 {
		tm := time.NewTimer(wait)
		defer tm.Stop()
		timeout = tm.C
	}
	select {
	case <-c.wake:
	case <-timeout:
	case <-m.done:
		m.active.Add(1)
		return false
	case <-ctx.Done():
		m.active.Add(1)
		return false
	}
	// Counted, with the wake, before the core takes anything from its
	// inbox: see quiet.
	m.active.Add(1 + wakeUnit)
	return true
}

// wakeUnit counts a wake in Machine.active.
const wakeUnit = 1 << 32

// quiet reports whether nothing is pending anywhere. It is called by the
// last core to fall asleep, with active as its decrement left it (no core
// awake), and reads only atomics: every other core is asleep, having found
// its own cluster's queues empty, and anything posted to a cluster since
// is in its inbox or reap list. But a core woken meanwhile may take a
// message from its inbox while quiet looks, and the message is then in no
// inbox though its work is still to come: so the machine is quiet only if
// no core woke during the look (active is unchanged). A core that woke
// judges again when it next falls asleep.
func (m *Machine) quiet(active int64) bool {
	return m.quietLook() && m.active.Load() == active
}

// aloneAndQuiet reports whether the calling core, awake, is the only
// core awake and nothing is pending anywhere. A core that is right goes
// to sleep without polling first; sleep judges again, by quiet's rule.
func (m *Machine) aloneAndQuiet() bool {
	return uint32(m.active.Load()) == 1 && m.quietLook()
}

// quietLook is quiet's look at the queues.
func (m *Machine) quietLook() bool {
	for _, cl := range m.clusters {
		if !cl.inbox.empty() || !cl.reap.empty() || !cl.withdraw.empty() {
			return false
		}
	}
	for _, cl := range m.clusters {
		if cl.outWaitKick.Load() {
			return false
		}
	}
	// Domains parked for their outbox, and killed domains whose outbox is
	// away, are blocked like waiting domains, not pending work: when an
	// outbox comes free its home's outWaitKick is set.
	return m.stats.timers.Load() == 0 && m.stats.grace.Load() == 0
}

func (m *Machine) finish() {
	m.doneMu.Lock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	m.doneMu.Unlock()
	for _, c := range m.cores {
		c.notify()
	}
}

func (m *Machine) isDone() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// Cores returns the number of cores.
func (m *Machine) Cores() int { return len(m.cores) }

// Clusters returns the topology.
func (m *Machine) Clusters() []ClusterSpec {
	out := make([]ClusterSpec, len(m.clusters))
	for i, cl := range m.clusters {
		out[i] = ClusterSpec{Kinds: cl.kinds, Cores: len(cl.cores)}
	}
	return out
}

// newCore makes core index of cluster cl (-1: the host's core).
func (m *Machine) newCore(cl *Cluster, index int) *Core {
	c := &Core{m: m, cl: cl, index: index, noFast: m.cfg.GeneralPath}
	c.nctx.c = c
	c.lease = &c.leases[0]
	c.batchEvents, c.batchMax = nativeBatch, nativeBatch
	if m.det {
		c.batchEvents, c.batchMax = 1, 1 // time is virtual: each event is charged alone
	}
	c.rv.init(m)
	return c
}
