package kernel

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// Regression tests for kernel bugs found by the hostile suite (package
// hostile). Each names the bug it pins down.

// watchdog fails the test binary with every goroutine's stack if f does not
// return: a hang is the bug these tests look for.
func watchdog(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(d):
			panic("kernel regression test: the machine hung")
		}
	}()
	f()
	close(done)
}

// TestRunParallelStopsWhenCanceled: in parallel mode a core that always
// had work never looked at the context, so Run ignored its cancellation
// for as long as any domain ran (a spinner with an unlimited meter kept it
// forever).
func TestRunParallelStopsWhenCanceled(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native:2"})
	s.m.RegisterProgram("forever", func(x *Ctx) { x.Fork(0, &Msg{}) })
	for range 2 {
		if err := s.m.RunDomain(s.native("forever")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	watchdog(t, 20*time.Second, func() {
		if err := s.m.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run returned %v, want the context's error", err)
		}
	})
	if err := s.m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDomainRunInSharedCluster: performDomain runs under the cluster lock,
// and OCDomainRun and OCDomainMakeAvailable took that lock again (to put
// the domain in the ready queue or let its stallers in): in a cluster of
// more than one core, where the lock is a real mutex, a domain making
// another run or available deadlocked the whole cluster.
func TestDomainRunInSharedCluster(t *testing.T) {
	for _, order := range []abi.OC{abi.OCDomainRun, abi.OCDomainMakeAvailable} {
		s := newTestSys(t, Config{Topology: "native:2"})
		var rc int64 = -100
		s.m.RegisterProgram("starter", func(x *Ctx) {
			rc, _ = x.Call(krPartner, &Msg{Order: int64(order)})
		})
		ran := false
		s.m.RegisterProgram("target", func(x *Ctx) { ran = true })
		target := s.native("target")
		starter := s.native("starter")
		if err := s.m.SetKeyReg(starter, int(krPartner), target); err != nil {
			t.Fatal(err)
		}
		if err := s.m.RunDomain(starter); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		watchdog(t, 20*time.Second, func() {
			if err := s.m.Run(ctx); err != nil {
				t.Errorf("order %d: run: %v", order, err)
			}
		})
		cancel()
		if rc != 0 {
			t.Fatalf("order %d: return code %d", order, rc)
		}
		if want := order == abi.OCDomainRun; ran != want {
			t.Fatalf("order %d: target ran: %v, want %v", order, ran, want)
		}
		if st := s.state(target); order == abi.OCDomainMakeAvailable && st != abi.StateAvailable {
			t.Fatalf("target is in state %d, want available", st)
		}
		if err := s.m.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
