package kernel

import (
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Core is one CPU driver: a loop that handles one event at a time and
// keeps no stack between events. In parallel mode each core is a
// goroutine; in deterministic mode one goroutine steps them all.
//
// Fields without a comment are touched only by the core's own goroutine.
type Core struct {
	m     *Machine
	cl    *Cluster
	index int // in Machine.cores

	cur *Domain // the domain to run next here: the target of a direct switch

	// slice is the ticks left in the current dispatch: set when a domain
	// is taken from the ready queue, and shared by the domains that
	// follow it by direct switch (cur), so that neither a domain that
	// never waits nor a pair calling each other keeps the core from the
	// rest of the ready queue.
	slice int64
	// between counts down the direct switches left before the next
	// event boundary at which step acknowledges the epoch and looks for
	// kernel messages (boundaryEvery).
	between int

	seen      atomic.Uint64 // epoch acknowledged, or quiescent; read by any core
	seenLocal uint64
	mapSeen   uint64
	sleeping  atomic.Bool   // parked in idle; written by the core, read by wakers
	preempt   atomic.Bool   // set by any core to cut the running domain's slice short
	wake      chan struct{} // parallel mode: a send wakes the sleeping core

	// idling is set during an idle spell, which began at idleSince and
	// whose last poll began at lastPoll (beginIdle, endIdle). Parallel
	// mode only.
	idling    bool
	idleSince int64
	lastPoll  int64

	graceEpoch uint64 // the current invocation's reply waits for this epoch
	// selfStop is set when the domain running here stops itself (its own
	// domain key, from inside its event): the stop takes effect when the
	// event ends (endSelfStop), so that until then it stays executing,
	// and no Run or MakeAvailable, its own or another's, can queue it
	// while this core still runs it.
	selfStop bool
	// inKernel is set while a native program's Ctx.Call runs kernel code:
	// a panic then is the kernel's (or the host's console writer's), with
	// locks perhaps held, not the program's (guarded).
	inKernel   bool
	trapCall   bool   // the current invocation is the kernel's CALL of a keeper for a trap
	noFast     bool   // fastInvoke declines everything: tests compare the general path with it
	recallSeen uint64 // the last Machine.leaseRecall acted on
	// lease is the CPU time reserved from the running domain's meter
	// chain: one of leases, which hold it and the leases on the meters of
	// domains that ran here lately (switching between them moves no lease).
	lease     *lease
	leases    [4]lease
	leaseTick uint64 // stamps lease.last
	// batchEvents is how many native events chargeNative counts before it
	// charges them: the current lease's batch, copied here when either
	// changes (setBatch), to be read from the core at every event.
	// batchMax is the most it may be: nativeBatch, or 1 in deterministic
	// mode. Set by New.
	batchEvents, batchMax int32

	rv rvCore // the rv64 kind's per-core caches

	req      request
	rep      reply
	msgKeys  [4]Key // keys of a message being delivered
	noKeys   [4]Key // always zero: a message without keys
	inv      invocation
	trap     keeperTrap
	nctx     Ctx
	scratch  [abi.LimitString]byte // reply strings
	callData [abi.LimitString]byte // the string of a native program's Ctx.Call
	sendBuf  [abi.LimitString]byte // strings copied out of guest memory
	words    [64]uint64

	// released are outboxes of other clusters' domains that this core
	// has taken and is done with, not yet marked free (releaseLater).
	released  [8]*Domain
	nreleased int

	stats coreStats
}

// coreStats counts what a core did. Written by the core; read by Stats
// only when the machine is stopped.
type coreStats struct {
	events, invocations, kernelCalls, traps, retries, slices uint64
	fast                                                     uint64 // invocations done by fastInvoke
	busyTicks, idleSpins, sleeps                             uint64
	rvInsns                                                  uint64 // the part of busyTicks that is rv64 instructions
	idleNanos                                                int64  // time spent idle (spinning or asleep)
	posts                                                    uint64
	maxInbox                                                 int64 // the most messages this core took from its inbox at once
	byKey                                                    [32]uint64
	byTrap                                                   [16]uint64
}

// boundaryEvery is how often, in events, a core that goes from domain
// to domain by direct switch (CALL, RETURN) acknowledges the epoch and
// looks for kernel messages: about every 8 events of a pair calling
// each other, a few hundred nanoseconds, rather than at each, where the
// ten loads and tests of ack and housekeeping were 8% of a native round
// trip. Whoever waits for the core (a grace period, a message in the
// inbox) waits at most that much longer. A core that takes its next
// domain from the ready queue, or has none, always looks.
const boundaryEvery = 8

// step handles one event: pending kernel messages, then one domain run
// until it invokes a key, traps or ends its slice (and, in parallel mode,
// the events that follow it by direct switch until the next boundary).
// It reports whether there was anything to do.
func (c *Core) step() bool {
	worked := false
	if c.cur == nil || c.between == 0 {
		c.between = boundaryEvery - 1
		c.ack()
		worked = c.housekeeping()
	} else {
		c.between--
	}
	d := c.cur
	c.cur = nil
	if d == nil {
		if c.cl.nready.Load() == 0 {
			// Looked at without the lock: an idle core of a shared
			// cluster polls here, and took the lock's line from the busy
			// cores at each poll.
			c.flushReleases()
			return worked
		}
		c.cl.lock()
		d = c.cl.popReady()
		if d != nil {
			d.state = dsExecuting
			d.executing = c
		}
		c.cl.unlock()
		if d == nil {
			c.flushReleases()
			return worked
		}
		c.slice = c.m.slice
	}
	if c.idling {
		c.endIdle()
	}
	c.execute(d)
	c.flushReleases()
	// In parallel mode a direct switch goes on in this step, up to the
	// next event boundary that looks for kernel messages: the core's loop
	// between steps costs a few percent of a native round trip. (In
	// deterministic mode each step is one event, the unit the seeded
	// schedule interleaves.)
	for c.cur != nil && c.between > 0 && !c.m.det {
		c.between--
		d = c.cur
		c.cur = nil
		c.execute(d)
		c.flushReleases()
	}
	return true
}

// housekeeping handles messages and timeouts that arrived for the cluster.
func (c *Core) housekeeping() bool {
	cl := c.cl
	st := &c.m.stats
	if cl.inbox.empty() && cl.reap.empty() && cl.withdraw.empty() && st.grace.Load() == 0 &&
		st.timers.Load() == 0 && st.zombies.Load() == 0 && !cl.outWaitKick.Load() {
		return false
	}
	w := c.drainInbox()
	w = c.drainWithdraw() || w
	w = c.unparkOutWaiters() || w
	w = c.drainReap() || w
	w = c.finishGrace() || w
	w = c.fireTimers() || w
	return w
}

// execute runs d, which this core owns, and handles what stopped it. d is
// already marked executing here (under the cluster lock, by whoever gave
// it to this core): other cores read those fields under the lock, so they
// are not written again outside it.
func (c *Core) execute(d *Domain) {
	c.stats.events++
	d.events++
	// d.state and d.executing were set under the cluster lock when this
	// core took d (step, switchTo): other cores read them under that lock.
	if d.dead() {
		c.finishEvent(d)
		return
	}
	if d.pendingTrap {
		d.pendingTrap = false
		c.raiseTrap(d, &keeperTrap{info: d.trap, segKeeper: d.trapKeeper, segNode: d.trapKey0})
		c.finishEvent(d)
		return
	}
	c.graceEpoch, c.selfStop = 0, false
	// Each kind's run by a direct call, which the compiler can do without
	// the keyfish command's profile.
	var ev event
	switch d.kind {
	case abi.KindNative:
		ev = nativeCPU.run(c, d)
	case abi.KindRV64:
		ev = rvCPU.run(c, d)
	default:
		ev = kindOf(d.kind).run(c, d)
	}
	// The usual end of an event, here so that it needs no call with or
	// without the keyfish command's profile: an invocation that the fast
	// path performs.
	if ev == evInvoke && c.graceEpoch == 0 && c.fastInvoke(d) {
		return // d's event is over, and the target runs next here
	}
	c.afterRun(d, ev)
}

// afterRun handles what stopped d's run, ev, and ends the event, where
// the invocation fast path has declined or is not for ev (execute tries
// it first).
func (c *Core) afterRun(d *Domain, ev event) {
	if g := c.graceEpoch; g != 0 && ev == evInvoke {
		// A native program's calls changed mappings: its final invocation
		// waits for the grace period.
		c.graceEpoch = 0
		kindOf(d.kind).rewind(c, d)
		d.pend = pendingReply{none: true}
		c.cl.addGrace(d, g)
		c.finishEvent(d)
		return
	}
	switch ev {
	case evInvoke:
		c.stats.invocations++
		c.trace(d, "invoke", c.inv.order)
		c.invoke(d, &c.inv)
	case evTrap:
		c.trace(d, "trap", int64(c.trap.info.code))
		c.raiseTrap(d, &c.trap)
	case evSlice:
		c.stats.slices++
		c.trace(d, "slice", 0)
		c.makeReady(d)
	case evPause:
		c.cur = d
	case evStopped:
		c.cl.lock()
		c.endSelfStop(d)
		c.cl.unlock()
	}
	c.finishEvent(d)
}

// finishEvent lets d go if it no longer runs here: operations deferred
// until it stopped executing are done, and a killed domain is reaped. A
// domain that left its event here available, stopped or waiting may have
// been moved to another cluster since, by another core of this one
// (setHome): what is left to do for it is then its new home's. (d may
// also have left this core and been taken by another core of the cluster
// already: stalled, woken and picked up again.) The lines of its hot
// calls are where the PGO profile expects them (README, "Libraries and tools").
func (c *Core) finishEvent(d *Domain) {
	cont := c.cur == d
	if cont && d.deferred == nil && !c.preempt.Load() && !d.killed.Load() {
		// d runs on here. (A domain whose bank was destroyed is killed
		// before the destroyer's grace period begins; execute checks.)
		return
	}
	cl := c.cl
	cl.lock()
	if cont {
		c.cur = nil
		c.preempt.Store(false)
		if !d.dead() {
			cl.pushReady(d)
		}
	} else if cl.shared && d.home.Load() != cl {
		goto moved
	}
	if d.executing == c {
		if d.state == dsExecuting {
			d.state = dsStopped // killed while running
		}
		d.executing = nil
	}
	c.runDeferred(d)
	if d.dead() { // queued for reaping once (a no-op if it was); reaped here if popped too early
		if c.m.killDomain(d); d.reapPending {
			c.reapLocked(d)
		}
	}
moved:
	cl.unlock()
}

// guarded calls f and reports whether it returned. A native program that
// panics inside f unwinds to here: its event is finished as a trap
// (programPanicked) and guarded reports false. Any other panic is a
// kernel bug and goes on.
func (c *Core) guarded(f func()) (ok bool) {
	defer func() {
		if ok {
			return
		}
		r := recover()
		if r == nil {
			return // runtime.Goexit: nothing to recover
		}
		if c.nctx.d == nil || c.inKernel {
			// Not a native program's: a kernel bug. Taken for the
			// program's, it would leave whatever lock the kernel held
			// held, and the machine would hang later instead.
			c.inKernel = false
			panic(r)
		}
		c.programPanicked(r)
	}()
	f()
	return true
}

// flushCaches drops per-core caches after a mapping was removed.
func (c *Core) flushCaches() {
	if g := c.m.epochs.mapGen.Load(); g != c.mapSeen {
		c.mapSeen = g
		for _, k := range kinds {
			if k != nil {
				k.flush(c)
			}
		}
	}
}

// notify wakes the core if it sleeps.
func (c *Core) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
