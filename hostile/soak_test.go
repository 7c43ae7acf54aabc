package hostile

import (
	"encoding/binary"
	"flag"
	"fmt"
	"hash"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// The soak test: random invocations, many of them, with the invariant
// checker run after every round. The documented run (SECURITY.md) is
//
//	go test ./hostile -run TestSoak -soak.invocations=10000000 -timeout 60m -v
//
// CI runs the default (-soak.invocations=300000; 60000 with -short) and,
// from .ci/run, two parallel-mode runs of 3 million.
var (
	soakInvocations = flag.Int64("soak.invocations", 0, "invocations the soak test makes (0: 300000, or 60000 with -short)")
	soakSeed        = flag.Uint64("soak.seed", 1, "seed of the soak test's random invocations and deterministic schedule")
	soakParallel    = flag.Bool("soak.parallel", false, "run the soak test in parallel mode (a core per goroutine) instead of deterministic mode")
)

// soakOps hands out random puppet ops, a quota per puppet and round.
type soakOps struct {
	rng  []*rand.Rand
	left []int
}

func newSoakOps(seed uint64, n int) *soakOps {
	o := &soakOps{left: make([]int, n)}
	for i := range n {
		o.rng = append(o.rng, rand.New(rand.NewPCG(seed, uint64(i)+1)))
	}
	return o
}

func (o *soakOps) refill(quota int) {
	for i := range o.left {
		o.left[i] = quota
	}
}

// next draws puppet who's next op: mostly plausible (small order codes,
// short strings, the registers that hold keys), now and then anything.
// Destroying the shared bank or selling a puppet ends much of the soak's
// work, so those are drawn rarely.
func (o *soakOps) next(who uint64) ([]byte, bool) {
	if o.left[who] == 0 {
		return nil, false
	}
	o.left[who]--
	r := o.rng[who]
	b := make([]byte, opSize)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	switch w := r.IntN(100); {
	case w < 50:
		b[0] = wSync
	case w < 63:
		b[0] = wCall
	case w < 70:
		b[0] = wReturn
	case w < 82:
		b[0] = wFork
	default:
		b[0] = wMove
	}
	b[1] = byte(r.IntN(16))
	order := uint64(r.IntN(17))
	switch r.IntN(20) {
	case 0:
		order = uint64(abi.OCKeyType)
	case 1:
		order = r.Uint64()
	}
	if b[1] == pBank && (order == uint64(abi.OCBankDestroy) || order == uint64(abi.OCBankSell)) && r.IntN(40) != 0 {
		order = uint64(abi.OCBankGetLedger)
	}
	binary.LittleEndian.PutUint64(b[2:], order)
	n := r.IntN(33)
	if r.IntN(16) == 0 {
		n = r.IntN(4200)
	}
	binary.LittleEndian.PutUint16(b[10:], uint16(n))
	for i := 12; i < 20; i++ {
		b[i] = byte(r.IntN(16))
	}
	return b, true
}

// soakStats are a soak run's figures.
type soakStats struct {
	native, rv64, checks, rounds, machines int64
}

func (s soakStats) String() string {
	return fmt.Sprintf("%d invocations (%d by native puppets, %d rv64 ecalls), %d machines, %d rounds, %d invariant checks, 0 violations",
		s.native+s.rv64, s.native, s.rv64, s.machines, s.rounds, s.checks)
}

// TestSoak makes random invocations until -soak.invocations have been
// made, on machines of four clusters ("native:2,native,rv64,rv64"): six
// native puppets (puppet_test.go) homed in the two native clusters, and an
// ecalls program (random ecall arguments) on each rv64 cluster. In rounds:
// every puppet makes up to 400 random invocations and the ecalls programs
// run on; the machine runs to rest, pausing every 97 kernel events for the
// invariant checker; the invariant checker runs again; whatever a
// random invocation left idle is revived (waits stopped, stopped domains
// run, the shared meter refilled). After 40 rounds, or once half the
// puppets are dead (sold, or their bank destroyed), the machine's banks
// are destroyed, the invariants checked after each, every byte of storage
// must be back, and a fresh machine continues. Expected: no panic, no
// hang, no invariant violation, at any point.
func TestSoak(t *testing.T) {
	want := *soakInvocations
	if want == 0 {
		want = 300_000
		if testing.Short() {
			want = 60_000
		}
	}
	start := time.Now()
	st := soak(t, *soakSeed, want, kernel.Config{Deterministic: !*soakParallel})
	t.Logf("soak (seed %d, %s mode): %v in %v", *soakSeed, map[bool]string{false: "deterministic", true: "parallel"}[*soakParallel],
		st, time.Since(start).Round(time.Second))
}

// TestSoakFastPathMatches runs short deterministic soaks twice, with the
// kernel's invocation fast path on and off (Config.GeneralPath), and
// requires the same kernel events, in the same order, and the same
// counts, and the same objects in the same states at the end of each
// machine: the fast path must do what the general path does, for rv64
// domains, keepers and dying banks too.
func TestSoakFastPathMatches(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			type result struct {
				events  int
				hash    uint64
				stats   soakStats
				fast    uint64
				byKey   map[string]uint64
				byTrap  map[string]uint64
				lastEvt kernel.Event
			}
			run := func(general bool) result {
				var r result
				h := &eventHash{Hash64: fnv.New64a()}
				cfg := kernel.Config{Deterministic: true, GeneralPath: general, Trace: h.add}
				r.stats = soakWith(t, 100+seed, 20_000, cfg, func(m *kernel.Machine) {
					st := m.Stats()
					for _, c := range st.Cores {
						r.fast += c.FastInvocations
					}
					r.byKey, r.byTrap = st.Invocations, st.Traps
					// Every domain's state, keys and ticks, every bank
					// and meter, before the machine is torn down.
					snap, err := m.Inspect()
					if err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(h, "%+v", snap)
				})
				r.hash, r.events, r.lastEvt = h.Sum64(), h.events, h.last
				return r
			}
			fast, general := run(false), run(true)
			if fast.events != general.events || fast.hash != general.hash {
				t.Fatalf("fast path: %d events (last %v), hash %#x; general path: %d events (last %v), hash %#x",
					fast.events, fast.lastEvt, fast.hash, general.events, general.lastEvt, general.hash)
			}
			if fast.stats != general.stats || !maps.Equal(fast.byKey, general.byKey) || !maps.Equal(fast.byTrap, general.byTrap) {
				t.Fatalf("counts differ: fast path %v %v %v; general path %v %v %v",
					fast.stats, fast.byKey, fast.byTrap, general.stats, general.byKey, general.byTrap)
			}
			if fast.fast == 0 || general.fast != 0 {
				t.Fatalf("fast invocations: %d with the fast path (want some), %d without (want 0)", fast.fast, general.fast)
			}
		})
	}
}

// eventHash hashes the kernel events it is given (Config.Trace), to
// compare two runs; other writes to it (a snapshot) go into the hash too.
type eventHash struct {
	hash.Hash64
	events int
	last   kernel.Event
	b      [24]byte
}

func (h *eventHash) add(e kernel.Event) {
	h.events++
	h.last = e
	binary.LittleEndian.PutUint64(h.b[0:], uint64(e.Core))
	binary.LittleEndian.PutUint64(h.b[8:], uint64(e.Domain))
	binary.LittleEndian.PutUint64(h.b[16:], uint64(e.Arg))
	h.Write(h.b[:])
	h.Write([]byte(e.What))
}

// soak makes random invocations until want have been made, on machines
// seeded from seed, as TestSoak describes; cfg gives the mode.
func soak(t *testing.T, seed uint64, want int64, cfg kernel.Config) soakStats {
	return soakWith(t, seed, want, cfg, nil)
}

// soakWith is soak, calling each machine's done (if not nil) before the
// machine is torn down.
func soakWith(t *testing.T, soakSeed uint64, want int64, base kernel.Config, done func(*kernel.Machine)) soakStats {
	const puppets, quota, maxRounds = 6, 400, 40
	var st soakStats
	for machine := uint64(0); st.native+st.rv64 < want; machine++ {
		seed := soakSeed*1_000_003 + machine
		ops := newSoakOps(seed, puppets)
		cfg := base
		cfg.Topology, cfg.Seed, cfg.Memory = "native:2,native,rv64,rv64", seed, 128<<20
		ecallArgs := func(i int) []string {
			return []string{"ecalls", fmt.Sprint(seed*8 + uint64(i)), fmt.Sprint(quota * maxRounds)}
		}
		r := newPuppetRig(t, cfg, puppets, ops.next, ecallArgs, nil)
		st.machines++
		r.start(t)
		for round := 0; round < maxRounds && st.native+r.count.Load()+rv64Invocations(r.m) < want; round++ {
			ops.refill(quota)
			r.reviveEcalls()
			if round > 0 && r.revive() < puppets/2 {
				break
			}
			r.run(t, 30*time.Second)
			st.rounds++
			st.checks++
			if err := r.m.Check(); err != nil {
				t.Fatalf("machine %d (seed %d) round %d: %v", machine, seed, round, err)
			}
		}
		st.native += r.count.Load()
		st.rv64 += rv64Invocations(r.m)
		st.checks += r.checks
		if done != nil {
			done(r.m)
		}
		r.teardown(t)
		st.checks += int64(len(r.extra) + len(r.ecalls) + 1)
	}
	return st
}

// rv64Invocations is the ecalls the machine's rv64 cores handled.
func rv64Invocations(m *kernel.Machine) int64 {
	var n int64
	for _, c := range m.Stats().Cores {
		if c.Kind == "rv64" {
			n += int64(c.Invocations)
		}
	}
	return n
}

// ecallsRoundBudget is what an ecalls program may spend in one round of
// the soak: a random receive buffer can overwrite its own stack, and its
// keeper then restarts it into the same crash, over and over, until its
// meter runs out.
const ecallsRoundBudget = 3_000_000

// reviveEcalls runs on the ecalls programs a random invocation left idle,
// with a fresh round's budget, and refills the shared meter of the puppets
// (a random invocation may have set its budget to nothing).
func (r *puppetRig) reviveEcalls() {
	for _, p := range r.ecalls {
		r.m.Call(p.Meter, int64(abi.OCMeterSetBudget), kernel.Words(ecallsRoundBudget))
		rep, _ := r.m.Call(p.Domain, int64(abi.OCDomainGetState), nil)
		if rep.Data == nil {
			continue
		}
		switch abi.State(rep.Word(int(abi.DomainStateState))) {
		case abi.StateWaiting:
			r.m.Call(p.Domain, int64(abi.OCDomainStop), nil)
		case abi.StateRunning:
			continue
		}
		r.m.Call(p.Domain, int64(abi.OCDomainRun), nil)
	}
	if r.recover != nil {
		r.m.Call(r.recover.Meter, int64(abi.OCMeterSetBudget), kernel.Words(recoverBudget))
	}
	for _, d := range r.puppets {
		rep, _ := r.m.Call(d, int64(abi.OCDomainGetSlot), kernel.Words(uint64(abi.SlotMeter)))
		r.m.Call(rep.Keys[0], int64(abi.OCMeterSetBudget), kernel.Words(1<<62))
	}
}
