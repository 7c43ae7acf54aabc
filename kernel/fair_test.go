package kernel

import "testing"

// TestNoStarvationOnOneCore checks that a domain that never waits (a
// native program FORKing to a data key in a loop) and a pair of domains
// calling each other in a loop (CALL and RETURN switch directly, without
// the ready queue) both let the other domains of their one-core cluster
// run: the time slice is the core's, not renewed by direct switches or by
// continuing after a FORK, and when it is used up the running domain goes
// to the back of the ready queue.
func TestNoStarvationOnOneCore(t *testing.T) {
	const long = 200000
	for _, det := range []bool{true, false} {
		s := newTestSys(t, Config{Topology: "native", Deterministic: det, Seed: 3})
		hogged, pairCalls := -1, -1
		var hog, ping Key
		// hog FORKs to DK(0) until long times or until victim has run.
		victimRan := false
		s.m.RegisterProgram("hog", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			if r[0] < long && !victimRan {
				x.Fork(0, &Msg{})
			}
		})
		s.m.RegisterProgram("victim", func(x *Ctx) {
			victimRan = true
			hogged = int(hog.hdr.domain().cpu.nat.r[0])
			pairCalls = int(ping.hdr.domain().cpu.nat.r[0])
		})
		hog = s.native("hog")
		ping, _ = s.pingPong(long)
		victim := s.native("victim")
		if err := s.m.RunDomain(hog); err != nil {
			t.Fatal(err)
		}
		if err := s.m.RunDomain(victim); err != nil {
			t.Fatal(err)
		}
		s.run()
		if !victimRan {
			t.Fatal("the victim never ran")
		}
		if hogged >= long || pairCalls >= long {
			t.Fatalf("deterministic=%v: the victim ran only after the hog's %d FORKs and the pair's %d calls were done", det, hogged, pairCalls)
		}
		if got := s.regs(ping)[2]; got != long {
			t.Fatalf("ping got %d good replies, want %d", got, long)
		}
	}
}
