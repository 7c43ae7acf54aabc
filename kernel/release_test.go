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
				ping, sink := s.pingWith("sink", 5, 0, 1)
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

// TestCarryReleasesByHome: a message carries only the held releases of
// outboxes homed in the cluster it goes to; the rest stay held until a
// message goes their way or the event ends.
func TestCarryReleasesByHome(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	var ds [4]*Domain
	for i := range ds {
		k := s.native("idle")
		m.MustCall(k, int64(abi.OCDomainSetHome), Words(uint64(i%3)))
		ds[i] = k.hdr.domain()
	}
	c := m.cores[0]
	// Outboxes of domains homed in clusters 1, 2 and 0, taken by core 0.
	for _, d := range []*Domain{ds[1], ds[2], ds[3]} {
		d.outBusy.Store(true)
		c.releaseLater(d)
	}
	carrier := ds[0]
	c.carryReleases(m.clusters[1], carrier)
	if carrier.out.nrel != 1 || carrier.out.rel[0] != ds[1] {
		t.Fatalf("a message to cluster 1 carries %v, want the release of domain %d only", carrier.out.rel[:carrier.out.nrel], ds[1].id.index())
	}
	if c.nreleased != 2 {
		t.Fatalf("%d releases held after the carry, want 2", c.nreleased)
	}
	// The receiver marks the carried one free; the event's end the rest.
	carrier.out.nrel = 0
	c.releaseOutbox(ds[1])
	if ds[1].outBusy.Load() || !ds[2].outBusy.Load() || !ds[3].outBusy.Load() {
		t.Fatal("a release was done before its time")
	}
	c.flushReleases()
	for _, d := range ds[1:] {
		if d.outBusy.Load() {
			t.Fatalf("domain %d's outbox is still busy after the event's end", d.id.index())
		}
	}
}
