package kernel

import (
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Killing and reaping domains. Selling a domain or destroying its bank
// voids every key to it at once (header.valid); killDomain then asks the
// domain's home cluster to reap it: take it out of its queues, let domains
// stalled on it go on (they find its keys void), answer callers whose
// resume keys it held with RCCalleeDestroyed, and free its slot after a
// grace period. A domain executing on a core is reaped by that core at the
// end of its event; one whose outbox is away is reaped when it comes back.

// reapStack is a cluster's list of killed domains, pushed by any core.
type reapStack struct{ head atomic.Pointer[Domain] }

func (r *reapStack) push(d *Domain) {
	for {
		h := r.head.Load()
		d.reapNext = h
		if r.head.CompareAndSwap(h, d) {
			return
		}
	}
}

func (r *reapStack) empty() bool { return r.head.Load() == nil }

// withdrawStack is a cluster's list of killed domains whose outboxes may be
// parked in its stall queues, pushed by any core.
type withdrawStack struct{ head atomic.Pointer[Domain] }

func (w *withdrawStack) push(d *Domain) {
	for {
		h := w.head.Load()
		d.withdrawNext = h
		if w.head.CompareAndSwap(h, d) {
			return
		}
	}
}

func (w *withdrawStack) empty() bool { return w.head.Load() == nil }

// drainWithdraw sends the outboxes of killed domains (and of cancelled
// CALLs) parked in this cluster's stall queues home, undelivered, so that
// their domains can be reaped (or send again). An outbox that is not parked
// here is on its way home anyway.
func (c *Core) drainWithdraw() bool {
	cl := c.cl
	if cl.withdraw.empty() {
		return false
	}
	d := cl.withdraw.head.Swap(nil)
	cl.lock()
	for d != nil {
		next := d.withdrawNext
		d.withdrawNext = nil
		switch t := d.parkedOn.Load(); {
		case t == nil || !d.outboxCancelled():
			// Not parked: on its way home anyway, or it will be refused
			// where it is going (outboxCancelled). Or parked, but with a
			// newer message than the one this request was for: that one
			// went home meanwhile (becomeAvailableLocked sends a cancelled
			// staller's outbox home when its turn comes), and the domain,
			// not killed, sent again.
			c.withdrawn(d)
		case t.home.Load() == cl:
			cl.stallUnlink(d, t)
			d.parkedOn.Store(nil)
			// Off the list before its outbox goes home, where it may be
			// reaped once the outbox is back.
			d.withdrawing.Store(false)
			c.ackReply(d, 0, false)
		default:
			// Forwarded and parked in another cluster: ask that one. It
			// stays withdrawing all the way, so that it is not reaped.
			to := t.home.Load()
			to.withdraw.push(d)
			to.kick()
		}
		d = next
	}
	cl.unlock()
	return true
}

// withdrawn takes d off withdraw lists; a killed d kept unreaped for it
// (a zombie) can now be reaped, so its home is told to look.
func (c *Core) withdrawn(d *Domain) {
	d.withdrawing.Store(false)
	if c.m.stats.zombies.Load() > 0 {
		d.home.Load().kick()
	}
}

// killDomain marks d dead and queues it for reaping by its home cluster.
func (m *Machine) killDomain(d *Domain) {
	if d.killed.Swap(true) {
		return
	}
	// An outbox parked in another cluster's stall queue would come back
	// only when the domain it waits for becomes available, perhaps never;
	// until it does the domain cannot be reaped. Ask for it back. (An
	// outbox posted after this look is refused there: recvInvoke sees the
	// domain dead.) Asked before d is queued for reaping, so that the
	// reaper sees it withdrawing and keeps it (reapLocked).
	m.requestWithdraw(d)
	cl := d.home.Load()
	cl.reap.push(d)
	cl.kick()
}

// requestWithdraw asks the cluster d's busy outbox was posted to for it
// back, should it be parked in one of that cluster's stall queues: d was
// killed, or its CALL cancelled (stopped). Any core.
func (m *Machine) requestWithdraw(d *Domain) {
	if !d.outBusy.Load() {
		return
	}
	if to := d.outTo.Load(); to != nil && d.withdrawing.CompareAndSwap(false, true) {
		to.withdraw.push(d)
		to.kick()
	}
}

// outboxCancelled reports whether the message in remote staller s's
// outbox must not be delivered: s was killed, or the CALL it carries was
// cancelled (s stopped since: its wait is over).
func (s *Domain) outboxCancelled() bool {
	return s.dead() || s.out.typ == abi.InvCall && s.resumeGen.Load() != s.out.gen
}

// dead reports whether d was killed or its bank destroyed.
func (d *Domain) dead() bool {
	if d.killed.Load() {
		return true
	}
	b := d.bank.Load()
	return b == nil || b.dead.Load()
}

// drainReap reaps the domains killed since the last look.
func (c *Core) drainReap() bool {
	cl := c.cl
	if cl.reap.empty() && c.m.stats.zombies.Load() == 0 {
		return false
	}
	d := cl.reap.head.Swap(nil)
	did := d != nil
	cl.lock()
	for d != nil {
		next := d.reapNext
		d.reapNext = nil
		c.reapLocked(d)
		d = next
	}
	if len(cl.zombies) > 0 {
		kept := cl.zombies[:0]
		for _, z := range cl.zombies {
			if z.outBusy.Load() || z.withdrawing.Load() {
				kept = append(kept, z)
			} else {
				c.m.stats.zombies.Add(-1)
				z.state = dsStopped
				c.reapLocked(z)
				did = true
			}
		}
		clear(cl.zombies[len(kept):])
		cl.zombies = kept
	}
	cl.unlock()
	// Zombies whose outboxes are still away are not work: reporting them
	// as such kept a core spinning until they came back.
	return did
}

// reapLocked reaps killed domain d, homed in c's cluster. (mu)
func (c *Core) reapLocked(d *Domain) {
	if d.reaped {
		return
	}
	cl := c.cl
	switch d.state {
	case dsExecuting, dsSending:
		// Its core reaps it at the end of the event (finishEvent), or its
		// outbox's return does (completeAtHome).
		d.reapPending = true
		return
	case dsReady:
		cl.unlinkReady(d)
	case dsStalled:
		cl.stallUnlink(d, d.stalledOn)
		d.stalledOn = nil
	case dsWaiting:
		cl.removeTimer(d)
	case dsGrace:
		cl.unlinkGrace(d)
	case dsOutWait:
		cl.dropOutWait(d)
	}
	d.reapPending = false
	c.passWakeup(d)
	d.endWait()
	d.state = dsStopped
	d.executing = nil
	if d.outBusy.Load() || d.withdrawing.Load() {
		// A message of d's is still being taken elsewhere, or d is still
		// on another cluster's withdraw list.
		for _, z := range cl.zombies {
			if z == d {
				return
			}
		}
		cl.zombies = append(cl.zombies, d)
		c.m.stats.zombies.Add(1)
		return
	}
	d.reaped = true
	// Domains stalled on d go on and find its keys void.
	for s := cl.stallPop(d); s != nil; s = cl.stallPop(d) {
		if s.parkedOn.Load() != d {
			s.stalledOn = nil
			s.retry = true
			cl.pushReady(s)
		} else {
			s.parkedOn.Store(nil)
			c.ackReply(s, 0, false)
		}
	}
	c.runDeferred(d)
	// Tell the callers whose resume keys d holds; then free d.
	buf := d.out.buf
	d.out = outbox{kind: mCalleeGone, buf: buf}
	c.calleeGone(d)
}

// calleeGone continues the scan of killed domain d's key registers for
// resume keys to waiting domains: those homed here get RCCalleeDestroyed;
// at one homed elsewhere d's outbox travels there. At the end d is freed.
// (mu of c's cluster)
func (c *Core) calleeGone(d *Domain) {
	for ; d.out.scan < 16; d.out.scan++ {
		k := d.keys[d.out.scan].live()
		if k.kt != ktResume && k.kt != ktRestart {
			continue
		}
		w := k.hdr.domain()
		if h := w.home.Load(); h != c.cl {
			d.outBusy.Store(true)
			c.post(h, d)
			return
		}
		if w.state != dsWaiting {
			continue
		}
		if c.resumeWaiter(w, k, int64(abi.RCCalleeDestroyed), nil, &c.noKeys) {
			c.makeReadyLocked(w)
		}
	}
	c.m.freeDomain(d)
}

// recvCalleeGone continues a killed domain's scan in this cluster.
func (c *Core) recvCalleeGone(d *Domain) {
	c.cl.lock()
	c.calleeGone(d)
	c.cl.unlock()
}

// freeDomain returns a reaped domain's slot, after a grace period.
//
// It leaves the slot's bank-list links (header.prev, next) alone: they are
// the ledger's. A sold domain was unlinked already; one whose bank was
// destroyed is on that bank's dropped list, which the destroyer may still
// be walking, under the ledger, to find the domains to kill (another core
// that saw the bank dead may have killed and reaped this one meanwhile).
// The next purchase of the slot sets the links afresh.
func (m *Machine) freeDomain(d *Domain) {
	d.keys = [16]Key{}
	d.slots = [abi.SlotCount]Key{}
	d.outBusy.Store(false)
	d.alloc.Add(1)
	m.stats.domainsFreed.Add(1)
	m.freeLater(&d.header, m.epochs.bump())
}
