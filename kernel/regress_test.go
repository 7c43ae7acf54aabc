package kernel

import (
	"context"
	"errors"
	"testing"
	"time"
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
