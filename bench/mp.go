package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

func init() {
	register("scaling", "throughput of independent CPU-bound rv64 domains (the compute image, two per core) on N cores, against one core", benchScaling)
	register("pingpong", "the same rv64 ping-pong workload (two pairs) on one cluster of two cores and on two one-core clusters", benchPingPong)
	register("queues", "a mixed workload on four cores sharing one ready queue and on four one-core clusters", benchQueues)
	register("migrate", "a CPU-bound rv64 domain forced to alternate between two cores, against staying on one", benchMigrate)
	register("flood", "domains CALLing and FORKing as fast as they can to a busy target: queue lengths, lost messages, and a bystander's throughput", benchFlood)
}

// computeRun runs k compute domains of rounds rounds each on topology topo
// and returns the run's time and the rv64 instructions executed.
func (e *env) computeRun(topo string, k, rounds int) (time.Duration, uint64, error) {
	s, err := newSys(topo, 64<<20+uint64(k)<<20)
	if err != nil {
		return 0, 0, err
	}
	for range k {
		p, err := s.load("compute", nil, -1, []string{fmt.Sprint(rounds)}, nil)
		if err != nil {
			return 0, 0, err
		}
		if err := p.Start(); err != nil {
			return 0, 0, err
		}
	}
	d, err := e.timeRun(s.M)
	if err != nil {
		return 0, 0, err
	}
	if err := s.checkExits(); err != nil {
		return 0, 0, err
	}
	return d, rv64Ticks(s.M.Stats()), nil
}

// benchScaling runs two compute domains per core on one cluster of N
// cores (a shared ready queue) and on N one-core clusters, for each N of
// Options.Cores, and reports the instructions per second of all cores
// together, against one core measured in the same sample round.
func benchScaling(e *env) ([]Result, error) {
	rounds := e.size(100, 10)
	cores := append([]int{1}, e.opts.Cores...)
	slices.Sort(cores)
	cores = slices.Compact(cores)
	type cfg struct {
		name, topo string
		n          int
		clusters   bool // one-core clusters
	}
	var cfgs []cfg
	for _, n := range cores {
		cfgs = append(cfgs, cfg{fmt.Sprintf("scaling/%d", n), fmt.Sprintf("rv64:%d,native", n), n, false})
		if n > 1 {
			cfgs = append(cfgs, cfg{fmt.Sprintf("scaling/%d-clusters", n), fmt.Sprintf("%d*rv64:1,native", n), n, true})
		}
	}
	ss := make([]*series, len(cfgs))
	for i, c := range cfgs {
		ss[i] = newSeries(c.name, func() (float64, error) {
			d, insns, err := e.computeRun(c.topo, 2*c.n, rounds)
			if err != nil {
				return 0, err
			}
			return float64(insns) / d.Seconds() / 1e6, nil
		})
	}
	if err := e.sample(ss...); err != nil {
		return nil, err
	}
	one := ss[0].ref("MIPS")
	one.Name = "1 core"
	var out []Result
	for i, c := range cfgs {
		if c.n == 1 {
			r := result(c.name, "MIPS", ss[i].samples)
			r.Desc = "two compute domains on one rv64 core: the reference for the others"
			out = append(out, r)
			continue
		}
		r := result(c.name, "MIPS", ss[i].samples, one)
		r.Desc = fmt.Sprintf("%d compute domains on one cluster of %d rv64 cores (shared ready queue)", 2*c.n, c.n)
		if c.clusters {
			r.Desc = fmt.Sprintf("%d compute domains on %d one-core rv64 clusters (per-core ready queues)", 2*c.n, c.n)
		}
		r.setTarget(ratioAtLeast(0, 0.9*float64(c.n)))
		out = append(out, r)
	}
	return out, nil
}

// benchPingPong runs two rv64 ping-pong pairs on "rv64:2" (both pairs in
// one cluster of two cores) and on "2*rv64:1" with each pair inside one
// cluster, and with each pair split across the two.
func benchPingPong(e *env) ([]Result, error) {
	n := e.size(30000, 3000)
	smp := ppSpec{topo: "rv64:2,native", pairs: 2}
	paired := ppSpec{topo: "2*rv64:1,native", pairs: 2, home: func(i int) (int, int) { return i, i }}
	split := ppSpec{topo: "2*rv64:1,native", pairs: 2, home: func(i int) (int, int) { return i, 1 - i }}
	a := newSeries("one cluster of 2 cores", smp.rt(e, n))
	b := newSeries("2 one-core clusters, pairs inside", paired.rt(e, n))
	c := newSeries("2 one-core clusters, pairs split", split.rt(e, n))
	ch := e.channelSeries()
	if err := e.sample(a, b, c, ch); err != nil {
		return nil, err
	}
	ra := result("pingpong/smp", "ns", a.samples, ch.ref("ns"))
	ra.Desc = "two rv64 ping-pong pairs on one cluster of two cores (rv64:2): time per round trip, both pairs together"
	rb := result("pingpong/multikernel", "ns", b.samples, a.ref("ns"))
	rb.Desc = "the same on two one-core clusters (2*rv64:1), each pair inside one cluster"
	rc := result("pingpong/multikernel-split", "ns", c.samples, a.ref("ns"))
	rc.Desc = "the same on two one-core clusters, each ping in one cluster and its pong in the other"
	return []Result{ra, rb, rc}, nil
}

// benchQueues runs a mixed workload, five compute domains and two
// ping-pong pairs, on four cores: one cluster of four (a shared ready
// queue) and four one-core clusters (per-core queues, each domain homed
// where the kernel puts it, round robin). It reports the time until all
// are done.
func benchQueues(e *env) ([]Result, error) {
	rounds, n := e.size(40, 4), e.size(20000, 2000)
	mixed := func(topo string) measure {
		return func() (float64, error) {
			s, err := newSys(topo, 128<<20)
			if err != nil {
				return 0, err
			}
			for range 5 {
				p, err := s.load("compute", nil, -1, []string{fmt.Sprint(rounds)}, nil)
				if err == nil {
					err = p.Start()
				}
				if err != nil {
					return 0, err
				}
			}
			for range 2 {
				pong, err := s.load("pong", nil, -1, nil, nil)
				if err == nil {
					err = pong.Start()
				}
				if err != nil {
					return 0, err
				}
				start, err := s.M.StartKey(pong.Domain, 0)
				if err != nil {
					return 0, err
				}
				ping, err := s.load("ping", nil, -1, []string{fmt.Sprint(n)}, map[int]kernel.Key{int(abi.KRArg0): start})
				if err == nil {
					err = ping.Start()
				}
				if err != nil {
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
			return float64(d.Nanoseconds()) / 1e6, nil
		}
	}
	shared := newSeries("one cluster of 4 cores (shared ready queue)", mixed("rv64:4,native"))
	percore := newSeries("4 one-core clusters", mixed("4*rv64:1,native"))
	if err := e.sample(percore, shared); err != nil {
		return nil, err
	}
	r := result("queues/per-core", "ms", percore.samples, shared.ref("ms"))
	r.Desc = "five compute domains and two rv64 ping-pong pairs on four one-core clusters (4*rv64:1), time until all are done, against one cluster of four cores (rv64:4)"
	return []Result{r}, nil
}

// benchMigrate runs one compute domain on "2*rv64:1" while a native mover
// stops it, sets its home and runs it again every 20 µs: to the other
// cluster (it alternates cores, and each core's TLB and decoded-block cache
// are cold for it when it arrives), or to the cluster it is in (it stays),
// and without the mover. It reports the domain's instructions per second.
func benchMigrate(e *env) ([]Result, error) {
	rounds := e.size(150, 20)
	const gap = 20 * time.Microsecond
	var moves, perMove []float64
	run := func(mode int) (time.Duration, uint64, int, error) {
		s, err := newSys("2*rv64:1,native", 64<<20)
		if err != nil {
			return 0, 0, 0, err
		}
		p, err := s.load("compute", nil, 0, []string{fmt.Sprint(rounds)}, nil)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := p.Start(); err != nil {
			return 0, 0, 0, err
		}
		var failed atomic.Int64
		count := 0
		if mode > 0 {
			s.M.RegisterProgram("bench-mover", func(x *kernel.Ctx) {
				r := x.Regs()
				if r[0] > 0 && x.Order() != 0 {
					// The domain may have exited meanwhile, its last
					// message still on its way: not a failure.
					if _, done := p.Exit(); !done {
						failed.Add(1)
					}
				}
				switch r[0] {
				case 0: // started, or the clock woke it
					if _, done := p.Exit(); done {
						return
					}
					r[0] = 1
					x.CallGate(krPartner, &kernel.Msg{Order: int64(abi.OCDomainStop)})
				case 1:
					if mode == 2 {
						r[1] = 1 - r[1]
					}
					r[0] = 2
					x.CallGate(krPartner, &kernel.Msg{Order: int64(abi.OCDomainSetHome), Data: kernel.Words(r[1])})
				case 2:
					r[0] = 3
					x.CallGate(krPartner, &kernel.Msg{Order: int64(abi.OCDomainRun)})
				case 3:
					count++
					r[0] = 0
					_, data := x.Call(krArg1, &kernel.Msg{Order: int64(abi.OCClockRead)})
					var now uint64
					if len(data) >= 8 {
						now = binary.LittleEndian.Uint64(data)
					}
					x.CallGate(krArg1, &kernel.Msg{Order: int64(abi.OCClockWaitUntil), Data: kernel.Words(now + uint64(gap))})
				}
			})
			mover, err := nativeDomain(s.M, "bench-mover", -1)
			if err != nil {
				return 0, 0, 0, err
			}
			if err := s.M.SetKeyReg(mover, int(krPartner), p.Domain); err != nil {
				return 0, 0, 0, err
			}
			if err := s.M.SetKeyReg(mover, int(krArg1), s.Clock); err != nil {
				return 0, 0, 0, err
			}
			if err := s.M.RunDomain(mover); err != nil {
				return 0, 0, 0, err
			}
		}
		d, err := e.timeRun(s.M)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := s.checkExits(); err != nil {
			return 0, 0, 0, err
		}
		if f := failed.Load(); f > 0 {
			return 0, 0, 0, fmt.Errorf("%d of the mover's %d domain key calls failed", f, 3*count)
		}
		return d, rv64Ticks(s.M.Stats()), count, nil
	}
	var stayTime time.Duration
	stay := newSeries("staying on one core", func() (float64, error) {
		d, insns, _, err := run(1)
		stayTime = d
		return float64(insns) / d.Seconds() / 1e6, err
	})
	alt := newSeries("alternating cores", func() (float64, error) {
		d, insns, k, err := run(2)
		if err != nil {
			return 0, err
		}
		moves = append(moves, float64(k))
		if k > 0 {
			perMove = append(perMove, float64((d-stayTime).Nanoseconds())/float64(k))
		}
		return float64(insns) / d.Seconds() / 1e6, nil
	})
	none := newSeries("left alone", func() (float64, error) {
		d, insns, _, err := run(0)
		return float64(insns) / d.Seconds() / 1e6, err
	})
	if err := e.sample(stay, alt, none); err != nil {
		return nil, err
	}
	r := result("migrate", "MIPS", alt.samples, stay.ref("MIPS"), none.ref("MIPS"))
	r.Extra = map[string]float64{"migrations per run": median(moves), "ns per migration": median(perMove)}
	r.Note = fmt.Sprintf("a mover stops the domain, sets its home and runs it again every %v; staying does the same to the cluster it is in; "+
		"about %s ns more per migration than staying, which includes waking the destination core (asleep while its cluster is empty) and cold TLB and decoded-block caches there",
		gap, fmtNum(median(perMove)))
	return []Result{r}, nil
}

// spin busies the core for about d.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

// benchFlood floods a busy target. The target and a bystander share a
// one-core native cluster; k flooders in another cluster, of as many cores
// as the machine has CPUs besides (at least one), each
// CALL (even ones) or FORK (odd ones) to the target's start key as fast as
// they can until the bystander is done. The target spends 1 µs on each
// message. For each k it reports the longest inbox or stall queue seen
// (kernel.Stats: the flooders' replies come back one at a time, so the
// longest is in the target's cluster) against k, and
// messages lost (sent less received, which must be 0); and the
// bystander's throughput at the largest k against the bystander alone.
func benchFlood(e *env) ([]Result, error) {
	ks := []int{1, 4, 16, 64}
	if e.opts.Short {
		ks = []int{1, 8}
	}
	units := e.size(10000, 1000)
	// The flooders' cluster has the CPUs the target's core leaves.
	floodCores := max(1, min(runtime.NumCPU()-1, 15))
	const work, unit = time.Microsecond, 5 * time.Microsecond
	type outcome struct {
		queue, lost, sent float64
		rate              float64 // bystander units per ms
	}
	run := func(k int) (outcome, error) {
		var o outcome
		m, err := machine(fmt.Sprintf("native,native:%d", floodCores), 64<<20)
		if err != nil {
			return o, err
		}
		var stop atomic.Bool
		var received atomic.Int64
		var bystanderTime time.Duration
		m.RegisterProgram("bench-target", func(x *kernel.Ctx) {
			spin(work)
			received.Add(1)
			x.Return(krResume, &kernel.Msg{Order: x.Order() + 1})
		})
		var t0 time.Time
		m.RegisterProgram("bench-bystander", func(x *kernel.Ctx) {
			r := x.Regs()
			if r[1] == 0 {
				t0, r[1] = time.Now(), 1
			}
			spin(unit)
			if r[0]--; r[0] > 0 {
				x.Fork(0, &kernel.Msg{})
				return
			}
			bystanderTime = time.Since(t0)
			stop.Store(true)
		})
		m.RegisterProgram("bench-flooder", func(x *kernel.Ctx) {
			r := x.Regs()
			if r[1] > 0 { // the outcome of the last message
				want := int64(2)
				if r[0] == 1 {
					want = 0
				}
				if x.Order() != want {
					r[2]++
				}
			}
			if stop.Load() {
				return
			}
			r[1]++
			if r[0] == 0 {
				x.CallGate(krPartner, &kernel.Msg{Order: 1})
			} else {
				x.Fork(krPartner, &kernel.Msg{Order: 1})
			}
		})
		target, err := nativeDomain(m, "bench-target", 0)
		if err != nil {
			return o, err
		}
		start, err := m.StartKey(target, 0)
		if err != nil {
			return o, err
		}
		if err := m.MakeAvailable(target); err != nil {
			return o, err
		}
		var flooders []kernel.Key
		for i := range k {
			f, err := nativeDomain(m, "bench-flooder", 1)
			if err != nil {
				return o, err
			}
			if err := m.SetKeyReg(f, int(krPartner), start); err != nil {
				return o, err
			}
			if err := setRegs(m, f, uint64(i%2)); err != nil {
				return o, err
			}
			flooders = append(flooders, f)
		}
		by, err := nativeDomain(m, "bench-bystander", 0)
		if err != nil {
			return o, err
		}
		if err := setRegs(m, by, uint64(units)); err != nil {
			return o, err
		}
		if err := m.RunDomain(by); err != nil {
			return o, err
		}
		for _, f := range flooders {
			if err := m.RunDomain(f); err != nil {
				return o, err
			}
		}
		if _, err := e.timeRun(m); err != nil {
			return o, err
		}
		var sent uint64
		for _, f := range flooders {
			w, err := regs(m, f)
			if err != nil {
				return o, err
			}
			if w[2] != 0 {
				return o, fmt.Errorf("a flooder got %d wrong answers", w[2])
			}
			sent += w[1]
		}
		st := m.Stats()
		o.queue = float64(max(st.MaxInbox, st.MaxStallQueue))
		o.sent = float64(sent)
		o.lost = float64(int64(sent) - received.Load())
		o.rate = float64(units) / (float64(bystanderTime.Nanoseconds()) / 1e6)
		return o, nil
	}
	type row struct {
		k          int
		s          *series
		lost, sent []float64
		rate       []float64
	}
	var rows []*row
	var ss []*series
	alone := &row{}
	alone.s = newSeries("bystander alone", func() (float64, error) {
		o, err := run(0)
		return o.rate, err
	})
	ss = append(ss, alone.s)
	for _, k := range ks {
		rw := &row{k: k}
		rw.s = newSeries(fmt.Sprintf("%d flooders", k), func() (float64, error) {
			o, err := run(k)
			rw.lost = append(rw.lost, o.lost)
			rw.sent = append(rw.sent, o.sent)
			rw.rate = append(rw.rate, o.rate)
			return o.queue, err
		})
		rows = append(rows, rw)
		ss = append(ss, rw.s)
	}
	if err := e.sample(ss...); err != nil {
		return nil, err
	}
	var out []Result
	var lost []float64
	for _, rw := range rows {
		r := result(fmt.Sprintf("flood/queue-%d", rw.k), "entries", rw.s.samples,
			Ref{Name: "flooding domains", Value: float64(rw.k), Unit: "entries"})
		r.Desc = fmt.Sprintf("longest inbox or stall queue with %d flooders on %d cores", rw.k, floodCores)
		r.setTarget(ratioAtMost(0, 1))
		r.Extra = map[string]float64{"messages per run": median(rw.sent)}
		out = append(out, r)
		lost = append(lost, rw.lost...)
	}
	worst := 0.0
	for _, l := range lost {
		worst = max(worst, l)
	}
	rl := Result{Name: "flood/lost", Desc: "messages sent to the target and never received, worst run", Unit: "messages",
		Value: worst, Samples: lost}
	rl.setTarget(atMost(0))
	last := rows[len(rows)-1]
	rb := result("flood/bystander", "units/ms", last.rate, alone.s.ref("units/ms"))
	rb.Desc = fmt.Sprintf("a bystander's throughput (%v work units) in the target's cluster while %d domains flood the target, against the bystander alone", unit, last.k)
	rb.Note = "the target spends 1 µs on each message, on the bystander's core"
	out = append(out, rl, rb)
	return out, nil
}
