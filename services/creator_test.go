package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/services"
)

// Key registers of the test programs.
const (
	krCreator = uint8(abi.KRCreator)
	krBank    = uint8(abi.KRBank)
	krMeter   = uint8(abi.KRMeter)
	krDomain  = uint8(abi.KRArg0)     // asker: the domain it got
	krStart   = uint8(abi.KRArg0 + 1) // asker: its start key; caller: the key to call
)

// Registers of the asker: phase, the order to send, the kind, whether to
// send the kind at all, and the return code it got.
const (
	rPhase = iota
	rOrder
	rKind
	rSendKind
	rRC
)

// asker asks the creator (key register 7) once, sending its key registers
// 2 and 3 as the bank and the meter, and keeps the answer in registers 8
// and 9 and the return code in rRC.
func asker(x *kernel.Ctx) {
	r := x.Regs()
	if r[rPhase] == 0 {
		r[rPhase] = 1
		m := &kernel.Msg{Order: int64(r[rOrder]), Keys: [4]uint8{krBank, krMeter}, Recv: [4]uint8{krDomain, krStart}}
		if r[rSendKind] != 0 {
			m.Data = kernel.Words(r[rKind])
		}
		x.CallGate(krCreator, m)
		return
	}
	r[rPhase] = 2
	r[rRC] = uint64(x.Order())
}

// caller CALLs key register 9 once with order 41 and keeps the return code
// in register 0.
func caller(x *kernel.Ctx) {
	r := x.Regs()
	if r[1] == 0 {
		r[1] = 1
		x.CallGate(krStart, &kernel.Msg{Order: 41})
		return
	}
	r[0] = uint64(x.Order())
}

// answer is the program the test gives a created native domain: it
// answers each call with the order plus one.
func answer(x *kernel.Ctx) {
	x.Return(uint8(abi.KRRecv0+3), &kernel.Msg{Order: x.Order() + 1})
}

type env struct {
	t       *testing.T
	m       *kernel.Machine
	creator kernel.Key
}

func newEnv(t *testing.T, cfg kernel.Config) *env {
	t.Helper()
	cfg.Memory = 64 << 20
	m, err := kernel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterProgram("asker", asker)
	m.RegisterProgram("caller", caller)
	m.RegisterProgram("answer", answer)
	creator, err := services.StartCreator(m, m.PrimeBank(), m.PrimeMeter())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, m: m, creator: creator}
}

func (e *env) call(k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) kernel.Reply {
	e.t.Helper()
	r, err := e.m.Call(k, int64(order), data, keys...)
	if err != nil || r.RC != 0 && order != abi.OCKeyType && order != abi.OCDiscrimCompare {
		e.t.Fatalf("order %d on %v: %v, return code %d", order, k, err, r.RC)
	}
	return r
}

// native makes a running native domain with the given key registers and
// registers.
func (e *env) native(program string, keys map[uint8]kernel.Key, regs ...uint64) kernel.Key {
	e.t.Helper()
	d, err := e.m.NewDomain(e.m.PrimeBank(), e.m.PrimeMeter(), abi.KindNative, program)
	if err != nil {
		e.t.Fatal(err)
	}
	for r, k := range keys {
		if err := e.m.SetKeyReg(d, int(r), k); err != nil {
			e.t.Fatal(err)
		}
	}
	w := make([]uint64, abi.RegsNative)
	copy(w, regs)
	e.call(d, abi.OCDomainSetRegs, kernel.Words(w...))
	if err := e.m.RunDomain(d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// asker starts an asker that sends bank and meter and asks for kind.
func (e *env) asker(bank, meter kernel.Key, order abi.OC, kind abi.Kind, sendKind bool) kernel.Key {
	send := uint64(0)
	if sendKind {
		send = 1
	}
	return e.native("asker", map[uint8]kernel.Key{krCreator: e.creator, krBank: bank, krMeter: meter},
		0, uint64(order), uint64(kind), send)
}

func (e *env) run() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.m.Run(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.m.Check(); err != nil {
		e.t.Fatal(err)
	}
}

// answerOf returns the asker's return code and the keys it got.
func (e *env) answerOf(a kernel.Key) (rc abi.RC, dom, start kernel.Key) {
	e.t.Helper()
	regs := e.call(a, abi.OCDomainGetRegs, nil)
	if regs.Word(rPhase) != 2 {
		e.t.Fatalf("the asker got no answer (phase %d)", regs.Word(rPhase))
	}
	dom = e.call(a, abi.OCDomainGetKeyReg, kernel.Words(uint64(krDomain))).Keys[0]
	start = e.call(a, abi.OCDomainGetKeyReg, kernel.Words(uint64(krStart))).Keys[0]
	return abi.RC(int64(regs.Word(rRC))), dom, start
}

// checkCreated checks that dom and start are a domain key and a start key
// (data byte 0) to one new stopped domain of kind, run by meter.
func (e *env) checkCreated(dom, start, meter kernel.Key, kind abi.Kind) {
	e.t.Helper()
	if dom.Type() != abi.KTDomain || start.Type() != abi.KTStart {
		e.t.Fatalf("got a %v and a %v, want a domain key and a start key", dom, start)
	}
	kb, _ := e.m.DeviceKey(abi.KTKeybits)
	bd := e.call(kb, abi.OCKeybits, nil, dom)
	bs := e.call(kb, abi.OCKeybits, nil, start)
	if bs.Word(int(abi.KeybitsData)) != 0 || bs.Word(int(abi.KeybitsObject)) != bd.Word(int(abi.KeybitsObject)) {
		e.t.Fatalf("start key %v: data byte %d, object %d; want data byte 0 and the domain's object %d",
			start, bs.Word(int(abi.KeybitsData)), bs.Word(int(abi.KeybitsObject)), bd.Word(int(abi.KeybitsObject)))
	}
	st := e.call(dom, abi.OCDomainGetState, nil)
	if abi.State(st.Word(int(abi.DomainStateState))) != abi.StateStopped || abi.Kind(st.Word(int(abi.DomainStateKind))) != kind {
		e.t.Fatalf("new domain: state %d kind %d, want stopped kind %d", st.Word(0), st.Word(int(abi.DomainStateKind)), kind)
	}
	got := e.call(dom, abi.OCDomainGetSlot, kernel.Words(uint64(abi.SlotMeter))).Keys[0]
	disc, _ := e.m.DeviceKey(abi.KTDiscrim)
	if e.call(disc, abi.OCDiscrimCompare, nil, got, meter).RC != 1 {
		e.t.Fatalf("new domain's meter slot holds %v, want %v", got, meter)
	}
}

func (e *env) subBank(limits ...uint64) kernel.Key {
	return e.call(e.m.PrimeBank(), abi.OCBankBuyBank, kernel.Words(limits...)).Keys[0]
}

func (e *env) meter() kernel.Key {
	return e.call(e.m.PrimeBank(), abi.OCBankBuyMeter, kernel.Words(1<<40), e.m.PrimeMeter()).Keys[0]
}

var creatorTopologies = []kernel.Config{
	{Topology: "rv64,native", Deterministic: true, Seed: 1},
	{Topology: "rv64,native", Deterministic: true, Seed: 2},
	{Topology: "2*rv64:1,2*native:1", Deterministic: true, Seed: 3},
	{Topology: "rv64:2,native:2"},
}

func TestCreatorCreates(t *testing.T) {
	for _, cfg := range creatorTopologies {
		for _, kind := range []abi.Kind{abi.KindRV64, abi.KindNative} {
			t.Run(fmt.Sprintf("%s/det=%v/seed=%d/%s", cfg.Topology, cfg.Deterministic, cfg.Seed, kernel.KindName(kind)), func(t *testing.T) {
				e := newEnv(t, cfg)
				bank, meter := e.subBank(), e.meter()
				a := e.asker(bank, meter, abi.OCCreatorCreate, kind, true)
				e.run()
				rc, dom, start := e.answerOf(a)
				if rc != abi.RCOk {
					t.Fatalf("return code %d", rc)
				}
				e.checkCreated(dom, start, meter, kind)
				if used := e.call(bank, abi.OCBankGetLedger, nil).Word(int(abi.LedgerUsedDomains)); used != 1 {
					t.Fatalf("the bank holds %d domains, want 1", used)
				}
			})
		}
	}
}

// TestCreatorStartKeyWorks gives a created native domain a program and
// calls it through the start key the creator returned.
func TestCreatorStartKeyWorks(t *testing.T) {
	e := newEnv(t, kernel.Config{Topology: "2*native:1", Deterministic: true, Seed: 5})
	bank, meter := e.subBank(), e.meter()
	a := e.asker(bank, meter, abi.OCCreatorCreate, abi.KindNative, true)
	e.run()
	rc, dom, start := e.answerOf(a)
	if rc != abi.RCOk {
		t.Fatalf("return code %d", rc)
	}
	id, err := e.m.ProgramID("answer")
	if err != nil {
		t.Fatal(err)
	}
	e.call(dom, abi.OCDomainSetSlot, kernel.Words(uint64(abi.SlotSpace)), kernel.DK(id))
	if err := e.m.MakeAvailable(dom); err != nil {
		t.Fatal(err)
	}
	c := e.native("caller", map[uint8]kernel.Key{krStart: start})
	e.run()
	if got := e.call(c, abi.OCDomainGetRegs, nil).Word(0); got != 42 {
		t.Fatalf("the created domain answered %d, want 42", got)
	}
}

// TestCreatorConcurrent has many domains ask at once: requests that come
// while the creator waits on a step stall and are served in turn.
func TestCreatorConcurrent(t *testing.T) {
	for _, cfg := range creatorTopologies {
		t.Run(fmt.Sprintf("%s/det=%v/seed=%d", cfg.Topology, cfg.Deterministic, cfg.Seed), func(t *testing.T) {
			e := newEnv(t, cfg)
			bank, meter := e.subBank(), e.meter()
			var askers []kernel.Key
			for i := range 12 {
				askers = append(askers, e.asker(bank, meter, abi.OCCreatorCreate, abi.Kind(1+i%2), true))
			}
			e.run()
			kb, _ := e.m.DeviceKey(abi.KTKeybits)
			seen := map[uint64]bool{}
			for i, a := range askers {
				rc, dom, start := e.answerOf(a)
				if rc != abi.RCOk {
					t.Fatalf("asker %d: return code %d", i, rc)
				}
				e.checkCreated(dom, start, meter, abi.Kind(1+i%2))
				id := e.call(kb, abi.OCKeybits, nil, dom).Word(int(abi.KeybitsObject))
				if seen[id] {
					t.Fatalf("asker %d got domain %d twice", i, id)
				}
				seen[id] = true
			}
			if used := e.call(bank, abi.OCBankGetLedger, nil).Word(int(abi.LedgerUsedDomains)); used != uint64(len(askers)) {
				t.Fatalf("the bank holds %d domains, want %d", used, len(askers))
			}
		})
	}
}

func TestCreatorRefuses(t *testing.T) {
	u := abi.Unlimited
	tests := []struct {
		name     string
		topology string
		order    abi.OC
		kind     abi.Kind
		sendKind bool
		bank     func(e *env) kernel.Key
		meter    func(e *env) kernel.Key
		want     abi.RC
	}{
		{name: "unknown order", order: 99, kind: abi.KindRV64, sendKind: true, want: abi.RCUnknownOrder},
		{name: "no kind", order: abi.OCCreatorCreate, want: abi.RCBadArgument},
		{name: "unknown kind", order: abi.OCCreatorCreate, kind: 99, sendKind: true, want: abi.RCBadArgument},
		{name: "no bank", order: abi.OCCreatorCreate, kind: abi.KindRV64, sendKind: true,
			bank: func(e *env) kernel.Key { return e.meter() }, want: abi.RCBadKey},
		{name: "no meter", order: abi.OCCreatorCreate, kind: abi.KindRV64, sendKind: true,
			meter: func(e *env) kernel.Key { return kernel.DK(3) }, want: abi.RCBadKey},
		{name: "bank full", order: abi.OCCreatorCreate, kind: abi.KindRV64, sendKind: true,
			bank: func(e *env) kernel.Key { return e.subBank(u, u, u, 0, u, u) }, want: abi.RCNoSpace},
		{name: "no such cluster", topology: "native:2", order: abi.OCCreatorCreate, kind: abi.KindRV64, sendKind: true,
			want: abi.RCNoCluster},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topo := tc.topology
			if topo == "" {
				topo = "rv64,native"
			}
			e := newEnv(t, kernel.Config{Topology: topo, Deterministic: true, Seed: 9})
			bank, meter := e.subBank(), e.meter()
			if tc.bank != nil {
				bank = tc.bank(e)
			}
			if tc.meter != nil {
				meter = tc.meter(e)
			}
			a := e.asker(bank, meter, tc.order, tc.kind, tc.sendKind)
			e.run()
			rc, dom, start := e.answerOf(a)
			if rc != tc.want {
				t.Fatalf("return code %d, want %d", rc, tc.want)
			}
			if !dom.IsNull() || !start.IsNull() {
				t.Fatalf("a refusal came with keys %v and %v", dom, start)
			}
			// The creator serves the next request as usual.
			good := e.asker(e.subBank(), e.meter(), abi.OCCreatorCreate, abi.KindNative, true)
			e.run()
			if rc, _, _ := e.answerOf(good); rc != abi.RCOk {
				t.Fatalf("after the refusal: return code %d", rc)
			}
		})
	}
}
