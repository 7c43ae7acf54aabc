package kernel

import (
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// Bank is a space bank: a ledger of the storage bought from it and its
// sub-banks, with limits. Every object is bought from a bank; destroying the
// bank makes everything bought from it and its sub-banks unusable at once
// and credits the space back to its parent.
//
// All ledger fields of every bank are guarded by Machine.ledger: buying,
// selling and destroying are serialized machine-wide, which keeps the ledger
// invariant checkable and the locking trivial (KeyKOS's bank was a single
// domain too).
type Bank struct {
	header

	// dead is set when this bank or an ancestor is destroyed. Read by any
	// core (header.valid); set under Machine.ledger.
	dead atomic.Bool

	parent *Bank // nil for the prime bank (ledger)
	depth  int   // nesting below the prime bank (ledger)

	// objs lists the objects bought directly from this bank, by kind,
	// doubly linked through header.prev/next (ledger).
	objs [numObjKinds]*header

	held  [numObjKinds]uint64 // objects held directly, by kind (ledger)
	used  [numObjKinds]uint64 // objects held by this bank and its sub-banks (ledger)
	bytes uint64              // bytes held by this bank and its sub-banks (ledger)

	// limits: bytes, then pages, nodes, domains, meters, banks (ledger).
	limits [abi.LedgerLimitCount]uint64
}

var objCost = [numObjKinds]uint64{
	objPage:   uint64(abi.CostPage),
	objNode:   uint64(abi.CostNode),
	objDomain: uint64(abi.CostDomain),
	objBank:   uint64(abi.CostBank),
	objMeter:  uint64(abi.CostMeter),
}

// limitIndex maps an object kind to its limit word after bytes.
var limitIndex = [numObjKinds]int{objPage: 1, objNode: 2, objDomain: 3, objMeter: 4, objBank: 5}

func unlimitedLimits() [abi.LedgerLimitCount]uint64 {
	var l [abi.LedgerLimitCount]uint64
	for i := range l {
		l[i] = abi.Unlimited
	}
	return l
}

// charge checks that b and every ancestor can hold one more object of kind
// k (the dry run) and then charges them all (the wet run). ledger is held.
func (b *Bank) charge(k objKind) abi.RC {
	cost := objCost[k]
	for x := b; x != nil; x = x.parent {
		if x.dead.Load() {
			return abi.RCNoSpace
		}
		if x.bytes+cost > x.limits[0] || x.used[k]+1 > x.limits[limitIndex[k]] {
			return abi.RCNoSpace
		}
	}
	for x := b; x != nil; x = x.parent {
		x.bytes += cost
		x.used[k]++
	}
	b.held[k]++
	return abi.RCOk
}

// credit undoes charge. ledger is held.
func (b *Bank) credit(k objKind) {
	cost := objCost[k]
	for x := b; x != nil; x = x.parent {
		x.bytes -= cost
		x.used[k]--
	}
	b.held[k]--
}

// link adds h to b's list of its kind. ledger is held.
func (b *Bank) link(h *header) {
	head := b.objs[h.kind]
	h.prev, h.next = nil, head
	if head != nil {
		head.prev = h
	}
	b.objs[h.kind] = h
}

// linked reports whether h is on b's list of its kind, as far as its
// neighbours say: a slot whose list was dropped (its bank destroyed) keeps
// stale neighbours, and unlinking it would write into lists it is not on.
// ledger is held.
func (b *Bank) linked(h *header) bool {
	if h.prev == nil && b.objs[h.kind] != h || h.prev != nil && h.prev.next != h {
		return false
	}
	return h.next == nil || h.next.prev == h
}

// unlink removes h from b's list. ledger is held.
func (b *Bank) unlink(h *header) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		b.objs[h.kind] = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	}
	h.prev, h.next = nil, nil
}

// buy takes a slot of kind k, charges it to b and links it. The caller
// initializes the object's fields before handing out a key. It returns nil
// and RCNoSpace if a limit would be exceeded.
func (m *Machine) buy(b *Bank, k objKind) (*header, abi.RC) {
	m.ledger.Lock()
	defer m.ledger.Unlock()
	return m.buyLocked(b, k)
}

// buyLocked is buy for a caller that holds ledger, to initialize the
// fields a destruction of b reads (a bank's dead flag, a domain's home)
// before releasing it: once linked, the object is found by a destruction
// of b, and one that came between the purchase and the initialization
// would be undone by it (a sub-bank marked dead marked alive again).
func (m *Machine) buyLocked(b *Bank, k objKind) (*header, abi.RC) {
	if rc := b.charge(k); rc != abi.RCOk {
		return nil, rc
	}
	h := m.newObject(k)
	b.link(h)
	h.mapped.Store(false)
	h.bank.Store(b)
	return h, abi.RCOk
}

// zeroPage clears a bought page unless its slot is fresh from the host,
// which hands out zeroed memory: touching it now would only move the
// host's first-touch cost here.
func (m *Machine) zeroPage(h *header) {
	m.ledger.Lock()
	fresh := !h.used
	h.used = true
	m.ledger.Unlock()
	if !fresh {
		h.page().data.Zero()
	}
}

// owns reports whether b is obj's bank or an ancestor of it. ledger is held.
func (b *Bank) owns(obj *Bank) bool {
	for x := obj; x != nil; x = x.parent {
		if x == b {
			return true
		}
	}
	return false
}

// sell frees the object k names, which must have been bought from b or a
// sub-bank. Keys to it are void when sell returns; the slot is reused
// after a grace period. Selling a bank destroys it.
func (m *Machine) sell(c *Core, b *Bank, k Key) abi.RC {
	k = k.live()
	switch {
	case k.kt == ktPage && k.flags&flReadOnly == 0, k.kt == ktNode, k.kt == ktDomain, k.kt == ktMeter,
		k.kt == ktBank && k.flags&flNoDestroy == 0:
	default:
		// Only a key with full authority over the object can sell it.
		return abi.RCBadKey
	}
	h := k.hdr
	m.ledger.Lock()
	ob := h.bank.Load()
	if h.alloc.Load() != k.alloc || ob == nil || ob.dead.Load() || !ob.linked(h) {
		// Sold, or its bank destroyed, by another core since k was
		// looked at: k is void now. (Unlinking it again would cut its
		// bank's list, or a destroyed bank's sweep list, short, and
		// credit the bank twice.) A live key to an object not on its
		// bank's list means a broken invariant; refusing keeps the
		// lists and the ledger whole.
		m.ledger.Unlock()
		return abi.RCBadKey
	}
	if !b.owns(ob) {
		m.ledger.Unlock()
		return abi.RCWrongBank
	}
	if h.kind == objBank {
		m.ledger.Unlock()
		return m.destroy(c, h.bankObj())
	}
	ob.unlink(h)
	ob.credit(h.kind)
	// Void every key now, under the ledger, so that a sale of the same
	// object racing this one sees it sold; free the slot once no core
	// can be using it.
	h.alloc.Add(1)
	m.ledger.Unlock()
	switch h.kind {
	case objDomain:
		m.killDomain(h.domain())
		c.waitGrace(m.epochs.bump())
		return abi.RCOk
	case objNode:
		n := h.node()
		n.mu.Lock()
		n.slots = [16]Key{}
		n.mu.Unlock()
	}
	e := m.epochs.bump()
	if h.mapped.Load() {
		e = m.epochs.bumpMap()
		c.waitGrace(e)
	}
	m.freeLater(h, e)
	return abi.RCOk
}

// destroy destroys b, its sub-banks and everything bought from them: every
// key to them is void at once, domains among them stop, and the space is
// credited to b's parent at once. The slots are swept lazily after a grace
// period (store.reclaimLocked). The prime bank cannot be destroyed.
func (m *Machine) destroy(c *Core, b *Bank) abi.RC {
	m.ledger.Lock()
	if b.parent == nil {
		m.ledger.Unlock()
		return abi.RCNotPermitted
	}
	if b.dead.Load() {
		m.ledger.Unlock()
		return abi.RCOk
	}
	// Credit the parent chain with everything the subtree holds, including
	// the bank object itself.
	p := b.parent
	p.unlink(&b.header)
	p.held[objBank]--
	for x := p; x != nil; x = x.parent {
		x.bytes -= b.bytes + objCost[objBank]
		x.used[objBank] -= b.used[objBank] + 1
		for k := objPage; k < numObjKinds; k++ {
			if k != objBank {
				x.used[k] -= b.used[k]
			}
		}
	}
	var domains []*Domain
	var lists []*header
	var walk func(x *Bank)
	walk = func(x *Bank) {
		x.dead.Store(true)
		for h := x.objs[objBank]; h != nil; h = h.next {
			walk(h.bankObj())
		}
		for h := x.objs[objDomain]; h != nil; h = h.next {
			domains = append(domains, h.domain())
		}
		for k := objPage; k < numObjKinds; k++ {
			if k != objDomain && x.objs[k] != nil {
				lists = append(lists, x.objs[k])
			}
			x.objs[k] = nil
		}
	}
	walk(b)
	// Keys to the bank itself die with it (keys to everything bought from
	// it and its sub-banks die with their banks' dead flags).
	b.alloc.Add(1)
	// The bank itself goes last: a bank slot must not be reused before
	// every object naming it as its bank has been swept, or old keys to
	// those objects would come back to life.
	b.prev, b.next = nil, nil
	lists = append(lists, &b.header)
	for _, d := range domains {
		// A domain is not swept with the lists but reaped by its home
		// cluster, perhaps only after the bank's own slot has been swept
		// and bought again (alive), which would bring keys that name the
		// domain by its bank back to life: void them by the allocation
		// count too.
		d.alloc.Add(1)
		m.killDomain(d)
	}
	// Every core flushes its TLB and, at its next event boundary, sees
	// the domains above dead; the reply waits until all have.
	e := m.epochs.bumpMap()
	m.store.mu.Lock()
	for _, l := range lists {
		m.store.dead = append(m.store.dead, deadList{head: l, epoch: e})
	}
	m.store.mu.Unlock()
	m.ledger.Unlock()
	c.waitGrace(e)
	return abi.RCOk
}

// bankOp is a decoded bank invocation.
type bankOp struct {
	order  abi.OC
	kind   abi.Kind // BuyDomain
	budget int64    // BuyMeter
	key    Key      // Sell: the object; BuyMeter: the superior meter
	limits [abi.LedgerLimitCount]uint64
	hasLim bool
}

func decodeBankInvocation(k Key, r *request) (bankOp, abi.RC) {
	op := bankOp{order: abi.OC(r.order)}
	switch op.order {
	case abi.OCBankBuyPage, abi.OCBankBuyNode, abi.OCBankGetLedger, abi.OCBankWeaken, abi.OCKeyType:
	case abi.OCBankBuyDomain:
		w, ok := r.word(0)
		if !ok {
			return op, abi.RCBadArgument
		}
		op.kind = abi.Kind(w)
	case abi.OCBankBuyMeter:
		w, ok := r.word(0)
		if !ok || int64(w) < 0 {
			return op, abi.RCBadArgument
		}
		op.budget = int64(w)
		op.key = r.keys[0]
	case abi.OCBankBuyBank, abi.OCBankSetLimits:
		op.limits = unlimitedLimits()
		n := len(r.data) / 8
		if op.order == abi.OCBankSetLimits && n < int(abi.LedgerLimitCount) {
			return op, abi.RCBadArgument
		}
		for i := 0; i < n && i < int(abi.LedgerLimitCount); i++ {
			op.limits[i], _ = r.word(i)
			op.hasLim = true
		}
	case abi.OCBankSell:
		op.key = r.keys[0]
	case abi.OCBankDestroy:
		if k.flags&flNoDestroy != 0 {
			return op, abi.RCNotPermitted
		}
	default:
		return op, abi.RCUnknownOrder
	}
	return op, abi.RCOk
}

func (m *Machine) invokeBank(c *Core, k Key, r *request, rep *reply) {
	op, rc := decodeBankInvocation(k, r)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
		return
	}
	b := k.hdr.bankObj()
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTBank)
	case abi.OCBankBuyPage:
		h, rc := m.buy(b, objPage)
		if rc == abi.RCOk {
			m.zeroPage(h)
			rep.keys[0] = keyTo(h, abi.KTPage, 0, 0)
		}
		rep.rc = int64(rc)
	case abi.OCBankBuyNode:
		h, rc := m.buy(b, objNode)
		if rc == abi.RCOk {
			// Selling a node empties it, but an operation on another core
			// that looked at the node's key before the sale may still have
			// stored a key in it: empty it again for its new owner.
			n := h.node()
			n.mu.Lock()
			n.slots = [16]Key{}
			n.mu.Unlock()
			rep.keys[0] = keyTo(h, abi.KTNode, 0, 0)
		}
		rep.rc = int64(rc)
	case abi.OCBankBuyDomain:
		cl := m.clusterFor(op.kind, c)
		if cl == nil {
			rep.rc = int64(abi.RCNoCluster)
			return
		}
		m.ledger.Lock()
		h, rc := m.buyLocked(b, objDomain)
		if rc == abi.RCOk {
			h.domain().init(m, cl, op.kind)
			rep.keys[0] = keyTo(h, abi.KTDomain, 0, 0)
		}
		m.ledger.Unlock()
		rep.rc = int64(rc)
	case abi.OCBankBuyMeter:
		sk := op.key.live()
		if sk.kt != ktMeter {
			rep.rc = int64(abi.RCBadKey)
			return
		}
		rep.keys[0], rc = m.buyMeter(b, sk.hdr.meter(), op.budget)
		rep.rc = int64(rc)
	case abi.OCBankBuyBank:
		nb, rc := m.buyBank(b, op.limits)
		if rc == abi.RCOk {
			rep.keys[0] = keyTo(&nb.header, abi.KTBank, 0, 0)
		}
		rep.rc = int64(rc)
	case abi.OCBankSell:
		rep.rc = int64(m.sell(c, b, op.key))
	case abi.OCBankSetLimits:
		m.ledger.Lock()
		rep.rc = int64(abi.RCOk)
		// A bank never uses more than its limits allow: a limit below
		// what it already uses is refused.
		if op.limits[0] < b.bytes {
			rep.rc = int64(abi.RCBadArgument)
		}
		for k := objPage; k < numObjKinds; k++ {
			if op.limits[limitIndex[k]] < b.used[k] {
				rep.rc = int64(abi.RCBadArgument)
			}
		}
		if rep.rc == int64(abi.RCOk) {
			b.limits = op.limits
		}
		m.ledger.Unlock()
	case abi.OCBankGetLedger:
		m.ledger.Lock()
		w := ledgerWords(b)
		m.ledger.Unlock()
		rep.setWords(c, w[:])
	case abi.OCBankDestroy:
		rep.rc = int64(m.destroy(c, b))
	case abi.OCBankWeaken:
		wk := k
		wk.flags |= flNoDestroy
		rep.keys[0] = wk
	}
}

// buyBank buys a sub-bank of b with the given limits.
func (m *Machine) buyBank(b *Bank, limits [abi.LedgerLimitCount]uint64) (*Bank, abi.RC) {
	m.ledger.Lock()
	defer m.ledger.Unlock()
	depth := b.depth + 1
	if depth > int(abi.LimitBankDepth) {
		return nil, abi.RCRange
	}
	h, rc := m.buyLocked(b, objBank)
	if rc != abi.RCOk {
		return nil, rc
	}
	nb := h.bankObj()
	nb.parent, nb.depth, nb.limits = b, depth, limits
	nb.held, nb.used, nb.bytes = [numObjKinds]uint64{}, [numObjKinds]uint64{}, 0
	nb.dead.Store(false)
	return nb, abi.RCOk
}

// ledgerWords renders b's ledger in the abi.Ledger layout. ledger is held.
func ledgerWords(b *Bank) [abi.LedgerWords]uint64 {
	var w [abi.LedgerWords]uint64
	w[abi.LedgerUsedBytes] = b.bytes
	w[abi.LedgerUsedPages] = b.used[objPage]
	w[abi.LedgerUsedNodes] = b.used[objNode]
	w[abi.LedgerUsedDomains] = b.used[objDomain]
	w[abi.LedgerUsedMeters] = b.used[objMeter]
	w[abi.LedgerUsedBanks] = b.used[objBank]
	copy(w[abi.LedgerLimitBytes:], b.limits[:])
	return w
}
