package kernel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
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

// TestRunAfterCancelledRun: a run cancelled while its cores were busy must
// not stop the next one. Busy cores look at a flag that the context's
// cancellation sets; when that flag belonged to the machine, the setter of
// a run cancelled just as it ended could fire after the next Run had
// cleared it, and that run's cores left their loops at their first event:
// the run never came to rest (the parallel soak test caught it). Here, as
// in the soak, each run is cancelled from inside an event (Config.Trace)
// after a few hundred events, and the next Run starts at once; at its
// first event the previous run's setter fires, late.
func TestRunAfterCancelledRun(t *testing.T) {
	const n = 20000
	var (
		events    atomic.Int64
		cancelRun atomic.Pointer[context.CancelFunc]
		late      atomic.Pointer[atomic.Bool] // the previous run's flag
	)
	trace := func(Event) {
		if f := late.Swap(nil); f != nil {
			f.Store(true)
		}
		if events.Add(1)%300 == 0 {
			if f := cancelRun.Load(); f != nil {
				(*f)()
			}
		}
	}
	s := newTestSys(t, Config{Topology: "native:2,native,native", Trace: trace})
	// Between clusters, so that cores go idle between the messages and
	// a cancelled run can end by the idle path, before the flag is set.
	ping, pong := s.pingPong(n)
	for i, k := range []Key{ping, pong} {
		s.m.MustCall(k, int64(abi.OCDomainStop), nil)
		s.m.MustCall(k, int64(abi.OCDomainSetHome), Words(uint64(i+1)))
	}
	s.m.MustCall(pong, int64(abi.OCDomainMakeAvailable), nil)
	s.m.MustCall(ping, int64(abi.OCDomainRun), nil)
	for runs := 1; ; runs++ {
		ctx, cancel := context.WithCancel(context.Background())
		cancelRun.Store(&cancel)
		late.Store(s.m.cancelled)
		var err error
		watchdog(t, 20*time.Second, func() { err = s.m.Run(ctx) })
		cancel()
		if err == nil {
			t.Logf("came to rest after %d runs", runs)
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d returned %v", runs, err)
		}
	}
	if got := s.regs(ping)[2]; got != n {
		t.Fatalf("ping got %d good replies, want %d", got, n)
	}
}

// TestHostCallsAfterCancelledRun: a domain a core was about to continue
// when Run's context ended (the spinner FORKs and runs on) stayed marked
// as executing on that core after Run returned, and the host's calls on
// it answered abi.RCWouldWait: Run now puts it back in its ready queue.
func TestHostCallsAfterCancelledRun(t *testing.T) {
	for _, det := range []bool{false, true} {
		s := newTestSys(t, Config{Topology: "native:2,native", Deterministic: det})
		s.m.RegisterProgram("spin", spinProgram)
		spinners := make([]Key, 4)
		for i := range spinners {
			spinners[i] = s.native("spin")
			if err := s.m.RunDomain(spinners[i]); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		watchdog(t, 20*time.Second, func() {
			if err := s.m.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("deterministic=%v: Run returned %v", det, err)
			}
		})
		cancel()
		for i, k := range spinners {
			rep, err := s.m.Call(k, int64(abi.OCDomainGetState), nil)
			if err != nil || rep.RC != int64(abi.RCOk) || abi.State(rep.Word(int(abi.DomainStateState))) != abi.StateRunning {
				t.Fatalf("deterministic=%v: spinner %d's state after Run: rc %d, state %d, %v", det, i, rep.RC, rep.Word(int(abi.DomainStateState)), err)
			}
			rep, err = s.m.Call(k, int64(abi.OCDomainStop), nil)
			if err != nil || rep.RC != int64(abi.RCOk) {
				t.Fatalf("deterministic=%v: stopping spinner %d after Run: rc %d, %v", det, i, rep.RC, err)
			}
		}
		if err := s.m.Check(); err != nil {
			t.Fatalf("deterministic=%v: %v", det, err)
		}
		// Nothing is left to run: the next Run comes to rest.
		watchdog(t, 20*time.Second, func() {
			if err := s.m.Run(context.Background()); err != nil {
				t.Errorf("deterministic=%v: the next Run returned %v", det, err)
			}
		})
	}
}
