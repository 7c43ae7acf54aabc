package kernel

import (
	"context"
	flagpkg "flag"
	"fmt"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"pgregory.net/rapid"
)

// The state-machine test: four native "puppet" domains perform random
// invocations (buy, sell, destroy, fetch, swap, weaken, move, call, return,
// fork; stale resume keys arise from copies) chosen by rapid, and after
// every step the kernel is compared with a small reference model: every
// key register and node slot holds exactly what the model says (so no
// domain holds a key it was not given, and void keys read as DK(0)), every
// resume key works at most once (deliveries match), ledgers match and stay
// within limits, and Machine.Check passes.

var modelSteps = flagpkg.Int("model.steps", 10000, "steps per run of the kernel state-machine test")

const nPuppets = 4

// mkey is a key in the model.
type mkey struct {
	kind  abi.KT // 0: data key
	val   uint64 // data: n; start: data byte
	obj   int    // object index; start and resume keys: puppet index
	flags abi.Flag
}

type mobj struct {
	kind   objKind
	bank   int // the bank it was bought from (an object index)
	alive  bool
	slots  [16]mkey
	parent int                          // banks
	limits [abi.LedgerLimitCount]uint64 // banks
	h      *header                      // kernel identity
	alloc  uint32                       // kernel identity
	_      [0]func()                    // not comparable
}

type mmsg struct {
	order int64
	db    int64
}

type pending struct {
	typ   abi.Inv
	key   mkey
	order int64
	send  mkey
}

type mpuppet struct {
	state abi.State
	regs  [16]mkey
	gen   int // current wait's generation (resume keys carry it in val)
	got   []mmsg
	stall []int   // puppets stalled on this one, FIFO
	pend  pending // this puppet's stalled invocation
}

type model struct {
	objs    []*mobj
	puppets [nPuppets]*mpuppet
	created []int // objects bought in this step, identity not yet known
}

// create adds an object bought from bank b and returns its index.
func (md *model) create(kind objKind, b int) int {
	o := &mobj{kind: kind, alive: true, bank: b}
	if kind == objBank {
		o.parent = b
		o.limits = unlimitedLimits()
	}
	md.objs = append(md.objs, o)
	md.created = append(md.created, len(md.objs)-1)
	return len(md.objs) - 1
}

var ktOfObj = map[objKind]abi.KT{objPage: abi.KTPage, objNode: abi.KTNode, objBank: abi.KTBank}

func (md *model) live(k mkey) mkey {
	switch k.kind {
	case 0, abi.KTStart:
		return k
	case abi.KTResume:
		p := md.puppets[k.obj]
		if p.state != abi.StateWaiting || uint64(p.gen) != k.val {
			return mkey{}
		}
		return k
	}
	if !md.objs[k.obj].alive {
		return mkey{}
	}
	return k
}

func (md *model) owns(bank, obj int) bool {
	for b := md.objs[obj].bank; b >= 0; b = md.objs[b].parent {
		if b == bank {
			return true
		}
		if b == 0 {
			break
		}
	}
	return false
}

// usage computes a live bank's use: counts by kind and bytes.
func (md *model) usage(b int) (used [numObjKinds]uint64, bytes uint64) {
	for i, o := range md.objs {
		if !o.alive || o.bank != b || i == b {
			continue
		}
		used[o.kind]++
		bytes += objCost[o.kind]
		if o.kind == objBank {
			su, sb := md.usage(i)
			for k := range su {
				used[k] += su[k]
			}
			bytes += sb
		}
	}
	return
}

func (md *model) fits(b int, k objKind) bool {
	for x := b; ; x = md.objs[x].parent {
		o := md.objs[x]
		used, bytes := md.usage(x)
		if bytes+objCost[k] > o.limits[0] || used[k]+1 > o.limits[limitIndex[k]] {
			return false
		}
		if x == 0 {
			return true
		}
	}
}

func (md *model) kill(i int) {
	o := md.objs[i]
	o.alive = false
	if o.kind == objBank {
		for j, x := range md.objs {
			if x.alive && x.bank == i && j != i {
				md.kill(j)
			}
		}
	}
}

// kernelOp is the model of a kernel-object invocation: return code and
// the key the reply carries first. created is set when an object is bought.
func (md *model) kernelOp(k mkey, order int64, args []uint64, key0 mkey) (rc int64, out mkey, created objKind, ok bool) {
	k = md.live(k)
	switch k.kind {
	case 0:
		return int64(k.val), mkey{}, 0, false
	case abi.KTStart, abi.KTResume:
		return int64(abi.RCWouldWait), mkey{}, 0, false
	case abi.KTPage:
		ro := k.flags&abi.FlagReadOnly != 0
		switch abi.OC(order) {
		case abi.OCPageRead:
			if len(args) < 2 {
				return int64(abi.RCBadArgument), mkey{}, 0, false
			}
			return 0, mkey{}, 0, false
		case abi.OCPageWrite:
			if ro {
				return int64(abi.RCNotPermitted), mkey{}, 0, false
			}
			if len(args) < 1 {
				return int64(abi.RCBadArgument), mkey{}, 0, false
			}
			return 0, mkey{}, 0, false
		case abi.OCPageClear:
			if ro {
				return int64(abi.RCNotPermitted), mkey{}, 0, false
			}
			return 0, mkey{}, 0, false
		case abi.OCPageWeaken:
			k.flags |= abi.FlagReadOnly
			return 0, k, 0, false
		}
		return int64(abi.RCUnknownOrder), mkey{}, 0, false
	case abi.KTNode, abi.KTFetch, abi.KTSense:
		weak := k.kind != abi.KTNode
		n := md.objs[k.obj]
		slot := func() (int, int64) {
			if len(args) < 1 {
				return 0, int64(abi.RCBadArgument)
			}
			if args[0] >= 16 {
				return 0, int64(abi.RCRange)
			}
			return int(args[0]), 0
		}
		switch abi.OC(order) {
		case abi.OCNodeFetch:
			s, rc := slot()
			if rc != 0 {
				return rc, mkey{}, 0, false
			}
			got := md.live(n.slots[s])
			if k.kind == abi.KTSense {
				got = sensedModel(got)
			}
			return 0, got, 0, false
		case abi.OCNodeMakeSense:
			return 0, mkey{kind: abi.KTSense, obj: k.obj}, 0, false
		}
		if weak {
			if abi.OC(order) >= abi.OCNodeSwap && abi.OC(order) <= abi.OCNodeWriteData {
				return int64(abi.RCNotPermitted), mkey{}, 0, false
			}
			return int64(abi.RCUnknownOrder), mkey{}, 0, false
		}
		switch abi.OC(order) {
		case abi.OCNodeSwap:
			s, rc := slot()
			if rc != 0 {
				return rc, mkey{}, 0, false
			}
			old := md.live(n.slots[s])
			n.slots[s] = md.live(key0)
			return 0, old, 0, false
		case abi.OCNodeClear:
			n.slots = [16]mkey{}
			return 0, mkey{}, 0, false
		case abi.OCNodeMakeFetch:
			return 0, mkey{kind: abi.KTFetch, obj: k.obj}, 0, false
		case abi.OCNodeMakeSegment:
			if len(args) < 2 {
				return int64(abi.RCBadArgument), mkey{}, 0, false
			}
			return int64(abi.RCBadArgument), mkey{}, 0, false // never sent with valid args
		case abi.OCNodeWriteData:
			if len(args) < 2 {
				if len(args) == 1 && args[0] >= 16 {
					return int64(abi.RCRange), mkey{}, 0, false
				}
				return int64(abi.RCBadArgument), mkey{}, 0, false
			}
		}
		return int64(abi.RCUnknownOrder), mkey{}, 0, false
	case abi.KTBank:
		switch abi.OC(order) {
		case abi.OCBankBuyPage, abi.OCBankBuyNode, abi.OCBankBuyBank:
			kind := map[abi.OC]objKind{abi.OCBankBuyPage: objPage, abi.OCBankBuyNode: objNode, abi.OCBankBuyBank: objBank}[abi.OC(order)]
			if !md.fits(k.obj, kind) {
				return int64(abi.RCNoSpace), mkey{}, 0, false
			}
			return 0, mkey{kind: ktOfObj[kind], obj: md.create(kind, k.obj)}, kind, true
		case abi.OCBankSell:
			o := md.live(key0)
			sellable := o.kind == abi.KTPage && o.flags&abi.FlagReadOnly == 0 || o.kind == abi.KTNode ||
				o.kind == abi.KTBank && o.flags&abi.FlagNoDestroy == 0
			if !sellable {
				return int64(abi.RCBadKey), mkey{}, 0, false
			}
			if !md.owns(k.obj, o.obj) {
				return int64(abi.RCWrongBank), mkey{}, 0, false
			}
			md.kill(o.obj)
			return 0, mkey{}, 0, false
		case abi.OCBankDestroy:
			if k.flags&abi.FlagNoDestroy != 0 {
				return int64(abi.RCNotPermitted), mkey{}, 0, false
			}
			if k.obj == 0 {
				return int64(abi.RCNotPermitted), mkey{}, 0, false
			}
			md.kill(k.obj)
			return 0, mkey{}, 0, false
		case abi.OCBankWeaken:
			k.flags |= abi.FlagNoDestroy
			return 0, k, 0, false
		case abi.OCBankBuyMeter, abi.OCBankBuyDomain, abi.OCBankSetLimits:
			// the test sends these orders without their arguments
			return int64(abi.RCBadArgument), mkey{}, 0, false
		case abi.OCBankGetLedger:
			return 0, mkey{}, 0, false
		}
		return int64(abi.RCUnknownOrder), mkey{}, 0, false
	}
	panic(fmt.Sprintf("model: key kind %d", k.kind))
}

func sensedModel(k mkey) mkey {
	switch k.kind {
	case 0:
		return k
	case abi.KTPage:
		k.flags |= abi.FlagReadOnly
		return k
	case abi.KTNode, abi.KTFetch, abi.KTSense:
		return mkey{kind: abi.KTSense, obj: k.obj}
	}
	return mkey{}
}

// deliver models a message arriving at puppet e, which is available: it
// records it and becomes available again, letting its first staller go.
func (md *model) deliver(e int, order, db int64, keys [4]mkey) {
	p := md.puppets[e]
	for i := range keys {
		p.regs[12+i] = keys[i]
	}
	p.got = append(p.got, mmsg{order, db})
	md.becomeAvailable(e)
}

func (md *model) becomeAvailable(e int) {
	p := md.puppets[e]
	p.state = abi.StateAvailable
	if len(p.stall) > 0 {
		s := p.stall[0]
		p.stall = p.stall[1:]
		md.puppets[s].state = abi.StateRunning
		md.gate(s, md.puppets[s].pend)
	}
}

// rescue models the host stopping blocked puppet i and making it
// available: out of any stall queue, its resume keys void.
func (md *model) rescue(i int) {
	for _, e := range md.puppets {
		for j, s := range e.stall {
			if s == i {
				e.stall = append(e.stall[:j:j], e.stall[j+1:]...)
				break
			}
		}
	}
	md.puppets[i].gen++
	md.becomeAvailable(i)
}

// gate models puppet s's invocation of a start or resume key (or any key
// used as a final invocation).
func (md *model) gate(s int, inv pending) {
	p := md.puppets[s]
	k := md.live(inv.key)
	var keys [4]mkey
	keys[0] = md.live(inv.send)
	callerWaits := func() {
		p.gen++
		p.state = abi.StateWaiting
		keys[3] = mkey{kind: abi.KTResume, obj: s, val: uint64(p.gen)}
	}
	after := func() {
		switch inv.typ {
		case abi.InvReturn:
			md.becomeAvailable(s)
		case abi.InvFork:
			p.got = append(p.got, mmsg{0, -1})
			md.becomeAvailable(s)
		}
	}
	switch k.kind {
	case abi.KTStart:
		e := md.puppets[k.obj]
		if k.obj == s && inv.typ == abi.InvReturn {
			// A RETURN makes the invoker available, then sends: to its
			// own start key, it gets its own message.
			md.deliver(s, inv.order, int64(k.val), keys)
			return
		}
		if e.state != abi.StateAvailable {
			p.state = abi.StateRunning // stalled
			p.pend = inv
			e.stall = append(e.stall, s)
			return
		}
		if inv.typ == abi.InvCall {
			callerWaits()
		}
		md.deliver(k.obj, inv.order, int64(k.val), keys)
		after()
	case abi.KTResume:
		w := k.obj
		if inv.typ == abi.InvCall {
			callerWaits()
		}
		md.puppets[w].gen++ // using the key voids every copy
		md.deliver(w, inv.order, -1, keys)
		after()
	default:
		// a kernel object, data key, or void key: it answers at once
		rc, out, _, _ := md.kernelOp(k, inv.order, nil, keys[0])
		if inv.typ == abi.InvCall {
			if rc == int64(abi.RCWouldWait) {
				panic("model: gate keys handled above")
			}
			p.regs[12], p.regs[13], p.regs[14], p.regs[15] = out, mkey{}, mkey{}, mkey{}
			p.got = append(p.got, mmsg{rc, -1})
			md.becomeAvailable(s)
			return
		}
		after()
	}
}

// puppetWorld connects the puppet program to the test.
type puppetWorld struct {
	cmd    [nPuppets]func(x *Ctx)
	got    [nPuppets][]mmsg
	lastRC int64
}

func (w *puppetWorld) program(x *Ctx) {
	i := x.Regs()[0]
	if c := w.cmd[i]; c != nil {
		w.cmd[i] = nil
		c(x)
		return
	}
	w.got[i] = append(w.got[i], mmsg{x.Order(), x.DataByte()})
}

func TestKernelStateMachine(t *testing.T) {
	steps := *modelSteps
	runs := 3
	if testing.Short() {
		steps, runs = 2000, 1
	}
	// Each run is long; rapid's default of 100 runs is far more than a
	// test run needs. -rapid.checks overrides.
	set := false
	flagpkg.Visit(func(f *flagpkg.Flag) { set = set || f.Name == "rapid.checks" })
	if f := flagpkg.Lookup("rapid.checks"); f != nil && !set {
		f.Value.Set(fmt.Sprint(runs))
		defer f.Value.Set(f.DefValue)
	}
	total := 0
	rapid.Check(t, func(rt *rapid.T) {
		total += runModel(rt, steps)
	})
	t.Logf("%d steps checked", total)
}

func runModel(rt *rapid.T, steps int) (done int) {
	topo := rapid.SampledFrom([]string{"native", "native,native", "native:2,native"}).Draw(rt, "topology")
	seed := rapid.Uint64().Draw(rt, "seed")
	// The model holds for the general path alone too (Config.GeneralPath).
	general := rapid.Bool().Draw(rt, "general path")
	m, err := New(Config{Topology: topo, Deterministic: true, Seed: seed, Memory: 1 << 20, GeneralPath: general})
	if err != nil {
		rt.Fatal(err)
	}
	w := &puppetWorld{}
	m.RegisterProgram("puppet", w.program)
	md := &model{}
	// object 0 is the prime bank
	md.objs = append(md.objs, &mobj{kind: objBank, alive: true, bank: -1, parent: -1, h: &m.prime.header, alloc: m.prime.alloc.Load()})
	md.objs[0].limits = m.prime.limits
	type identity struct {
		h     *header
		alloc uint32
	}
	ident := map[identity]int{}
	keyID := func(k Key) identity { return identity{k.hdr, k.alloc} }
	ident[keyID(m.PrimeBank())] = 0

	doms := make([]*Domain, nPuppets)
	for i := range doms {
		dk, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "puppet")
		if err != nil {
			rt.Fatal(err)
		}
		doms[i] = dk.hdr.domain()
		md.objs = append(md.objs, &mobj{kind: objDomain, alive: true, bank: 0, h: dk.hdr, alloc: dk.alloc})
		regs := make([]uint64, abi.RegsNative)
		regs[0] = uint64(i)
		m.MustCall(dk, int64(abi.OCDomainSetRegs), Words(regs...))
		md.puppets[i] = &mpuppet{state: abi.StateAvailable}
	}
	for i := range doms {
		// each puppet gets a sub-bank with small limits in register 2
		lim := []uint64{abi.Unlimited,
			rapid.Uint64Range(0, 6).Draw(rt, "pages"), rapid.Uint64Range(0, 6).Draw(rt, "nodes"),
			0, 0, rapid.Uint64Range(0, 3).Draw(rt, "banks")}
		lim[0] = rapid.Uint64Range(1000, 40000).Draw(rt, "bytes")
		r := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), Words(lim...))
		bk := r.Keys[0]
		o := &mobj{kind: objBank, alive: true, bank: 0, parent: 0, h: bk.hdr, alloc: bk.alloc}
		copy(o.limits[:], lim)
		md.objs = append(md.objs, o)
		ident[keyID(bk)] = len(md.objs) - 1
		dk := keyTo(&doms[i].header, abi.KTDomain, 0, 0)
		m.SetKeyReg(dk, 2, bk)
		md.puppets[i].regs[2] = mkey{kind: abi.KTBank, obj: len(md.objs) - 1}
		for j := range doms {
			sk, _ := m.StartKey(keyTo(&doms[j].header, abi.KTDomain, 0, 0), uint8(j))
			m.SetKeyReg(dk, 8+j, sk)
			md.puppets[i].regs[8+j] = mkey{kind: abi.KTStart, val: uint64(j), obj: j}
		}
		m.MakeAvailable(dk)
	}

	// normalize turns a kernel key into a model key.
	normalize := func(k Key) (mkey, error) {
		k = k.live()
		switch k.kt {
		case 0:
			return mkey{val: k.val}, nil
		case ktStart, ktResume:
			for j, d := range doms {
				if k.hdr == &d.header {
					if k.kt == ktStart {
						return mkey{kind: abi.KTStart, val: uint64(k.db), obj: j}, nil
					}
					return mkey{kind: abi.KTResume, obj: j, val: uint64(md.puppets[j].gen)}, nil
				}
			}
			return mkey{}, fmt.Errorf("gate key to an unknown domain: %v", k)
		}
		id, ok := ident[keyID(k)]
		if !ok {
			return mkey{}, fmt.Errorf("key %v names an object the model never saw", k)
		}
		return mkey{kind: k.Type(), obj: id, flags: abi.Flag(k.flags)}, nil
	}
	liveModel := func(k mkey) mkey {
		k = md.live(k)
		if k.kind == abi.KTResume {
			k.val = uint64(md.puppets[k.obj].gen)
		}
		return k
	}

	check := func(step int, what string) {
		for i, d := range doms {
			p := md.puppets[i]
			if got := d.external(); got != p.state {
				rt.Fatalf("step %d (%s): puppet %d is %d, model says %d", step, what, i, got, p.state)
			}
			for r := 1; r < 16; r++ {
				got, err := normalize(d.keys[r])
				if err != nil {
					rt.Fatalf("step %d (%s): puppet %d register %d: %v", step, what, i, r, err)
				}
				if want := liveModel(p.regs[r]); got != want {
					rt.Fatalf("step %d (%s): puppet %d register %d holds %+v, model says %+v", step, what, i, r, got, want)
				}
			}
			if len(w.got[i]) != len(p.got) {
				rt.Fatalf("step %d (%s): puppet %d received %v, model says %v", step, what, i, w.got[i], p.got)
			}
			for j := range p.got {
				if w.got[i][j] != p.got[j] {
					rt.Fatalf("step %d (%s): puppet %d message %d is %v, model says %v", step, what, i, j, w.got[i][j], p.got[j])
				}
			}
		}
		for id, o := range md.objs {
			if !o.alive {
				if o.h.valid(o.alloc) {
					rt.Fatalf("step %d (%s): %s %d is dead in the model but its keys still work", step, what, o.kind, id)
				}
				continue
			}
			switch o.kind {
			case objNode:
				n := o.h.node()
				for s := range n.slots {
					got, err := normalize(n.slots[s])
					if err != nil {
						rt.Fatalf("step %d (%s): node %d slot %d: %v", step, what, id, s, err)
					}
					if want := liveModel(o.slots[s]); got != want {
						rt.Fatalf("step %d (%s): node %d slot %d holds %+v, model says %+v", step, what, id, s, got, want)
					}
				}
			case objBank:
				used, bytes := md.usage(id)
				b := o.h.bankObj()
				if b.used != used || b.bytes != bytes {
					rt.Fatalf("step %d (%s): bank %d uses %v/%d, model says %v/%d", step, what, id, b.used, b.bytes, used, bytes)
				}
			}
		}
		if err := m.Check(); err != nil {
			rt.Fatalf("step %d (%s): %v", step, what, err)
		}
	}

	run := func() {
		if err := m.Run(context.Background()); err != nil {
			rt.Fatal(err)
		}
	}
	reg := func(label string) uint8 { return uint8(rapid.IntRange(1, 15).Draw(rt, label)) }

	for step := 0; step < steps; step++ {
		var avail []int
		for i, p := range md.puppets {
			if p.state == abi.StateAvailable {
				avail = append(avail, i)
			}
		}
		if len(avail) == 0 {
			// Every puppet is blocked (they called each other round): the
			// host stops one through its domain key and makes it available.
			var eligible []int
			for i, d := range doms {
				if d.state == dsStalled || d.state == dsWaiting && !d.outBusy.Load() {
					eligible = append(eligible, i)
				}
			}
			if len(eligible) == 0 {
				rt.Logf("step %d: every puppet is blocked across clusters; run ends", step)
				return step
			}
			i := rapid.SampledFrom(eligible).Draw(rt, "rescue")
			dk := keyTo(&doms[i].header, abi.KTDomain, 0, 0)
			m.MustCall(dk, int64(abi.OCDomainStop), nil)
			m.MustCall(dk, int64(abi.OCDomainMakeAvailable), nil)
			md.rescue(i)
			run()
			check(step, "rescue")
			continue
		}
		pi := rapid.SampledFrom(avail).Draw(rt, "puppet")
		p := md.puppets[pi]
		action := rapid.SampledFrom([]string{"buy", "sell", "destroy", "fetch", "swap", "weaken", "move", "call", "return", "fork"}).Draw(rt, "action")

		// a synchronous kernel call by the puppet
		sync := func(kr uint8, order int64, args []uint64, sendReg, dst uint8) {
			data := Words(args...)
			w.cmd[pi] = func(x *Ctx) {
				rc, _ := x.Call(kr, &Msg{Order: order, Data: data, Keys: [4]uint8{sendReg}, Recv: [4]uint8{dst}})
				w.lastRC = rc
			}
			rc, out, _, _ := md.kernelOp(p.regs[kr], order, args, p.regs[sendReg])
			if rc != int64(abi.RCWouldWait) {
				p.regs[dst] = out
			}
			m.RunDomain(keyTo(&doms[pi].header, abi.KTDomain, 0, 0))
			run()
			if w.lastRC != rc {
				rt.Fatalf("step %d (%s): puppet %d got return code %d, model says %d", step, action, pi, w.lastRC, rc)
			}
		}
		// a final gate invocation by the puppet
		gateInv := func(typ abi.Inv) {
			kr, send := reg("key"), reg("send")
			order := int64(rapid.IntRange(0, 99).Draw(rt, "order"))
			w.cmd[pi] = func(x *Ctx) {
				msg := &Msg{Order: order, Keys: [4]uint8{send}}
				switch typ {
				case abi.InvCall:
					x.CallGate(kr, msg)
				case abi.InvReturn:
					x.Return(kr, msg)
				case abi.InvFork:
					x.Fork(kr, msg)
				}
			}
			p.state = abi.StateRunning
			md.gate(pi, pending{typ: typ, key: p.regs[kr], order: order, send: p.regs[send]})
			m.RunDomain(keyTo(&doms[pi].header, abi.KTDomain, 0, 0))
			run()
		}

		switch action {
		case "buy":
			order := rapid.SampledFrom([]int64{int64(abi.OCBankBuyPage), int64(abi.OCBankBuyNode), int64(abi.OCBankBuyBank)}).Draw(rt, "what")
			sync(reg("bank"), order, nil, 0, reg("dst"))
		case "sell":
			sync(reg("bank"), int64(abi.OCBankSell), nil, reg("obj"), reg("dst"))
		case "destroy":
			sync(reg("bank"), int64(abi.OCBankDestroy), nil, 0, reg("dst"))
		case "fetch":
			sync(reg("node"), int64(abi.OCNodeFetch), []uint64{uint64(rapid.IntRange(0, 16).Draw(rt, "slot"))}, 0, reg("dst"))
		case "swap":
			sync(reg("node"), int64(abi.OCNodeSwap), []uint64{uint64(rapid.IntRange(0, 15).Draw(rt, "slot"))}, reg("key"), reg("dst"))
		case "weaken":
			order := rapid.SampledFrom([]int64{int64(abi.OCPageWeaken), int64(abi.OCNodeMakeFetch), int64(abi.OCNodeMakeSense), int64(abi.OCBankWeaken)}).Draw(rt, "how")
			sync(reg("key"), order, nil, 0, reg("dst"))
		case "move":
			from, to := reg("from"), reg("to")
			w.cmd[pi] = func(x *Ctx) { x.Move(to, from) }
			p.regs[to] = md.live(p.regs[from])
			m.RunDomain(keyTo(&doms[pi].header, abi.KTDomain, 0, 0))
			run()
		case "call":
			gateInv(abi.InvCall)
		case "return":
			gateInv(abi.InvReturn)
		case "fork":
			gateInv(abi.InvFork)
		}
		// Learn the kernel identity of what this step bought: the newest
		// object on its bank's list.
		for _, id := range md.created {
			o := md.objs[id]
			h := md.objs[o.bank].h.bankObj().objs[o.kind]
			o.h, o.alloc = h, h.alloc.Load()
			ident[identity{h, o.alloc}] = id
		}
		md.created = md.created[:0]
		check(step, action)
	}
	return steps
}
