package system

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/internal/conbuf"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
)

var topologies = []struct {
	name string
	cfg  kernel.Config
}{
	{"deterministic", kernel.Config{Topology: "rv64,native", Deterministic: true, Seed: 7}},
	{"parallel", kernel.Config{Topology: "rv64:2,native"}},
	{"multikernel", kernel.Config{Topology: "2*rv64:1,native:1", Deterministic: true, Seed: 11}},
	{"one core of both kinds", kernel.Config{Topology: "rv64+native", Deterministic: true, Seed: 13}},
	{"mixed smp", kernel.Config{Topology: "rv64+native:2"}},
}

func newSys(t *testing.T, cfg kernel.Config) (*System, *conbuf.Buffer) {
	t.Helper()
	con := &conbuf.Buffer{}
	cfg.Console = con
	cfg.Memory = 256 << 20
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, con
}

func load(t *testing.T, s *System, name string, opt Options) *Proc {
	t.Helper()
	img, ok := images.Get(name)
	if !ok {
		t.Fatalf("no image %q", name)
	}
	p, err := s.Load(name, img, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runSys(t *testing.T, s *System) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.M.Check(); err != nil {
		t.Fatal(err)
	}
}

func wantExit(t *testing.T, p *Proc, status int64) {
	t.Helper()
	got, done := p.Exit()
	if !done {
		st, trap, _ := p.State()
		t.Fatalf("%s did not exit (state %d, trap %d)", p.Name, st, trap)
	}
	if got != status {
		t.Fatalf("%s exited %d, want %d", p.Name, got, status)
	}
}

func TestExamples(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("hello", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				p := load(t, s, "hello", Options{Args: []string{"hello", "one", "two"}})
				p.Start()
				runSys(t, s)
				wantExit(t, p, 0)
				want := "hello from keyfish\nargc=3\nargv[0]=hello\nargv[1]=one\nargv[2]=two\n"
				if con.String() != want {
					t.Fatalf("console:\n%s\nwant:\n%s", con, want)
				}
			})
			t.Run("pingpong", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				pong := load(t, s, "pong", Options{})
				start, _ := s.M.StartKey(pong.Domain, 0)
				ping := load(t, s, "ping", Options{Args: []string{"ping", "500"}, Keys: map[int]kernel.Key{int(abi.KRArg0): start}})
				pong.Start()
				ping.Start()
				runSys(t, s)
				wantExit(t, ping, 0)
				if got := con.String(); got != "ping: 500 round trips ok\n" {
					t.Fatalf("console: %q", got)
				}
			})
			t.Run("pager", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				pager := load(t, s, "pager", Options{})
				start, _ := s.M.StartKey(pager.Domain, 0)
				red := mustCall(t, s.M, s.M.PrimeBank(), abi.OCBankBuyNode, nil).Keys[0]
				mustCall(t, s.M, red, abi.OCNodeSwap, kernel.Words(14), start)
				mustCall(t, s.M, red, abi.OCNodeWriteData, kernel.Words(15, 1|14<<8|14<<16))
				seg := mustCall(t, s.M, red, abi.OCNodeMakeSegment, kernel.Words(1, uint64(abi.FlagRed))).Keys[0]
				test := load(t, s, "pagertest", Options{Keys: map[int]kernel.Key{int(abi.KRArg0): start},
					Mounts: []loader.Mount{{At: 0x2000_0000, Segment: seg}}})
				pager.Start()
				test.Start()
				runSys(t, s)
				wantExit(t, test, 0)
				if got := con.String(); got != "pagertest: 10 pages ok, pager served 10 faults\n" {
					t.Fatalf("console: %q", got)
				}
			})
			t.Run("outgrow", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				p := load(t, s, "outgrow", Options{Limits: []uint64{abi.Unlimited, 100, abi.Unlimited, abi.Unlimited, abi.Unlimited, abi.Unlimited}})
				p.Start()
				runSys(t, s)
				wantExit(t, p, 0)
				if got := con.String(); !strings.HasPrefix(got, "outgrow: bank refused after ") {
					t.Fatalf("console: %q", got)
				}
			})
			t.Run("spinner", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				p := load(t, s, "spinner", Options{Budget: 2_000_000})
				p.Start()
				runSys(t, s)
				st, trap, _ := p.State()
				if st != abi.StateStopped || trap != abi.TrapMeter {
					t.Fatalf("spinner is in state %d with trap %d, want stopped by its meter", st, trap)
				}
				if got := con.String(); got != "spinner: start\n" {
					t.Fatalf("console: %q", got)
				}
			})
			t.Run("compute", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				p := load(t, s, "compute", Options{Args: []string{"compute", "10"}})
				p.Start()
				runSys(t, s)
				wantExit(t, p, 0)
				if got := con.String(); got != "compute: checksum 0x9404766ec14ff640\n" {
					t.Fatalf("console: %q", got)
				}
			})
			t.Run("malloc", func(t *testing.T) {
				s, con := newSys(t, tc.cfg)
				p := load(t, s, "malloc", Options{})
				p.Start()
				runSys(t, s)
				wantExit(t, p, 0)
				if got := con.String(); got != "malloc: ok\n" {
					t.Fatalf("console: %q", got)
				}
				st := s.M.Stats()
				if st.Traps["fault"] == 0 {
					t.Fatal("the heap grew without a fault to the zero keeper")
				}
				if len(s.M.Clusters()) == 1 && st.Messages != 0 {
					// The zero keeper is homed with the program: its
					// faults are served inside the cluster.
					t.Fatalf("%d messages between clusters on one cluster", st.Messages)
				}
			})
		})
	}
}

func mustCall(t *testing.T, m *kernel.Machine, k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) kernel.Reply {
	t.Helper()
	r, err := m.Call(k, int64(order), data, keys...)
	if err != nil || r.RC != 0 {
		t.Fatalf("order %d: %v, return code %d", order, err, r.RC)
	}
	return r
}

// TestMeterUsedExactly runs a spinner under a meter on a two-core cluster,
// where leases on its meter may sit on either core: it must trap only once
// the whole budget is spent.
func TestMeterUsedExactly(t *testing.T) {
	for _, cfg := range []kernel.Config{
		{Topology: "rv64:2,native"},
		{Topology: "rv64:2,native", Deterministic: true, Seed: 3},
	} {
		for range 3 {
			s, _ := newSys(t, cfg)
			const budget = 3_000_000
			p := load(t, s, "spinner", Options{Budget: budget})
			// Something else to keep the other core busy and leasing.
			c := load(t, s, "compute", Options{Args: []string{"compute", "3"}})
			c.Start()
			p.Start()
			runSys(t, s)
			st, trap, _ := p.State()
			if st != abi.StateStopped || trap != abi.TrapMeter {
				t.Fatalf("spinner: state %d trap %d, want stopped by its meter", st, trap)
			}
			r := mustCall(t, s.M, p.Meter, abi.OCMeterRead, nil)
			if rem, used := r.Word(int(abi.MeterInfoRemaining)), r.Word(int(abi.MeterInfoConsumed)); rem != 0 || used != budget {
				t.Fatalf("%s: the spinner's meter trapped with %d ticks left, %d used of %d", cfg.Topology, rem, used, budget)
			}
		}
	}
}
