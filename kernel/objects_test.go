package kernel

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// Table-driven tests of kernel objects as a domain sees them: each case
// runs a native program that performs calls and records what it got.

type step struct {
	rc   int64
	data []byte
	kt   abi.KT // type of the key that landed in register 14
}

// script runs prog as a native domain holding keys in registers 1.., lets
// the machine settle and returns the recorded steps.
func script(t *testing.T, cfg Config, keys []Key, prog func(x *Ctx, rec func(rc int64, data []byte))) (*Machine, []step) {
	t.Helper()
	if cfg.Topology == "" {
		cfg = Config{Topology: "native", Deterministic: true}
	}
	if cfg.Memory == 0 {
		cfg.Memory = 16 << 20
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []step
	runScript(t, m, keys, func(x *Ctx) {
		prog(x, func(rc int64, data []byte) {
			got = append(got, step{rc: rc, data: append([]byte(nil), data...), kt: x.KeyType(14)})
		})
	})
	return m, got
}

// runScript runs p once as a native domain of m whose key register i+1
// holds keys[i], and checks m's invariants afterwards.
func runScript(t *testing.T, m *Machine, keys []Key, p Program) {
	t.Helper()
	m.RegisterProgram("script", p)
	d, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "script")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		m.SetKeyReg(d, i+1, k)
	}
	m.RunDomain(d)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

func dev(m *Machine, kt abi.KT) Key { k, _ := m.DeviceKey(kt); return k }

func TestDiscrimAndKeybits(t *testing.T) {
	m0, _ := New(Config{Topology: "native", Deterministic: true})
	page := m0.MustCall(m0.PrimeBank(), int64(abi.OCBankBuyPage), nil).Keys[0]
	node := m0.MustCall(m0.PrimeBank(), int64(abi.OCBankBuyNode), nil).Keys[0]
	_ = node
	tests := []struct {
		name  string
		key   Key
		class abi.Discrim
		kt    abi.KT
	}{
		{"data", DK(7), abi.DiscrimData, abi.KTData},
		{"page", page, abi.DiscrimMemory, abi.KTPage},
		{"console", dev(m0, abi.KTConsole), abi.DiscrimOther, abi.KTConsole},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := m0.Call(dev(m0, abi.KTDiscrim), int64(abi.OCDiscrimClassify), nil, tc.key)
			if abi.Discrim(r.RC) != tc.class {
				t.Fatalf("class %d, want %d", r.RC, tc.class)
			}
			kb := m0.MustCall(dev(m0, abi.KTKeybits), int64(abi.OCKeybits), nil, tc.key)
			if abi.KT(kb.Word(int(abi.KeybitsType))) != tc.kt {
				t.Fatalf("keybits type %d, want %d", kb.Word(0), tc.kt)
			}
		})
	}
	// A sold page's key reads as DK(0) to discrim and keybits alike.
	m0.MustCall(m0.PrimeBank(), int64(abi.OCBankSell), nil, page)
	r, _ := m0.Call(dev(m0, abi.KTDiscrim), int64(abi.OCDiscrimClassify), nil, page)
	if abi.Discrim(r.RC) != abi.DiscrimData || r.Word(0) != 0 {
		t.Fatalf("a sold page's key classifies as %d (%d), want DK(0)", r.RC, r.Word(0))
	}
	if r, _ := m0.Call(dev(m0, abi.KTDiscrim), int64(abi.OCDiscrimCompare), nil, DK(3), DK(3)); r.RC != 1 {
		t.Fatal("DK(3) and DK(3) compare different")
	}
	if r, _ := m0.Call(dev(m0, abi.KTDiscrim), int64(abi.OCDiscrimCompare), nil, DK(3), DK(4)); r.RC != 0 {
		t.Fatal("DK(3) and DK(4) compare equal")
	}
}

// TestReturner: a FORK to the returner with a resume key as the fourth key
// answers the caller while the server keeps running.
func TestReturner(t *testing.T) {
	m, err := New(Config{Topology: "native", Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	m.RegisterProgram("server", func(x *Ctx) {
		r := x.Regs()
		switch r[0] {
		case 0: // a call: answer through the returner, keep going
			r[0] = 1
			order = append(order, "server answers")
			x.Fork(1, &Msg{Order: 77, Keys: [4]uint8{0, 0, 0, 15}})
		case 1:
			order = append(order, "server continues")
			r[0] = 2
		}
	})
	m.RegisterProgram("caller", func(x *Ctx) {
		if x.Regs()[0] == 0 {
			x.Regs()[0] = 1
			x.CallGate(1, &Msg{Order: 5})
			return
		}
		order = append(order, "caller got "+string(rune('0'+x.Order()/10))+string(rune('0'+x.Order()%10)))
	})
	srv, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "server")
	cl, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "caller")
	m.SetKeyReg(srv, 1, dev(m, abi.KTReturner))
	m.SetKeyReg(cl, 1, mustStart(m, srv, 0))
	m.MakeAvailable(srv)
	m.RunDomain(cl)
	m.Run(context.Background())
	want := []string{"server answers", "caller got 77", "server continues"}
	if len(order) != 3 || order[0] != want[0] || !(order[1] == want[1] || order[2] == want[1]) {
		t.Fatalf("events %v, want %v (caller and server in either order)", order, want)
	}
}

func TestClockWait(t *testing.T) {
	var woke int64
	_, got := script(t, Config{}, []Key{dev(&Machine{}, abi.KTClock)}, func(x *Ctx, rec func(int64, []byte)) {
		r := x.Regs()
		switch r[0] {
		case 0:
			r[0] = 1
			_, now := x.Call(1, &Msg{Order: int64(abi.OCClockRead)})
			r[1] = binary.LittleEndian.Uint64(now)
			// A synchronous wait cannot be answered in the event.
			rc, _ := x.Call(1, &Msg{Order: int64(abi.OCClockWaitUntil), Data: Words(r[1] + 1e6)})
			rec(rc, nil)
			x.CallGate(1, &Msg{Order: int64(abi.OCClockWaitUntil), Data: Words(r[1] + 1e6)})
		case 1:
			r[0] = 2
			_, now := x.Call(1, &Msg{Order: int64(abi.OCClockRead)})
			woke = int64(binary.LittleEndian.Uint64(now))
			rec(x.Order(), nil)
		}
	})
	if len(got) != 2 || got[0].rc != int64(abi.RCWouldWait) || got[1].rc != 0 {
		t.Fatalf("got %+v", got)
	}
	if woke < 1e6 {
		t.Fatalf("woke at %d, before the deadline 1e6", woke)
	}
}

// TestMeterKeeper: a domain whose meter runs out traps to the meter's
// keeper, which refills the meter and restarts it.
func TestMeterKeeper(t *testing.T) {
	for _, topo := range []string{"native", "native:2,native"} {
		m, err := New(Config{Topology: topo, Deterministic: true, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		var work, refills int
		m.RegisterProgram("worker", func(x *Ctx) {
			if work++; work < 200 {
				x.Fork(0, &Msg{})
			}
		})
		m.RegisterProgram("keeper", func(x *Ctx) {
			if x.Order() != int64(abi.TrapMeter) {
				return
			}
			refills++
			// key 0 (register 12): the exhausted meter; 15: restart key.
			if rc, _ := x.Call(12, &Msg{Order: int64(abi.OCMeterSetBudget), Data: Words(1000)}); rc != 0 {
				panic(rc)
			}
			x.Return(15, &Msg{})
		})
		meter := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyMeter), Words(1000), m.PrimeMeter()).Keys[0]
		keeper, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "keeper")
		m.MakeAvailable(keeper)
		m.MustCall(meter, int64(abi.OCMeterSetKeeper), nil, mustStart(m, keeper, 0))
		worker, _ := m.NewDomain(m.PrimeBank(), meter, abi.KindNative, "worker")
		m.RunDomain(worker)
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if work != 200 {
			t.Fatalf("%s: the worker did %d of 200 steps", topo, work)
		}
		// 200 events at 100 ticks each against budgets of 1000: the keeper
		// refilled about 19 times.
		if refills < 15 {
			t.Fatalf("%s: the keeper refilled %d times", topo, refills)
		}
		r := m.MustCall(meter, int64(abi.OCMeterRead), nil)
		if c := r.Word(int(abi.MeterInfoConsumed)); c != 200*detNativeTicks {
			t.Fatalf("%s: meter consumed %d ticks, want %d", topo, c, 200*detNativeTicks)
		}
	}
}

// TestDomainKeyOperations exercises domain keys across clusters: the
// operations on a domain homed elsewhere travel to its home.
func TestDomainKeyOperations(t *testing.T) {
	for _, topo := range []string{"native", "native,native"} {
		t.Run(topo, func(t *testing.T) {
			m, err := New(Config{Topology: topo, Deterministic: true, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m.RegisterProgram("idle", func(x *Ctx) {})
			var got []int64
			var regs []byte
			m.RegisterProgram("admin", func(x *Ctx) {
				r := x.Regs()
				if r[0] > 0 {
					got = append(got, x.Order())
					if r[0] == 2 {
						regs = append([]byte(nil), x.Data()...)
					}
				}
				ops := []Msg{
					{Order: int64(abi.OCDomainSetRegs), Data: Words(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)},
					{Order: int64(abi.OCDomainGetRegs)},
					{Order: int64(abi.OCDomainSetKeyReg), Data: Words(9), Keys: [4]uint8{2}},
					{Order: int64(abi.OCDomainMakeRestart)}, // not waiting: refused
					{Order: int64(abi.OCDomainGetSlot), Data: Words(99)},
					{Order: int64(abi.OCDomainStop)},
					{Order: int64(abi.OCDomainMakeAvailable)},
					{Order: int64(abi.OCDomainSetHome), Data: Words(0)},
				}
				if int(r[0]) < len(ops) {
					op := ops[r[0]]
					r[0]++
					x.CallGate(1, &op)
				}
			})
			target, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "idle")
			admin, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "admin")
			m.SetKeyReg(admin, 1, target)
			m.SetKeyReg(admin, 2, DK(1234))
			m.MakeAvailable(target)
			m.RunDomain(admin)
			if err := m.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := []int64{0, 0, 0, int64(abi.RCBadState), int64(abi.RCRange), 0, 0, 0}
			if len(got) != len(want) {
				t.Fatalf("results %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("operation %d returned %d, want %d (all: %v)", i, got[i], want[i], got)
				}
			}
			if len(regs) != 128 || binary.LittleEndian.Uint64(regs[15*8:]) != 16 {
				t.Fatalf("read back registers %v", regs)
			}
			if k := target.hdr.domain().keys[9]; k.kt != 0 || k.val != 1234 {
				t.Fatalf("key register 9 holds %v, want DK(1234)", k)
			}
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCalleeDestroyed: destroying the bank of a domain that holds a
// caller's resume key answers the caller with RCCalleeDestroyed.
func TestCalleeDestroyed(t *testing.T) {
	for _, topo := range []string{"native", "native,native"} {
		m, err := New(Config{Topology: topo, Deterministic: true, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		m.RegisterProgram("hold", func(x *Ctx) {}) // keeps the resume key in 15
		var answer int64 = 1
		m.RegisterProgram("caller", func(x *Ctx) {
			if x.Regs()[0] == 0 {
				x.Regs()[0] = 1
				x.CallGate(1, &Msg{})
				return
			}
			answer = x.Order()
		})
		sub := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
		hold, _ := m.NewDomain(sub, m.PrimeMeter(), abi.KindNative, "hold")
		m.MakeAvailable(hold)
		caller, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "caller")
		m.SetKeyReg(caller, 1, mustStart(m, hold, 0))
		m.RunDomain(caller)
		m.Run(context.Background())
		if st := caller.hdr.domain().external(); st != abi.StateWaiting {
			t.Fatalf("%s: caller is %d before the destruction, want waiting", topo, st)
		}
		m.MustCall(sub, int64(abi.OCBankDestroy), nil)
		m.Run(context.Background())
		if answer != int64(abi.RCCalleeDestroyed) {
			t.Fatalf("%s: the caller got %d, want RCCalleeDestroyed", topo, answer)
		}
		if err := m.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoCall: a no-call key hides the segment keeper below it, so the
// fault goes to the domain keeper instead.
func TestNoCall(t *testing.T) {
	for _, nocall := range []bool{false, true} {
		m, err := New(Config{Topology: "rv64,native", Deterministic: true})
		if err != nil {
			t.Fatal(err)
		}
		var segFaults, domFaults int
		m.RegisterProgram("segkeeper", func(x *Ctx) {
			if x.Order() == int64(abi.TrapFault) {
				segFaults++
				x.Return(15, &Msg{Order: 1}) // decline: on to the domain keeper
			}
		})
		m.RegisterProgram("domkeeper", func(x *Ctx) {
			if x.Order() == int64(abi.TrapFault) {
				domFaults++
				x.Return(15, &Msg{Order: 1}) // decline: the domain stops
			}
		})
		sk, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "segkeeper")
		dk, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "domkeeper")
		m.MakeAvailable(sk)
		m.MakeAvailable(dk)
		buy := func(o abi.OC) Key { return m.MustCall(m.PrimeBank(), int64(o), nil).Keys[0] }
		code, root, red := buy(abi.OCBankBuyPage), buy(abi.OCBankBuyNode), buy(abi.OCBankBuyNode)
		m.MustCall(code, int64(abi.OCPageWrite), append(Words(0), rvProgram(rvLui(6, 0x10), rvLd(5, 6, 0))...)) // ld from 0x10000
		m.MustCall(red, int64(abi.OCNodeSwap), Words(14), mustStart(m, sk, 0))
		m.MustCall(red, int64(abi.OCNodeWriteData), Words(15, 1|14<<8|14<<16))
		flags := uint64(abi.FlagRed)
		if nocall {
			flags |= uint64(abi.FlagNoCall)
		}
		redSeg := m.MustCall(red, int64(abi.OCNodeMakeSegment), Words(1, flags)).Keys[0]
		m.MustCall(root, int64(abi.OCNodeSwap), Words(0), code)
		m.MustCall(root, int64(abi.OCNodeSwap), Words(1), redSeg) // 0x10000..0x1ffff
		space := m.MustCall(root, int64(abi.OCNodeMakeSegment), Words(2, 0)).Keys[0]
		d := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyDomain), Words(uint64(abi.KindRV64))).Keys[0]
		m.MustCall(d, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotMeter)), m.PrimeMeter())
		m.MustCall(d, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotSpace)), space)
		m.MustCall(d, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotKeeper)), mustStart(m, dk, 0))
		m.RunDomain(d)
		m.Run(context.Background())
		wantSeg := 1
		if nocall {
			wantSeg = 0
		}
		if segFaults != wantSeg || domFaults != 1 {
			t.Fatalf("nocall=%v: segment keeper got %d faults, domain keeper %d; want %d and 1", nocall, segFaults, domFaults, wantSeg)
		}
		st := m.MustCall(d, int64(abi.OCDomainGetState), nil)
		if abi.State(st.Word(0)) != abi.StateStopped || st.Word(int(abi.DomainStateAddr)) != 0x10000 {
			t.Fatalf("nocall=%v: domain state %v", nocall, st.Data)
		}
	}
}

// TestDeferredOperation: a domain key operation on a domain executing on
// another core of the cluster waits until it stops, then completes.
func TestDeferredOperation(t *testing.T) {
	m, err := New(Config{Topology: "native:2", Deterministic: true, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterProgram("busy", func(x *Ctx) {
		if x.Regs()[0]++; x.Regs()[0] < 500 {
			x.Fork(0, &Msg{})
		}
	})
	var got []int64
	m.RegisterProgram("admin", func(x *Ctx) {
		r := x.Regs()
		if r[0] > 0 {
			got = append(got, x.Order())
		}
		if r[0]++; r[0] <= 50 {
			x.CallGate(1, &Msg{Order: int64(abi.OCDomainGetRegs)})
		}
	})
	busy, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "busy")
	admin, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "admin")
	m.SetKeyReg(admin, 1, busy)
	m.RunDomain(busy)
	m.RunDomain(admin)
	m.Run(context.Background())
	if len(got) != 50 {
		t.Fatalf("%d of 50 operations answered", len(got))
	}
	for _, rc := range got {
		if rc != 0 {
			t.Fatalf("an operation returned %d", rc)
		}
	}
	if n := busy.hdr.domain().cpu.nat.r[0]; n != 500 {
		t.Fatalf("the busy domain did %d of 500 steps", n)
	}
}

// TestSameKeyIsDiscrimCompare: Ctx.SameKey answers what a discrim key's
// compare answers, for every pair of a set of keys that includes a void key,
// DK(0), a weakened key and two keys to different objects.
func TestSameKeyIsDiscrimCompare(t *testing.T) {
	m, err := New(Config{Topology: "native", Deterministic: true, Memory: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	buy := func(oc abi.OC) Key { return m.MustCall(m.PrimeBank(), int64(oc), nil).Keys[0] }
	page, other, sold := buy(abi.OCBankBuyPage), buy(abi.OCBankBuyPage), buy(abi.OCBankBuyPage)
	ro := m.MustCall(page, int64(abi.OCPageWeaken), nil).Keys[0]
	m.MustCall(m.PrimeBank(), int64(abi.OCBankSell), nil, sold)
	// Key register i+1 holds keys[i]; the last is the discrim.
	keys := []Key{page, page, ro, other, sold, DK(0), DK(5), dev(m, abi.KTDiscrim)}
	var got, want []bool
	runScript(t, m, keys, func(x *Ctx) {
		n := uint8(len(keys))
		for a := uint8(1); a <= n; a++ {
			for b := uint8(1); b <= n; b++ {
				rc, _ := x.Call(n, &Msg{Order: int64(abi.OCDiscrimCompare), Keys: [4]uint8{a, b}})
				want = append(want, rc == 1)
				got = append(got, x.SameKey(a, b))
			}
		}
	})
	if len(got) != len(keys)*len(keys) {
		t.Fatalf("%d comparisons, want %d", len(got), len(keys)*len(keys))
	}
	equal := 0
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("keys %d and %d: SameKey %v, discrim compare %v", i/len(keys)+1, i%len(keys)+1, got[i], want[i])
		}
		if got[i] {
			equal++
		}
	}
	// page and its copy (4 ordered pairs), the sold page's key and DK(0)
	// (4), and each of the other four keys with itself.
	if equal != 12 {
		t.Errorf("%d equal pairs, want 12", equal)
	}
}
