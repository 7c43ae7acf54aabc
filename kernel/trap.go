package kernel

import (
	"github.com/keyfish-os/keyfish/abi"
)

// Traps. A domain that faults, executes an illegal instruction, misaligns
// an access, hits ebreak or runs out of meter does not run on: the kernel
// CALLs a keeper on its behalf with a restart key, and the domain waits.
// A fault goes to the keeper of the innermost red segment on the path that
// no no-call key hides (segKeeper), else to the domain keeper; an exhausted
// meter goes to that meter's keeper. With no keeper to call the domain
// stops, recording why.

// keeperTrap is a trap raised by the CPU kind: which keeper gets it.
type keeperTrap struct {
	info      trapInfo
	segKeeper Key // a red segment's keeper (start key), or DK(0)
	segNode   Key // the red segment's node key, given to the segment keeper
}

// raiseTrap delivers d's trap. d is executing on c.
func (c *Core) raiseTrap(d *Domain, t *keeperTrap) {
	c.stats.traps++
	c.stats.byTrap[t.info.code&15]++
	d.trap = t.info
	// Kept in case the keeper's CALL must wait: it is raised again then.
	d.trapKeeper, d.trapKey0 = t.segKeeper, t.segNode
	var keeper, key0 Key
	switch {
	case t.info.code == abi.TrapMeter && t.segKeeper.kt == ktStart && t.info.stage == 0,
		t.info.code == abi.TrapFault && t.segKeeper.kt == ktStart && t.info.stage == 0:
		// A segment keeper, or the exhausted meter's keeper (segKeeper
		// carries it, segNode the meter key), hears of it first.
		keeper, key0 = t.segKeeper, t.segNode
	default:
		// The domain keeper: a decline from it stops the domain.
		d.trap.stage = 1
		keeper = d.slots[abi.SlotKeeper].live()
		key0 = keyTo(&d.header, abi.KTDomain, 0, 0)
	}
	c.callKeeper(d, keeper, key0, d.trap)
}

// callKeeper CALLs keeper on d's behalf with the trap message, or stops d
// if keeper is not a start key.
func (c *Core) callKeeper(d *Domain, keeper, key0 Key, info trapInfo) {
	keeper = keeper.live()
	if keeper.kt != ktStart {
		c.cl.lock()
		c.passWakeup(d)
		d.state = dsStopped
		d.executing = nil
		d.trap = info
		c.cl.unlock()
		return
	}
	w := [abi.TrapMsgWords]uint64{
		uint64(info.code), info.pc, info.addr, uint64(info.access), info.detail, info.offset,
	}
	inv := &c.inv
	*inv = invocation{
		typ:   abi.InvCall,
		key:   keeper,
		order: int64(info.code),
		data:  putWords(c.sendBuf[:], w[:]),
		recv:  recvArea{discard: true},

		gathered: true,
	}
	inv.keys[0] = key0
	c.trapCall = true
	c.invoke(d, inv)
	c.trapCall = false
}

// rewindFor makes d repeat its current invocation when it next runs: an
// ecall or a native final invocation is executed again; the kernel's CALL
// of a keeper for a trap (trapCall) is not the domain's to repeat, so the
// trap is raised again instead.
func (c *Core) rewindFor(d *Domain) {
	if c.trapCall {
		d.pendingTrap = true
		return
	}
	kindOf(d.kind).rewind(c, d)
}

// declineTrap handles a keeper's nonzero answer on a restart key: a
// segment or meter keeper passes the trap on to the domain keeper; from the
// domain keeper it stops the domain. w is waiting, homed in c's cluster.
// (mu)
func (c *Core) declineTrap(w *Domain, order int64) {
	if w.trap.stage == 0 {
		w.trap.stage = 1
		w.pendingTrap = true
		w.trapKeeper, w.trapKey0 = Key{}, Key{} // now the domain keeper's
		c.makeReadyLocked(w)
		return
	}
	w.state = dsStopped
	w.trap.detail = uint64(order)
}
