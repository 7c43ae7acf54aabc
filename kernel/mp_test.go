package kernel

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// crossWorkload is many client domains calling and forking to server
// domains spread over clusters. Servers log every message; each reply
// goes through the caller's resume key after the server has tried a stale
// copy of the previous caller's resume key.
type crossWorkload struct {
	clients, servers, msgs int

	mu  sync.Mutex
	log [][]logEntry // per client: the messages servers received, in the order each server got them
}

type logEntry struct{ server, seq uint64 }

// Client registers: 0 index, 1 next sequence number, 2 how many to send,
// 3 good replies, 4 bad replies, 5 last action (1 call, 2 fork), 6 calls.
// Key registers 1..servers: start keys to the servers (data byte: client).
func (w *crossWorkload) client(x *Ctx) {
	r := x.Regs()
	switch r[5] {
	case 1:
		if x.Order() == int64(r[1]) && x.DataByte() == -1 {
			r[3]++
		} else {
			r[4]++
		}
	}
	if r[1] >= r[2] {
		r[1]++ // past the end: done
		return
	}
	r[1]++
	// Every server in turn: a choice that took only some (r[1]*3 with
	// six servers took two) could keep each client in its own cluster,
	// as homes are dealt round the clusters in the same turn.
	server := uint8(1 + (r[0]*7+r[1])%uint64(w.servers))
	if (r[0]+r[1])%3 == 0 {
		r[5] = 2
		x.Fork(server, &Msg{Order: int64(r[1])})
		return
	}
	r[5], r[6] = 1, r[6]+1
	x.CallGate(server, &Msg{Order: int64(r[1])})
}

// Server registers: 0 1 while a reply is pending, 1 the pending reply's
// order, 2 the server's index. Key registers: 15 the caller's resume key as received, 13 the
// pending caller's, 14 a stale copy of an earlier caller's.
func (w *crossWorkload) server(x *Ctx) {
	r := x.Regs()
	if r[0] == 1 {
		// Continuation after forking to the stale key: now reply.
		r[0] = 0
		x.Move(14, 13) // keep a copy: stale once used
		x.Return(13, &Msg{Order: int64(r[1])})
		return
	}
	client := x.DataByte()
	w.mu.Lock()
	w.log[client] = append(w.log[client], logEntry{r[2], uint64(x.Order())})
	w.mu.Unlock()
	if x.KeyType(15) != abi.KTResume {
		return // a FORK: nothing to answer
	}
	r[0], r[1] = 1, uint64(x.Order())
	x.Move(13, 15)
	// A RETURN through a used resume key delivers nothing.
	x.Fork(14, &Msg{Order: -999})
}

// setup builds the workload on m and returns the client domain keys.
func (w *crossWorkload) setup(t testing.TB, m *Machine) []Key {
	w.log = make([][]logEntry, w.clients)
	m.RegisterProgram("client", w.client)
	m.RegisterProgram("server", w.server)
	mk := func(p string) Key {
		d, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	servers := make([]Key, w.servers)
	for i := range servers {
		servers[i] = mk("server")
		regs := make([]uint64, abi.RegsNative)
		regs[2] = uint64(i)
		m.MustCall(servers[i], int64(abi.OCDomainSetRegs), Words(regs...))
		m.MakeAvailable(servers[i])
	}
	clients := make([]Key, w.clients)
	for i := range clients {
		clients[i] = mk("client")
		regs := make([]uint64, abi.RegsNative)
		regs[0], regs[2] = uint64(i), uint64(w.msgs)
		m.MustCall(clients[i], int64(abi.OCDomainSetRegs), Words(regs...))
		for j, s := range servers {
			m.SetKeyReg(clients[i], j+1, mustStart(m, s, uint8(i)))
		}
		m.RunDomain(clients[i])
	}
	return clients
}

// verify checks exactly-once, in-order delivery and the replies.
func (w *crossWorkload) verify(t testing.TB, m *Machine, clients []Key) {
	t.Helper()
	want := make([]uint64, w.msgs)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	for i, c := range clients {
		// Exactly once: every sequence number arrived, once.
		var seqs []uint64
		last := map[uint64]uint64{}
		for _, e := range w.log[i] {
			seqs = append(seqs, e.seq)
			// In the sender's order: each server got this client's
			// messages in increasing order.
			if e.seq <= last[e.server] {
				t.Fatalf("client %d: server %d got message %d after %d", i, e.server, e.seq, last[e.server])
			}
			last[e.server] = e.seq
		}
		slices.Sort(seqs)
		if !slices.Equal(seqs, want) {
			t.Fatalf("client %d: servers received %v, want 1..%d once each", i, seqs, w.msgs)
		}
		r := c.hdr.domain().cpu.nat.r
		if r[1] != uint64(w.msgs)+1 {
			t.Fatalf("client %d stopped at message %d of %d (deadlock?)", i, r[1], w.msgs)
		}
		if r[4] != 0 || r[3] != r[6] {
			t.Fatalf("client %d: %d good replies to %d calls, %d bad (a resume key worked twice, or a reply went astray)", i, r[3], r[6], r[4])
		}
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

func runCross(t testing.TB, cfg Config, w *crossWorkload) *Machine {
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clients := w.setup(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	w.verify(t, m, clients)
	if len(m.clusters) > 1 && m.Stats().Messages == 0 {
		t.Fatalf("%s: no message crossed clusters", cfg.Topology)
	}
	return m
}

// TestStressDeterministic runs the cross-cluster workload in deterministic
// mode under many seeds and several topologies: 300 seeds, 200 of them on
// several clusters (runCross checks that messages crossed) and 100 on one
// cluster of three cores.
func TestStressDeterministic(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 30
	}
	topos := []string{"native,native:2,native", "4*native:1", "native:3"}
	for seed := range seeds {
		topo := topos[seed%len(topos)]
		// A subtest per seed: a failure names its seed, and
		// -run 'TestStressDeterministic/seed=N$' replays it.
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			w := &crossWorkload{clients: 12, servers: 5, msgs: 40}
			runCross(t, Config{Topology: topo, Deterministic: true, Seed: uint64(seed)}, w)
		})
	}
}

// TestStressParallel runs it with one goroutine per core (run it with
// -race).
func TestStressParallel(t *testing.T) {
	rounds, msgs := 12, 2000
	if testing.Short() {
		rounds, msgs = 3, 500
	}
	for i := range rounds {
		w := &crossWorkload{clients: 16, servers: 6, msgs: msgs}
		topo := []string{"native:2,native,native", "4*native:1", "native:2,native:2"}[i%3]
		runCross(t, Config{Topology: topo}, w)
	}
}

// TestTraceIdentity runs the same workload twice with one seed and
// compares the full event traces.
func TestTraceIdentity(t *testing.T) {
	trace := func(seed uint64) []Event {
		var evs []Event
		cfg := Config{Topology: "native,native:2,native", Deterministic: true, Seed: seed,
			Trace: func(e Event) { evs = append(evs, e) }}
		runCross(t, cfg, &crossWorkload{clients: 8, servers: 4, msgs: 30})
		return evs
	}
	a, b := trace(42), trace(42)
	if len(a) == 0 {
		t.Fatal("no events traced")
	}
	if !slices.Equal(a, b) {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("traces differ at event %d of %d/%d: %v vs %v", i, len(a), len(b), a[i], b[i])
			}
		}
		t.Fatalf("traces differ in length: %d vs %d", len(a), len(b))
	}
	if c := trace(43); slices.Equal(a, c) {
		t.Fatal("a different seed gave the same trace: the seed does not drive the schedule")
	}
	t.Logf("%d events, identical", len(a))
}

// TestManyWaitingDomains puts 100,000 domains, spread over 4 clusters, in
// the waiting state (each called a server that never answers) and checks
// that the goroutine count does not grow.
func TestManyWaitingDomains(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	m, err := New(Config{Topology: "4*native:1", Memory: 2 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterProgram("sink", func(x *Ctx) {}) // drops the resume key
	m.RegisterProgram("caller", func(x *Ctx) {
		if x.Regs()[0] == 0 {
			x.Regs()[0] = 1
			x.CallGate(1, &Msg{})
		}
	})
	sink, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "sink")
	m.MakeAvailable(sink)
	start := mustStart(m, sink, 0)
	before := runtime.NumGoroutine()
	doms := make([]*Domain, n)
	for i := range doms {
		d, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "caller")
		if err != nil {
			t.Fatal(err)
		}
		m.SetKeyReg(d, 1, start)
		m.RunDomain(d)
		doms[i] = d.hdr.domain()
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	homes := map[int]int{}
	for _, d := range doms {
		if d.external() != abi.StateWaiting {
			t.Fatalf("a caller is %v, want waiting", d.external())
		}
		homes[d.home.Load().index]++
	}
	if len(homes) != 4 {
		t.Fatalf("callers are homed in %d clusters, want 4: %v", len(homes), homes)
	}
	runtime.GC()
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines grew from %d to %d with %d waiting domains", before, after, n)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestFlood has one domain per core forking to a busy target as fast as it
// can, beside worker domains doing round trips in the same clusters. No
// queue may grow past the number of domains, nothing may be lost, and the
// workers must keep making progress; their throughput with and without the
// flood is logged (a measurement, not a pass criterion).
func TestFlood(t *testing.T) {
	const topo = "native:2,native:2"
	var stop atomic.Bool
	var received, sent atomic.Int64
	var work atomic.Int64
	run := func(flood bool, d time.Duration) (workers int64, st Stats, ndom int) {
		stop.Store(false)
		received.Store(0)
		sent.Store(0)
		work.Store(0)
		m, err := New(Config{Topology: topo})
		if err != nil {
			t.Fatal(err)
		}
		// The target: busy, it handles each message in 20 events.
		m.RegisterProgram("target", func(x *Ctx) {
			r := x.Regs()
			if r[0] == 0 {
				received.Add(1)
				r[0] = 20
			}
			if r[0]--; r[0] > 0 {
				x.Fork(0, &Msg{})
			}
		})
		m.RegisterProgram("flooder", func(x *Ctx) {
			if x.Regs()[0] == 1 {
				sent.Add(1) // the previous fork was delivered
			}
			x.Regs()[0] = 1
			if stop.Load() {
				return
			}
			x.Fork(1, &Msg{Order: 1})
		})
		m.RegisterProgram("pong", pongProgram)
		m.RegisterProgram("worker", func(x *Ctx) {
			work.Add(1)
			if stop.Load() {
				return
			}
			x.CallGate(1, &Msg{})
		})
		mk := func(p string) Key {
			dk, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, p)
			if err != nil {
				t.Fatal(err)
			}
			ndom++
			return dk
		}
		target := mk("target")
		m.MakeAvailable(target)
		ts := mustStart(m, target, 0)
		for range 2 { // a worker pair per cluster (clusterFor alternates)
			for range 2 {
				pong := mk("pong")
				m.MakeAvailable(pong)
				wk := mk("worker")
				m.SetKeyReg(wk, 1, mustStart(m, pong, 0))
				m.RunDomain(wk)
			}
		}
		if flood {
			for range m.Cores() {
				f := mk("flooder")
				m.SetKeyReg(f, 1, ts)
				m.RunDomain(f)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		m.Run(ctx)
		cancel()
		workers = work.Load()
		// Stop the flood and let everything in flight arrive.
		stop.Store(true)
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := m.Check(); err != nil {
			t.Fatal(err)
		}
		return workers, m.Stats(), ndom
	}
	d := 300 * time.Millisecond
	if testing.Short() {
		d = 100 * time.Millisecond
	}
	base, _, _ := run(false, d)
	flooded, st, ndom := run(true, d)
	if flooded == 0 {
		t.Fatal("the workers made no progress during the flood")
	}
	if s, r := sent.Load(), received.Load(); s != r || r == 0 {
		t.Fatalf("flooders had %d forks delivered, the target received %d", s, r)
	}
	if st.MaxStallQueue > int64(ndom) || st.MaxInbox > int64(ndom) {
		t.Fatalf("a queue grew past the number of domains (%d): stall %d, inbox %d", ndom, st.MaxStallQueue, st.MaxInbox)
	}
	t.Logf("%s, %v: worker events %d without the flood, %d with it (%.0f%%); target received %d; longest stall queue %d, inbox %d, of %d domains",
		topo, d, base, flooded, 100*float64(flooded)/float64(max(base, 1)), received.Load(), st.MaxStallQueue, st.MaxInbox, ndom)
}

func ExampleParseTopology() {
	specs, err := ParseTopology("4*rv64:1,native")
	fmt.Println(len(specs), err, FormatTopology(specs))
	mixed, _ := ParseTopology("rv64+native:2")
	fmt.Println(mixed[0].Kinds.Has(abi.KindNative), mixed[0].Cores, FormatTopology(mixed))
	// Output:
	// 5 <nil> rv64:1,rv64:1,rv64:1,rv64:1,native:1
	// true 2 rv64+native:2
}
