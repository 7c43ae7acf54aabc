package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestQueuePeaks floods one domain with CALLs from many domains in another
// cluster and checks the queue high-water marks Stats reports: the inbox
// and a stall queue were used, and neither held more entries than there
// are senders (a domain has at most one message outstanding).
func TestQueuePeaks(t *testing.T) {
	const senders, calls = 8, 50
	sawStall := false
	for seed := uint64(1); seed <= 10; seed++ {
		s := newTestSys(t, Config{Topology: "native,native", Deterministic: true, Seed: seed})
		pong := s.native("pong")
		s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(0))
		start, err := s.m.StartKey(pong, 7)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.m.MakeAvailable(pong); err != nil {
			t.Fatal(err)
		}
		var pings []Key
		for range senders {
			p := s.native("ping")
			s.m.MustCall(p, int64(abi.OCDomainSetHome), Words(1))
			if err := s.m.SetKeyReg(p, int(krPartner), start); err != nil {
				t.Fatal(err)
			}
			s.setRegs(p, 0, calls, 0)
			if err := s.m.RunDomain(p); err != nil {
				t.Fatal(err)
			}
			pings = append(pings, p)
		}
		s.run()
		for _, p := range pings {
			if got := s.regs(p)[2]; got != calls {
				t.Fatalf("seed %d: a sender got %d good replies, want %d", seed, got, calls)
			}
		}
		st := s.m.Stats()
		if st.MaxInbox < 1 || st.MaxInbox > senders {
			t.Fatalf("seed %d: inbox peak %d, want 1..%d", seed, st.MaxInbox, senders)
		}
		if st.MaxStallQueue > senders {
			t.Fatalf("seed %d: stall queue peak %d exceeds the %d senders", seed, st.MaxStallQueue, senders)
		}
		sawStall = sawStall || st.MaxStallQueue > 0
		if err := s.m.Check(); err != nil {
			t.Fatal(err)
		}
	}
	if !sawStall {
		t.Fatal("no seed made a sender wait in the target's stall queue")
	}
}

// TestSleepsCounted checks that Stats counts idle cores going to sleep in
// parallel mode: of two cores, at least the first to run out of work
// sleeps before the machine finishes.
func TestSleepsCounted(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native"})
	ping, _ := s.pingPong(10)
	s.run()
	if got := s.regs(ping)[2]; got != 10 {
		t.Fatalf("%d good replies, want 10", got)
	}
	var sleeps uint64
	for _, c := range s.m.Stats().Cores {
		sleeps += c.Sleeps
	}
	if sleeps == 0 {
		t.Fatal("no core counted a sleep")
	}
}
