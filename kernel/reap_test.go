package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

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
	c.cl.unlock()
	inv := invocation{typ: abi.InvCall, key: start, order: 1}
	c.invokeStart(caller, start, &inv)
	if caller.state == dsStalled || dead.stallHead != nil {
		t.Fatal("the caller stalled on a reaped domain")
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
