package services

import (
	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// CreatorName is the name the domain creator is registered under.
const CreatorName = "creator"

// Key registers of the domain creator.
const (
	crCaller = 1                      // the caller's resume key, while a step waits
	crDomain = 2                      // the new domain's key
	crStart  = 3                      // the new domain's start key
	crBank   = 4                      // the bank that paid, to sell the domain back on failure
	crRecv0  = uint8(abi.KRRecv0)     // received key 0: the bank
	crRecv1  = uint8(abi.KRRecv0 + 1) // received key 1: the meter
	crReply  = uint8(abi.KRRecv0 + 3) // received key 3: the caller's resume key
)

// Steps of a creation that needs more than one event (register 0).
const (
	crIdle       = 0 // serving requests
	crSetMeter   = 1 // waiting for the new domain to take its meter
	crMakeStart  = 2 // waiting for the new domain's start key
	creatorSteps = 3
)

// Creator is the domain creator: it buys a domain of a CPU kind from the
// caller's bank, puts the caller's meter in its meter slot, and returns a
// domain key and a start key (data byte 0) to it. The new domain is
// stopped, with empty key registers, no keeper and no address space; the
// caller sets them with the domain key. (A native domain's address slot
// names its program: DK(id), see kernel.Machine.RegisterProgram.)
//
// Order abi.OCCreatorCreate: string [kind], key 0 a bank, key 1 a meter →
// key 0 a domain key, key 1 a start key. Return codes: abi.RCBadArgument
// for a missing or unknown kind, abi.RCBadKey when key 0 is not a bank or
// key 1 not a meter, and whatever the bank answers (abi.RCNoSpace,
// abi.RCNoCluster). Any other order gets abi.RCUnknownOrder.
//
// A domain of another CPU kind is homed in another cluster, so its domain
// key does not answer inside the creator's event: the creator then makes
// each step its final invocation and goes on when the reply comes.
// Register 0 holds the step; requests arriving meanwhile wait in the
// creator's stall queue.
func Creator(x *kernel.Ctx) {
	r := x.Regs()
	if x.DataByte() == int64(abi.EcallFromResume) && r[0] != crIdle && r[0] < creatorSteps {
		creatorStep(x, int64(x.Order()))
		return
	}
	// A new request: drop what the last one left (the keys it returned
	// stay in registers until here, as the final Return reads them after
	// the program has returned).
	r[0] = crIdle
	for _, kr := range []uint8{crCaller, crDomain, crStart, crBank} {
		x.Move(kr, 0)
	}
	if x.Order() != int64(abi.OCCreatorCreate) {
		x.Return(crReply, &kernel.Msg{Order: int64(abi.RCUnknownOrder)})
		return
	}
	kind := abi.Kind(x.Word(0))
	switch {
	case len(x.Data()) < 8 || kind != abi.KindRV64 && kind != abi.KindNative:
		x.Return(crReply, &kernel.Msg{Order: int64(abi.RCBadArgument)})
		return
	case x.KeyType(crRecv0) != abi.KTBank || x.KeyType(crRecv1) != abi.KTMeter:
		x.Return(crReply, &kernel.Msg{Order: int64(abi.RCBadKey)})
		return
	}
	if rc := call(x, crRecv0, abi.OCBankBuyDomain, crDomain, [4]uint8{}, uint64(kind)); rc != 0 {
		x.Return(crReply, &kernel.Msg{Order: rc})
		return
	}
	x.Move(crBank, crRecv0)
	x.Move(crCaller, crReply)
	// Try each step at once; the first that would wait becomes the final
	// invocation.
	rc := call(x, crDomain, abi.OCDomainSetSlot, 0, [4]uint8{crRecv1}, uint64(abi.SlotMeter))
	if rc == int64(abi.RCWouldWait) {
		r[0] = crSetMeter
		x.CallGate(crDomain, &kernel.Msg{Order: int64(abi.OCDomainSetSlot), Data: kernel.Words(uint64(abi.SlotMeter)),
			Keys: [4]uint8{crRecv1}, Recv: [4]uint8{crStart}})
		return
	}
	r[0] = crSetMeter
	creatorStep(x, rc)
}

// creatorStep goes on after the step in register 0 answered rc.
func creatorStep(x *kernel.Ctx, rc int64) {
	r := x.Regs()
	for rc == 0 {
		switch r[0] {
		case crSetMeter:
			r[0] = crMakeStart
			rc = call(x, crDomain, abi.OCDomainMakeStart, crStart, [4]uint8{}, 0)
			if rc == int64(abi.RCWouldWait) {
				x.CallGate(crDomain, &kernel.Msg{Order: int64(abi.OCDomainMakeStart), Data: kernel.Words(0),
					Recv: [4]uint8{crStart}})
				return
			}
		case crMakeStart:
			r[0] = crIdle
			x.Move(crReply, crCaller)
			x.Move(crCaller, 0)
			x.Move(crBank, 0)
			x.Return(crReply, &kernel.Msg{Keys: [4]uint8{crDomain, crStart}})
			return
		default:
			rc = int64(abi.RCBadState)
		}
	}
	// The domain vanished (its bank was destroyed meanwhile) or refused:
	// give it back and pass the code on.
	call(x, crBank, abi.OCBankSell, 0, [4]uint8{crDomain})
	r[0] = crIdle
	x.Move(crReply, crCaller)
	for _, kr := range []uint8{crCaller, crBank, crDomain, crStart} {
		x.Move(kr, 0)
	}
	x.Return(crReply, &kernel.Msg{Order: rc})
}

// StartCreator registers the domain creator, buys its domain from bank
// under meter, makes it available, and returns a start key to it.
func StartCreator(m *kernel.Machine, bank, meter kernel.Key) (kernel.Key, error) {
	m.RegisterProgram(CreatorName, Creator)
	dom, err := m.NewDomain(bank, meter, abi.KindNative, CreatorName)
	if err != nil {
		return kernel.Key{}, err
	}
	start, err := m.StartKey(dom, 0)
	if err != nil {
		return kernel.Key{}, err
	}
	return start, m.MakeAvailable(dom)
}
