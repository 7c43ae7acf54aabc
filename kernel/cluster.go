package kernel

import (
	"container/heap"
	"sync"
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Cluster is a group of cores sharing one ready queue: an SMP island. Its
// cores run domains of its CPU kinds (usually one). Its domains are homed
// here; only its cores change their scheduling state.
type Cluster struct {
	m     *Machine
	index int
	kinds KindSet
	cores []*Core

	// mu guards the ready queue, the stall queues, grace list and timers,
	// and the fields of every domain homed here. With one core there is
	// nobody to exclude and lock is a no-op.
	mu     sync.Mutex
	shared bool

	readyHead, readyTail *Domain    // (mu) linked through qprev/qnext
	nready               relaxedU64 // written under mu; read by any core of the cluster
	graceHead            *Domain    // (mu) linked through qnext
	timers               timerHeap
	zombies              []*Domain // (mu) killed domains whose outbox is still away
	outWait              []*Domain // (mu) domains waiting for their outbox to be free

	// Written by other clusters' cores: each on cache lines of its own.
	_     cacheLinePad
	inbox inbox // messages from other clusters
	_     cacheLinePad
	reap  reapStack // killed domains to reap
	_     cacheLinePad
	// withdraw lists killed domains of other clusters whose outboxes may
	// wait in stall queues here.
	withdraw    withdrawStack
	_           cacheLinePad
	outWaitKick atomic.Bool  // an outbox of a domain homed here was freed
	idle        atomic.Int32 // number of cores sleeping
	homed       atomic.Int64 // domains given this home by clusterFor (a balance hint)
	_           cacheLinePad
}

// cacheLinePad keeps what cores write from sharing a cache line with what
// other cores read (false sharing).
type cacheLinePad [64]byte

// hasGrace reports whether replies wait for a grace period here.
func (cl *Cluster) hasGrace() bool {
	cl.lock()
	defer cl.unlock()
	return cl.graceHead != nil
}

func (cl *Cluster) lock() {
	if cl.shared {
		cl.mu.Lock()
	}
}

func (cl *Cluster) unlock() {
	if cl.shared {
		cl.mu.Unlock()
	}
}

// makeReady puts d at the tail of its cluster's ready queue.
func (c *Core) makeReady(d *Domain) {
	c.cl.lock()
	c.makeReadyLocked(d)
	c.cl.unlock()
}

func (c *Core) makeReadyLocked(d *Domain) { d.home.Load().pushReady(d) }

func (cl *Cluster) pushReady(d *Domain) {
	d.state = dsReady
	d.executing = nil
	d.qnext, d.qprev = nil, cl.readyTail
	if cl.readyTail != nil {
		cl.readyTail.qnext = d
	} else {
		cl.readyHead = d
	}
	cl.readyTail = d
	cl.nready.Add(1)
	cl.kick()
}

// popReady takes the domain at the head of the ready queue. (mu)
func (cl *Cluster) popReady() *Domain {
	d := cl.readyHead
	if d != nil {
		cl.unlinkReady(d)
	}
	return d
}

func (cl *Cluster) unlinkReady(d *Domain) {
	if d.qprev != nil {
		d.qprev.qnext = d.qnext
	} else {
		cl.readyHead = d.qnext
	}
	if d.qnext != nil {
		d.qnext.qprev = d.qprev
	} else {
		cl.readyTail = d.qprev
	}
	d.qprev, d.qnext = nil, nil
	cl.nready.Add(^uint64(0))
}

// kick wakes a sleeping core of the cluster, if any.
func (cl *Cluster) kick() {
	if cl.idle.Load() == 0 {
		return
	}
	for _, c := range cl.cores {
		if c.sleeping.Load() {
			c.notify()
			return
		}
	}
}

// stall queues d, whose invocation of t's start key found t busy, in t's
// stall queue: at the tail, or at the head if d is retrying after being
// woken from it. The caller has rewound d (rewindFor) to repeat the
// invocation when woken. (mu)
func (cl *Cluster) stall(d, t *Domain) {
	d.state = dsStalled
	d.stalledOn = t
	cl.stallLink(d, t, d.retry)
	d.retry = false
}

func (cl *Cluster) stallLink(s, t *Domain, head bool) {
	t.nstalled++
	atomicMax(&cl.m.stats.maxStall, int64(t.nstalled))
	s.snext = nil
	switch {
	case t.stallHead == nil:
		t.stallHead, t.stallTail = s, s
	case head:
		s.snext = t.stallHead
		t.stallHead = s
	default:
		t.stallTail.snext = s
		t.stallTail = s
	}
}

func (cl *Cluster) stallPop(t *Domain) *Domain {
	s := t.stallHead
	if s != nil {
		t.nstalled--
		t.stallHead = s.snext
		if t.stallHead == nil {
			t.stallTail = nil
		}
		s.snext = nil
	}
	return s
}

func (cl *Cluster) stallUnlink(s, t *Domain) {
	var prev *Domain
	for x := t.stallHead; x != nil; prev, x = x, x.snext {
		if x != s {
			continue
		}
		if prev == nil {
			t.stallHead = x.snext
		} else {
			prev.snext = x.snext
		}
		if t.stallTail == x {
			t.stallTail = prev
		}
		x.snext = nil
		t.nstalled--
		return
	}
}

// becomeAvailable makes d available and lets the first domain stalled on
// it proceed.
func (c *Core) becomeAvailable(d *Domain) {
	c.cl.lock()
	c.becomeAvailableLocked(d)
	c.cl.unlock()
}

func (c *Core) becomeAvailableLocked(d *Domain) {
	d.state = dsAvailable
	d.executing = nil
	if d.stallHead != nil {
		c.wakeStaller(d)
	}
}

// wakeStaller hands available d to the first of its stallers. (mu)
func (c *Core) wakeStaller(d *Domain) {
	cl := d.home.Load()
	s := cl.stallPop(d)
	for s != nil && s.parkedOn.Load() == d && s.outboxCancelled() {
		// A remote staller killed, or its CALL stopped, since it sent:
		// its outbox goes home undelivered.
		s.parkedOn.Store(nil)
		c.ackReply(s, 0, false)
		s = cl.stallPop(d)
	}
	if s == nil {
		return
	}
	if s.parkedOn.Load() != d {
		// A local staller re-executes its invocation. Until it does, it
		// holds d's wake-up: should it not retry (stopped, killed, or
		// invoking something else), passWakeup wakes the next staller.
		s.stalledOn = d
		s.retry = true
		cl.pushReady(s)
		return
	}
	// A remote staller's outbox is delivered now. (Its domain may be homed
	// here by now, the outbox forwarded back after d moved: it is told
	// from a local staller by parkedOn, not by its home.)
	s.parkedOn.Store(nil)
	c.deliverOutbox(s, d)
}

// passWakeup gives up the wake-up d holds as the woken first staller of
// another domain, because d will not retry its invocation: if that domain
// is still available, its next staller is woken. A domain that goes away
// or does something else holding a wake-up would otherwise leave the
// other stallers waiting on an available domain for ever. (mu)
func (c *Core) passWakeup(d *Domain) {
	t := d.stalledOn
	if !d.retry {
		return
	}
	d.retry, d.stalledOn = false, nil
	if t != nil && t.home.Load() == d.home.Load() && t.state == dsAvailable && t.stallHead != nil {
		c.becomeAvailableLocked(t)
	}
}

// addGrace holds d's kernel reply until epoch e is safe. (mu taken)
func (cl *Cluster) addGrace(d *Domain, e uint64) {
	cl.lock()
	d.state = dsGrace
	d.graceEpoch = e
	d.qnext = cl.graceHead
	cl.graceHead = d
	cl.m.stats.grace.Add(1)
	cl.unlock()
}

// finishGrace delivers the held replies whose grace period has passed.
func (c *Core) finishGrace() bool {
	if c.m.stats.grace.Load() == 0 {
		// Nothing held anywhere: skip reading every core's epoch, lines
		// that other cores write.
		return false
	}
	cl := c.cl
	safe := c.m.epochs.safe()
	did := false
	cl.lock()
	var prev *Domain
	for d := cl.graceHead; d != nil; {
		next := d.qnext
		if d.graceEpoch <= safe {
			if prev == nil {
				cl.graceHead = next
			} else {
				prev.qnext = next
			}
			d.qnext = nil
			cl.m.stats.grace.Add(-1)
			if !d.pend.none {
				c.deliver(d, d.pend.rc, nil, &d.pend.keys, int64(abi.EcallFromResume))
			}
			d.pend = pendingReply{}
			cl.pushReady(d)
			did = true
		} else {
			prev = d
		}
		d = next
	}
	cl.unlock()
	return did
}

func (cl *Cluster) unlinkGrace(d *Domain) {
	var prev *Domain
	for x := cl.graceHead; x != nil; prev, x = x, x.qnext {
		if x == d {
			if prev == nil {
				cl.graceHead = x.qnext
			} else {
				prev.qnext = x.qnext
			}
			x.qnext = nil
			cl.m.stats.grace.Add(-1)
			return
		}
	}
}

// addTimer makes d wait for the clock to reach t. (mu taken)
func (cl *Cluster) addTimer(d *Domain, t int64) {
	cl.lock()
	d.state = dsWaiting
	d.timerAt = t
	d.timerGen = d.resumeGen.Add(1)
	heap.Push(&cl.timers, d)
	cl.m.stats.timers.Add(1)
	cl.unlock()
}

// fireTimers delivers the clock's replies whose time has come.
func (c *Core) fireTimers() bool {
	if c.m.stats.timers.Load() == 0 {
		return false
	}
	cl := c.cl
	now := c.m.now()
	did := false
	cl.lock()
	for len(cl.timers) > 0 && cl.timers[0].timerAt <= now {
		d := heap.Pop(&cl.timers).(*Domain)
		cl.m.stats.timers.Add(-1)
		if d.state == dsWaiting && d.resumeGen.Load() == d.timerGen {
			d.endWait()
			c.deliver(d, d.pend.rc, nil, &c.noKeys, int64(abi.EcallFromResume))
			cl.pushReady(d)
		}
		did = true
	}
	cl.unlock()
	return did
}

// nextTimer returns the earliest clock deadline in the cluster, or 0.
func (cl *Cluster) nextTimer() int64 {
	cl.lock()
	defer cl.unlock()
	if len(cl.timers) == 0 {
		return 0
	}
	return cl.timers[0].timerAt
}

// removeTimer takes d out of the timer queue if it is there. (mu)
func (cl *Cluster) removeTimer(d *Domain) {
	if d.timerIdx >= 0 {
		heap.Remove(&cl.timers, d.timerIdx)
		cl.m.stats.timers.Add(-1)
	}
}

// timerHeap orders domains waiting on the clock by deadline.
type timerHeap []*Domain

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].timerAt < h[j].timerAt }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timerIdx, h[j].timerIdx = i, j
}
func (h *timerHeap) Push(x any) {
	d := x.(*Domain)
	d.timerIdx = len(*h)
	*h = append(*h, d)
}
func (h *timerHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	d.timerIdx = -1
	return d
}

// endSelfStop stops d, which stopped itself in the event ending now on c.
// (mu)
func (c *Core) endSelfStop(d *Domain) {
	c.selfStop = false
	if d.state == dsExecuting && d.executing == c {
		d.state = dsStopped
		d.executing = nil
		d.cpu.nat.action = nativeAction{}
	}
}

// stopDomain stops d, which is homed in c's cluster and not executing on
// another core, recording why. (mu)
func (c *Core) stopDomain(d *Domain, why trapInfo) abi.RC {
	cl := d.home.Load()
	switch d.state {
	case dsReady:
		cl.unlinkReady(d)
		c.passWakeup(d)
	case dsStalled:
		cl.stallUnlink(d, d.stalledOn)
		d.stalledOn = nil
	case dsWaiting:
		// A CALL still undelivered in another cluster is cancelled; its
		// outbox is withdrawn from the stall queue it may wait in there.
		undelivered := d.outBusy.Load() && d.remoteCall != 0 && d.remoteCall == d.resumeGen.Load()
		d.endWait()
		cl.removeTimer(d)
		if undelivered {
			c.m.requestWithdraw(d)
		}
	case dsGrace:
		cl.unlinkGrace(d)
	case dsOutWait:
		cl.dropOutWait(d)
	case dsSending:
		// The outbox is away; the domain stops when it comes back.
		d.trap = why
		d.out.stopOnReturn = true
		return abi.RCOk
	case dsExecuting:
		// Only the domain itself gets here, on the core running it
		// (another's invocation waits until it stops executing): it
		// stops when its event ends.
		d.trap = why
		c.selfStop = true
		return abi.RCOk
	}
	d.state = dsStopped
	d.executing = nil
	d.trap = why
	// A native domain's interrupted invocation is abandoned; an rv64
	// domain's pc still points at it and re-executes it if run again.
	d.cpu.nat.action = nativeAction{}
	return abi.RCOk
}
