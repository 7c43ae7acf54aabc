package kernel

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// Regression tests for kernel bugs found by the hostile suite (package
// hostile). Each names the bug it pins down.

// watchdog fails the test binary with every goroutine's stack if f does not
// return: a hang is the bug these tests look for.
func watchdog(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(d):
			panic("kernel regression test: the machine hung")
		}
	}()
	f()
	close(done)
}

// TestRunParallelStopsWhenCanceled: in parallel mode a core that always
// had work never looked at the context, so Run ignored its cancellation
// for as long as any domain ran (a spinner with an unlimited meter kept it
// forever).
func TestRunParallelStopsWhenCanceled(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2"})
	s.m.RegisterProgram("forever", func(x *Ctx) { x.Fork(0, &Msg{}) })
	for range 2 {
		if err := s.m.RunDomain(s.native("forever")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	watchdog(t, 20*time.Second, func() {
		if err := s.m.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run returned %v, want the context's error", err)
		}
	})
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDomainRunInSharedCluster: performDomain runs under the cluster lock,
// and OCDomainRun and OCDomainMakeAvailable took that lock again (to put
// the domain in the ready queue or let its stallers in): in a cluster of
// more than one core, where the lock is a real mutex, a domain making
// another run or available deadlocked the whole cluster.
func TestDomainRunInSharedCluster(t *testing.T) {
	for _, order := range []abi.OC{abi.OCDomainRun, abi.OCDomainMakeAvailable} {
		s := newTestSys(t, Config{Topology: "native:2"})
		var rc int64 = -100
		s.m.RegisterProgram("starter", func(x *Ctx) {
			rc, _ = x.Call(krPartner, &Msg{Order: int64(order)})
		})
		ran := false
		s.m.RegisterProgram("target", func(x *Ctx) { ran = true })
		target := s.native("target")
		starter := s.native("starter")
		if err := s.m.SetKeyReg(starter, int(krPartner), target); err != nil {
			t.Fatal(err)
		}
		if err := s.m.RunDomain(starter); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		watchdog(t, 20*time.Second, func() {
			if err := s.m.Run(ctx); err != nil {
				t.Errorf("order %d: run: %v", order, err)
			}
		})
		cancel()
		if rc != 0 {
			t.Fatalf("order %d: return code %d", order, rc)
		}
		if want := order == abi.OCDomainRun; ran != want {
			t.Fatalf("order %d: target ran: %v, want %v", order, ran, want)
		}
		if st := s.state(target); order == abi.OCDomainMakeAvailable && st != abi.StateAvailable {
			t.Fatalf("target is in state %d, want available", st)
		}
		if err := s.m.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForkTargetIsReady: a FORK to a start key put the target in the ready
// queue and then marked it executing. A domain key invocation on it then
// took it for running on a core and dereferenced that (nil) core: any
// domain could crash the kernel with a FORK followed by, say, a stop.
func TestForkTargetIsReady(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	var got []int64
	s.m.RegisterProgram("forker", func(x *Ctx) {
		r := x.Regs()
		r[0]++
		switch r[0] {
		case 1:
			x.Fork(krPartner, &Msg{Order: 1})
		case 2:
			got = append(got, x.Order())
			x.CallGate(krPartner+1, &Msg{Order: int64(abi.OCDomainStop)})
		case 3:
			got = append(got, x.Order())
		}
	})
	target := s.native("pong")
	forker := s.native("forker")
	start, _ := s.m.StartKey(target, 0)
	s.m.SetKeyReg(forker, int(krPartner), start)
	s.m.SetKeyReg(forker, int(krPartner)+1, target)
	s.m.MakeAvailable(target)
	s.m.RunDomain(forker)
	s.run()
	if len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("the forker got %v, want [0 0] (the FORK's and the stop's return codes)", got)
	}
	if st := s.state(target); st != abi.StateStopped {
		t.Fatalf("target is in state %d, want stopped", st)
	}
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDomainKeyOnSwitchedTarget: a CALL or RETURN switches its core
// directly to the target, marking it executing before that core runs it;
// another core of the same cluster invoking a domain key to the target in
// between found it executing on no core and dereferenced nil. Several
// seeds of a two-core cluster in deterministic mode give that order.
func TestDomainKeyOnSwitchedTarget(t *testing.T) {
	for seed := range uint64(64) {
		s := newTestSys(t, Config{Topology: "native:2", Deterministic: true, Seed: seed})
		s.m.RegisterProgram("stopper", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			if r[0] <= 50 {
				x.CallGate(krPartner, &Msg{Order: int64(abi.OCDomainGetState)})
			}
		})
		ping, pong := s.pingPong(50)
		stopper := s.native("stopper")
		s.m.SetKeyReg(stopper, int(krPartner), pong)
		s.m.RunDomain(stopper)
		s.run()
		if r := s.regs(ping); r[2] != 50 {
			t.Fatalf("run %d: ping got %d correct replies, want 50", seed, r[2])
		}
		if err := s.m.Check(); err != nil {
			t.Fatalf("run %d: %v", seed, err)
		}
	}
}

// TestStallWakeupPassedOn: a domain becoming available wakes the first
// domain stalled on it, which retries its invocation. If that staller was
// stopped or killed before it could retry, the wake-up was lost: the
// others stayed stalled on an available domain for ever, a denial of
// service any domain could cause to the other clients of a server.
func TestStallWakeupPassedOn(t *testing.T) {
	for _, how := range []string{"stop", "sell"} {
		s := newTestSys(t, Config{Topology: "native", Deterministic: true})
		var got []int64
		s.m.RegisterProgram("client", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			if r[0] == 1 {
				x.CallGate(krPartner, &Msg{Order: 10})
				return
			}
			got = append(got, x.Order())
		})
		server := s.native("pong")
		start, _ := s.m.StartKey(server, 0)
		var clients []Key
		for range 3 {
			c := s.native("client")
			s.m.SetKeyReg(c, int(krPartner), start)
			s.m.RunDomain(c)
			clients = append(clients, c)
		}
		s.run() // the server is stopped: all three stall on it, in order
		s.m.MakeAvailable(server)
		// The first is woken; before it runs, it is stopped or sold.
		switch how {
		case "stop":
			s.m.MustCall(clients[0], int64(abi.OCDomainStop), nil)
		case "sell":
			s.m.MustCall(s.m.PrimeBank(), int64(abi.OCBankSell), nil, clients[0])
		}
		s.run()
		if len(got) != 2 || got[0] != 11 || got[1] != 11 {
			t.Fatalf("%s: the other clients got %v, want [11 11]", how, got)
		}
		if err := s.m.Check(); err != nil {
			t.Fatalf("%s: %v", how, err)
		}
	}
}

// TestKilledRemoteStallerWithdrawn: a domain killed while its CALL waited
// in the stall queue of a domain in another cluster stayed there, a
// stopped zombie: it was never reaped, so the callers whose resume keys it
// held waited for ever instead of getting RCCalleeDestroyed, and its
// message was delivered, from beyond the grave, when the target became
// available. (In parallel mode the zombie also kept Run from ever
// finishing.)
func TestKilledRemoteStallerWithdrawn(t *testing.T) {
	for _, det := range []bool{true, false} {
		s := newTestSys(t, Config{Topology: "native,native", Deterministic: det})
		m := s.m
		var clientGot []int64
		m.RegisterProgram("client", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			if r[0] == 1 {
				x.CallGate(krPartner, &Msg{Order: 1})
				return
			}
			clientGot = append(clientGot, x.Order())
		})
		// middle calls target (homed elsewhere, not available) while
		// holding the client's resume key.
		m.RegisterProgram("middle", func(x *Ctx) {
			x.CallGate(krPartner, &Msg{Order: 2, Recv: [4]uint8{9, 9, 9, 9}})
		})
		targetGot := 0
		m.RegisterProgram("target", func(x *Ctx) { targetGot++ })
		sub := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
		target := s.native("target")
		m.MustCall(target, int64(abi.OCDomainSetHome), Words(1))
		middle, _ := m.NewDomain(sub, m.PrimeMeter(), abi.KindNative, "middle")
		m.MustCall(middle, int64(abi.OCDomainSetHome), Words(0))
		client := s.native("client")
		m.MustCall(client, int64(abi.OCDomainSetHome), Words(0))
		m.SetKeyReg(middle, int(krPartner), mustStart(m, target, 0))
		m.SetKeyReg(client, int(krPartner), mustStart(m, middle, 0))
		m.MakeAvailable(middle)
		m.RunDomain(client)
		run := func(what string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			watchdog(t, 30*time.Second, func() {
				if err := m.Run(ctx); err != nil {
					t.Fatalf("det=%v %s: run: %v", det, what, err)
				}
			})
		}
		run("first")
		m.MustCall(sub, int64(abi.OCBankDestroy), nil)
		run("after destroying the middle's bank")
		if len(clientGot) != 1 || clientGot[0] != int64(abi.RCCalleeDestroyed) {
			t.Fatalf("det=%v: the client got %v, want [%d]", det, clientGot, abi.RCCalleeDestroyed)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("det=%v: %v", det, err)
		}
		m.MakeAvailable(target)
		run("after making the target available")
		if targetGot != 0 {
			t.Fatalf("det=%v: the target got %d messages from the destroyed domain", det, targetGot)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("det=%v: %v", det, err)
		}
	}
}

// TestRemoteUndeliveredCallAnswered: a CALL through a resume or restart
// key of a domain in another cluster that delivered nothing when it got
// there (the key went stale on the way, or a keeper CALLed a restart key
// with a nonzero order to decline the trap) left the caller waiting for
// ever; in its own cluster it is answered at once, as DK(0) would.
func TestRemoteUndeliveredCallAnswered(t *testing.T) {
	for _, topo := range []string{"native", "native,native"} {
		s := newTestSys(t, Config{Topology: topo, Deterministic: true})
		m := s.m
		var got []int64
		m.RegisterProgram("victim", func(x *Ctx) { panic("hostile test: trap") })
		m.RegisterProgram("keeper", func(x *Ctx) {
			r := x.Regs()
			got = append(got, x.Order())
			r[0]++
			if r[0] == 1 {
				// Decline the trap with a CALL instead of a RETURN.
				x.CallGate(krResume, &Msg{Order: 3})
			}
		})
		keeper := s.native("keeper")
		victim := s.native("victim")
		if topo != "native" {
			m.MustCall(keeper, int64(abi.OCDomainSetHome), Words(1))
			m.MustCall(victim, int64(abi.OCDomainSetHome), Words(0))
		}
		m.MustCall(victim, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotKeeper)), mustStart(m, keeper, 1))
		m.MakeAvailable(keeper)
		m.RunDomain(victim)
		s.run()
		if want := []int64{int64(abi.TrapNativePanic), 0}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("%s: the keeper got %v, want %v", topo, got, want)
		}
		if st, trap := s.state(victim), abi.Trap(m.MustCall(victim, int64(abi.OCDomainGetState), nil).Word(int(abi.DomainStateTrap))); st != abi.StateStopped || trap != abi.TrapNativePanic {
			t.Fatalf("%s: the victim is in state %d with trap %d, want stopped by its trap", topo, st, trap)
		}
		if err := m.Check(); err != nil {
			t.Fatalf("%s: %v", topo, err)
		}
	}
}

// TestFinishEventLeavesOthersDomain: in a cluster of several cores, a
// domain that ended its event by becoming available can be invoked and run
// by another core before its own core has finished the event (the cluster
// lock is let go in between). finishEvent then found it executing, took it
// for killed while running, and stopped it: in parallel mode a busy server
// (pong under a FORK flood) was stopped for no reason and its clients
// stalled on it for ever. The interleaving needs a core descheduled at the
// wrong moment, so this test builds it by hand: the domain is executing
// on core 1 when core 0 finishes the event it had run it for.
func TestFinishEventLeavesOthersDomain(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2", Deterministic: true})
	d := s.native("pong")
	s.m.MakeAvailable(d)
	c0, c1 := s.m.cores[0], s.m.cores[1]
	dom := d.hdr.domain()
	// Core 1 took it from the ready queue and runs it.
	dom.state, dom.executing = dsExecuting, c1
	c1.cur = dom
	c0.finishEvent(dom)
	if dom.state != dsExecuting || dom.executing != c1 {
		t.Fatalf("core 0 finishing its event left the domain %s on core %v, want executing on core 1", dom.state, dom.executing)
	}
	// Core 1 goes on with it: it becomes available again.
	s.run()
	if st := s.state(d); st != abi.StateAvailable {
		t.Fatalf("the domain is in state %d, want available", st)
	}
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestTrapWaitsForBusyKeeper: the kernel CALLs a keeper on a trapped
// domain's behalf; when the keeper was not available the CALL stalled
// like an ecall's, and a stalled ecall is rewound to be re-executed. But a
// trap's CALL is no instruction of the domain's: an rv64 domain was moved
// back 4 bytes and re-executed what came before the trapping instruction
// (or half of one), and a native domain re-ran an empty invocation and
// went on as if its keeper had restarted it. Now the trap is raised again
// when the keeper becomes available.
func TestTrapWaitsForBusyKeeper(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	m := s.m
	runs := 0
	m.RegisterProgram("victim", func(x *Ctx) {
		runs++
		if runs == 1 {
			panic("hostile test: trap")
		}
	})
	var keeperGot []int64
	m.RegisterProgram("keeper", func(x *Ctx) {
		keeperGot = append(keeperGot, x.Order())
		x.Return(krResume, &Msg{}) // restart the victim
	})
	keeper := s.native("keeper")
	victim := s.native("victim")
	m.MustCall(victim, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotKeeper)), mustStart(m, keeper, 1))
	m.RunDomain(victim)
	s.run() // the keeper is stopped: the trap's CALL waits
	if runs != 1 || len(keeperGot) != 0 {
		t.Fatalf("before the keeper is available: the victim ran %d times, the keeper got %v", runs, keeperGot)
	}
	m.MakeAvailable(keeper)
	s.run()
	if len(keeperGot) != 1 || keeperGot[0] != int64(abi.TrapNativePanic) {
		t.Fatalf("the keeper got %v, want one trap message %d", keeperGot, abi.TrapNativePanic)
	}
	if runs != 2 {
		t.Fatalf("the victim ran %d times, want 2 (once more after its keeper restarted it)", runs)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestParallelStateRaces is for the race detector (go test -race): cores
// of a two-core cluster switch between domains, invoke domain keys of
// domains running on the other core, and wait for grace periods, all at
// once. execute wrote a domain's state and core without the cluster lock
// while other cores read them under it, and finishGrace read the grace
// list without it.
func TestParallelStateRaces(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2"})
	m := s.m
	const n = 300
	m.RegisterProgram("stater", func(x *Ctx) {
		r := x.Regs()
		if r[0] < n {
			r[0]++
			x.CallGate(krPartner, &Msg{Order: int64(abi.OCDomainGetState)})
		}
	})
	m.RegisterProgram("seller", func(x *Ctx) {
		r := x.Regs()
		if r[0] < n {
			r[0]++
			// Map nothing, but sell what was bought: a grace period each.
			x.Call(krPartner, &Msg{Order: int64(abi.OCBankBuyNode), Recv: [4]uint8{9}})
			x.CallGate(krPartner, &Msg{Order: int64(abi.OCBankSell), Keys: [4]uint8{9}})
		}
	})
	// A pong that takes a while over each message: the others find it
	// executing.
	spin := 0
	m.RegisterProgram("pong", func(x *Ctx) {
		for i := range 20000 {
			spin += i
		}
		pongProgram(x)
	})
	ping, pong := s.pingPong(n)
	stater := s.native("stater")
	m.SetKeyReg(stater, int(krPartner), pong)
	m.RunDomain(stater)
	seller := s.native("seller")
	m.SetKeyReg(seller, int(krPartner), m.PrimeBank())
	m.RunDomain(seller)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watchdog(t, 90*time.Second, func() {
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if r := s.regs(ping); r[2] != n {
		t.Fatalf("ping got %d correct replies, want %d", r[2], n)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	_ = spin
}

// TestReturnToOwnStartKey: a RETURN makes the invoker available and sends
// the message; to the invoker's own start key that means the invoker gets
// its own message. The kernel found the invoker busy and stalled it on
// itself for ever, and every domain calling it after it.
func TestReturnToOwnStartKey(t *testing.T) {
	for _, topo := range []string{"native", "native:2"} {
		s := newTestSys(t, Config{Topology: topo, Deterministic: true})
		var got []int64
		s.m.RegisterProgram("self", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			got = append(got, x.Order(), x.DataByte())
			if r[0] == 1 {
				x.Return(krPartner, &Msg{Order: 42})
			}
		})
		d := s.native("self")
		s.m.SetKeyReg(d, int(krPartner), mustStart(s.m, d, 9))
		s.m.RunDomain(d)
		s.run()
		if want := []int64{0, -1, 42, 9}; len(got) != 4 || got[0] != want[0] || got[2] != want[2] || got[3] != want[3] {
			t.Fatalf("%s: the domain got (order, data byte) %v, want %v", topo, got, want)
		}
		if st := s.state(d); st != abi.StateAvailable {
			t.Fatalf("%s: the domain is in state %d, want available", topo, st)
		}
		if err := s.m.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSetLimitsBelowUse: the ledger invariant is that no bank uses more
// than its limits allow (Machine.Check). OCBankSetLimits accepted limits
// below what the bank already used, leaving it over its limits, which the
// checker then reported. Limits below current use are now refused with
// RCBadArgument, and the limits stay as they were.
func TestSetLimitsBelowUse(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	m := s.m
	b := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	for range 3 {
		m.MustCall(b, int64(abi.OCBankBuyPage), nil)
	}
	lim := func(pages uint64) []byte {
		return Words(abi.Unlimited, pages, abi.Unlimited, abi.Unlimited, abi.Unlimited, abi.Unlimited)
	}
	if r, _ := m.Call(b, int64(abi.OCBankSetLimits), lim(2)); r.RC != int64(abi.RCBadArgument) {
		t.Fatalf("limiting a bank holding 3 pages to 2: return code %d, want %d", r.RC, abi.RCBadArgument)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Call(b, int64(abi.OCBankSetLimits), lim(3)); r.RC != 0 {
		t.Fatalf("limiting a bank holding 3 pages to 3: return code %d", r.RC)
	}
	if r, _ := m.Call(b, int64(abi.OCBankBuyPage), nil); r.RC != int64(abi.RCNoSpace) {
		t.Fatalf("buying a fourth page: return code %d, want %d", r.RC, abi.RCNoSpace)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedRemoteStallerWithdrawn: stopping a domain whose CALL waits in
// the stall queue of a domain in another cluster ended its wait but left
// its outbox there: the stopped domain, run again, stayed in that stall
// queue (Machine.Check: "stalled ... is available"), its next message to
// another cluster was retried for as long as the first stayed parked, and
// the cancelled CALL was delivered when the target became available. A
// local staller is taken out of the stall queue when stopped; now a remote
// one's outbox is withdrawn too.
func TestStoppedRemoteStallerWithdrawn(t *testing.T) {
	for _, det := range []bool{true, false} {
		s := newTestSys(t, Config{Topology: "native,native", Deterministic: det})
		m := s.m
		var callerGot []int64
		m.RegisterProgram("caller", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			switch r[0] {
			case 1:
				x.CallGate(krPartner, &Msg{Order: 1}) // stalls: the target is stopped
			case 2:
				// run again after the stop: call the echo server across
				x.CallGate(krPartner+1, &Msg{Order: 5})
			case 3:
				callerGot = append(callerGot, x.Order())
			}
		})
		targetGot := 0
		m.RegisterProgram("target", func(x *Ctx) { targetGot++ })
		target := s.native("target")
		m.MustCall(target, int64(abi.OCDomainSetHome), Words(1))
		echo := s.native("pong")
		m.MustCall(echo, int64(abi.OCDomainSetHome), Words(1))
		m.MakeAvailable(echo)
		caller := s.native("caller")
		m.MustCall(caller, int64(abi.OCDomainSetHome), Words(0))
		m.SetKeyReg(caller, int(krPartner), mustStart(m, target, 0))
		m.SetKeyReg(caller, int(krPartner)+1, mustStart(m, echo, 0))
		m.RunDomain(caller)
		run := func(what string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			watchdog(t, 30*time.Second, func() {
				if err := m.Run(ctx); err != nil {
					t.Fatalf("det=%v %s: run: %v", det, what, err)
				}
			})
			if err := m.Check(); err != nil {
				t.Fatalf("det=%v %s: %v", det, what, err)
			}
		}
		run("first")
		m.MustCall(caller, int64(abi.OCDomainStop), nil)
		m.RunDomain(caller)
		run("after stopping and running the caller")
		if len(callerGot) != 1 || callerGot[0] != 6 {
			t.Fatalf("det=%v: the caller got %v from the echo server, want [6]", det, callerGot)
		}
		m.MakeAvailable(target)
		run("after making the target available")
		if targetGot != 0 {
			t.Fatalf("det=%v: the target got %d messages of a stopped CALL", det, targetGot)
		}
	}
}

// deferBehindBusyOutbox builds, by hand, a domain key invocation of a
// domain running on core 1 by a domain running on core 0 of the same
// cluster, whose outbox is away at another cluster with a reply (order
// 77). It returns the system, the invoker's domain key, the invoker and the
// target.
func deferBehindBusyOutbox(t *testing.T) (*testSys, Key, *Domain, *Domain) {
	s := newTestSys(t, Config{Topology: "native:2,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	inv, tgt := s.native("idle"), s.native("idle")
	m.MustCall(inv, int64(abi.OCDomainSetHome), Words(0))
	m.MustCall(tgt, int64(abi.OCDomainSetHome), Words(0))
	d, tg := inv.hdr.domain(), tgt.hdr.domain()
	c0, c1 := m.cores[0], m.cores[1]
	tg.state, tg.executing, c1.cur = dsExecuting, c1, tg
	d.state, d.executing = dsExecuting, c0
	d.out = outbox{kind: mReply, order: 77}
	d.outBusy.Store(true)
	c0.sendKernelOp(d, tgt, &invocation{typ: abi.InvCall, key: tgt, order: int64(abi.OCDomainGetState)})
	return s, inv, d, tg
}

// TestDeferredOpKeepsBusyOutbox: a domain key invocation of a domain
// running on another core of the same cluster is deferred in the
// invoker's outbox. That path filled the outbox without looking whether it
// was still away with an earlier message (a reply or a withdrawn CALL to
// another cluster), overwriting a message another cluster was handling.
// The interleaving needs that outbox in flight at that moment, so it is
// built by hand here: the invocation must be retried later instead.
func TestDeferredOpKeepsBusyOutbox(t *testing.T) {
	_, _, d, tg := deferBehindBusyOutbox(t)
	if d.out.kind != mReply || d.out.order != 77 {
		t.Fatalf("the outbox in flight was overwritten: kind %d order %d", d.out.kind, d.out.order)
	}
	if d.state != dsOutWait || tg.deferred != nil {
		t.Fatalf("the invoker is %s and the target has deferred work (%v): want it waiting for its outbox to retry", d.state, tg.deferred != nil)
	}
}

// TestStoppedOutWaiterLeavesList: a domain parked until its outbox comes
// back (dsOutWait) that is stopped and moved to another cluster must be
// off its old cluster's list at once. Housekeeping used to drop it later,
// reading the state of a domain that by then belonged to another cluster's
// lock, or had been freed and bought again.
func TestStoppedOutWaiterLeavesList(t *testing.T) {
	s, inv, d, tg := deferBehindBusyOutbox(t)
	m, c1 := s.m, s.m.cores[1]
	cl := m.clusters[0]
	if d.state != dsOutWait || len(cl.outWait) != 1 || m.stats.outWaiters.Load() != 1 {
		t.Fatalf("the invoker is %s, %d parked, count %d: want it parked", d.state, len(cl.outWait), m.stats.outWaiters.Load())
	}
	// Its message comes back; it is stopped before housekeeping looks.
	d.outBusy.Store(false)
	tg.state, tg.executing, c1.cur = dsAvailable, nil, nil
	m.MustCall(inv, int64(abi.OCDomainStop), nil)
	if len(cl.outWait) != 0 || m.stats.outWaiters.Load() != 0 {
		t.Fatalf("stopped, the domain is still among %d parked (count %d)", len(cl.outWait), m.stats.outWaiters.Load())
	}
	m.MustCall(inv, int64(abi.OCDomainSetHome), Words(1))
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestParallelTimerRace is for the race detector: domains of a two-core
// cluster wait for the clock over and over, so both cores fire timers.
// fireTimers looked at the timer heap without the cluster lock.
func TestParallelTimerRace(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2"})
	m := s.m
	const n = 200
	var done atomic.Int64
	m.RegisterProgram("sleeper", func(x *Ctx) {
		r := x.Regs()
		if r[0] == n {
			done.Add(1)
			return
		}
		r[0]++
		now := uint64(m.now())
		x.CallGate(krPartner, &Msg{Order: int64(abi.OCClockWaitUntil), Data: Words(now + 1000)})
	})
	clock, _ := m.DeviceKey(abi.KTClock)
	for range 4 {
		d := s.native("sleeper")
		m.SetKeyReg(d, int(krPartner), clock)
		m.RunDomain(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watchdog(t, 90*time.Second, func() {
		if err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if done.Load() != 4 {
		t.Fatalf("%d of 4 sleepers finished", done.Load())
	}
}

// TestSoldPageNotMapped: selling a page that no translation had marked
// mapped frees it without a grace period. A walk on another core that had
// checked the page key just before the sale, and marked the page just
// after, cached a translation to the sold page anyway, and the seller
// never waited for it to be flushed: a load through the old mapping after
// the sale had returned (the TLB invariant). The walk now checks the key
// again after marking the page (mapPage). The window is a few
// instructions wide, so the test takes the walk's last step by hand: the
// key it checked is sold before it marks the page.
func TestSoldPageNotMapped(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	m := s.m
	page := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyPage), nil).Keys[0]
	checked := page.live() // the walk checked the key ...
	m.MustCall(m.PrimeBank(), int64(abi.OCBankSell), nil, page)
	if p := mapPage(checked); p != nil { // ... and marks the page after the sale
		t.Fatal("a walk mapped a page sold after it had checked the key")
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentSell has two domains on two cores sell the same objects
// at the same time, each object once by each: exactly one sale of each
// must happen. A sale that found the key live before another core sold the
// object (or destroyed its bank) once unlinked it again, cutting the rest
// of its bank's list loose (live objects in no bank) and crediting the bank
// twice.
func TestConcurrentSell(t *testing.T) {
	const slots = 16
	seller := func(x *Ctx) {
		for i := range slots {
			x.Call(1, &Msg{Order: int64(abi.OCNodeFetch), Data: Words(uint64(i)), Recv: [4]uint8{3}})
			x.Call(2, &Msg{Order: int64(abi.OCBankSell), Keys: [4]uint8{3}})
		}
	}
	for _, topo := range []string{"native:2", "native,native"} {
		t.Run(topo, func(t *testing.T) {
			s := newTestSys(t, Config{Topology: topo, Memory: 64 << 20})
			s.m.RegisterProgram("seller", seller)
			bank := s.m.MustCall(s.m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
			shared := s.m.MustCall(s.m.PrimeBank(), int64(abi.OCBankBuyNode), nil).Keys[0]
			var sellers [2]Key
			for i := range sellers {
				sellers[i] = s.native("seller")
				s.m.MustCall(sellers[i], int64(abi.OCDomainSetHome), Words(uint64(i%len(s.m.Clusters()))))
				for r, k := range map[int]Key{1: shared, 2: bank} {
					if err := s.m.SetKeyReg(sellers[i], r, k); err != nil {
						t.Fatal(err)
					}
				}
			}
			buy := []abi.OC{abi.OCBankBuyNode, abi.OCBankBuyPage, abi.OCBankBuyNode, abi.OCBankBuyDomain}
			rounds := 3000
			if testing.Short() {
				rounds = 500
			}
			for round := range rounds {
				for i := range slots {
					var k Key
					if buy[i%4] == abi.OCBankBuyDomain {
						k = s.m.MustCall(bank, int64(abi.OCBankBuyDomain), Words(uint64(abi.KindNative))).Keys[0]
					} else {
						k = s.m.MustCall(bank, int64(buy[i%4]), nil).Keys[0]
					}
					s.m.MustCall(shared, int64(abi.OCNodeSwap), Words(uint64(i)), k)
				}
				for _, d := range sellers {
					if err := s.m.RunDomain(d); err != nil {
						t.Fatal(err)
					}
				}
				s.run()
				if err := s.m.Check(); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				l := s.m.MustCall(bank, int64(abi.OCBankGetLedger), nil)
				if used := l.Word(int(abi.LedgerUsedBytes)); used != 0 {
					t.Fatalf("round %d: the bank still uses %d bytes after every object was sold", round, int64(used))
				}
			}
		})
	}
}

// TestCancelledOutboxAwaitingWithdrawal: a domain whose CALL waits, as
// an outbox in a stall queue of another cluster, is stopped by another
// domain (its CALL is cancelled and the outbox asked back) and run again,
// and the machine is paused at every event in turn, sometimes before the
// other cluster has handed the outbox back. Until then the outbox stays in
// the stall queue while its domain is stopped, running or parked waiting
// for it: a legal state the invariant checker once called a violation (the
// parallel soak found it). The repeated CALL is answered in the end.
func TestCancelledOutboxAwaitingWithdrawal(t *testing.T) {
	const (
		krTarget = 9  // the stopper's domain key to the caller
		krEcho   = 10 // the stopper's domain key to echo
		krClock  = 11 // the stopper's clock
	)
	hits := 0
	var adom *Domain
	for pause := int64(1); pause <= 40; pause++ {
		for seed := range uint64(4) {
			var events atomic.Int64
			var cancel context.CancelFunc
			s := newTestSys(t, Config{Topology: "native,native", Deterministic: true, Seed: seed,
				Trace: func(Event) {
					if events.Add(1) == pause && cancel != nil {
						cancel()
					}
				}})
			m := s.m
			m.RegisterProgram("echo", func(x *Ctx) { x.Return(krResume, &Msg{Order: x.Order() + 1}) })
			m.RegisterProgram("caller", func(x *Ctx) {
				r := x.Regs()
				if r[0] == 0 {
					r[0] = 1
					x.CallGate(krPartner, &Msg{Order: 41})
					return
				}
				r[1] = uint64(x.Order())
			})
			// stopper waits until the caller waits, stops it, runs it
			// again from the start, and makes echo available.
			m.RegisterProgram("stopper", func(x *Ctx) {
				// (Deterministic mode: one goroutine, so the caller's
				// state can be read here. Its domain key would show it
				// running: a CALL not yet delivered.)
				r := x.Regs()
				switch {
				case r[0] == 1:
					return // done
				case adom.state != dsWaiting:
					// Look again a little later.
					x.CallGate(krClock, &Msg{Order: int64(abi.OCClockWaitUntil), Data: Words(uint64(m.now()) + 200)})
					return
				}
				r[0] = 1
				for _, order := range []abi.OC{abi.OCDomainStop, abi.OCDomainSetRegs, abi.OCDomainRun} {
					msg := &Msg{Order: int64(order)}
					if order == abi.OCDomainSetRegs {
						msg.Data = Words(make([]uint64, abi.RegsNative)...)
					}
					if rc, _ := x.Call(krTarget, msg); rc != 0 {
						t.Errorf("stopper: order %d on the caller: return code %d", order, rc)
					}
				}
				// Echo lives in the other cluster: the operation is a
				// message, so it ends the event.
				x.CallGate(krEcho, &Msg{Order: int64(abi.OCDomainMakeAvailable)})
			})
			a, b, st := s.native("caller"), s.native("echo"), s.native("stopper")
			adom = a.hdr.domain()
			m.MustCall(a, int64(abi.OCDomainSetHome), Words(0))
			m.MustCall(st, int64(abi.OCDomainSetHome), Words(0))
			m.MustCall(b, int64(abi.OCDomainSetHome), Words(1))
			start, _ := m.StartKey(b, 0)
			clock, _ := m.DeviceKey(abi.KTClock)
			for _, kr := range []struct {
				d  Key
				r  int
				to Key
			}{{a, int(krPartner), start}, {st, krTarget, a}, {st, krEcho, b}, {st, krClock, clock}} {
				if err := m.SetKeyReg(kr.d, kr.r, kr.to); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range []Key{a, st} {
				if err := m.RunDomain(d); err != nil {
					t.Fatal(err)
				}
			}
			var ctx context.Context
			ctx, cancel = context.WithCancel(context.Background())
			err := m.Run(ctx)
			cancel()
			if err == nil {
				continue // finished before the pause
			}
			ad := a.hdr.domain()
			if ad.outBusy.Load() && ad.outboxCancelled() && b.hdr.domain().stallHead == ad {
				hits++
			}
			if err := m.Check(); err != nil {
				t.Fatalf("paused after %d events (seed %d): %v", pause, seed, err)
			}
			cancel = nil
			s.run()
			if err := m.Check(); err != nil {
				t.Fatalf("pause %d, seed %d, at the end: %v", pause, seed, err)
			}
			if got := s.regs(a)[1]; got != 42 {
				t.Fatalf("pause %d, seed %d: the repeated CALL was answered %d, want 42", pause, seed, got)
			}
		}
	}
	if hits == 0 {
		t.Fatal("no pause fell while a cancelled outbox waited to be withdrawn: the test tests nothing")
	}
}

// TestDestroyedBankSlotReusedBeforeReap: a domain of a destroyed bank is
// reaped by its home cluster, which may happen only after the bank's own
// slot has been swept and bought again (here the domain is a zombie, its
// outbox away). Keys naming the domain were void only through their
// bank's dead flag, so the new, live bank in the same slot brought them
// back to life (the parallel soak: "key start(domain#2/0) works but names
// no live object").
func TestDestroyedBankSlotReusedBeforeReap(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native", Deterministic: true})
	m := s.m
	bank := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	d, err := m.NewDomain(bank, m.PrimeMeter(), abi.KindNative, "pong")
	if err != nil {
		t.Fatal(err)
	}
	start, _ := m.StartKey(d, 0)
	holder := s.native("pong")
	if err := m.SetKeyReg(holder, 8, start); err != nil {
		t.Fatal(err)
	}
	dom := d.hdr.domain()
	dom.outBusy.Store(true) // its outbox is away: reaping it must wait
	m.MustCall(bank, int64(abi.OCBankDestroy), nil)
	if !dom.killed.Load() || dom.reaped {
		t.Fatalf("killed %v, reaped %v: want a killed domain waiting to be reaped", dom.killed.Load(), dom.reaped)
	}
	again := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	if again.hdr != bank.hdr {
		t.Skip("the destroyed bank's slot was not the one reused")
	}
	if got := m.MustCall(holder, int64(abi.OCDomainGetKeyReg), Words(8)).Keys[0]; !got.IsNull() {
		t.Fatalf("a start key to a domain of the destroyed bank is a %v key again once the bank's slot is reused", got.Type())
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	// The outbox comes back: the domain is reaped and freed.
	dom.outBusy.Store(false)
	s.run()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestOutWaiterWokenByRelease: a domain parked until its outbox comes back
// is looked at again when the outbox is marked free, and not before:
// unparkOutWaiters used to set its kick again while any parked outbox was
// still away, which kept its core polling, never asleep, all that time.
func TestOutWaiterWokenByRelease(t *testing.T) {
	s, _, d, _ := deferBehindBusyOutbox(t)
	m, c0 := s.m, s.m.cores[0]
	cl := m.clusters[0]
	if d.state != dsOutWait {
		t.Fatalf("the invoker is %s: want it parked", d.state)
	}
	cl.outWaitKick.Store(true)
	if c0.unparkOutWaiters() {
		t.Fatal("a domain whose outbox is away was made ready")
	}
	if cl.outWaitKick.Load() {
		t.Fatal("the kick is set again while the outbox is away: the core would never sleep")
	}
	if c0.hasWork() {
		t.Fatal("the core has work to do while the only parked outbox is away")
	}
	c0.releaseOutbox(d) // the cluster that took it is done with it
	if !cl.outWaitKick.Load() {
		t.Fatal("freeing the outbox of a parked domain did not set its cluster's kick")
	}
	if !c0.unparkOutWaiters() || d.state != dsReady {
		t.Fatalf("after its outbox was freed the invoker is %s: want ready", d.state)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestWithdrawnBeforeReaped: a killed domain that asked another cluster
// for its outbox back is not reaped, its slot not freed, until that
// cluster has taken it off its withdraw list, even when the outbox comes
// home first. A slot bought again while still on the list would have its
// link cleared by the new domain's initialization, cutting the list short,
// and the list's cluster would then withdraw the new domain's outbox.
// (White box: the steps of two clusters, one at a time.)
func TestWithdrawnBeforeReaped(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	k := s.native("idle")
	d := k.hdr.domain()
	home, other := m.cores[0], m.cores[1]
	if d.home.Load() != home.cl || other.cl == home.cl {
		t.Fatal("test set-up: want the domain homed on core 0's cluster and core 1 in another")
	}
	// d's outbox is away in the other cluster.
	d.outBusy.Store(true)
	d.outTo.Store(other.cl)
	freed := m.stats.domainsFreed.Load()
	if rc := m.sell(home, m.prime, k); rc != abi.RCOk {
		t.Fatalf("sell: %v", rc)
	}
	if !d.withdrawing.Load() {
		t.Fatal("killing the domain did not ask the other cluster for its outbox")
	}
	// The outbox comes home on its own before the other cluster looks at
	// its withdraw list.
	d.outBusy.Store(false)
	home.drainReap()
	if d.reaped || m.stats.domainsFreed.Load() != freed {
		t.Fatal("the domain was reaped while on another cluster's withdraw list")
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	other.drainWithdraw()
	if d.withdrawing.Load() {
		t.Fatal("the other cluster's withdraw list still holds the domain")
	}
	home.drainReap()
	if !d.reaped || m.stats.domainsFreed.Load() != freed+1 {
		t.Fatal("the domain was not reaped once off the withdraw list")
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// staleDomainKey returns a key to a domain that was sold and reaped after
// the key was looked at: what a core holds when another core of its
// cluster reaps the domain between its check of the key and its taking
// the cluster lock. (White box.)
func staleDomainKey(t *testing.T, s *testSys) (start, dom Key, d *Domain) {
	t.Helper()
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	dom = s.native("idle")
	start = m.MustCall(dom, int64(abi.OCDomainMakeStart), Words(0)).Keys[0]
	d = dom.hdr.domain()
	m.MustCall(dom, int64(abi.OCDomainSetHome), Words(0))
	c := m.cores[0]
	if rc := m.sell(c, m.prime, dom); rc != abi.RCOk {
		t.Fatalf("sell: %v", rc)
	}
	c.drainReap()
	if !d.reaped {
		t.Fatal("test set-up: the domain was not reaped")
	}
	return start, dom, d
}

// TestDomainKeyOpOnReapedDomain: a domain key invocation performed after
// the domain was reaped (checked before, performed after, under the
// cluster lock) acts as DK(0)'s. It used to perform the operation on the
// freed slot: MakeStart handed out a start key naming the slot's next
// allocation, a key to whatever domain would be bought there next, and Run
// put the freed slot in the ready queue.
func TestDomainKeyOpOnReapedDomain(t *testing.T) {
	for name, order := range map[string]abi.OC{"MakeStart": abi.OCDomainMakeStart, "Run": abi.OCDomainRun, "GetState": abi.OCDomainGetState} {
		t.Run(name, func(t *testing.T) {
			s := newTestSys(t, Config{Topology: "native", Deterministic: true})
			m := s.m
			_, dom, d := staleDomainKey(t, s)
			c := m.cores[0]
			req := request{order: int64(order), data: make([]byte, 8)}
			var rep reply
			m.perform(c, nil, dom, &req, &rep)
			if rep.rc != 0 || rep.keys[0].live().hdr != nil || len(rep.data) != 0 {
				t.Errorf("rc %d, key %v, %d bytes: want DK(0)'s answer", rep.rc, rep.keys[0].live().kt, len(rep.data))
			}
			if d.state != dsStopped || c.cl.readyHead != nil {
				t.Errorf("the reaped domain is %v; ready queue empty: %v", d.state, c.cl.readyHead == nil)
			}
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestStallOnReapedDomain: a CALL on a start key whose domain was reaped
// after the key was checked gets DK(0)'s answer; it used to stall the
// caller on the freed slot, where nothing would ever wake it (a domain
// bought there later starts with an empty stall queue).
func TestStallOnReapedDomain(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	// Bought first: bought after, it could take the reaped slot, which a
	// real caller's event keeps from reuse until it ends.
	caller := s.native("idle").hdr.domain()
	start, _, dead := staleDomainKey(t, s)
	c := m.cores[0]
	c.cl.lock()
	caller.state, caller.executing = dsExecuting, c
	// A woken staller of the domain, retrying.
	caller.retry, caller.stalledOn = true, dead
	c.cl.unlock()
	inv := invocation{typ: abi.InvCall, key: start, order: 1}
	c.invokeStart(caller, start, &inv)
	if caller.state == dsStalled || dead.stallHead != nil {
		t.Fatal("the caller stalled on a reaped domain")
	}
	if caller.retry || caller.stalledOn != nil {
		t.Fatal("the caller still holds a wake-up from the reaped domain")
	}
	if c.cur != caller {
		t.Fatal("the caller did not get an answer at once")
	}
	c.cur = nil
	c.cl.lock()
	caller.state, caller.executing = dsStopped, nil
	c.cl.unlock()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRemoteStallOnReapedDomain is TestStallOnReapedDomain for a message
// from another cluster: it is answered as DK(0)'s, not parked in the
// reaped domain's stall queue, where nothing would take it out again.
func TestRemoteStallOnReapedDomain(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	sender := s.native("idle")
	m.MustCall(sender, int64(abi.OCDomainSetHome), Words(1))
	snd := sender.hdr.domain()
	start, _, dead := staleDomainKey(t, s)
	// snd's CALL of start is in cluster 0's hands.
	snd.outBusy.Store(true)
	snd.out.kind, snd.out.typ, snd.out.key = mInvoke, abi.InvCall, start
	snd.out.gen = snd.resumeGen.Load()
	m.cores[0].deliverOrPark(snd, dead) // the key looked at before the reap
	if dead.stallHead != nil || snd.parkedOn.Load() != nil {
		t.Fatal("the message was parked on a reaped domain")
	}
	if snd.out.kind != mAck {
		t.Fatalf("the sender's outbox is a %v message, want it answered", snd.out.kind)
	}
}

// TestDestroyKillsAllWhileReaping: destroying a bank kills every domain
// bought from it, even while other cores reap some of them. Once the bank
// is marked dead, another core that runs one of its domains sees it dead,
// kills it and reaps it. Reaping used to clear the domain's bank-list
// links, without the ledger lock, while the destroyer, under the lock, was
// still walking that list to find the domains to kill: the walk ended
// early and the domains after it, idle ones among them, were never killed
// (their keys would live again once the bank's slot was bought again).
// Parallel mode: half the domains spin on one cluster while the other
// destroys their bank.
func TestDestroyKillsAllWhileReaping(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 1000
	}
	s := newTestSys(t, Config{Topology: "native,native", Slice: 1, Memory: 256 << 20})
	m := s.m
	m.RegisterProgram("spin", func(x *Ctx) { x.Fork(0, &Msg{}) })
	m.RegisterProgram("idle", func(x *Ctx) {})
	m.RegisterProgram("destroyer", func(x *Ctx) {
		// First let the other cluster's core get going.
		for range 200_000 {
			x.Call(0, &Msg{})
		}
		x.Call(1, &Msg{Order: int64(abi.OCBankDestroy)})
	})
	bank := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	doms := make([]*Domain, n)
	for i := range doms {
		prog := "idle"
		if i%2 == 0 {
			prog = "spin"
		}
		k, err := m.NewDomain(bank, m.PrimeMeter(), abi.KindNative, prog)
		if err != nil {
			t.Fatal(err)
		}
		m.MustCall(k, int64(abi.OCDomainSetHome), Words(1))
		if prog == "spin" {
			if err := m.RunDomain(k); err != nil {
				t.Fatal(err)
			}
		}
		doms[i] = k.hdr.domain()
	}
	d := s.native("destroyer")
	m.MustCall(d, int64(abi.OCDomainSetHome), Words(0))
	if err := m.SetKeyReg(d, 1, bank); err != nil {
		t.Fatal(err)
	}
	if err := m.RunDomain(d); err != nil {
		t.Fatal(err)
	}
	s.run()
	missed := 0
	for _, x := range doms {
		if !x.killed.Load() {
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("%d of the %d domains of the destroyed bank were not killed", missed, n)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestWithdrawOnlyCancelled: a withdraw request withdraws only a cancelled
// outbox. The outbox it was for may have gone home meanwhile and the
// domain, stopped but not killed, sent a new CALL, which parked where the
// old one was: the request used to withdraw that one too, and the caller
// got an answer (0) its target never sent. (White box.)
func TestWithdrawOnlyCancelled(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	tk := s.native("idle")
	m.MustCall(tk, int64(abi.OCDomainSetHome), Words(0))
	sk := s.native("idle")
	m.MustCall(sk, int64(abi.OCDomainSetHome), Words(1))
	target, snd := tk.hdr.domain(), sk.hdr.domain()
	start := m.MustCall(tk, int64(abi.OCDomainMakeStart), Words(0)).Keys[0]
	c := m.cores[0]
	// snd's new CALL waits in the (stopped) target's stall queue ...
	snd.outBusy.Store(true)
	snd.out.kind, snd.out.typ, snd.out.key = mInvoke, abi.InvCall, start
	snd.out.gen = snd.resumeGen.Load()
	snd.state = dsWaiting
	c.cl.lock()
	c.cl.stallLink(snd, target, false)
	snd.parkedOn.Store(target)
	c.cl.unlock()
	// ... and the request for its earlier, cancelled one is still there.
	snd.withdrawing.Store(true)
	c.cl.withdraw.push(snd)
	c.drainWithdraw()
	if target.stallHead != snd || snd.parkedOn.Load() != target || snd.out.kind != mInvoke {
		t.Fatal("a withdraw request for an earlier message withdrew the new one")
	}
	if snd.withdrawing.Load() {
		t.Fatal("the request is still pending")
	}
}

// panicWriter is a console writer that panics: a host bug, as a kernel
// bug would be.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("console writer broke") }

// TestKernelPanicInNativeCallIsNotTheProgramsPanic: a panic in kernel code
// that a native program's Ctx.Call runs is not taken for the program's
// panic (a trap to its keeper): the kernel may hold locks there (here the
// console's), and the machine would hang at the next use of one. It goes
// on, out of Run.
func TestKernelPanicInNativeCallIsNotTheProgramsPanic(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true, Console: panicWriter{}})
	m := s.m
	m.RegisterProgram("writer", func(x *Ctx) {
		x.Call(1, &Msg{Order: int64(abi.OCConsoleWrite), Data: []byte("hi")})
	})
	d := s.native("writer")
	console, err := m.DeviceKey(abi.KTConsole)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetKeyReg(d, 1, console); err != nil {
		t.Fatal(err)
	}
	if err := m.RunDomain(d); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "console writer broke" {
			t.Fatalf("Run panicked with %v, want the writer's panic", r)
		}
	}()
	m.Run(context.Background())
	t.Fatal("Run returned: the kernel's panic was taken for the program's")
}

// TestSelfStopThenRunInOneEvent: a native domain that stops itself and
// then runs itself, through Ctx.Call, in one event. The stop used to take
// effect at once, though the program was still running on its core: the
// Run then put the domain in the ready queue while it still executed, and
// the event's final invocation was performed for a domain that was also
// queued, so that a second core (or the same one, next) ran it again: it
// could stall twice in one stall queue, or send while its CALL was away.
// A domain's stop of itself now takes effect when its event ends, and the
// Run in the same event finds it still executing.
func TestSelfStopThenRunInOneEvent(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true})
	m := s.m
	var runs int
	var stopRC, runRC int64
	m.RegisterProgram("selfish", func(x *Ctx) {
		runs++
		if runs == 1 {
			stopRC, _ = x.Call(1, &Msg{Order: int64(abi.OCDomainStop)})
			runRC, _ = x.Call(1, &Msg{Order: int64(abi.OCDomainRun)})
		}
		x.Return(0, &Msg{})
	})
	k := s.native("selfish")
	if err := m.SetKeyReg(k, 1, k); err != nil {
		t.Fatal(err)
	}
	if err := m.RunDomain(k); err != nil {
		t.Fatal(err)
	}
	s.run()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || stopRC != 0 || runRC != int64(abi.RCBadState) {
		t.Fatalf("program ran %d times; stop rc %d, run rc %d: want once, 0 and %d", runs, stopRC, runRC, abi.RCBadState)
	}
	if st := s.state(k); st != abi.StateStopped {
		t.Fatalf("the domain is %v after stopping itself, want stopped", st)
	}
}

// TestMoveWhileCalledInSharedCluster: a domain called by several domains
// of a cluster of two cores is moved back and forth between that cluster
// and another while they call it; then the callers are moved too, while
// they wait for its answers. Two bugs it found:
//   - a message to the moved domain reaches its old home and is forwarded
//     back to the new one, which may be the sender's own cluster; parked
//     there in the domain's stall queue, the outbox was taken for a local
//     staller (the two were told apart by the sender's home), and its
//     domain was made ready to retry an invocation it had not stalled on
//     (it ran again with the previous message, and its outbox stayed busy
//     for ever);
//   - a core that found the target homed in its own cluster before taking
//     the cluster's lock went on under the lock, though another core of
//     the cluster may have moved the target away in between.
//
// Deterministic mode under several seeds, and parallel mode (run it under
// -race too).
func TestMoveWhileCalledInSharedCluster(t *testing.T) {
	for _, callers := range []bool{false, true} {
		for seed := range uint64(16) {
			moveWhileCalled(t, Config{Deterministic: true, Seed: seed}, 3, 300, 300, callers)
		}
		for range 4 {
			moveWhileCalled(t, Config{}, 3, 3000, 3000, callers)
		}
	}
}

// moveWhileCalled runs pingers domains of cluster 0 (two cores, unless
// cfg names another topology) making
// calls calls each to one domain, which a mover domain of cluster 0 tries
// to move to cluster 1 and back moves times, and checks every answer.
// With moveCallers, a mover of its own also moves each pinger, which can
// be moved while it waits for an answer.
func moveWhileCalled(t *testing.T, cfg Config, pingers int, calls, moves uint64, moveCallers bool) {
	t.Helper()
	if cfg.Topology == "" {
		cfg.Topology = "native:2,native"
	}
	s := newTestSys(t, cfg)
	m := s.m
	m.RegisterProgram("mover", func(x *Ctx) {
		r := x.Regs()
		if r[0] > 0 && x.Order() == int64(abi.RCOk) {
			r[2]++ // a move done
		}
		if r[0] == r[1] {
			return
		}
		r[0]++
		x.CallGate(krPartner, &Msg{Order: int64(abi.OCDomainSetHome), Data: Words(r[0] % 2)})
	})
	// ping, noting the first wrong answer in regs[3] to regs[5].
	m.RegisterProgram("ping-noting", func(x *Ctx) {
		r := x.Regs()
		if r[0] > 0 {
			if x.Order() == int64(r[0]+1) {
				r[2]++
			} else if r[3] == 0 {
				r[3], r[4], r[5] = r[0], uint64(x.Order()), uint64(x.DataByte())
			}
		}
		if r[0] == r[1] {
			return
		}
		r[0]++
		x.CallGate(krPartner, &Msg{Order: int64(r[0])})
	})
	pong := s.native("pong")
	m.MustCall(pong, int64(abi.OCDomainSetHome), Words(0))
	start, err := m.StartKey(pong, 7)
	if err != nil {
		t.Fatal(err)
	}
	// inCluster0 buys a domain running program in cluster 0, with
	// partner in its partner register and n steps to make.
	inCluster0 := func(program string, partner Key, n uint64) Key {
		d := s.native(program)
		m.MustCall(d, int64(abi.OCDomainSetHome), Words(0))
		if err := m.SetKeyReg(d, int(krPartner), partner); err != nil {
			t.Fatal(err)
		}
		s.setRegs(d, 0, n, 0)
		return d
	}
	var pings []Key
	for range pingers {
		pings = append(pings, inCluster0("ping-noting", start, calls))
	}
	var movers []Key
	for _, target := range append([]Key{pong}, pings...) {
		if len(movers) > 0 && !moveCallers {
			break
		}
		movers = append(movers, inCluster0("mover", target, moves))
	}
	if err := m.MakeAvailable(pong); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(pings, movers...) {
		if err := m.RunDomain(p); err != nil {
			t.Fatal(err)
		}
	}
	mode := fmt.Sprintf("deterministic, seed %d", cfg.Seed)
	if !cfg.Deterministic {
		mode = "parallel"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err = m.Run(ctx)
	cancel()
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	for i, p := range pings {
		if r := s.regs(p); r[0] != calls || r[2] != calls {
			t.Fatalf("%s: pinger %d made %d calls and got %d right answers, want %d; call %d was answered %d (data byte %d)",
				mode, i, r[0], r[2], calls, r[3], int64(r[4]), int64(r[5]))
		}
	}
	// Deterministic runs are checked to move the callee, and the callers
	// if asked (some of them); how many moves a parallel run makes is the
	// host's doing.
	var done [2]uint64
	for i, mover := range movers {
		done[min(i, 1)] += s.regs(mover)[2]
	}
	if cfg.Deterministic && (done[0] == 0 || moveCallers && done[1] == 0) {
		t.Fatalf("%s: moves done: %d of the callee, %d of the callers; the test tests nothing", mode, done[0], done[1])
	}
}
