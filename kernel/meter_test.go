package kernel

import (
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// newTestMeters buys a chain of meters under the prime meter, top first,
// with the given budgets.
func newTestMeters(t *testing.T, budgets ...int64) []*Meter {
	s := newTestSys(t, Config{Topology: "native"})
	ms := make([]*Meter, len(budgets))
	sup := s.m.primeMeter
	for i, b := range budgets {
		k, rc := s.m.buyMeter(s.m.prime, sup, b)
		if rc != abi.RCOk {
			t.Fatalf("buying meter %d: %d", i, rc)
		}
		ms[i] = k.hdr.meter()
		sup = ms[i]
	}
	return ms
}

// TestMeterLeaseArithmetic drives reserve, settle and setBudget by hand
// and checks remaining, leased and consumed at every level after each step.
func TestMeterLeaseArithmetic(t *testing.T) {
	type want struct{ rem, leased int64 }
	tests := []struct {
		name    string
		budgets []int64
		run     func(ms []*Meter) // acts on the innermost meter
		want    []want            // top first
	}{
		{"reserve less than the budget", []int64{1000, 500},
			func(ms []*Meter) { ms[1].reserve(200) },
			[]want{{800, 200}, {300, 200}}},
		{"reserve capped by the superior", []int64{100, 500},
			func(ms []*Meter) { ms[1].reserve(300) },
			[]want{{0, 100}, {400, 100}}},
		{"reserve capped by the meter", []int64{1000, 50},
			func(ms []*Meter) { ms[1].reserve(300) },
			[]want{{950, 50}, {0, 50}}},
		{"settle refunds what was not used", []int64{1000, 500},
			func(ms []*Meter) {
				got, _ := ms[1].reserve(200)
				ms[1].settle(got-70, 70, got)
			},
			[]want{{930, 0}, {430, 0}}},
		{"a new budget counts leased ticks as spent", []int64{1000, 500},
			func(ms []*Meter) {
				got, _ := ms[1].reserve(200)
				ms[1].setBudget(100)
				// The lease used 70 ticks (before or after the change,
				// the meter cannot tell) and gives back the rest.
				ms[1].settle(got-70, 70, got)
			},
			[]want{{930, 0}, {30, 0}}},
		{"a new budget above leased ticks", []int64{1_000_000, 500},
			func(ms []*Meter) {
				got, _ := ms[1].reserve(500)
				ms[1].setBudget(100_000)
				ms[1].settle(got, 0, got) // nothing used
			},
			[]want{{1_000_000, 0}, {100_000, 0}}},
		{"a superior's new budget", []int64{1000, 500},
			func(ms []*Meter) {
				got, _ := ms[1].reserve(400)
				ms[0].setBudget(100)
				ms[1].settle(got-50, 50, got)
			},
			[]want{{50, 0}, {450, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := newTestMeters(t, tt.budgets...)
			tt.run(ms)
			for i, w := range tt.want {
				if r, l := ms[i].remaining.Load(), ms[i].leased.Load(); r != w.rem || l != w.leased {
					t.Errorf("meter %d: remaining %d leased %d, want %d and %d", i, r, l, w.rem, w.leased)
				}
			}
		})
	}
}

// TestNativeRunTimeCharged checks that a native domain is charged for its
// run time when every one of its events follows an idle spell of its core:
// a server alone in its cluster, called from another cluster, spending
// spin of real time on each call.
func TestNativeRunTimeCharged(t *testing.T) {
	const calls, spin = 40, 200 * time.Microsecond
	s := newTestSys(t, Config{Topology: "native,native"})
	s.m.RegisterProgram("slow", func(x *Ctx) {
		for t0 := time.Now(); time.Since(t0) < spin; {
		}
		pongProgram(x)
	})
	mk, rc := s.m.buyMeter(s.m.prime, s.m.primeMeter, 1<<40)
	if rc != abi.RCOk {
		t.Fatalf("buying a meter: %d", rc)
	}
	server, err := s.m.NewDomain(s.m.PrimeBank(), mk, abi.KindNative, "slow")
	if err != nil {
		t.Fatal(err)
	}
	s.m.MustCall(server, int64(abi.OCDomainSetHome), Words(1))
	ping := s.native("ping")
	s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(0))
	start, err := s.m.StartKey(server, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.m.SetKeyReg(ping, int(krPartner), start); err != nil {
		t.Fatal(err)
	}
	s.setRegs(ping, 0, calls, 0)
	if err := s.m.MakeAvailable(server); err != nil {
		t.Fatal(err)
	}
	if err := s.m.RunDomain(ping); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	s.run()
	wall := time.Since(t0)
	if got := s.regs(ping)[2]; got != calls {
		t.Fatalf("%d good replies, want %d", got, calls)
	}
	used := s.m.MustCall(mk, int64(abi.OCMeterRead), nil).Word(int(abi.MeterInfoConsumed))
	if min := uint64(calls * spin); used < min {
		t.Errorf("the server's meter consumed %d ticks, want at least %d (%d calls of %v)", used, min, calls, spin)
	}
	if used > uint64(wall) {
		t.Errorf("the server's meter consumed %d ticks in a run of %v: idle time charged", used, wall)
	}
}
