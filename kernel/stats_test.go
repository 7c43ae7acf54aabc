package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestQueuePeaks floods one domain with CALLs from many domains in another
// cluster and checks the queue high-water marks Stats reports: some queue
// at the target was used, and none held more entries than there are
// senders (a domain has at most one message outstanding).
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
		if len(st.Clusters) != 2 {
			t.Fatalf("Stats has %d clusters, want 2", len(st.Clusters))
		}
		target, home := st.Clusters[0], st.Clusters[1]
		if target.InboxPeak < 1 || target.InboxPeak > senders {
			t.Fatalf("seed %d: target cluster's inbox peak %d, want 1..%d", seed, target.InboxPeak, senders)
		}
		if target.StallPeak > senders {
			t.Fatalf("seed %d: stall queue peak %d exceeds the %d senders", seed, target.StallPeak, senders)
		}
		sawStall = sawStall || target.StallPeak > 0
		// Only the target replies to the senders' cluster, and it has one
		// outbox.
		if home.InboxPeak != 1 {
			t.Fatalf("seed %d: senders' cluster inbox peak %d, want 1", seed, home.InboxPeak)
		}
		if home.ReadyPeak < 1 || home.ReadyPeak > senders {
			t.Fatalf("seed %d: senders' ready queue peak %d, want 1..%d", seed, home.ReadyPeak, senders)
		}
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
