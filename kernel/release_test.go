package kernel

import (
	"fmt"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// An outbox taken by another cluster is marked free later than it is
// taken: in the next message back to the sender's home, or at the end of
// the event (Core.releaseLater). These tests check both ways: a caller
// whose CALL was delivered and never answered shows as waiting (not still
// sending) once the machine stops, and after a ping-pong across clusters
// no outbox is left busy.
func TestRemoteOutboxReleased(t *testing.T) {
	for _, det := range []bool{true, false} {
		t.Run(fmt.Sprintf("deterministic=%v", det), func(t *testing.T) {
			t.Run("unanswered", func(t *testing.T) {
				s := newTestSys(t, Config{Topology: "native,native", Deterministic: det, Seed: 3})
				// sink keeps each message's order code and answers nobody:
				// it RETURNs to DK(0) and waits for the next.
				s.m.RegisterProgram("sink", func(x *Ctx) {
					x.Regs()[0] = uint64(x.Order())
					x.Return(0, nil)
				})
				sink := s.native("sink")
				ping := s.native("ping")
				s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(0))
				s.m.MustCall(sink, int64(abi.OCDomainSetHome), Words(1))
				start, err := s.m.StartKey(sink, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.m.SetKeyReg(ping, int(krPartner), start); err != nil {
					t.Fatal(err)
				}
				s.setRegs(ping, 0, 5, 0)
				if err := s.m.MakeAvailable(sink); err != nil {
					t.Fatal(err)
				}
				if err := s.m.RunDomain(ping); err != nil {
					t.Fatal(err)
				}
				s.run()
				// Before any host call: those settle what the cores left.
				if busy(s, ping) {
					t.Error("the caller's outbox is still busy")
				}
				if st := s.state(ping); st != abi.StateWaiting {
					t.Errorf("caller is %v after its CALL was delivered, want waiting", st)
				}
				if got := s.regs(sink)[0]; got != 1 {
					t.Fatalf("sink got order %d, want 1", got)
				}
			})
			t.Run("ping-pong", func(t *testing.T) {
				s := newTestSys(t, Config{Topology: "native,native", Deterministic: det, Seed: 4})
				const n = 500
				ping, pong := s.pingPong(n)
				s.splitPingPong(ping, pong)
				s.run()
				for name, k := range map[string]Key{"ping": ping, "pong": pong} {
					if busy(s, k) {
						t.Errorf("%s's outbox is still busy", name)
					}
				}
				if got := s.regs(ping)[2]; got != n {
					t.Fatalf("%d good replies, want %d", got, n)
				}
				if s.m.Stats().Messages < n {
					t.Fatal("the round trips did not cross clusters")
				}
				if st := s.state(pong); st != abi.StateAvailable {
					t.Errorf("pong is %v, want available", st)
				}
			})
		})
	}
}

// busy reports whether domain k's outbox is marked away (white box).
func busy(s *testSys, k Key) bool {
	return k.live().hdr.domain().outBusy.Load()
}
