package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
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
		pong := s.native("pong")
		s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(1))
		ping := s.native("ping")
		s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(0))
		start, err := s.m.StartKey(pong, 7)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.m.SetKeyReg(ping, int(krPartner), start); err != nil {
			t.Fatal(err)
		}
		s.setRegs(ping, 0, calls, 0)
		if err := s.m.MakeAvailable(pong); err != nil {
			t.Fatal(err)
		}
		if err := s.m.RunDomain(ping); err != nil {
			t.Fatal(err)
		}
		s.run()
		if got := s.regs(ping)[2]; got != calls {
			t.Fatalf("run %d: Run returned with ping at %d good replies of %d", i, got, calls)
		}
	}
}
