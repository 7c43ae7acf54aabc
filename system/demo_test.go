package system

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
)

// runDemo loads the demo into s, starts it and runs it to rest, checking
// the invariants; it returns the demo's programs.
func runDemo(t *testing.T, s *System, opt DemoOptions) []*DemoProgram {
	t.Helper()
	progs, err := s.LoadDemo(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := StartAll(progs); err != nil {
		t.Fatal(err)
	}
	runSys(t, s)
	return progs
}

func TestDemo(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.cfg.Deterministic {
				// TestExamples runs every program in these modes already;
				// -short (the race detector's run) keeps the parallel one.
				t.Skip("-short: parallel mode only")
			}
			s, con := newSys(t, tc.cfg)
			progs := runDemo(t, s, DemoOptions{Computes: 3, ComputeRounds: 5, PingRounds: 100, SpinBudget: 500_000})
			names := map[string]bool{}
			for _, p := range progs {
				names[p.Name] = true
				o, err := p.Outcome()
				if err != nil {
					t.Fatal(err)
				}
				if !p.OK(o) {
					t.Errorf("%s: %s, want %s", p.Name, o, p.Want)
				}
			}
			for _, n := range []string{"hello", "pong", "ping", "pager", "pagertest", "outgrow", "spinner", "compute1", "compute3", "malloc"} {
				if !names[n] {
					t.Errorf("the demo has no %s", n)
				}
			}
			for _, line := range []string{
				"hello from keyfish\n", "ping: 100 round trips ok\n", "pagertest: 10 pages ok, pager served 10 faults\n",
				"outgrow: bank refused after ", "spinner: start\n", "malloc: ok\n",
			} {
				if !strings.Contains(con.String(), line) {
					t.Errorf("the console lacks %q:\n%s", line, con)
				}
			}
			if n := strings.Count(con.String(), "compute: checksum "); n != 3 {
				t.Errorf("%d compute checksums, want 3", n)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	s, _ := newSys(t, topologies[0].cfg)
	hello := load(t, s, "hello", Options{})
	spinner := load(t, s, "spinner", Options{Budget: 100_000})
	pong := load(t, s, "pong", Options{})
	idle := load(t, s, "hello", Options{})
	for _, p := range []*Proc{hello, spinner, pong} {
		p.Start()
	}
	runSys(t, s)
	for _, tc := range []struct {
		p    *Proc
		want string
	}{
		{hello, "exited with status 0"},
		{spinner, "stopped by a meter trap at pc 0x"},
		{pong, "available"},
		{idle, "stopped"},
	} {
		o, err := tc.p.Outcome()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(o.String(), tc.want) {
			t.Errorf("%s: %q, want %q", tc.p.Name, o, tc.want)
		}
	}
	// A program whose bank is destroyed is gone.
	mustCall(t, s.M, hello.Bank, abi.OCBankDestroy, nil)
	if o, _ := hello.Outcome(); o.String() != "exited with status 0" {
		t.Errorf("after its bank was destroyed: %q", o)
	}
	if o, _ := spinner.Outcome(); o.State != abi.StateStopped {
		t.Errorf("spinner: %q", o)
	}
}

// TestLoadGivesBackOnFailure loads a program into a bank too small for it:
// the error says so, and everything bought for it is given back.
func TestLoadGivesBackOnFailure(t *testing.T) {
	s, _ := newSys(t, topologies[0].cfg)
	before := mustCall(t, s.M, s.M.PrimeBank(), abi.OCBankGetLedger, nil).Data
	img, _ := images.Get("hello")
	u := abi.Unlimited
	_, err := s.Load("hello", img, Options{Limits: []uint64{u, 2, u, u, u, u}})
	if !errors.Is(err, loader.ErrNoSpace) {
		t.Fatalf("got %v, want %v", err, loader.ErrNoSpace)
	}
	after := mustCall(t, s.M, s.M.PrimeBank(), abi.OCBankGetLedger, nil).Data
	if string(before) != string(after) {
		t.Fatalf("the prime bank's ledger changed:\n%v\n%v", before, after)
	}
	if err := s.M.Check(); err != nil {
		t.Fatal(err)
	}
	if len(s.Procs()) != 0 {
		t.Fatalf("%d programs listed after a failed load", len(s.Procs()))
	}
}

// TestProgramsGetTheCreator checks the standard key registers Load sets.
func TestProgramsGetTheCreator(t *testing.T) {
	s, _ := newSys(t, topologies[0].cfg)
	p := load(t, s, "hello", Options{})
	disc, _ := s.M.DeviceKey(abi.KTDiscrim)
	for reg, want := range map[abi.KR]kernel.Key{
		abi.KRConsole: s.Console, abi.KRBank: p.ProgramBank, abi.KRMeter: p.ProgramMeter, abi.KRSelf: p.Domain,
		abi.KRClock: s.Clock, abi.KRCreator: s.Creator,
	} {
		got := mustCall(t, s.M, p.Domain, abi.OCDomainGetKeyReg, kernel.Words(uint64(reg))).Keys[0]
		if r, _ := s.M.Call(disc, int64(abi.OCDiscrimCompare), nil, got, want); r.RC != 1 {
			t.Errorf("key register %d holds %v, want %v", reg, got, want)
		}
	}
	if s.ObjectID(p.Domain) == 0 || s.ObjectID(kernel.DK(5)) != 0 {
		t.Errorf("ObjectID: %d for a domain, %d for a data key", s.ObjectID(p.Domain), s.ObjectID(kernel.DK(5)))
	}
}

// TestProgramCannotLiftItsLimits: a program holds full keys to its own bank
// and meter, and may set their limits and budget as it likes; the limits
// and budget its launcher gave stay in force, on the bank and meter above.
func TestProgramCannotLiftItsLimits(t *testing.T) {
	s, _ := newSys(t, topologies[0].cfg)
	u := abi.Unlimited
	p := load(t, s, "spinner", Options{Limits: []uint64{u, 20, u, u, u, u}, Budget: 50_000})
	// What the program could do with the keys it holds.
	mustCall(t, s.M, p.ProgramBank, abi.OCBankSetLimits, kernel.Words(u, u, u, u, u, u))
	mustCall(t, s.M, p.ProgramMeter, abi.OCMeterSetBudget, kernel.Words(1<<62))
	bought := 0
	for range 100 {
		if r, _ := s.M.Call(p.ProgramBank, int64(abi.OCBankBuyPage), nil); r.RC != 0 {
			break
		}
		bought++
	}
	if used := mustCall(t, s.M, p.Bank, abi.OCBankGetLedger, nil).Word(int(abi.LedgerUsedPages)); used > 20 || bought == 0 {
		t.Fatalf("the program's bank holds %d pages (bought %d more), over its launcher's limit of 20", used, bought)
	}
	p.Start()
	runSys(t, s)
	if st, trap, _ := p.State(); st != abi.StateStopped || trap != abi.TrapMeter {
		t.Fatalf("spinner: state %d trap %d, want stopped by its launcher's meter", st, trap)
	}
	if used := mustCall(t, s.M, p.Meter, abi.OCMeterRead, nil).Word(int(abi.MeterInfoConsumed)); used != 50_000 {
		t.Fatalf("the launcher's meter counts %d ticks, want the budget of 50000", used)
	}
	if err := s.M.Check(); err != nil {
		t.Fatal(err)
	}
}
