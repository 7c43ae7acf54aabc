package kernel

import (
	"context"
	flagpkg "flag"
	"runtime"
	"sync/atomic"
	"testing"
)

// BenchmarkCrossClusterRoundTrip measures a native CALL+RETURN round trip
// between two one-core clusters in parallel mode: the caller's outbox goes
// to the callee's cluster's inbox and the reply comes back the same way.
// Compare it with BenchmarkCacheLineBounce, run alongside.
// -idle.yield=false stops the idle cores yielding to Go's scheduler as
// they poll (idleYield).
func BenchmarkCrossClusterRoundTrip(b *testing.B) {
	idleYield = *idleYieldFlag
	defer func() { idleYield = true }()
	s := newTestSys(b, Config{Topology: "native,native"})
	ping, pong := s.pingPongB(b, uint64(b.N))
	s.splitPingPong(ping, pong)
	b.ResetTimer()
	if err := s.m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := s.regsB(b, ping)[2]; got != uint64(b.N) {
		b.Fatalf("%d good replies, want %d", got, b.N)
	}
	if s.m.Stats().Messages < uint64(b.N) {
		b.Fatal("the round trips did not cross clusters")
	}
	var sleeps, spins uint64
	for _, c := range s.m.cores {
		sleeps += c.stats.sleeps
		spins += c.stats.idleSpins
	}
	b.ReportMetric(float64(sleeps)/float64(b.N), "sleeps/op")
	b.ReportMetric(float64(spins)/float64(b.N), "idlepolls/op")
}

var idleYieldFlag = flagpkg.Bool("idle.yield", true, "BenchmarkCrossClusterRoundTrip: idle cores yield to Go's scheduler as they poll")

// BenchmarkCacheLineBounce is the reference for cross-core messages: two
// goroutines locked to OS threads bounce one cache line, each spinning for
// the other's write. A round trip is two transfers of the line.
func BenchmarkCacheLineBounce(b *testing.B) {
	var line struct {
		_ [64]byte
		v atomic.Int64
		_ [64]byte
	}
	wait := func(want int64) {
		for spins := 0; line.v.Load() != want; spins++ {
			if spins&4095 == 4095 {
				runtime.Gosched()
			}
		}
	}
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := int64(1); i < 2*int64(b.N); i += 2 {
			wait(i)
			line.v.Store(i + 1)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := int64(0); i < int64(b.N); i++ {
		line.v.Store(2*i + 1)
		wait(2*i + 2)
	}
	b.StopTimer()
	<-done
}

// BenchmarkEmptyRun measures Machine.Run's fixed cost in parallel mode:
// a run with nothing to do, on one core and on two. A host that runs
// many short jobs, one Run each, pays it at each. On one core the run
// ends at the core's first look; with more, the cores poll before they
// sleep, and the last to sleep wakes the others to end the run.
func BenchmarkEmptyRun(b *testing.B) {
	for _, topo := range []string{"native", "native:2", "native,native"} {
		b.Run(topo, func(b *testing.B) {
			s := newTestSys(b, Config{Topology: topo})
			var spins uint64
			for b.Loop() {
				if err := s.m.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			for _, c := range s.m.cores {
				spins += c.stats.idleSpins
			}
			b.ReportMetric(float64(spins)/float64(b.N), "idlepolls/op")
		})
	}
}
