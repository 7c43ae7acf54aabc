package kernel

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Meter is a CPU budget. Running domains consume their meter and every
// superior meter: an rv64 instruction costs one tick, native code one tick
// per nanosecond of host time. When a meter runs out, domains under it stop
// and the meter's keeper is called on their behalf.
type Meter struct {
	header

	// remaining is the budget left, in ticks, and leased the part of the
	// budget reserved by cores in leases and not yet settled (a domain that
	// finds the meter empty while others hold leases calls them back
	// rather than trapping). Both are written together under mu (reserve,
	// settle, setBudget) and read without it: settle writes remaining
	// before leased, so a reader that sees leased at zero and then reads
	// remaining sees every refund.
	remaining atomic.Int64
	leased    atomic.Int64
	// consumed counts ticks used under this meter.
	consumed atomic.Uint64

	// superior is the meter above this one; DK(0) for the prime meter.
	// Set when the meter is bought and not changed until it is freed.
	superior Key
	depth    int // nesting below the prime meter; set with superior

	mu     sync.Mutex // guards keeper and the writes of remaining and leased
	keeper Key
}

// infiniteBudget is the prime meter's budget.
const infiniteBudget = math.MaxInt64

// buyMeter buys a meter under sup with the given budget.
func (m *Machine) buyMeter(b *Bank, sup *Meter, budget int64) (Key, abi.RC) {
	if sup.depth+1 > int(abi.LimitMeterDepth) {
		return Key{}, abi.RCRange
	}
	h, rc := m.buy(b, objMeter)
	if rc != abi.RCOk {
		return Key{}, rc
	}
	mt := h.meter()
	mt.superior = keyTo(&sup.header, abi.KTMeter, 0, 0)
	mt.depth = sup.depth + 1
	mt.remaining.Store(budget)
	mt.consumed.Store(0)
	mt.mu.Lock()
	mt.keeper = Key{}
	mt.mu.Unlock()
	return keyTo(h, abi.KTMeter, 0, 0), abi.RCOk
}

// up returns the superior meter, or nil at the top or if it is void.
func (mt *Meter) up() (*Meter, bool) {
	if mt.superior.kt == 0 {
		return nil, true
	}
	s := mt.superior.live()
	if s.hdr == nil {
		return nil, false
	}
	return s.hdr.meter(), true
}

// reserve takes up to want ticks from mt and every superior, leasing
// them, and returns how many it got: the least any meter on the chain could
// give. ok is false if the chain is broken (a superior was destroyed).
func (mt *Meter) reserve(want int64) (got int64, ok bool) {
	mt.mu.Lock()
	take := min(max(mt.remaining.Load(), 0), want)
	mt.remaining.Add(-take)
	mt.leased.Add(take)
	mt.mu.Unlock()
	sup, ok := mt.up()
	got = take
	if !ok {
		got = 0
	} else if sup != nil && take > 0 {
		got, ok = sup.reserve(take)
	}
	if got < take {
		mt.settle1(take-got, 0, take-got)
	}
	return got, ok
}

// settle gives back refund unused ticks of a lease to mt and its chain (a
// negative refund charges an overdraft), records used as consumed along
// it, and ends the lease of reserved ticks.
func (mt *Meter) settle(refund, used, reserved int64) {
	for x := mt; x != nil; {
		x.settle1(refund, used, reserved)
		x, _ = x.up()
	}
}

// settle1 is settle for mt alone.
func (mt *Meter) settle1(refund, used, reserved int64) {
	mt.mu.Lock()
	mt.remaining.Add(refund)
	mt.leased.Add(-reserved)
	mt.mu.Unlock()
	mt.consumed.Add(uint64(used))
}

// setBudget makes budget the meter's remaining CPU time. Ticks that cores
// hold in leases on it count as spent from the new budget; what a lease
// did not use comes back to it when the lease is settled. So the meter
// never runs more than budget from now on, and a lease's time used before
// the change and not yet settled is charged to the new budget (at most
// one lease a core: the caller recalls them).
func (mt *Meter) setBudget(budget int64) {
	mt.mu.Lock()
	mt.remaining.Store(budget - mt.leased.Load())
	mt.mu.Unlock()
}

// exhausted returns the innermost meter on mt's chain with no budget left.
func (mt *Meter) exhausted() *Meter {
	for x := mt; x != nil; {
		if x.remaining.Load() <= 0 {
			return x
		}
		s, _ := x.up()
		x = s
	}
	return nil
}

// meterOp is a decoded meter invocation.
type meterOp struct {
	order  abi.OC
	budget int64
	key    Key
}

func decodeMeterInvocation(r *request) (meterOp, abi.RC) {
	op := meterOp{order: abi.OC(r.order)}
	switch op.order {
	case abi.OCKeyType, abi.OCMeterRead:
	case abi.OCMeterMakeSub, abi.OCMeterSetBudget:
		w, ok := r.word(0)
		if !ok || int64(w) < 0 {
			return op, abi.RCBadArgument
		}
		op.budget = int64(w)
		op.key = r.keys[0]
	case abi.OCMeterSetKeeper:
		op.key = r.keys[0].live()
		if op.key.kt != 0 && op.key.kt != ktStart {
			return op, abi.RCBadKey
		}
	default:
		return op, abi.RCUnknownOrder
	}
	return op, abi.RCOk
}

func (m *Machine) invokeMeter(c *Core, k Key, r *request, rep *reply) {
	op, rc := decodeMeterInvocation(r)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
		return
	}
	mt := k.hdr.meter()
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTMeter)
	case abi.OCMeterRead:
		c.flushMeter()
		rep.setWords(c, []uint64{uint64(max(mt.remaining.Load(), 0)), mt.consumed.Load()})
	case abi.OCMeterMakeSub:
		bk := op.key.live()
		if bk.kt != ktBank {
			rep.rc = int64(abi.RCBadKey)
			return
		}
		rep.keys[0], rc = m.buyMeter(bk.hdr.bankObj(), mt, op.budget)
		rep.rc = int64(rc)
	case abi.OCMeterSetBudget:
		c.flushMeter()
		mt.setBudget(op.budget)
		if mt.leased.Load() > 0 {
			c.m.leaseRecall.Add(1) // other cores: settle soon
		}
	case abi.OCMeterSetKeeper:
		mt.mu.Lock()
		mt.keeper = op.key
		mt.mu.Unlock()
	}
}

// lease is CPU time a core has reserved from the meter chain of the
// domains it runs, so that charging a native event costs no atomic
// operation and no clock read. Unused ticks go back when the core runs a
// domain under another meter, goes idle, or a meter is read or set.
type lease struct {
	m     *Meter
	alloc uint32
	// batch is how many native events the clock waits for, and perEvent
	// the ticks an event took in the last batch (0: none timed yet):
	// batchFor. (They fill padding: a longer lease moves the core's later
	// fields, and 24 bytes more measured 2.5 ns slower a native round
	// trip.)
	batch int8
	// native: the domain that last ran under the lease was native, and
	// clock times native events. Other kinds are charged by count, so a
	// change of kind ends the clock's batch (kindChange).
	native   bool
	left     int64 // ticks reserved and not yet used
	used     int64 // ticks used since the reservation
	reserved int64 // ticks reserved in all (counted in the chain's leased)
	events   int   // native events not yet charged by the clock
	clock    int64 // when the pending native events began
	// bdom are the domains whose events the batch holds, bn how many
	// each (joinBatch); the third place is taken only as the batch ends.
	bdom     [3]*Domain
	bn       [3]int32
	perEvent int32
	last     uint64 // Core.leaseTick when it was last made current
}

func (l *lease) hdr() *header {
	if l.m == nil {
		return nil
	}
	return &l.m.header
}

// leaseChunk is how many ticks a core reserves at a time.
const leaseChunk = 1 << 20

// nativeBatch is how many native events share one clock reading.
const nativeBatch = 32

// detNativeTicks is what a native event costs in deterministic mode.
const detNativeTicks = 100

// meterFor makes sure c holds a lease on d's meter with ticks left. If the
// domain may not run it returns evTrap with c.trap filled, or evSlice when
// the meter's last ticks are leased to other cores, which are asked to
// give them back; 0 means run.
func (c *Core) meterFor(d *Domain) event {
	native := d.kind == abi.KindNative
	if c.lease.native != native {
		// Before the ticks left are looked at: closing a native batch
		// charges it.
		c.kindChange(native)
	}
	if s := &d.slots[abi.SlotMeter]; s.hdr != nil {
		// A lease taken on this very meter is dropped at any epoch change
		// (Core.ack, flushMeter), so while the core holds one, current or
		// spare, the meter is still live.
		if c.leaseCovers(d, native) {
			return 0
		}
		for i := range c.leases {
			if l := &c.leases[i]; s.hdr == l.hdr() && s.alloc == l.alloc && l.left > 0 {
				c.useLease(l, native)
				return 0
			}
		}
	}
	mk := d.slots[abi.SlotMeter].live()
	if mk.kt != ktMeter {
		c.trap = keeperTrap{info: trapInfo{code: abi.TrapNoMeter}}
		return evTrap
	}
	mt := mk.hdr.meter()
	if c.lease.m != mt || c.lease.alloc != mk.alloc {
		c.switchLease(mt, mk.alloc, native)
	}
	if c.lease.left > 0 {
		return 0
	}
	// Used up: settle it before reserving again, so that our own lease
	// does not count as someone else's below. What its events took is
	// kept, for the next batch's length.
	c.closeBatch(c.lease)
	per := c.lease.perEvent
	c.settleLease(c.lease)
	*c.lease = lease{m: mt, alloc: mk.alloc, last: c.leaseTick, native: native, perEvent: per}
	if native {
		c.lease.clock = c.m.now()
	}
	got, ok := mt.reserve(leaseChunk)
	if !ok {
		c.trap = keeperTrap{info: trapInfo{code: abi.TrapNoMeter}}
		return evTrap
	}
	if got == 0 {
		ex := mt.exhausted()
		if ex == nil {
			// A lease came back since reserve looked: try again.
			return evSlice
		}
		if ex.leased.Load() > 0 || ex.remaining.Load() > 0 {
			// Other cores hold the last ticks: recall them, try again.
			// (Or one just gave them back: settle1 writes remaining
			// before leased, so leased is read first.)
			c.m.leaseRecall.Add(1)
			return evSlice
		}
		c.trap = keeperTrap{info: trapInfo{code: abi.TrapMeter}}
		ex.mu.Lock()
		c.trap.segKeeper = ex.keeper
		ex.mu.Unlock()
		c.trap.segNode = keyTo(&ex.header, abi.KTMeter, 0, 0)
		return evTrap
	}
	c.lease.left += got
	c.lease.reserved += got
	c.setBatch(c.lease)
	return 0
}

// setBatch sets l's batch (batchFor), and the core's copy if l is the
// current lease.
func (c *Core) setBatch(l *lease) {
	l.batch = c.batchFor(l)
	if l == c.lease {
		c.batchEvents = int32(l.batch)
	}
}

// batchFor is how many native events the clock may wait for under l: as
// many as fit in its ticks left at the last batch's ticks an event, at
// least 1 and at most batchMax; 1 while no batch has been timed. So a
// meter is overdrawn by about one event, where a fixed batch let a domain
// whose events are long run on for up to a batch of them past its
// budget. (The estimate comes from the events before: an event that takes
// longer than those is still found out one event late.) The usual case, a
// full batch, is found without a division.
func (c *Core) batchFor(l *lease) int8 {
	full := int8(c.batchMax)
	switch per := int64(l.perEvent); {
	case per == 0:
		return 1
	case l.left >= int64(full)*per:
		return full
	default:
		return int8(max(l.left/per, 1)) // less than full
	}
}

// charge records n ticks used by d under the current lease.
func (c *Core) charge(d *Domain, n int64) {
	c.lease.left -= n
	c.lease.used += n
	d.ticks += uint64(n)
	c.stats.busyTicks += uint64(n)
}

// leaseCovers reports whether c's current lease is on d's meter, was
// last used for d's kind (native or not), and has ticks left: meterFor's
// usual answer, written small enough for the compiler to inline into the
// kinds' runs without the keyfish command's profile (a call to meterFor
// costs a native round trip 4%).
func (c *Core) leaseCovers(d *Domain, native bool) bool {
	l := c.lease
	s := &d.slots[abi.SlotMeter]
	return l.native == native && l.left > 0 && l.m != nil && s.hdr == &l.m.header && s.alloc == l.alloc
}

// countNative counts native domain d's event in the clock's batch, as
// chargeNative would, when that is all there is to do: d is one of the
// batch's domains and the batch goes on. It reports false, having done
// nothing, otherwise. (Small enough to inline, as leaseCovers.)
func (c *Core) countNative(d *Domain) bool {
	l := c.lease
	n := l.events + 1
	if n >= int(c.batchEvents) || !l.countIn(d) {
		return false
	}
	l.events = n
	return true
}

// countIn counts an event of d in the batch if d is one of its two
// domains, and reports whether it was.
func (l *lease) countIn(d *Domain) bool {
	switch d {
	case l.bdom[0]:
		l.bn[0]++
	case l.bdom[1]:
		l.bn[1]++
	default:
		return false
	}
	return true
}

// chargeNative charges a native event of d. Every nativeBatch events the
// clock is read and the time since the last reading charged, shared among
// the batch's domains by their numbers of events (spendBatch).
func (c *Core) chargeNative(d *Domain) {
	l := c.lease
	n := l.events + 1 // compared from a register, not reloaded
	l.events = n
	if !l.countIn(d) && c.joinBatch(d) {
		return
	}
	if n >= int(c.batchEvents) {
		c.chargeBatch(d)
	}
}

// joinBatch counts d's event in the current batch. A batch holds the
// events of two domains, enough for a pair calling each other: a third
// ends it, and its time is shared among the three. It reports whether it
// charged the batch.
func (c *Core) joinBatch(d *Domain) bool {
	l := c.lease
	switch {
	case l.bdom[0] == nil:
		l.bdom[0], l.bn[0] = d, 1
	case l.bdom[1] == nil:
		l.bdom[1], l.bn[1] = d, 1
	default:
		l.bdom[2], l.bn[2] = d, 1
		if !c.m.det {
			c.chargeClock()
			return true
		}
	}
	return false
}

// chargeBatch charges the native events counted in the lease: the time
// since the last clock reading, or in deterministic mode, where time is
// virtual, a fixed cost for the one event.
func (c *Core) chargeBatch(d *Domain) {
	if c.m.det {
		c.lease.endBatch()
		c.charge(d, detNativeTicks)
		c.m.advance(detNativeTicks)
		return
	}
	c.chargeClock()
}

// chargeIdle charges the native events not yet charged up to time t, when
// the core is about to idle, so that its idle time is charged to nobody.
func (c *Core) chargeIdle(t int64) {
	l := c.lease
	if l.events > 0 && !c.m.det {
		c.spendBatch(l, t-l.clock)
	}
	l.clock = t
}

// chargeClock charges the time since the current lease's last clock
// reading.
func (c *Core) chargeClock() {
	now := c.m.now()
	c.spendBatch(c.lease, now-c.lease.clock)
	c.lease.clock = now
}

// spendBatch charges el ticks, the time of l's batch of native events, to
// l and to the batch's domains, each in proportion to its events, and
// ends the batch. Native run time is read from the clock a batch at a
// time, so a domain's share is exact when it ran alone in its batch (a
// server woken from idle, say) and an estimate otherwise. The meters are
// charged exactly either way.
func (c *Core) spendBatch(l *lease, el int64) {
	switch {
	case l.events == nativeBatch:
		l.perEvent = int32(min(max(el/nativeBatch, 1), math.MaxInt32)) // a shift, not a division
	case l.events > 0:
		l.perEvent = int32(min(max(el/int64(l.events), 1), math.MaxInt32))
	}
	if el > 0 {
		l.left -= el
		l.used += el
		c.stats.busyTicks += uint64(el)
		if n := int64(l.bn[0]) + int64(l.bn[1]) + int64(l.bn[2]); n > 0 {
			// bdom[0] is taken first, and takes what rounding leaves.
			rest := el
			for i := 2; i > 0; i-- {
				if d := l.bdom[i]; d != nil {
					share := el * int64(l.bn[i]) / n
					d.nativeTicks.Add(uint64(share))
					rest -= share
				}
			}
			l.bdom[0].nativeTicks.Add(uint64(rest))
		}
	}
	l.endBatch()
	c.setBatch(l)
}

// endBatch forgets the native events of l's batch.
func (l *lease) endBatch() {
	l.events = 0
	l.bdom = [3]*Domain{}
	l.bn = [3]int32{}
}

// switchLease makes the core's current lease the one on meter mt, keeping
// the others: two domains under different meters taking turns on a core
// settle nothing. A lease on a new meter takes the place of the one least
// recently used, which is settled.
func (c *Core) switchLease(mt *Meter, alloc uint32, native bool) {
	victim := &c.leases[0]
	for i := range c.leases {
		l := &c.leases[i]
		if l.m == mt && l.alloc == alloc {
			c.useLease(l, native)
			return
		}
		if l.last < victim.last {
			victim = l
		}
	}
	c.closeBatch(c.lease)
	c.settleLease(victim)
	c.leaseTick++
	*victim = lease{m: mt, alloc: alloc, last: c.leaseTick, native: native}
	if native {
		victim.clock = c.m.now()
	}
	c.lease = victim
	c.batchEvents = int32(victim.batch)
}

// useLease makes l, one of the core's leases, the current one.
func (c *Core) useLease(l *lease, native bool) {
	if l == c.lease {
		return
	}
	c.closeBatch(c.lease)
	c.leaseTick++
	l.last = c.leaseTick
	l.clock = 0
	l.native = native
	if native {
		l.clock = c.m.now()
	}
	c.lease = l
	c.batchEvents = int32(l.batch)
}

// kindChange makes the current lease's clock follow a change in the kind of
// domain running under it: a native domain after another kind starts the
// clock, another kind after a native domain charges the native events up
// to now. Without it, a native batch's clock ran on through the slices of
// an rv64 domain under the same meter, which were charged twice.
func (c *Core) kindChange(native bool) {
	l := c.lease
	if native {
		l.clock = c.m.now()
	} else {
		c.closeBatch(l)
	}
	l.native = native
}

// closeBatch charges a lease's native events not yet charged.
func (c *Core) closeBatch(l *lease) {
	if l.events > 0 && !c.m.det {
		c.spendBatch(l, c.m.now()-l.clock)
		return
	}
	l.endBatch()
}

// settleLease gives a lease's unused ticks back and records its use.
func (c *Core) settleLease(l *lease) {
	if l.m == nil {
		return
	}
	c.closeBatch(l)
	if l.m.alloc.Load() == l.alloc {
		l.m.settle(l.left, l.used, l.reserved)
	}
	*l = lease{}
}

// flushMeter gives every lease the core holds back.
func (c *Core) flushMeter() {
	for i := range c.leases {
		c.settleLease(&c.leases[i])
	}
}
