package hostile

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

// faultAt is where the victims fault: a region nothing is mapped in, or
// where redSegment mounts a red segment.
const faultAt = 0x2000_0000

// redSegment returns a one-level red segment (64 KiB, mapping slots 0..13)
// whose segment keeper is keeper, for mounting at faultAt.
func (e *env) redSegment(keeper kernel.Key) kernel.Key {
	e.t.Helper()
	red := e.call(e.m.PrimeBank(), abi.OCBankBuyNode, nil).Keys[0]
	e.call(red, abi.OCNodeSwap, kernel.Words(14), keeper)
	e.call(red, abi.OCNodeWriteData, kernel.Words(15, 1|14<<8|14<<16))
	return e.call(red, abi.OCNodeMakeSegment, kernel.Words(1, uint64(abi.FlagRed))).Keys[0]
}

// faulter loads sdk/hostile/faulter.c with the given domain keeper and,
// if seg is not the zero Key, seg mounted where it faults.
func (e *env) faulter(keeper, seg kernel.Key, budget uint64) *system.Proc {
	e.t.Helper()
	opt := system.Options{Keeper: keeper, Budget: budget, Args: []string{"faulter", "536870912"}}
	if !seg.IsNull() {
		opt.Mounts = []loader.Mount{{At: faultAt, Segment: seg}}
	}
	p := e.load("hostile/faulter", opt)
	e.start(p)
	return p
}

func (e *env) wantState(p *system.Proc, st abi.State, trap abi.Trap) {
	e.t.Helper()
	if gotSt, gotTrap := e.state(p.Domain); gotSt != st || gotTrap != trap {
		e.t.Fatalf("%s is in state %d with trap %s, want state %d with trap %s",
			p.Name, gotSt, kernel.TrapName(gotTrap), st, kernel.TrapName(trap))
	}
}

// TestKeeperNeverReturns: sdk/hostile/sinkkeeper.c receives trap messages
// and never answers, as a domain keeper, as a segment keeper and as a
// meter keeper (of a spinner). Expected: each victim waits for ever with
// its trap recorded (KF_STATE_WAITING), using no CPU, and the machine
// comes to rest with the well-behaved programs done; stopping a victim
// through its domain key ends the wait (its restart key is void).
func TestKeeperNeverReturns(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		sink, sinkKey := e.server("hostile/sinkkeeper", system.Options{})
		asDomainKeeper := e.faulter(sinkKey, kernel.Key{}, 0)
		asSegmentKeeper := e.faulter(kernel.Key{}, e.redSegment(sinkKey), 0)
		spinner := e.load("hostile/spin", system.Options{Budget: 200_000})
		e.call(spinner.Meter, abi.OCMeterSetKeeper, nil, sinkKey)
		e.start(spinner)
		e.run()
		e.finish()
		e.wantState(asDomainKeeper, abi.StateWaiting, abi.TrapFault)
		e.wantState(asSegmentKeeper, abi.StateWaiting, abi.TrapFault)
		e.wantState(spinner, abi.StateWaiting, abi.TrapMeter)
		e.wantLine("faulter: faulting at 0x20000000")
		for _, p := range []*system.Proc{asDomainKeeper, asSegmentKeeper, spinner} {
			e.call(p.Domain, abi.OCDomainStop, nil)
			e.wantState(p, abi.StateStopped, abi.TrapStopped)
		}
		e.check()
		for _, p := range []*system.Proc{asDomainKeeper, asSegmentKeeper, spinner, sink} {
			e.destroy(p.Bank)
		}
	})
}

// TestKeeperHoldsRestartKey: sinkkeeper "hold" keeps every restart key it
// gets and never uses one. Expected: the victim waits; when the keeper's
// bank is destroyed, its restart key is answered RCCalleeDestroyed, which
// declines the trap: the victim stops with its fault recorded.
func TestKeeperHoldsRestartKey(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		sink, sinkKey := e.server("hostile/sinkkeeper", system.Options{Args: []string{"sinkkeeper", "hold"}})
		victim := e.faulter(sinkKey, kernel.Key{}, 0)
		e.run()
		e.finish()
		e.wantState(victim, abi.StateWaiting, abi.TrapFault)
		e.destroy(sink.Bank)
		e.run()
		e.wantState(victim, abi.StateStopped, abi.TrapFault)
		e.check()
		e.destroy(victim.Bank)
	})
}

// TestKeeperGarbage: sdk/hostile/garbagekeeper.c answers each trap with
// garbage: random registers, random keys and data in a red segment's
// slots (its format included), random domain and node orders, random
// invocations of the restart key, random declines. It keeps a faulter as
// domain keeper and another as segment keeper (and domain keeper). The
// victims' meters are finite. Expected: the kernel answers every garbage
// invocation; each victim ends at rest (stopped: declined, stopped, or
// out of meter; or waiting; or available), never running unasked; the
// invariants hold; the well-behaved programs finish.
func TestKeeperGarbage(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		gk, gkKey := e.server("hostile/garbagekeeper", system.Options{Args: []string{"garbagekeeper", "5", "300"}})
		v1 := e.faulter(gkKey, kernel.Key{}, scaled(3_000_000))
		v2 := e.faulter(gkKey, e.redSegment(gkKey), scaled(3_000_000))
		e.run()
		e.finish()
		for _, p := range []*system.Proc{v1, v2} {
			if st, _ := e.state(p.Domain); st == abi.StateRunning {
				t.Fatalf("%s is running after the machine came to rest", p.Name)
			}
		}
		for _, p := range []*system.Proc{v1, v2, gk} {
			e.destroy(p.Bank)
		}
	})
}
