package hostile

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

// Puppets: native domains, homed in different clusters, that perform a
// stream of random invocations. Each invocation is a 20-byte op:
//
//	0      what: 0-2 and 7 an invocation answered at once (Ctx.Call), 3 a
//	       CALL, 4 a RETURN, 5 a FORK (a final invocation: the puppet's
//	       event ends), 6 a move between key registers
//	1      the key register invoked
//	2..9   the order code
//	10,11  the string's length (little-endian; may exceed 4096); its words
//	       are small numbers drawn from the op, so that slots, kinds,
//	       offsets and budgets hit
//	12..15 the key registers of the keys sent
//	16..19 the key registers the keys of the reply land in
//
// A puppet's key registers hold every kind of key, to objects of a bank
// shared by the puppets (so that destroying it kills them all): see
// puppetKeys. Invocations reach the puppets' own clusters and the others,
// native and rv64.
const opSize = 20

// opSource gives puppet who its next op, or false when it has none for now
// (the puppet then becomes available).
type opSource func(who uint64) ([]byte, bool)

// puppetProgram is the native program of every puppet. count counts the
// invocations performed (every op but a move).
func puppetProgram(next opSource, count *atomic.Int64) kernel.Program {
	return func(x *kernel.Ctx) {
		who := x.Regs()[0]
		for {
			op, ok := next(who)
			if !ok {
				return
			}
			n := int(binary.LittleEndian.Uint16(op[10:]))
			msg := &kernel.Msg{Order: int64(binary.LittleEndian.Uint64(op[2:])), Data: opString(op, n)}
			copy(msg.Keys[:], op[12:16])
			copy(msg.Recv[:], op[16:20])
			kr := op[1]
			switch op[0] % 8 {
			case 3:
				count.Add(1)
				x.CallGate(kr, msg)
				return
			case 4:
				count.Add(1)
				x.Return(kr, msg)
				return
			case 5:
				count.Add(1)
				x.Fork(kr, msg)
				return
			case 6:
				x.Move(op[12], op[13])
			default:
				count.Add(1)
				x.Call(kr, msg)
			}
		}
	}
}

// opString makes an op's string of n bytes: little-endian words of small
// numbers taken from the op's bytes (and zeros past 64 bytes).
func opString(op []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := 0; i+8 <= min(n, 64); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(op[2+(i/8)%8]%20))
	}
	return b
}

// puppetRig is a machine with puppets on its native clusters and,
// optionally, rv64 ecalls programs on its rv64 clusters.
type puppetRig struct {
	s       *system.System
	m       *kernel.Machine
	bank    kernel.Key   // the puppets' shared bank
	puppets []kernel.Key // domain keys
	ecalls  []*system.Proc
	extra   []kernel.Key // other banks to destroy: recover's
	recover *system.Proc
	count   atomic.Int64 // native invocations performed
	// base is the prime bank's use before the rig was built, and loaded
	// what each program loaded leaves in the prime bank for good (its
	// meter and its exit collector).
	base, loaded uint64
	// events counts kernel events; at pauseAt the run is paused for an
	// invariant check (checks counts them).
	events, pauseAt atomic.Int64
	cancel          atomic.Pointer[context.CancelFunc]
	checks          int64
}

// newPuppetRig builds n puppets running next, homed round robin in the
// native clusters of cfg's topology, and ecalls programs (args) on every
// rv64 cluster, one per rv64 cluster, each with recover as its keeper and,
// if mount is not nil, a page holding mount at 0x3000_0000 (for ecalls
// "buf").
func newPuppetRig(tb testing.TB, cfg kernel.Config, n int, next opSource, ecallArgs func(i int) []string, mount []byte) *puppetRig {
	tb.Helper()
	r := &puppetRig{}
	trace := cfg.Trace
	cfg.Trace = func(e kernel.Event) {
		if trace != nil {
			trace(e)
		}
		if r.events.Add(1) == r.pauseAt.Load() {
			if c := r.cancel.Load(); c != nil {
				(*c)()
			}
		}
	}
	s, err := system.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	r.s, r.m = s, s.M
	m := s.M
	r.base = primeUsed(m)
	must := func(k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) kernel.Reply {
		tb.Helper()
		rep, err := m.Call(k, int64(order), data, keys...)
		if err != nil || rep.RC != 0 && order != abi.OCKeyType {
			tb.Fatalf("setting up: %v order %d: %v, return code %d", k, order, err, rep.RC)
		}
		return rep
	}
	m.RegisterProgram("puppet", puppetProgram(next, &r.count))
	r.bank = must(m.PrimeBank(), abi.OCBankBuyBank, kernel.Words(64<<20, 2000, 2000, 64, 64, 64)).Keys[0]
	meter := must(r.bank, abi.OCBankBuyMeter, kernel.Words(1<<62), m.PrimeMeter()).Keys[0]
	var native, rv []int
	for i, c := range m.Clusters() {
		if c.Kinds.Has(abi.KindNative) {
			native = append(native, i)
		}
		if c.Kinds.Has(abi.KindRV64) {
			rv = append(rv, i)
		}
	}
	for i := range n {
		d, err := m.NewDomain(r.bank, meter, abi.KindNative, "puppet")
		if err != nil {
			tb.Fatal(err)
		}
		regs := make([]uint64, abi.RegsNative)
		regs[0] = uint64(i)
		must(d, abi.OCDomainSetRegs, kernel.Words(regs...))
		must(d, abi.OCDomainSetHome, kernel.Words(uint64(native[i%len(native)])))
		r.puppets = append(r.puppets, d)
	}
	// The ecalls programs and their keeper, on the rv64 clusters.
	var ecallStart kernel.Key
	if len(rv) > 0 && ecallArgs != nil {
		keybits, _ := m.DeviceKey(abi.KTKeybits)
		discrim, _ := m.DeviceKey(abi.KTDiscrim)
		returner, _ := m.DeviceKey(abi.KTReturner)
		rec, err := s.Load("recover", mustImage(tb, "hostile/recover"), system.Options{
			Budget: recoverBudget, Keys: map[int]kernel.Key{int(abi.KRArg0): keybits}})
		if err != nil {
			tb.Fatal(err)
		}
		recStart, _ := m.StartKey(rec.Domain, 0)
		if err := rec.Start(); err != nil {
			tb.Fatal(err)
		}
		puppetStart, _ := m.StartKey(r.puppets[0], 3)
		var page kernel.Key
		if mount != nil {
			page = must(r.bank, abi.OCBankBuyPage, nil).Keys[0]
			for off := 0; off < min(len(mount), int(abi.LimitPageSize)); off += 2048 {
				chunk := mount[off:min(off+2048, len(mount), int(abi.LimitPageSize))]
				must(page, abi.OCPageWrite, append(kernel.Words(uint64(off)), chunk...))
			}
		}
		for i, cl := range rv {
			opt := system.Options{Keeper: recStart, Budget: 1 << 40, Args: ecallArgs(i),
				Keys: map[int]kernel.Key{int(abi.KRArg0): puppetStart, int(abi.KRArg0) + 1: discrim,
					int(abi.KRArg0) + 2: returner, int(abi.KRClock): {}}}
			if mount != nil {
				opt.Mounts = []loader.Mount{{At: 0x3000_0000, Segment: page}}
			}
			p, err := s.Load("ecalls", mustImage(tb, "hostile/ecalls"), opt)
			if err != nil {
				tb.Fatal(err)
			}
			must(p.Domain, abi.OCDomainSetHome, kernel.Words(uint64(cl)))
			r.ecalls = append(r.ecalls, p)
		}
		r.extra = append(r.extra, rec.Bank)
		r.recover = rec
		r.loaded = uint64(len(rv)+1) * uint64(abi.CostMeter+abi.CostDomain)
		ecallStart, _ = m.StartKey(r.ecalls[0].Domain, 4)
	}
	for i, d := range r.puppets {
		for reg, k := range r.puppetKeys(tb, i, must, meter, ecallStart, cfg.Deterministic) {
			if err := m.SetKeyReg(d, reg, k); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return r
}

func mustImage(tb testing.TB, name string) []byte {
	tb.Helper()
	img, ok := images.Get(name)
	if !ok {
		tb.Fatalf("no image %q", name)
	}
	return img
}

// puppetKeys are puppet i's key registers: objects of the shared bank
// (which it holds in full), start keys to itself, the next puppet and an
// ecalls program, domain keys to the next puppet and itself, a meter, the
// kernel tools, a data key, and the clock in deterministic mode only (a
// random clock wait in parallel mode could keep the machine from ever
// coming to rest).
func (r *puppetRig) puppetKeys(tb testing.TB, i int, must func(kernel.Key, abi.OC, []byte, ...kernel.Key) kernel.Reply,
	meter, ecallStart kernel.Key, det bool) map[int]kernel.Key {
	m := r.m
	next := r.puppets[(i+1)%len(r.puppets)]
	dev := func(kt abi.KT) kernel.Key { k, _ := m.DeviceKey(kt); return k }
	startTo := func(d kernel.Key, db uint8) kernel.Key {
		k, err := m.StartKey(d, db)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	if ecallStart.IsNull() {
		ecallStart = startTo(r.puppets[(i+2)%len(r.puppets)], 2)
	}
	keys := map[int]kernel.Key{
		1:  r.bank,
		2:  must(r.bank, abi.OCBankBuyNode, nil).Keys[0],
		3:  must(r.bank, abi.OCBankBuyPage, nil).Keys[0],
		4:  startTo(r.puppets[i], 1),
		5:  startTo(next, 2),
		6:  ecallStart,
		7:  next,
		8:  meter,
		9:  dev(abi.KTReturner),
		10: dev(abi.KTDiscrim),
		11: dev(abi.KTKeybits),
		12: kernel.DK(42),
		13: r.puppets[i],
		14: dev(abi.KTConsole),
	}
	if det {
		keys[14] = dev(abi.KTClock)
	}
	return keys
}

// start makes every puppet and ecalls program run.
func (r *puppetRig) start(tb testing.TB) {
	tb.Helper()
	for _, d := range r.puppets {
		if err := r.m.RunDomain(d); err != nil {
			tb.Fatal(err)
		}
	}
	for _, p := range r.ecalls {
		if err := p.Start(); err != nil {
			tb.Fatal(err)
		}
	}
}

// revive brings every puppet back to running that a random invocation
// left idle, the machine being at rest: waiting for a reply that may never
// come, stalled on a domain that may never be available (these two are
// stopped first), stopped, available. (Puppets killed with their bank, or
// sold, stay dead.) It returns how many puppets are alive.
func (r *puppetRig) revive() int {
	n := 0
	for _, d := range r.puppets {
		rep, _ := r.m.Call(d, int64(abi.OCDomainGetState), nil)
		if rep.Data == nil {
			continue // void: sold, or its bank was destroyed
		}
		n++
		switch abi.State(rep.Word(int(abi.DomainStateState))) {
		case abi.StateWaiting, abi.StateRunning:
			r.m.Call(d, int64(abi.OCDomainStop), nil)
		}
		r.m.Call(d, int64(abi.OCDomainRun), nil)
	}
	return n
}

// rigPauseEvery is how many kernel events a puppet rig runs between
// mid-run invariant checks (a prime, so that pauses fall anywhere).
const rigPauseEvery = 97

// run runs the machine to rest, failing on a hang, and pauses every
// rigPauseEvery kernel events to run the invariant checker mid-run.
func (r *puppetRig) run(tb testing.TB, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(limit + time.Minute):
			panic(fmt.Sprintf("hostile: a puppet run did not come back within %v", limit+time.Minute))
		}
	}()
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		r.cancel.Store(&cancel)
		r.pauseAt.Store(r.events.Load() + rigPauseEvery)
		err := r.m.Run(ctx)
		r.cancel.Store(nil)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			st := r.m.Stats()
			snap, _ := r.m.Inspect()
			var doms []string
			for _, d := range snap.Domains {
				doms = append(doms, fmt.Sprintf("%d:%s/%s/%s ticks=%d pc=%#x", d.ID&0xffff, d.Kind, d.State, d.Trap, d.Ticks, d.PC))
			}
			tb.Fatalf("run: the machine did not come to rest within %v: %v\ncores: %+v\ninvocations %v traps %v\ndomains %v", limit, err, st.Cores, st.Invocations, st.Traps, doms)
		}
		r.checks++
		if err := r.m.Check(); err != nil {
			tb.Fatalf("invariant check at event %d: %v", r.events.Load(), err)
		}
	}
}

// recoverBudget is the recover keeper's meter budget in a puppet rig (per
// round of the soak): a victim that traps in a loop costs its keeper, not
// itself.
const recoverBudget = 20_000_000

// primeUsed is the bytes the prime bank has handed out.
func primeUsed(m *kernel.Machine) uint64 {
	r, _ := m.Call(m.PrimeBank(), int64(abi.OCBankGetLedger), nil)
	return r.Word(int(abi.LedgerUsedBytes))
}

// teardown destroys every bank the rig bought (the puppets', the ecalls
// programs', recover's), checking the invariants after each, and then
// that all their storage is back: the prime bank uses what it did before
// the rig, plus what loading programs leaves behind for good.
func (r *puppetRig) teardown(tb testing.TB) {
	tb.Helper()
	banks := append([]kernel.Key{r.bank}, r.extra...)
	for _, p := range r.ecalls {
		banks = append(banks, p.Bank)
	}
	for _, b := range banks {
		if _, err := r.m.Call(b, int64(abi.OCBankDestroy), nil); err != nil {
			tb.Fatal(err)
		}
		if err := r.m.Check(); err != nil {
			tb.Fatalf("after destroying a bank: %v", err)
		}
	}
	if got, want := primeUsed(r.m), r.base+r.loaded; got != want {
		tb.Fatalf("after destroying every bank the prime bank uses %d bytes, want %d", got, want)
	}
}
