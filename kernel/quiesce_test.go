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
