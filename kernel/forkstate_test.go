package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestForkThenDomainKey FORKs to an available domain of the same cluster,
// which makes it ready, and then invokes a domain key to it: the target
// waits in the ready queue, not executing, so the kernel answers at once
// (running, as a ready domain shows) instead of deferring the invocation
// until the target has run.
func TestForkThenDomainKey(t *testing.T) {
	for _, det := range []bool{true, false} {
		s := newTestSys(t, Config{Topology: "native", Deterministic: det, Seed: 1})
		const krDom = 9
		var state int64 = -1
		s.m.RegisterProgram("forker", func(x *Ctx) {
			r := x.Regs()
			r[0]++
			switch r[0] {
			case 1:
				x.Fork(krPartner, &Msg{Order: 1})
			case 2:
				x.CallGate(krDom, &Msg{Order: int64(abi.OCDomainGetState)})
			case 3:
				state = int64(x.Word(int(abi.DomainStateState)))
			}
		})
		target := s.native("pong")
		forker := s.native("forker")
		start, err := s.m.StartKey(target, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.m.SetKeyReg(forker, int(krPartner), start); err != nil {
			t.Fatal(err)
		}
		if err := s.m.SetKeyReg(forker, krDom, target); err != nil {
			t.Fatal(err)
		}
		if err := s.m.MakeAvailable(target); err != nil {
			t.Fatal(err)
		}
		if err := s.m.RunDomain(forker); err != nil {
			t.Fatal(err)
		}
		s.run()
		if state != int64(abi.StateRunning) {
			t.Fatalf("deterministic=%v: the forker read state %d", det, state)
		}
		if err := s.m.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
