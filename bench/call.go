package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// Reference names, shared by the benchmarks that use them.
const (
	refChannel = "Go channel round trip"
	refPipe    = "Linux pipe round trip"
	refBounce  = "cache-line bounce round trip"
	refRing    = "two-line round trip (request line, reply line)"
	refQEMU    = "qemu-riscv64"
)

func init() {
	register("call/native", "native CALL+RETURN round trip between two domains on one core", benchCallNative)
	register("call/rv64", "rv64 CALL+RETURN round trip between the ping and pong images on one core", benchCallRV64)
	register("call/cross-cluster", "native CALL+RETURN round trip between two one-core clusters (parallel mode)", benchCrossCluster)
	register("call/kinds", "rv64 ping CALLing a native echo domain (a call between CPU kinds) against rv64 pong", benchKinds)
	register("wake/idle", "round trip to a domain in a cluster whose only core sleeps", benchWake)
}

// channelSeries and the other reference constructors make the references
// with sizes fitting the run.
func (e *env) channelSeries() *series {
	n := e.size(200000, 20000)
	return newSeries(refChannel, func() (float64, error) { return channelRT(n) })
}

func (e *env) pipeSeries() *series {
	n := e.size(20000, 2000)
	return optional(refPipe, func() (float64, error) { return pipeRT(n) },
		func() error { _, err := pipeRT(10); return err })
}

// bounceLimit is the longest a cache-line round trip can take when both
// threads run: beyond it the partner was descheduled and the figure
// measures context switches, not cache transfers.
const bounceLimit = 5000 // ns

// bounceRef makes the cache-line reference, left out with a note when the
// machine never let both threads run at once.
func bounceRef(s *series) Ref {
	r := s.ref("ns")
	if r.Note == "" && r.Value > bounceLimit {
		return missingRef(s.name, "ns", fmt.Sprintf("the two threads never had a CPU each (fastest batch %s ns per round trip: context switches, not cache transfers); the machine is oversubscribed", fmtNum(r.Value)))
	}
	return r
}

func (e *env) bounceSeries() *series {
	n := e.size(200000, 20000)
	return optional(refBounce, func() (float64, error) { return bounceRT(n) },
		func() error { _, err := bounceRT(10); return err })
}

func (e *env) ringSeries() *series {
	n := e.size(200000, 20000)
	return optional(refRing, func() (float64, error) { return ringRT(n) },
		func() error { _, err := ringRT(10); return err })
}

// nativeRT measures native round trips between ping in cluster pingHome
// and echo in cluster echoHome on topology topo: nanoseconds per round
// trip, less what a machine run costs whatever it does (perRoundTrip; the
// start and end of a run take 60 to 260 µs here).
func (e *env) nativeRT(topo string, pingHome, echoHome, n int) measure {
	return perRoundTrip(n, 1, func(n int) (time.Duration, error) {
		return e.nativeRun(topo, pingHome, echoHome, n)
	})
}

// perRoundTrip measures nanoseconds per round trip of run, which does n
// round trips in each of pairs pairs: a run of n less a run of one, so
// that what every run costs (building, loading, start-up, the end of the
// machine's run) does not count. The garbage collector runs between the
// two, so that the first run's machine is not collected during the
// second. For n of 1 or less (a go test benchmark's first try) it is the
// one run's time.
func perRoundTrip(n, pairs int, run func(n int) (time.Duration, error)) measure {
	return func() (float64, error) {
		if n <= 1 {
			d, err := run(n)
			return float64(d.Nanoseconds()) / float64(pairs), err
		}
		base, err := run(1)
		if err != nil {
			return 0, err
		}
		runtime.GC()
		d, err := run(n)
		if err != nil {
			return 0, err
		}
		return float64((d - base).Nanoseconds()) / float64((n-1)*pairs), nil
	}
}

// nativeRun runs n native round trips on a fresh machine and checks them:
// the run's wall time.
func (e *env) nativeRun(topo string, pingHome, echoHome, n int) (time.Duration, error) {
	m, err := machine(topo, 64<<20)
	if err != nil {
		return 0, err
	}
	ping, err := nativePair(m, pingHome, echoHome, uint64(n))
	if err != nil {
		return 0, err
	}
	d, err := e.timeRun(m)
	if err != nil {
		return 0, err
	}
	return d, checkPing(m, ping, uint64(n))
}

func benchCallNative(e *env) ([]Result, error) {
	n := e.size(300000, 30000)
	kf := newSeries("keyfish", e.nativeRT("native", -1, -1, n))
	ch, pipe := e.channelSeries(), e.pipeSeries()
	if err := e.sample(kf, ch, pipe); err != nil {
		return nil, err
	}
	r := result("call/native", "ns", kf.samples, ch.ref("ns"), pipe.ref("ns"))
	r.setTarget(atMost(50), ratioAtMost(0, 0.25))
	return []Result{r}, nil
}

func benchCrossCluster(e *env) ([]Result, error) {
	n := e.size(100000, 10000)
	kf := newSeries("keyfish", e.nativeRT("native,native", 0, 1, n))
	bounce, ring, ch := e.bounceSeries(), e.ringSeries(), e.channelSeries()
	if err := e.sample(kf, bounce, ring, ch); err != nil {
		return nil, err
	}
	r := result("call/cross-cluster", "ns", kf.samples, bounceRef(bounce), bounceRef(ring), ch.ref("ns"))
	r.setTarget(ratioAtMost(0, 2))
	return []Result{r}, nil
}

// ppSpec is a ping-pong workload of rv64 ping images calling pong images
// (or native echo domains).
type ppSpec struct {
	topo  string
	pairs int
	// home gives the clusters of pair i's ping and pong (-1: where the
	// kernel puts them).
	home func(i int) (ping, pong int)
	// nativePong makes the partner a native echo domain homed in the
	// cluster home gives.
	nativePong bool
}

// run builds the workload with n round trips per pair, runs it, checks
// every ping's output and returns the run's wall time.
func (sp ppSpec) run(e *env, n int) (time.Duration, error) {
	s, err := newSys(sp.topo, 256<<20)
	if err != nil {
		return 0, err
	}
	for i := 0; i < sp.pairs; i++ {
		pingHome, pongHome := -1, -1
		if sp.home != nil {
			pingHome, pongHome = sp.home(i)
		}
		var pong kernel.Key
		if sp.nativePong {
			pong, err = nativeDomain(s.M, "bench-echo", pongHome)
			if err == nil {
				err = s.M.MakeAvailable(pong)
			}
		} else {
			p, lerr := s.load("pong", nil, pongHome, nil, nil)
			if err = lerr; err == nil {
				pong = p.Domain
				err = p.Start()
			}
		}
		if err != nil {
			return 0, err
		}
		start, err := s.M.StartKey(pong, 0)
		if err != nil {
			return 0, err
		}
		ping, err := s.load("ping", nil, pingHome, []string{fmt.Sprint(n)}, map[int]kernel.Key{int(abi.KRArg0): start})
		if err != nil {
			return 0, err
		}
		if err := ping.Start(); err != nil {
			return 0, err
		}
	}
	d, err := e.timeRun(s.M)
	if err != nil {
		return 0, err
	}
	if err := s.checkExits(); err != nil {
		return 0, err
	}
	return d, s.wantLines(fmt.Sprintf("ping: %d round trips ok", n), sp.pairs)
}

// rt measures nanoseconds per round trip, all pairs together, less
// loading, start-up and exit (perRoundTrip).
func (sp ppSpec) rt(e *env, n int) measure {
	return perRoundTrip(n, sp.pairs, func(n int) (time.Duration, error) { return sp.run(e, n) })
}

func benchCallRV64(e *env) ([]Result, error) {
	n := e.size(100000, 10000)
	kf := newSeries("keyfish", ppSpec{topo: "rv64,native", pairs: 1}.rt(e, n))
	ch, pipe := e.channelSeries(), e.pipeSeries()
	if err := e.sample(kf, ch, pipe); err != nil {
		return nil, err
	}
	r := result("call/rv64", "ns", kf.samples, ch.ref("ns"), pipe.ref("ns"))
	r.setTarget(atMost(150))
	return []Result{r}, nil
}

func benchKinds(e *env) ([]Result, error) {
	n := e.size(50000, 5000)
	// rv64:1 is cluster 0, native cluster 1 (or 2 below).
	toNative := ppSpec{topo: "rv64,native", pairs: 1, nativePong: true,
		home: func(int) (int, int) { return 0, 1 }}
	crossRV := ppSpec{topo: "rv64,rv64,native", pairs: 1,
		home: func(int) (int, int) { return 0, 1 }}
	sameRV := ppSpec{topo: "rv64,native", pairs: 1}
	kinds := newSeries("rv64 → native", toNative.rt(e, n))
	cross := newSeries("rv64 → rv64, two one-core clusters", crossRV.rt(e, n))
	same := newSeries("rv64 → rv64, one core", sameRV.rt(e, n))
	if err := e.sample(kinds, cross, same); err != nil {
		return nil, err
	}
	r := result("call/kinds", "ns", kinds.samples, cross.ref("ns"), same.ref("ns"))
	r.Note = "rv64 → native is necessarily between clusters: compare it with rv64 → rv64 between clusters"
	return []Result{r}, nil
}

// benchWake measures a round trip to a native echo domain whose cluster's
// core is asleep: the caller waits on the clock between calls, long enough
// for the echo's core to stop polling and sleep.
func benchWake(e *env) ([]Result, error) {
	n := e.size(200, 50)
	const gap = 2 * time.Millisecond
	var sleepsPerMsg []float64
	wake := func() (float64, error) {
		m, err := machine("native,native", 64<<20)
		if err != nil {
			return 0, err
		}
		var lat []float64
		var t0 time.Time
		m.RegisterProgram("bench-waker", func(x *kernel.Ctx) {
			r := x.Regs()
			if r[0] == 1 { // the echo's reply
				lat = append(lat, float64(time.Since(t0).Nanoseconds()))
				if x.Order() != 2 {
					r[2]++ // a wrong reply
				}
				r[0], r[1] = 0, r[1]-1
				rc, data := x.Call(krArg1, &kernel.Msg{Order: int64(abi.OCClockRead)})
				if rc != 0 || len(data) < 8 {
					r[2]++
					return
				}
				now := binary.LittleEndian.Uint64(data)
				x.CallGate(krArg1, &kernel.Msg{Order: int64(abi.OCClockWaitUntil), Data: kernel.Words(now + uint64(gap))})
				return
			}
			if r[1] == 0 {
				return // done
			}
			r[0] = 1
			t0 = time.Now()
			x.CallGate(krPartner, &kernel.Msg{Order: 1})
		})
		echo, err := nativeDomain(m, "bench-echo", 1)
		if err != nil {
			return 0, err
		}
		waker, err := nativeDomain(m, "bench-waker", 0)
		if err != nil {
			return 0, err
		}
		start, err := m.StartKey(echo, 0)
		if err != nil {
			return 0, err
		}
		clock, err := m.DeviceKey(abi.KTClock)
		if err != nil {
			return 0, err
		}
		if err := m.SetKeyReg(waker, int(krPartner), start); err != nil {
			return 0, err
		}
		if err := m.SetKeyReg(waker, int(krArg1), clock); err != nil {
			return 0, err
		}
		if err := setRegs(m, waker, 0, uint64(n)); err != nil {
			return 0, err
		}
		if err := m.MakeAvailable(echo); err != nil {
			return 0, err
		}
		if err := m.RunDomain(waker); err != nil {
			return 0, err
		}
		if _, err := e.timeRun(m); err != nil {
			return 0, err
		}
		w, err := regs(m, waker)
		if err != nil {
			return 0, err
		}
		if w[2] != 0 || len(lat) != n {
			return 0, fmt.Errorf("%d round trips of %d, %d wrong replies or clock errors", len(lat), n, w[2])
		}
		st := m.Stats()
		sleepsPerMsg = append(sleepsPerMsg, float64(st.Cores[1].Sleeps)/float64(n))
		return median(lat), nil
	}
	kf := newSeries("keyfish", wake)
	pipe := e.pipeSeries()
	hot := newSeries("keyfish cross-cluster round trip, cores polling", e.nativeRT("native,native", 0, 1, e.size(100000, 10000)))
	if err := e.sample(kf, pipe, hot); err != nil {
		return nil, err
	}
	r := result("wake/idle", "ns", kf.samples, pipe.ref("ns"), hot.ref("ns"))
	r.Extra = map[string]float64{"echo core sleeps per message": median(sleepsPerMsg)}
	r.Note = fmt.Sprintf("median of %d calls per sample, %v apart; the echo's core slept %.2f times per call", n, gap, median(sleepsPerMsg))
	return []Result{r}, nil
}
