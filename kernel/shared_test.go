package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// forkProgram FORKs to its partner regs[1] times, counting in regs[0].
func forkProgram(x *Ctx) {
	r := x.Regs()
	if r[0] < r[1] {
		r[0]++
		x.Fork(krPartner, &Msg{Order: 1})
	}
}

// TestSharedClusterForks has several domains FORK to one server on the
// cores of one shared cluster in parallel mode: each FORK makes the server
// ready, so one core takes it from the ready queue while another invokes
// it. Run it under the race detector.
func TestSharedClusterForks(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2"})
	s.m.RegisterProgram("fork", forkProgram)
	pong := s.native("pong")
	start, err := s.m.StartKey(pong, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.m.MakeAvailable(pong); err != nil {
		t.Fatal(err)
	}
	const n = 300
	var forkers []Key
	for range 6 {
		f := s.native("fork")
		if err := s.m.SetKeyReg(f, int(krPartner), start); err != nil {
			t.Fatal(err)
		}
		s.setRegs(f, 0, n)
		if err := s.m.RunDomain(f); err != nil {
			t.Fatal(err)
		}
		forkers = append(forkers, f)
	}
	s.run()
	for i, f := range forkers {
		if r := s.regs(f); r[0] != n {
			t.Fatalf("forker %d made %d forks, want %d", i, r[0], n)
		}
	}
	if st := s.state(pong); st != abi.StateAvailable {
		t.Fatalf("the server is in state %d, want available", st)
	}
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}
