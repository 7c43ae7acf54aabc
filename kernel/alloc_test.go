package kernel

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestNativeRoundTripAllocatesNothing asserts that a native CALL+RETURN
// between two domains allocates nothing: in one cluster by the invocation
// fast path (fastInvoke) and by the general path, and between clusters.
func TestNativeRoundTripAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		topo    string
		general bool
	}{{"native", false}, {"native", true}, {"native,native", false}} {
		topo := tc.topo
		if tc.general {
			topo += " (general path)"
		}
		t.Run(topo, func(t *testing.T) {
			s := newTestSys(t, Config{Topology: tc.topo, Deterministic: true, Seed: 1, GeneralPath: tc.general})
			ping, _ := s.pingPong(0)
			s.run()
			d := ping.hdr.domain()
			const rounds = 1000
			allocs := testing.AllocsPerRun(20, func() {
				// Let ping make another round of calls: raise its target
				// and make it ready, without host calls (they allocate).
				d.cpu.nat.r[1] += rounds
				d.cpu.nat.order = 0 // not a reply
				d.home.Load().pushReady(d)
				if err := s.m.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
			if got := d.cpu.nat.r[2]; got != 21*rounds {
				t.Fatalf("ping made %d good calls, want %d", got, 21*rounds)
			}
			if allocs != 0 {
				t.Fatalf("%v allocations per %d round trips, want 0", allocs, rounds)
			}
		})
	}
}

// TestNativeKernelCallAllocatesNothing: a native program's kernel calls
// with a string in a buffer on its own stack (here a page write and read)
// allocate nothing: Ctx.Call copies the string, so the buffer does not
// escape.
func TestNativeKernelCallAllocatesNothing(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true, Seed: 1})
	page := s.m.MustCall(s.m.PrimeBank(), int64(abi.OCBankBuyPage), nil).Keys[0]
	const rounds = 100
	var sum uint64
	s.m.RegisterProgram("page-user", func(x *Ctx) {
		for i := range rounds {
			var buf [16]byte
			binary.LittleEndian.PutUint64(buf[:], 8)
			binary.LittleEndian.PutUint64(buf[8:], uint64(i))
			x.Call(1, &Msg{Order: int64(abi.OCPageWrite), Data: buf[:]})
			binary.LittleEndian.PutUint64(buf[:], 8)
			binary.LittleEndian.PutUint64(buf[8:], 8)
			if _, data := x.Call(1, &Msg{Order: int64(abi.OCPageRead), Data: buf[:]}); len(data) == 8 {
				sum += binary.LittleEndian.Uint64(data)
			}
		}
	})
	dom, err := s.m.NewDomain(s.m.PrimeBank(), s.m.PrimeMeter(), abi.KindNative, "page-user")
	if err != nil {
		t.Fatal(err)
	}
	s.m.SetKeyReg(dom, 1, page)
	d := dom.hdr.domain()
	allocs := testing.AllocsPerRun(20, func() {
		d.home.Load().pushReady(d)
		if err := s.m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	if want := uint64(21 * rounds * (rounds - 1) / 2); sum != want {
		t.Fatalf("read back a sum of %d, want %d", sum, want)
	}
	if allocs != 0 {
		t.Fatalf("%v allocations per %d kernel calls, want 0", allocs, 2*rounds)
	}
}

// TestManyDomainsNoGoroutines creates 100,000 available native domains and
// shows that the goroutine count does not grow: a waiting domain is a
// record, not a goroutine.
func TestManyDomainsNoGoroutines(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	s := newTestSys(t, Config{Topology: "native:2", Memory: 2 << 30})
	before := runtime.NumGoroutine()
	bank, meter := s.m.PrimeBank(), s.m.PrimeMeter()
	id, _ := s.m.ProgramID("pong")
	for i := 0; i < n; i++ {
		r := s.m.MustCall(bank, int64(abi.OCBankBuyDomain), Words(uint64(abi.KindNative)))
		dom := r.Keys[0]
		s.m.MustCall(dom, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotMeter)), meter)
		s.m.MustCall(dom, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotSpace)), DK(id))
		s.m.MustCall(dom, int64(abi.OCDomainMakeAvailable), nil)
	}
	// Running the machine (two cores) must settle back to no extra goroutines.
	s.run()
	runtime.GC()
	after := runtime.NumGoroutine()
	if after > before {
		t.Fatalf("goroutines grew from %d to %d with %d available domains", before, after, n)
	}
	led := s.m.MustCall(bank, int64(abi.OCBankGetLedger), nil)
	if got := led.Word(int(abi.LedgerUsedDomains)); got != uint64(n) {
		t.Fatalf("ledger counts %d domains, want %d", got, n)
	}
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}
