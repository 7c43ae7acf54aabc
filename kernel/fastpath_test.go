package kernel

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// TestFastInvokeMatchesGeneralPath runs the cross-cluster workload in
// deterministic mode with the invocation fast path on and off (Config.
// GeneralPath) and requires the same event trace, event for event, and
// the same per-core counts: fastInvoke must do exactly what the general
// path does for the invocations it takes. The runs pause every 37 events
// for the invariant checker. The fast path must have taken some of the
// invocations, and the general path none.
func TestFastInvokeMatchesGeneralPath(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	topos := []string{"native", "native:3", "4*native:1", "native,native:2,native"}
	for seed := range seeds {
		topo := topos[seed%len(topos)]
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			fastEvs, fastCores, nfast := runComparable(t, topo, uint64(seed), false)
			genEvs, genCores, ngen := runComparable(t, topo, uint64(seed), true)
			if i := firstDifference(fastEvs, genEvs); i >= 0 {
				t.Fatalf("traces differ at event %d of %d/%d: fast path %v, general path %v",
					i, len(fastEvs), len(genEvs), eventAt(fastEvs, i), eventAt(genEvs, i))
			}
			for i := range fastCores {
				if fastCores[i] != genCores[i] {
					t.Fatalf("core %d's counts differ: fast path %+v, general path %+v", i, fastCores[i], genCores[i])
				}
			}
			if nfast == 0 || ngen != 0 {
				t.Fatalf("fast invocations: %d with the fast path (want some), %d without (want 0)", nfast, ngen)
			}
		})
	}
}

// runComparable runs the cross-cluster workload on topo, pausing every 37
// events to check the invariants, and returns its trace, its per-core
// counts less FastInvocations, and the fast invocations.
func runComparable(t *testing.T, topo string, seed uint64, general bool) ([]Event, []CoreStats, uint64) {
	var evs []Event
	var cancel context.CancelFunc
	cfg := Config{Topology: topo, Deterministic: true, Seed: seed, GeneralPath: general,
		Trace: func(e Event) {
			if evs = append(evs, e); len(evs)%37 == 0 {
				cancel()
			}
		}}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &crossWorkload{clients: 8, servers: 4, msgs: 40}
	clients := w.setup(t, m)
	for pauses := 0; ; pauses++ {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		err := m.Run(ctx)
		cancel()
		if err == nil {
			break
		}
		if pauses > 100_000 {
			t.Fatalf("still running after %d pauses", pauses)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("pause %d (event %d): %v", pauses, len(evs), err)
		}
	}
	w.verify(t, m, clients)
	cores := m.Stats().Cores
	var fast uint64
	for i := range cores {
		fast += cores[i].FastInvocations
		cores[i].FastInvocations = 0
	}
	return evs, cores, fast
}

// TestFastInvokeTakesServerLoop checks which invocations of a ping-pong
// pair the fast path takes: in a one-core cluster and in a cluster of two
// cores, every CALL and RETURN between the two; across clusters, every
// one too (fastSend).
func TestFastInvokeTakesServerLoop(t *testing.T) {
	const calls = 50
	for _, tc := range []struct {
		topo       string
		pongHome   int
		wantFast   uint64
		wantInvoke uint64
	}{
		{"native", 0, 2 * calls, 2*calls + 1},
		{"native:2", 0, 2 * calls, 2*calls + 1},
		{"native,native", 1, 2 * calls, 2*calls + 1},
	} {
		t.Run(tc.topo, func(t *testing.T) {
			s := newTestSys(t, Config{Topology: tc.topo, Deterministic: true})
			pong := s.native("pong")
			ping := s.native("ping")
			s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(uint64(tc.pongHome)))
			s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(0))
			s.m.MakeAvailable(pong)
			s.m.SetKeyReg(ping, int(krPartner), mustStart(s.m, pong, 0))
			regs := make([]uint64, 16)
			regs[1] = calls
			s.m.MustCall(ping, int64(abi.OCDomainSetRegs), Words(regs...))
			s.m.RunDomain(ping)
			s.run()
			if got := ping.hdr.domain().cpu.nat.r[2]; got != calls {
				t.Fatalf("%d good replies, want %d", got, calls)
			}
			var fast, inv uint64
			for _, c := range s.m.Stats().Cores {
				fast += c.FastInvocations
				inv += c.Invocations
			}
			if fast != tc.wantFast || inv != tc.wantInvoke {
				t.Fatalf("%d invocations, %d of them fast; want %d and %d", inv, fast, tc.wantInvoke, tc.wantFast)
			}
		})
	}
}

func firstDifference(a, b []Event) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}

func eventAt(evs []Event, i int) any {
	if i < len(evs) {
		return evs[i]
	}
	return "(none)"
}

// TestFastSendLeavesAnOvertakingCoreAlone stops a core in fastSend just
// after it posted its domain's CALL to another cluster, until the reply
// has come back and the other core of the (shared) cluster is running
// the domain; then lets it end the event, and looks at the domain while
// it still runs on the other core. fastSend once cleared the domain's
// executing core there without looking, leaving it executing on no core,
// and a domain-key invocation on it from its cluster then failed on the
// missing core.
func TestFastSendLeavesAnOvertakingCoreAlone(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2,native"})
	m := s.m
	var held, checked atomic.Bool // the caller runs on, held; the look is done
	m.RegisterProgram("caller", func(x *Ctx) {
		r := x.Regs()
		if r[0] == 1 {
			// The reply to the first call: wait for the look.
			held.Store(true)
			waitFor(t, &checked)
		}
		if r[0] < 3 {
			r[0]++
			x.CallGate(krPartner, &Msg{})
		}
	})
	caller, echo := s.native("caller"), s.native("pong")
	m.MustCall(caller, int64(abi.OCDomainSetHome), Words(0))
	m.MustCall(echo, int64(abi.OCDomainSetHome), Words(1))
	start, _ := m.StartKey(echo, 0)
	m.SetKeyReg(caller, int(krPartner), start)
	m.MakeAvailable(echo)
	d := caller.hdr.domain()
	var sends atomic.Int32
	var other, sender *Core
	var state runState
	testHookSend = func(c *Core, sent *Domain, at sendPoint) {
		if sent != d || sends.Load() > 1 || at == sendBegun {
			return
		}
		if at == sendPosted {
			sends.Add(1)
			waitFor(t, &held) // the reply is back, and the caller runs elsewhere
			return
		}
		sends.Add(1)
		c.cl.lock()
		other, state, sender = d.executing, d.state, c
		c.cl.unlock()
		checked.Store(true)
	}
	defer func() { testHookSend = nil }()
	m.RunDomain(caller)
	s.run()
	if !checked.Load() {
		t.Fatal("the hook never looked")
	}
	if state != dsExecuting || other == nil || other == sender {
		t.Fatalf("after the sender's event ended, the caller running on the other core is %s on core %v (the sender was core %d)",
			state, other, sender.index)
	}
	if got := s.regs(caller)[0]; got != 3 {
		t.Fatalf("the caller made %d calls, want 3", got)
	}
}

// waitFor waits, yielding, until f is set, or fails t after 10 s.
func waitFor(t *testing.T, f *atomic.Bool) { waitUntil(t, f.Load, "another core") }

// waitUntil waits, yielding, until done reports true, or fails t after
// 10 s, saying what it waited for.
func waitUntil(t *testing.T, done func() bool, what string) {
	for deadline := time.Now().Add(10 * time.Second); !done(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
	}
}

// TestFastSendRunsDeferredOperations holds a core at the start of
// fastSend, while its domain is still executing, until another core of
// the cluster has invoked the domain's domain key: the operation is
// deferred on the domain until it stops executing. The send must then
// perform it as it ends the event, as finishEvent does: fastSend once
// left it for the domain's next event, which never comes here (the
// callee never answers), and the invoker waited for ever.
func TestFastSendRunsDeferredOperations(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2,native"})
	m := s.m
	var begun, once atomic.Bool
	m.RegisterProgram("sink", func(x *Ctx) {}) // never answers
	m.RegisterProgram("caller", func(x *Ctx) {
		if r := x.Regs(); r[0] == 0 {
			r[0] = 1
			x.CallGate(krPartner, &Msg{})
		}
	})
	m.RegisterProgram("observer", func(x *Ctx) {
		r := x.Regs()
		switch r[0] {
		case 0:
			r[0] = 1
			waitFor(t, &begun) // the caller is in fastSend, held
			x.CallGate(krPartner, &Msg{Order: int64(abi.OCDomainGetState)})
		case 1:
			r[0], r[1] = 2, uint64(x.Order())+1
		}
	})
	caller, sink, observer := s.native("caller"), s.native("sink"), s.native("observer")
	for k, home := range map[Key]uint64{caller: 0, observer: 0, sink: 1} {
		m.MustCall(k, int64(abi.OCDomainSetHome), Words(home))
	}
	start, _ := m.StartKey(sink, 0)
	m.SetKeyReg(caller, int(krPartner), start)
	m.SetKeyReg(observer, int(krPartner), caller)
	m.MakeAvailable(sink)
	d := caller.hdr.domain()
	testHookSend = func(c *Core, sent *Domain, at sendPoint) {
		if sent != d || at != sendBegun || !once.CompareAndSwap(false, true) {
			return
		}
		begun.Store(true)
		waitUntil(t, func() bool {
			c.cl.lock()
			defer c.cl.unlock()
			return d.deferred != nil
		}, "the observer's invocation to be deferred on the caller")
	}
	defer func() { testHookSend = nil }()
	m.RunDomain(caller)
	m.RunDomain(observer)
	s.run()
	if !once.Load() {
		t.Fatal("the caller's CALL never took the fast send")
	}
	if r := s.regs(observer); r[0] != 2 || r[1] != uint64(abi.RCOk)+1 {
		t.Fatalf("the observer's domain-key invocation: step %d, answer %d (want step 2, rc %d + 1)", r[0], r[1], abi.RCOk)
	}
}
