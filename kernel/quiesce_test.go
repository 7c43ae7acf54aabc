package kernel

import (
	"testing"
)

// TestParallelRunFinishesOnlyWhenDone runs native ping-pong between two
// one-core clusters in parallel mode: Run must not return before ping has
// all its replies. The last core to fall asleep judges the machine quiet;
// the other core may wake and take a message from its inbox while it
// looks, and that message is then in no inbox (quiet, wrongly) although
// its reply is still to come.
func TestParallelRunFinishesOnlyWhenDone(t *testing.T) {
	calls, runs := uint64(100000), 5
	if testing.Short() {
		calls, runs = 20000, 2
	}
	for i := range runs {
		s := newTestSys(t, Config{Topology: "native,native"})
		ping, _ := s.pingWith("pong", calls, 0, 1)
		s.run()
		if got := s.regs(ping)[2]; got != calls {
			t.Fatalf("run %d: Run returned with ping at %d good replies of %d", i, got, calls)
		}
	}
}

// TestDirectSwitchChainAcknowledges runs a pair that calls each other on
// one core, domain to domain by direct switch with a slice that never
// ends, and checks that the core still acknowledges a new epoch and
// takes its cluster's messages within boundaryEvery events: step looks
// at them only every boundaryEvery events of such a chain.
func TestDirectSwitchChainAcknowledges(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native", Deterministic: true, Slice: 1 << 40})
	s.pingPong(1 << 20)
	c := s.m.cores[0]
	c.wakeUp()
	for i := 0; i < 4 && c.cur == nil; i++ {
		c.step()
	}
	for round := range 5 {
		if c.cur == nil {
			t.Fatalf("round %d: the pair is not switching directly", round)
		}
		g := s.m.epochs.bump()
		c.cl.outWaitKick.Store(true) // work for housekeeping to take
		events := 0
		for ; events < 2*boundaryEvery && (c.seen.Load() != g || c.cl.outWaitKick.Load()); events++ {
			if c.cur == nil {
				t.Fatalf("round %d: the chain ended after %d events", round, events)
			}
			c.step()
		}
		if events > boundaryEvery {
			t.Fatalf("round %d: epoch acknowledged and messages looked at after %d events, want at most %d", round, events, boundaryEvery)
		}
	}
}

// TestLoneCoreEndsWithoutPolling checks that a run on one core ends as
// soon as its work does: with no other core awake and nothing pending,
// only the host could give the core work, so it goes to sleep, and so
// finishes the run, without polling first. A run that ends without work
// at all polls no more.
func TestLoneCoreEndsWithoutPolling(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native"})
	ping, _ := s.pingPong(10)
	for i, want := range []uint64{10, 10} {
		s.run()
		if got := s.regs(ping)[2]; got != want {
			t.Fatalf("run %d: %d good replies, want %d", i, got, want)
		}
		if n := s.m.cores[0].stats.idleSpins; n != 0 {
			t.Fatalf("run %d: the lone core polled %d times before ending the run", i, n)
		}
	}
}

// TestSleepsOnceAtTheEnd runs a machine of two one-core clusters empty,
// again and again: each core may sleep once at most a run, the first to
// run out of work while the other polls, and no wake is left to end a
// sleep for nothing. (The end of each run once left one in the channel
// of the core that did not end it, and that core slept twice a run,
// polling 200 times more in between.)
func TestSleepsOnceAtTheEnd(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native"})
	for run := range 5 {
		var before []uint64
		for _, c := range s.m.cores {
			before = append(before, c.stats.sleeps)
		}
		s.run()
		for i, c := range s.m.cores {
			if n := c.stats.sleeps - before[i]; n > 1 {
				t.Fatalf("run %d: core %d slept %d times with nothing to do", run, i, n)
			}
		}
	}
}
