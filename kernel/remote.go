package kernel

import (
	"slices"
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Invocations between clusters. The sender's outbox, part of the sending
// domain and charged to its bank, is linked into the inbox of the cluster
// that must act on it. A domain has at most one outbox in flight (outBusy),
// so an inbox never holds more entries than there are domains.

// msgKind is what an outbox in an inbox asks of the cluster it reaches.
type msgKind uint8

const (
	mInvoke     msgKind = iota + 1 // invoke a start key of a domain homed here
	mReply                         // a message to a resume key of a domain homed here
	mKernel                        // a domain key invocation of a domain homed here
	mAck                           // back home: the outcome of the sender's invocation
	mCalleeGone                    // a killed domain telling its waiting callers
)

// outbox is a message in flight between clusters.
type outbox struct {
	kind  msgKind
	typ   abi.Inv
	key   Key // the key invoked
	order int64
	n     int // string length
	// A string of up to outboxInline bytes travels in small, on the
	// outbox's own cache lines; a longer one in buf, allocated the first
	// time the domain sends one and kept.
	small [outboxInline]byte
	buf   *[abi.LimitString]byte
	keys  [4]Key
	gen   uint64 // CALL: the sender's resume generation

	// ack: the reply to carry home (mKernel, or a CALL whose key was void).
	rc       int64
	hasReply bool

	stopOnReturn bool // the sender was stopped while its outbox was away
	scan         int  // mCalleeGone: next key register to look at

	// rel are outboxes of domains homed where this one goes, which the
	// sending core took and is done with: the receiving cluster marks
	// them free (Core.releaseLater). Written by the core that posts this
	// outbox; read and cleared by the core that takes it.
	rel  [4]*Domain
	nrel int
}

// outboxInline is the longest string an outbox carries inline: enough
// for a trap message or a few words.
const outboxInline = 64

// data returns the outbox's string.
func (o *outbox) data() []byte {
	if o.n <= outboxInline {
		return o.small[:o.n]
	}
	return o.buf[:o.n]
}

// setData copies p into the outbox as its string.
func (o *outbox) setData(p []byte) {
	if len(p) <= outboxInline {
		o.n = copy(o.small[:], p)
		return
	}
	if o.buf == nil {
		o.buf = new([abi.LimitString]byte)
	}
	o.n = copy(o.buf[:], p)
}

// inbox is a cluster's queue of outboxes from other clusters: a stack
// that senders push onto with one compare-and-swap and the cluster takes
// whole with one swap, then reverses into arrival order. A mutex-guarded
// FIFO took the line several times a message: the poll of an idle core
// pulled it back between the sender's lock, its stores and its unlock,
// and then waited for the lock itself.
type inbox struct {
	head atomic.Pointer[Domain] // the last outbox pushed, linked through inext
}

// push links d's outbox into the inbox.
func (ib *inbox) push(d *Domain) {
	// Guess empty, the common case: the compare-and-swap then fetches
	// the line once, for writing, where a load first would fetch it to
	// read and again to write.
	var h *Domain
	for {
		d.inext = h
		if ib.head.CompareAndSwap(h, d) {
			return
		}
		h = ib.head.Load()
	}
}

// empty reports whether the inbox holds nothing; any core may ask.
func (ib *inbox) empty() bool { return ib.head.Load() == nil }

// take removes every entry and returns the first to arrive (linked
// through inext, in arrival order) and the count.
func (ib *inbox) take() (*Domain, int) {
	if ib.head.Load() == nil {
		return nil, 0
	}
	d := ib.head.Swap(nil)
	var first *Domain
	n := 0
	for d != nil {
		next := d.inext
		d.inext = first
		first = d
		d = next
		n++
	}
	return first, n
}

// entries returns the outboxes in the inbox, in arrival order, for the
// checker: only while the machine is stopped.
func (ib *inbox) entries(limit int) []*Domain {
	var ds []*Domain
	for d := ib.head.Load(); d != nil && len(ds) <= limit; d = d.inext {
		ds = append(ds, d)
	}
	slices.Reverse(ds)
	return ds
}

// post links d's outbox into cl's inbox and wakes a core there.
func (c *Core) post(cl *Cluster, d *Domain) {
	c.carryReleases(cl, d)
	if d.outTo.Load() != cl {
		d.outTo.Store(cl)
	}
	cl.inbox.push(d)
	c.stats.posts++
	cl.kick()
}

// fillOutbox copies an invocation into d's outbox.
func (d *Domain) fillOutbox(kind msgKind, k Key, inv *invocation) {
	o := &d.out
	// Field by field, only what the message needs: the receiver last
	// read these lines, so each store here must fetch its line back, and
	// a whole-struct assignment (which zeroes the inline string too)
	// stored enough to fill the core's store buffer and wait on them.
	o.kind, o.typ, o.key, o.order = kind, inv.typ, k, inv.order
	o.keys = inv.keys
	o.gen, o.rc, o.hasReply, o.stopOnReturn = 0, 0, false, false
	o.setData(inv.data)
	if inv.typ == abi.InvCall && kind != mKernel {
		// A domain key's answer comes back in the outbox itself: no
		// resume key for it.
		o.keys[3] = d.beginWait(d.waitKind())
		o.gen = o.keys[3].val
	}
}

// sendRemote sends an invocation of a start or resume key of a domain homed
// in another cluster.
func (c *Core) sendRemote(d *Domain, k Key, inv *invocation, kind msgKind) {
	if d.outBusy.Load() {
		// The previous message has not been taken yet: try again later.
		c.retryLater(d)
		return
	}
	// Busy first: the store is an atomic exchange, which waits for the
	// stores before it. The outbox's lines were last read by another
	// cluster, so each store to them fetches its line; filled after, they
	// are fetched while the rest goes on, and post's compare-and-swap
	// waits for them and for the inbox's line together.
	d.outBusy.Store(true)
	d.fillOutbox(kind, k, inv)
	to := k.hdr.domain().home.Load()
	c.cl.lock()
	switch {
	case inv.typ == abi.InvCall:
		d.state = dsWaiting
		d.remoteCall = d.out.gen
	case kind == mReply && inv.typ == abi.InvReturn:
		// A resume key needs no answer: the sender is available at once;
		// only its outbox stays busy until the reply is taken.
		c.becomeAvailableLocked(d)
	case kind == mReply:
		kindOf(d.kind).setResult(d, int64(abi.RCOk))
		c.cur = d
	default:
		d.state = dsSending
	}
	c.cl.unlock()
	c.post(to, d)
}

// sendKernelOp sends a domain key invocation to the cluster that owns the
// target, or defers it until the target stops executing.
func (c *Core) sendKernelOp(d *Domain, k Key, inv *invocation) {
	t := k.hdr.domain()
	cl := c.cl
	if d.outBusy.Load() {
		// The previous message has not been taken yet: try again later.
		c.retryLater(d)
		return
	}
	if t.home.Load() == cl {
		cl.lock()
		if t.home.Load() != cl {
			// Moved away by another core of this cluster since the look
			// above: its new home performs the operation.
			cl.unlock()
			c.sendKernelOp(d, k, inv)
			return
		}
		if t.state != dsExecuting {
			// It stopped executing meanwhile: try again at once.
			cl.unlock()
			c.invokeKernel(d, k, inv)
			return
		}
		d.fillOutbox(mKernel, k, inv)
		d.out.gen = 0
		d.state = dsSending
		d.snext = t.deferred
		t.deferred = d
		t.executing.preempt.Store(true)
		cl.unlock()
		return
	}
	d.fillOutbox(mKernel, k, inv)
	d.out.gen = 0
	d.outBusy.Store(true)
	cl.lock()
	d.state = dsSending
	cl.unlock()
	c.post(t.home.Load(), d)
}

// retryLater makes d re-execute its current invocation later.
// It waits, parked, until the outbox it needs is free: the cluster that
// takes the outbox kicks d's home (releaseOutbox), whose housekeeping then
// makes d ready.
func (c *Core) retryLater(d *Domain) {
	c.rewindFor(d)
	c.stats.retries++
	cl := c.cl
	cl.lock()
	d.state = dsOutWait
	d.executing = nil
	cl.outWait = append(cl.outWait, d)
	c.m.stats.outWaiters.Add(1)
	cl.unlock()
	if !d.outBusy.Load() {
		// Freed meanwhile: make sure someone looks.
		cl.outWaitKick.Store(true)
	}
}

// releaseOutbox marks s's outbox free; if domains of s's home wait for
// their outboxes, that cluster is told to look.
func (c *Core) releaseOutbox(s *Domain) {
	s.outBusy.Store(false)
	if c.m.stats.outWaiters.Load() > 0 || c.m.stats.zombies.Load() > 0 {
		h := s.home.Load()
		h.outWaitKick.Store(true)
		h.kick()
	}
}

// releaseLater marks s's outbox, which c has taken and is done with, free
// later: in the next message c sends to s's home in this event, if any
// (carryReleases), where s's home core clears outBusy itself, else at the
// end of the event (flushReleases). outBusy is read by s's home core at
// s's next send; cleared from here it is a cache line that travels twice,
// once to be written here and once to be read there, on the path of the
// round trip. The host clears it at once: it has no events.
func (c *Core) releaseLater(s *Domain) {
	if c.nreleased == len(c.released) || c == c.m.host {
		c.releaseOutbox(s)
		return
	}
	c.released[c.nreleased] = s
	c.nreleased++
}

// carryReleases moves the held-back releases of outboxes homed in cl into
// d's outbox, which goes there: drainInbox there releases them.
func (c *Core) carryReleases(cl *Cluster, d *Domain) {
	o := &d.out
	for i := 0; i < c.nreleased && o.nrel < len(o.rel); {
		s := c.released[i]
		if s.home.Load() != cl {
			i++
			continue
		}
		o.rel[o.nrel] = s
		o.nrel++
		c.nreleased--
		c.released[i] = c.released[c.nreleased]
		c.released[c.nreleased] = nil
	}
}

// flushReleases marks free the outboxes releaseLater held back and no
// message carried: at the end of every event, and before the machine
// stops. (Small enough to inline: it runs at every event.)
func (c *Core) flushReleases() {
	if c.nreleased != 0 {
		c.releaseHeld()
	}
}

// releaseHeld is flushReleases' loop, kept out of line so that
// flushReleases inlines.
//
//go:noinline
func (c *Core) releaseHeld() {
	for i := range c.nreleased {
		c.releaseOutbox(c.released[i])
		c.released[i] = nil
	}
	c.nreleased = 0
}

// dropOutWait takes d, parked waiting for its outbox and now stopped or
// reaped, off cl's list at once: d may be moved to another cluster or
// freed and bought again before housekeeping would look. (mu)
func (cl *Cluster) dropOutWait(d *Domain) {
	for i, w := range cl.outWait {
		if w == d {
			last := len(cl.outWait) - 1
			cl.outWait[i] = cl.outWait[last]
			cl.outWait[last] = nil
			cl.outWait = cl.outWait[:last]
			cl.m.stats.outWaiters.Add(-1)
			return
		}
	}
}

// unparkOutWaiters makes ready the parked domains whose outbox is free.
func (c *Core) unparkOutWaiters() bool {
	cl := c.cl
	// Load first: other clusters' cores read this line (Cluster.idle) at
	// every post, and a Swap would take it from them each time.
	if !cl.outWaitKick.Load() || !cl.outWaitKick.Swap(false) {
		return false
	}
	did := false
	cl.lock()
	kept := cl.outWait[:0]
	for _, d := range cl.outWait {
		if d.state == dsOutWait && d.outBusy.Load() {
			kept = append(kept, d)
			continue
		}
		c.m.stats.outWaiters.Add(-1)
		if d.state == dsOutWait {
			cl.pushReady(d)
			did = true
		}
	}
	clear(cl.outWait[len(kept):])
	cl.outWait = kept
	// Those kept are looked at again when their outboxes are freed:
	// releaseOutbox clears outBusy, then sees outWaiters nonzero and sets
	// the kick; retryLater counts a domain in outWaiters, then looks at
	// outBusy. So either this look saw the outbox free, or the kick was
	// set after the Swap above. (Setting the kick again here kept the core
	// polling, never asleep, while an outbox stayed away.)
	cl.unlock()
	return did
}

// drainInbox handles every message that reached c's cluster.
func (c *Core) drainInbox() bool {
	d, n := c.cl.inbox.take()
	if d == nil {
		return false
	}
	c.stats.maxInbox = max(c.stats.maxInbox, int64(n))
	for d != nil {
		next := d.inext
		d.inext = nil
		// First the releases it carries: outboxes of domains homed here.
		for i := range d.out.nrel {
			c.releaseOutbox(d.out.rel[i])
			d.out.rel[i] = nil
		}
		d.out.nrel = 0
		switch d.out.kind {
		case mInvoke:
			c.recvInvoke(d)
		case mReply:
			c.recvReply(d)
		case mKernel:
			c.recvKernel(d)
		case mAck:
			c.recvAck(d)
		case mCalleeGone:
			c.recvCalleeGone(d)
		}
		d = next
	}
	return true
}

// forward re-posts s to the cluster where t now lives, if t moved. It
// reports whether it did.
func (c *Core) forward(s, t *Domain) bool {
	if h := t.home.Load(); h != c.cl {
		c.post(h, s)
		return true
	}
	return false
}

// outboxTarget returns the domain that s's outbox key, of type want,
// designates, and the key. It returns nil when the message is done with
// here: a void key (answered as DK(0)) or a target homed elsewhere now
// (forwarded).
func (c *Core) outboxTarget(s *Domain, want kt) (*Domain, Key) {
	k := s.out.key.live()
	if k.kt != want {
		c.ackReply(s, 0, false)
		return nil, k
	}
	t := k.hdr.domain()
	if c.forward(s, t) {
		return nil, k
	}
	return t, k
}

// recvInvoke: s invoked the start key of t, homed here.
func (c *Core) recvInvoke(s *Domain) {
	if t, _ := c.outboxTarget(s, ktStart); t != nil {
		c.deliverOrPark(s, t)
	}
}

// deliverOrPark delivers remote staller s's outbox to t, homed here, or
// parks it in t's stall queue. The key to t was found good just before.
func (c *Core) deliverOrPark(s, t *Domain) {
	cl := c.cl
	cl.lock()
	if moved := cl.shared && t.home.Load() != cl; moved || s.outboxCancelled() {
		// Moved away since outboxTarget looked; or s killed, or its CALL stopped, since it
		// sent: nothing of it is delivered. (If that happens after this look, it sees its
		// outbox busy and asks for it back: drainWithdraw.)
		cl.unlock()
		c.notDelivered(s, t, moved)
		return
	}
	if t.reaped {
		// Reaped by another core of this cluster since outboxTarget
		// looked at the key: it is void, and nothing would ever take the
		// outbox out of the stall queue.
		cl.unlock()
		c.ackReply(s, 0, false)
		return
	}
	if t.state != dsAvailable {
		cl.stallLink(s, t, false)
		s.parkedOn.Store(t)
		cl.unlock()
		return
	}
	c.deliverOutbox(s, t)
	cl.unlock()
}

// deliverOutbox delivers remote staller s's outbox to available t and
// tells s's home. (mu)
func (c *Core) deliverOutbox(s, t *Domain) {
	o := &s.out
	c.deliver(t, o.order, o.data(), &o.keys, int64(o.key.db))
	c.makeReadyLocked(t)
	if o.typ == abi.InvCall {
		// s waits at home for t's reply; its outbox is free.
		c.releaseLater(s)
		return
	}
	c.ackReply(s, 0, false)
}

// ackReply sends s's outbox home with the outcome of its invocation.
func (c *Core) ackReply(s *Domain, rc int64, hasReply bool) {
	s.out.kind = mAck
	s.out.rc = rc
	s.out.hasReply = hasReply
	if !hasReply {
		s.out.n = 0
		s.out.keys = [4]Key{}
	}
	c.post(s.home.Load(), s)
}

// recvReply: s returned to a resume key of w, homed here.
func (c *Core) recvReply(s *Domain) {
	k := s.out.key
	w := k.hdr.domain()
	if k.live().hdr != nil && c.forward(s, w) {
		return
	}
	cl := c.cl
	cl.lock()
	moved, delivered := cl.shared && k.live().hdr != nil && w.home.Load() != cl, false
	if !moved && k.live().hdr != nil && w.state == dsWaiting {
		o := &s.out
		delivered = c.resumeWaiter(w, k, o.order, o.data(), &o.keys)
		if delivered {
			c.makeReadyLocked(w)
		}
	}
	cl.unlock()
	if moved || !delivered && s.out.typ == abi.InvCall {
		// Moved away since forward looked; or nothing delivered (the key went stale on the
		// way, or a keeper declined a trap): the caller gets DK(0)'s answer, as it would in
		// its own cluster, instead of waiting for ever.
		c.notDelivered(s, w, moved)
		return
	}
	c.releaseLater(s)
}

// notDelivered finishes with outbox s, not delivered to t, homed in c's
// cluster when its message arrived: if another core of the cluster has
// moved t away since, the outbox goes on to t's new home (as forward does);
// otherwise it goes back to s's home with DK(0)'s answer.
func (c *Core) notDelivered(s, t *Domain, moved bool) {
	if moved {
		c.post(t.home.Load(), s)
		return
	}
	c.ackReply(s, 0, false)
}

// recvKernel: s invoked the domain key of t, homed here.
func (c *Core) recvKernel(s *Domain) {
	t, k := c.outboxTarget(s, ktDomain)
	if t == nil {
		return
	}
	cl := c.cl
	cl.lock()
	if cl.shared && t.home.Load() != cl {
		// Moved away meanwhile (as in deliverOrPark).
		cl.unlock()
		c.notDelivered(s, t, true)
		return
	}
	if t.state == dsExecuting {
		s.snext = t.deferred
		t.deferred = s
		t.executing.preempt.Store(true)
		cl.unlock()
		return
	}
	c.performOutboxOp(s, t, k)
	cl.unlock()
}

// performOutboxOp performs the domain key invocation in s's outbox on t
// and answers s. (mu)
func (c *Core) performOutboxOp(s, t *Domain, k Key) {
	o := &s.out
	req := &c.req
	req.order, req.data, req.keys = o.order, o.data(), o.keys
	rep := &c.rep
	*rep = reply{}
	op, rc := decodeDomainInvocation(req)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
	} else {
		c.m.performDomain(c, t, k, op, req, rep)
	}
	o.setData(rep.data)
	o.keys = rep.keys
	if s.home.Load() == c.cl {
		// A local invoker deferred behind an executing domain.
		c.finishKernelOp(s)
		return
	}
	c.ackReply(s, rep.rc, true)
}

// runDeferred performs the domain key invocations that waited for d to
// stop executing. (mu)
func (c *Core) runDeferred(d *Domain) {
	for d.deferred != nil && d.state != dsExecuting {
		s := d.deferred
		d.deferred = s.snext
		s.snext = nil
		k := s.out.key.live()
		if k.hdr != &d.header {
			s.out.n, s.out.keys = 0, [4]Key{}
			s.out.rc = 0
			if s.home.Load() == c.cl {
				c.finishKernelOp(s)
			} else {
				c.ackReply(s, 0, false)
			}
			continue
		}
		c.rep.rc = 0
		c.performOutboxOp(s, d, k)
	}
}

// finishKernelOp completes a local domain's deferred kernel operation
// whose reply is in its outbox. (mu)
func (c *Core) finishKernelOp(s *Domain) {
	s.out.rc = c.rep.rc
	c.completeAtHome(s)
}

// recvAck: s, homed here, learns the outcome of its invocation.
func (c *Core) recvAck(s *Domain) {
	cl := c.cl
	cl.lock()
	// As releaseOutbox: s may have parked waiting for its outbox (it was
	// stopped and run again while a cancelled CALL was still away).
	c.releaseOutbox(s)
	c.completeAtHome(s)
	cl.unlock()
}

// completeAtHome finishes s's invocation from the outcome in its outbox.
// (mu)
func (c *Core) completeAtHome(s *Domain) {
	o := &s.out
	if s.dead() {
		c.m.killDomain(s)
		s.state = dsStopped
		if s.reapPending {
			c.reapLocked(s)
		}
		return
	}
	if o.stopOnReturn {
		o.stopOnReturn = false
		s.state = dsStopped
		return
	}
	switch s.state {
	case dsWaiting:
		// A CALL whose key turned out void: the reply is DK(0)'s.
		if s.resumeGen.Load() != o.gen {
			return
		}
		s.endWait()
	case dsSending:
	default:
		return
	}
	switch o.typ {
	case abi.InvCall:
		c.deliver(s, o.rc, o.data(), &o.keys, int64(abi.EcallFromResume))
		c.makeReadyLocked(s)
	case abi.InvReturn:
		c.becomeAvailableLocked(s)
	case abi.InvFork:
		kindOf(s.kind).setResult(s, int64(abi.RCOk))
		c.makeReadyLocked(s)
	}
}
