package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

func TestNativePingPong(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"deterministic", Config{Topology: "native", Deterministic: true, Seed: 1}},
		{"parallel", Config{Topology: "native"}},
		{"smp", Config{Topology: "native:2"}},
		{"two clusters", Config{Topology: "native,native", Deterministic: true, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSys(t, tc.cfg)
			ping, pong := s.pingPong(1000)
			s.run()
			if got := s.regs(ping)[2]; got != 1000 {
				t.Fatalf("ping counted %d good replies, want 1000", got)
			}
			if st := s.state(ping); st != abi.StateAvailable {
				t.Errorf("ping state %d, want available", st)
			}
			if st := s.state(pong); st != abi.StateAvailable {
				t.Errorf("pong state %d, want available", st)
			}
		})
	}
}
