package kernel

import (
	"errors"
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
)

// Check runs the system-wide invariant checks on a stopped machine and
// returns every violation found, joined, or nil:
//
//   - ledgers balance: each live bank holds exactly the objects listed on
//     it, its use is what it holds plus its sub-banks, and no use exceeds a
//     limit; the prime bank's use plus the free space is the total;
//   - every object slot is accounted for exactly once: held by a live bank,
//     free, waiting out a grace period, or awaiting its sweep or reaping;
//   - no key to a rescinded object works: a key whose allocation count
//     matches names a live object;
//   - a resume or restart key works only while its domain waits;
//   - queues (ready queues, stall queues, grace lists, inboxes) are within
//     bounds and domain states agree with the queues that hold them: a
//     ready domain is in its home's ready queue and runs nowhere, an
//     executing one is what its core runs next, one waiting for a grace
//     period is in its home's grace list, an outbox in an inbox is busy.
func (m *Machine) Check() error {
	if m.running.Load() {
		return ErrRunning
	}
	var errs []error
	fail := func(format string, args ...any) {
		if len(errs) < 50 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	m.ledger.Lock()
	m.store.mu.Lock()
	live := m.checkLedgers(fail)
	m.checkSlots(live, fail)
	m.store.mu.Unlock()
	m.ledger.Unlock()
	m.checkKeys(live, fail)
	m.checkQueues(live, fail)
	return errors.Join(errs...)
}

// checkLedgers walks the bank tree from the prime bank and returns the set
// of live objects. ledger and store.mu are held.
func (m *Machine) checkLedgers(fail func(string, ...any)) map[*header]*Bank {
	live := map[*header]*Bank{}
	var walk func(b *Bank) (used [numObjKinds]uint64, bytes uint64)
	walk = func(b *Bank) (used [numObjKinds]uint64, bytes uint64) {
		var held [numObjKinds]uint64
		for k := objPage; k < numObjKinds; k++ {
			for h := b.objs[k]; h != nil; h = h.next {
				if h.kind != k {
					fail("bank %d lists a %s among its %ss", b.id.index(), h.kind, k)
				}
				if _, dup := live[h]; dup {
					fail("%s %d is listed twice", h.kind, h.id.index())
				}
				live[h] = b
				if h.bank.Load() != b {
					fail("%s %d is on bank %d's list but names another bank", h.kind, h.id.index(), b.id.index())
				}
				held[k]++
				used[k]++
				bytes += objCost[k]
				if k == objBank {
					sub := h.bankObj()
					if sub.parent != b {
						fail("bank %d's parent is not bank %d", sub.id.index(), b.id.index())
					}
					if sub.dead.Load() {
						fail("bank %d is destroyed but still listed", sub.id.index())
					}
					su, sb := walk(sub)
					for j := range su {
						used[j] += su[j]
					}
					bytes += sb
				}
			}
		}
		if held != b.held {
			fail("bank %d: holds %v by its lists, ledger says %v", b.id.index(), held, b.held)
		}
		if used != b.used || bytes != b.bytes {
			fail("bank %d: uses %v / %d bytes by walking, ledger says %v / %d", b.id.index(), used, bytes, b.used, b.bytes)
		}
		if b.bytes > b.limits[0] {
			fail("bank %d: %d bytes used over its limit %d", b.id.index(), b.bytes, b.limits[0])
		}
		for k := objPage; k < numObjKinds; k++ {
			if b.used[k] > b.limits[limitIndex[k]] {
				fail("bank %d: %d %ss over its limit %d", b.id.index(), b.used[k], k, b.limits[limitIndex[k]])
			}
		}
		return used, bytes
	}
	_, bytes := walk(m.prime)
	free := m.cfg.Memory - m.prime.bytes
	if m.prime.bytes > m.cfg.Memory || bytes+free != m.cfg.Memory {
		fail("prime bank uses %d bytes, objects take %d, free %d: total %d", m.prime.bytes, bytes, free, m.cfg.Memory)
	}
	return live
}

// checkSlots accounts for every object slot. store.mu is held.
func (m *Machine) checkSlots(live map[*header]*Bank, fail func(string, ...any)) {
	where := map[*header]string{}
	mark := func(h *header, w string) {
		if prev, ok := where[h]; ok {
			fail("%s %d is both %s and %s", h.kind, h.id.index(), prev, w)
		}
		where[h] = w
	}
	for h := range live {
		mark(h, "live")
	}
	for k := range m.store.free {
		for _, h := range m.store.free[k] {
			mark(h, "free")
		}
	}
	for _, e := range m.store.limbo {
		mark(e.h, "in limbo")
	}
	for _, d := range m.store.dead {
		for h := d.head; h != nil; h = h.next {
			mark(h, "awaiting sweep")
			if h.kind == objBank && !h.bankObj().dead.Load() {
				fail("bank %d awaits its sweep but is not marked dead", h.id.index())
			}
			destroyedBank := h.kind == objBank && h.bankObj().dead.Load()
			if b := h.bank.Load(); b != nil && !b.dead.Load() && !destroyedBank {
				fail("%s %d awaits its sweep but its bank is alive", h.kind, h.id.index())
			}
		}
	}
	m.checkKernelLists(where, fail)
	for k := range m.store.slots {
		for _, h := range m.store.slots[k] {
			if _, ok := where[h]; ok {
				continue
			}
			switch {
			case h == &m.prime.header || h == &m.primeMeter.header:
			case h.kind == objDomain && h.domain().dead():
				// killed: its home cluster reaps it
			default:
				fail("%s %d is neither live, free, in limbo nor awaiting sweep or reaping (%s)", h.kind, h.id.index(), m.describeSlot(h))
			}
		}
	}
}

// checkKeys checks every key in live nodes, domains (their registers, root
// slots and outboxes in flight) and meters.
func (m *Machine) checkKeys(live map[*header]*Bank, fail func(string, ...any)) {
	check := func(where string, k Key) {
		if k.hdr == nil {
			if k.kt != 0 && k.kt < ktReturner {
				fail("%s: %s key without an object", where, ktName(abi.KT(k.kt)))
			}
			return
		}
		if !k.hdr.valid(k.alloc) {
			if k.live().kt != 0 {
				fail("%s: void key %v still works", where, k)
			}
			return
		}
		if _, ok := live[k.hdr]; !ok && k.hdr != &m.prime.header && k.hdr != &m.primeMeter.header {
			fail("%s: key %v works but names no live object", where, k)
		}
		// A resume or restart key works only while its domain waits
		// for exactly that answer.
		if (k.kt == ktResume || k.kt == ktRestart) && k.live().kt != 0 {
			if w := k.hdr.domain(); w.state != dsWaiting {
				fail("%s: resume key %v works but its domain is %s, not waiting", where, k, w.state)
			}
		}
	}
	for h := range live {
		switch h.kind {
		case objNode:
			n := h.node()
			n.mu.Lock()
			slots := n.slots
			n.mu.Unlock()
			for i, k := range slots {
				check(fmt.Sprintf("node %d slot %d", h.id.index(), i), k)
			}
		case objDomain:
			d := h.domain()
			for i, k := range d.keys {
				check(fmt.Sprintf("domain %d key register %d", h.id.index(), i), k)
			}
			for i, k := range d.slots {
				check(fmt.Sprintf("domain %d root slot %d", h.id.index(), i), k)
			}
			if !d.keys[0].IsNull() {
				fail("domain %d: key register 0 is not DK(0)", h.id.index())
			}
			if d.outBusy.Load() {
				// A message in flight between clusters.
				for i, k := range d.out.keys {
					check(fmt.Sprintf("domain %d outbox key %d", h.id.index(), i), k)
				}
			}
		case objMeter:
			mt := h.meter()
			mt.mu.Lock()
			keeper := mt.keeper
			mt.mu.Unlock()
			check(fmt.Sprintf("meter %d keeper", h.id.index()), keeper)
			check(fmt.Sprintf("meter %d superior", h.id.index()), mt.superior)
		}
	}
}

// checkQueues checks that queues hold only domains in the matching state,
// each at most once, and no more entries than there are domains.
func (m *Machine) checkQueues(live map[*header]*Bank, fail func(string, ...any)) {
	ndom := 0
	for h := range live {
		if h.kind == objDomain {
			ndom++
		}
	}
	seen := map[*Domain]string{}
	note := func(d *Domain, q string) {
		if prev, ok := seen[d]; ok {
			fail("domain %d is in %s and in %s", d.id.index(), prev, q)
		}
		seen[d] = q
	}
	// An outbox is in at most one inbox or stall queue; the domain itself
	// may meanwhile be in a queue of its own cluster (outboxes noted apart).
	outboxAt := map[*Domain]string{}
	noteOutbox := func(d *Domain, q string) {
		if prev, ok := outboxAt[d]; ok {
			fail("domain %d's outbox is in %s and in %s", d.id.index(), prev, q)
		}
		outboxAt[d] = q
		if !d.outBusy.Load() {
			fail("domain %d's outbox is in %s but not marked busy", d.id.index(), q)
		}
	}
	for _, cl := range m.clusters {
		n := 0
		for d := cl.readyHead; d != nil; d = d.qnext {
			n++
			note(d, fmt.Sprintf("cluster %d's ready queue", cl.index))
			if d.state != dsReady {
				fail("domain %d in a ready queue is %s", d.id.index(), d.state)
			}
			if d.home.Load() != cl {
				fail("domain %d is in the ready queue of cluster %d, not its home", d.id.index(), cl.index)
			}
			if n > ndom+1 {
				fail("cluster %d's ready queue is longer than the number of domains", cl.index)
				break
			}
		}
		if uint64(n) != cl.nready.Load() {
			fail("cluster %d: ready queue holds %d, count says %d", cl.index, n, cl.nready.Load())
		}
		for _, d := range cl.outWait {
			note(d, fmt.Sprintf("cluster %d's outbox-wait list", cl.index))
			if d.state != dsOutWait || d.home.Load() != cl {
				fail("domain %d in cluster %d's outbox-wait list is %s, homed in cluster %d", d.id.index(), cl.index, d.state, d.home.Load().index)
			}
		}
		for _, d := range cl.timers {
			if d.state != dsWaiting {
				fail("domain %d waits on the clock but is %s", d.id.index(), d.state)
			}
		}
		n = 0
		for d := cl.graceHead; d != nil; d = d.qnext {
			n++
			note(d, fmt.Sprintf("cluster %d's grace list", cl.index))
			if d.state != dsGrace || d.home.Load() != cl {
				fail("domain %d in cluster %d's grace list is %s, homed in cluster %d", d.id.index(), cl.index, d.state, d.home.Load().index)
			}
			if n > ndom+1 {
				fail("cluster %d's grace list is longer than the number of domains", cl.index)
				break
			}
		}
		in := cl.inbox.entries(ndom)
		for _, d := range in {
			noteOutbox(d, fmt.Sprintf("cluster %d's inbox", cl.index))
		}
		if len(in) > ndom {
			fail("cluster %d's inbox holds more messages than the %d domains", cl.index, ndom)
		}
	}
	// woken: domains whose first staller was woken and holds the wake-up.
	woken := map[*Domain]bool{}
	for h := range live {
		if h.kind != objDomain {
			continue
		}
		if d := h.domain(); d.retry && d.stalledOn != nil {
			woken[d.stalledOn] = true
		}
	}
	for h := range live {
		if h.kind != objDomain {
			continue
		}
		t := h.domain()
		n := 0
		for s := t.stallHead; s != nil; s = s.snext {
			n++
			q := fmt.Sprintf("domain %d's stall queue", t.id.index())
			switch {
			case s.parkedOn.Load() != t:
				note(s, q)
				if s.state != dsStalled {
					fail("domain %d stalled on domain %d is %s", s.id.index(), t.id.index(), s.state)
				}
			default:
				// A remote staller's outbox waits here. Its domain waits
				// for the answer, unless the message was cancelled (the
				// domain stopped or killed since): then the outbox only
				// waits to be withdrawn, and the domain may do anything
				// else meanwhile.
				noteOutbox(s, q)
				if s.state != dsSending && s.state != dsWaiting && !s.outboxCancelled() {
					fail("domain %d stalled on domain %d is %s", s.id.index(), t.id.index(), s.state)
				}
			}
			if n > ndom {
				fail("domain %d's stall queue is longer than the number of domains", t.id.index())
				break
			}
		}
		if n != t.nstalled {
			fail("domain %d: stall queue holds %d, count says %d", t.id.index(), n, t.nstalled)
		}
		if t.state == dsAvailable && t.stallHead != nil && !woken[t] {
			// Allowed only while its woken first staller (which
			// holds the wake-up) is on its way to retry.
			fail("domain %d is available with domains stalled on it and none woken", t.id.index())
		}
		if t.state == dsStalled {
			if _, ok := seen[t]; !ok && t.stalledOn != nil {
				// checked when its target's queue is walked
				found := false
				for s := t.stalledOn.stallHead; s != nil; s = s.snext {
					found = found || s == t
				}
				if !found {
					fail("domain %d is stalled but in no stall queue", t.id.index())
				}
			}
		}
		if t.state != dsExecuting && t.executing != nil {
			fail("domain %d is %v but names core %d as running it", t.id.index(), t.state, t.executing.index)
		}
		switch t.state {
		case dsReady:
			if _, ok := seen[t]; !ok {
				fail("domain %d is ready but in no ready queue", t.id.index())
			}
		case dsExecuting:
			// The machine is stopped between events: an executing domain
			// is the one its core runs next.
			if t.executing == nil || t.executing.cur != t {
				fail("domain %d is executing but no core runs it", t.id.index())
			} else if t.executing.cl != t.home.Load() {
				fail("domain %d, homed in cluster %d, is executing on core %d of cluster %d", t.id.index(), t.home.Load().index, t.executing.index, t.executing.cl.index)
			}
		case dsGrace:
			if _, ok := seen[t]; !ok {
				fail("domain %d waits for a grace period but is in no grace list", t.id.index())
			}
		case dsOutWait:
			if _, ok := seen[t]; !ok {
				fail("domain %d waits for its outbox but is in no outbox-wait list", t.id.index())
			}
		}
	}
}

// checkKernelLists checks that no domain on a cluster's reap, withdraw or
// zombie list has been freed: its slot could be bought again while the
// list still holds it, and the new domain would be reaped, or the list cut
// short when the slot is initialized. where says which slots are free or in
// limbo (checkSlots).
func (m *Machine) checkKernelLists(where map[*header]string, fail func(string, ...any)) {
	limit := len(m.store.slots[objDomain])
	look := func(d *Domain, list string, cl *Cluster) {
		if w := where[&d.header]; w == "free" || w == "in limbo" {
			fail("domain %d is on cluster %d's %s but %s", d.id.index(), cl.index, list, w)
		}
	}
	for _, cl := range m.clusters {
		n := 0
		for d := cl.reap.head.Load(); d != nil && n <= limit; d = d.reapNext {
			look(d, "reap list", cl)
			n++
		}
		w := 0
		for d := cl.withdraw.head.Load(); d != nil && w <= limit; d = d.withdrawNext {
			look(d, "withdraw list", cl)
			w++
		}
		if n > limit || w > limit {
			fail("cluster %d's reap or withdraw list holds more than the %d domain slots: a cycle", cl.index, limit)
		}
		for _, d := range cl.zombies {
			look(d, "zombie list", cl)
			if d.reaped || !d.killed.Load() {
				fail("domain %d is on cluster %d's zombie list but reaped %v, killed %v", d.id.index(), cl.index, d.reaped, d.killed.Load())
			}
		}
	}
}

// describeSlot says what the checker knows of a slot it cannot account
// for: its allocation count, its bank, and for a domain its state.
func (m *Machine) describeSlot(h *header) string {
	out := fmt.Sprintf("alloc %d", h.alloc.Load())
	name := func(x *header) string {
		if x == nil {
			return "-"
		}
		return fmt.Sprintf("%s %d", x.kind, x.id.index())
	}
	out += fmt.Sprintf(", linked after %s and before %s", name(h.prev), name(h.next))
	if b := h.bank.Load(); b != nil {
		out += fmt.Sprintf(", bank %d (dead %v, parent set %v; its %ss:", b.id.index(), b.dead.Load(), b.parent != nil, h.kind)
		n := 0
		for x := b.objs[h.kind]; x != nil && n < 32; x = x.next {
			out += " " + fmt.Sprint(x.id.index())
			n++
		}
		out += ")"
	} else {
		out += ", no bank"
	}
	if h.kind == objDomain {
		d := h.domain()
		out += fmt.Sprintf(", state %d, killed %v, reaped %v, reap pending %v, outbox busy %v, events %d",
			d.state, d.killed.Load(), d.reaped, d.reapPending, d.outBusy.Load(), d.events)
	}
	return out
}
