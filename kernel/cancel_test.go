package kernel

import (
	"context"
	"errors"
	"testing"
	"time"
)

// spinProgram never becomes available: each message FORKs to DK(0), which
// calls it again at once.
func spinProgram(x *Ctx) { x.Fork(0, &Msg{}) }

// TestRunStopsWhenCancelled checks that Run returns soon after its context
// is done even while every core has work, in both modes, and that the
// machine is consistent and can run on afterwards.
func TestRunStopsWhenCancelled(t *testing.T) {
	for _, det := range []bool{false, true} {
		s := newTestSys(t, Config{Topology: "native:2", Deterministic: det})
		s.m.RegisterProgram("spin", spinProgram)
		for range 3 {
			if err := s.m.RunDomain(s.native("spin")); err != nil {
				t.Fatal(err)
			}
		}
		for round := range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			done := make(chan error, 1)
			go func() { done <- s.m.Run(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("deterministic=%v round %d: Run returned %v, want the context's error", det, round, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("deterministic=%v round %d: Run still running 10s after its context ended", det, round)
			}
			cancel()
			if err := s.m.Check(); err != nil {
				t.Fatalf("deterministic=%v round %d: %v", det, round, err)
			}
		}
	}
}
