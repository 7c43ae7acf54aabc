package kernel

import (
	"math"
	"sync/atomic"
)

// Grace periods. An operation that removes or weakens a mapping, frees an
// object, or destroys a bank bumps the machine's epoch and holds its reply
// back until every core has acknowledged that epoch. A core acknowledges
// at each event boundary (Core.ack), flushing its TLB and decoded
// instruction cache when the epoch moved; an idle core is quiescent and
// counts as having acknowledged everything. So once the operation's reply
// arrives, no core can use an old translation, no core is inside an event
// that checked a now-void key, and freed slots can be reused.

// quiescent is the seen value of an idle core.
const quiescent = math.MaxUint64

type epochs struct {
	global atomic.Uint64 // the current epoch; bumped by any core
	mapGen atomic.Uint64 // bumped with global when a mapping is removed
	cores  []*Core       // every core; fixed at boot
}

// bump starts a new epoch and returns it. Use it when objects are freed
// but no mapping changed.
func (e *epochs) bump() uint64 { return e.global.Add(1) }

// bumpMap starts a new epoch in which every core flushes its TLB and
// decoded-instruction cache, and returns it.
func (e *epochs) bumpMap() uint64 {
	e.mapGen.Add(1)
	return e.global.Add(1)
}

// safe returns the highest epoch every core has acknowledged.
func (e *epochs) safe() uint64 {
	s := e.global.Load()
	for _, c := range e.cores {
		if v := c.seen.Load(); v < s {
			s = v
		}
	}
	return s
}

// ack acknowledges the current epoch at an event boundary: if it moved,
// the core's caches are flushed first.
func (c *Core) ack() {
	if r := c.m.leaseRecall.Load(); r != c.recallSeen {
		// A core found a meter empty while this one holds a lease.
		c.recallSeen = r
		c.flushMeter()
	}
	g := c.m.epochs.global.Load()
	if g == c.seenLocal {
		return
	}
	// Objects may have been freed: a meter among them must not keep
	// being charged through a lease taken before.
	c.flushMeter()
	c.flushCaches()
	c.seenLocal = g
	c.seen.Store(g)
}

// goIdle marks the core quiescent.
func (c *Core) goIdle() { c.seen.Store(quiescent) }

// wakeUp ends quiescence. The core announces itself before it reads the
// epoch, so an operation that bumps the epoch either sees the core busy
// and waits for it, or bumped before the core's read and is flushed.
func (c *Core) wakeUp() {
	c.seen.Store(c.seenLocal)
	c.ack()
}

// waitGrace makes the current invocation's reply wait until every core has
// acknowledged epoch e.
func (c *Core) waitGrace(e uint64) {
	if e > c.graceEpoch {
		c.graceEpoch = e
	}
}
