package kernel

import "github.com/keyfish-os/keyfish/abi"

// fastInvoke performs d's invocation, c.inv, and ends d's event when the
// invocation is the common case of a server loop: a CALL or RETURN to a
// start key of an available domain, or to a resume key of a waiting one,
// homed in this core's cluster. It reports false, having done nothing,
// for anything else, which the general path (invoke, then finishEvent)
// performs. As in seL4's fastpath, every condition is checked before
// anything is changed, and what it then does is exactly what the general
// path would do for the same invocation: the same state changes,
// statistics and trace event (TestFastInvokeMatchesGeneralPath and its
// kin run workloads both ways and compare). What it saves: the general
// path's dispatch on every key type, its second look at the target, the
// copy of the keys sent into the invocation and out again (they go from
// register to register), and finishEvent.
//
// A target homed in another cluster gets its message the same way
// (fastSend).
//
// Declined, for the general path: a self-stop pending from the event (a
// pending grace period is afterRun's, before this); a woken staller (it
// holds a wake-up to pass on); an invoker with deferred operations on it,
// or killed; FORK; keys of any other type (restart keys among them: a
// keeper's answer to a trap); a void key; a target in another state, or
// whose restart discards the message; an invocation whose keys were
// already gathered (one the kernel made: a trap's CALL).
func (c *Core) fastInvoke(d *Domain) bool {
	if c.noFast || c.selfStop || d.retry {
		return false
	}
	inv := &c.inv
	k := inv.key
	if (k.kt != ktStart && k.kt != ktResume) || k.hdr == nil || inv.typ == abi.InvFork || inv.gathered {
		return false
	}
	cl := c.cl
	if cl.shared {
		cl.mu.Lock()
	}
	t := k.hdr.domain()
	if !k.hdr.valid(k.alloc) || d.deferred != nil || d.dead() {
		if cl.shared {
			cl.mu.Unlock()
		}
		return false
	}
	if t.home.Load() != cl {
		if cl.shared {
			cl.mu.Unlock()
		}
		return c.fastSend(d, t)
	}
	db := int64(abi.EcallFromResume)
	if k.kt == ktStart {
		// d itself is executing, not available: a RETURN to its own
		// start key is declined here.
		if t.state != dsAvailable {
			cl.unlock()
			return false
		}
		db = int64(k.db)
	} else if t.state != dsWaiting || t.resumeGen.Load() != k.val || t.recv.discard {
		if cl.shared {
			cl.mu.Unlock()
		}
		return false
	}

	// From here on the invocation is performed.
	c.stats.invocations++
	c.stats.fast++
	c.trace(d, "invoke", inv.order)
	c.stats.byKey[k.kt&31]++
	d.recv = inv.recv
	// The fourth key: a CALL's is the invoker's resume key.
	var k3 Key
	if inv.typ == abi.InvCall {
		k3 = d.beginWait(d.waitKind())
	} else {
		k3 = d.keys[inv.from.reg(3)] // register 0 holds DK(0)
	}
	if k.kt == ktStart {
		d.stalledOn = nil
	} else {
		t.endWait()
	}
	switch t.kind { // direct calls
	case abi.KindNative:
		t.cpu.nat.receive(inv.order, inv.data, db)
	case abi.KindRV64:
		rvCPU.receive(c, t, inv.order, inv.data, db)
	default:
		kindOf(t.kind).receive(c, t, inv.order, inv.data, db)
	}
	if t.recv.keys == recvDefault && inv.from&0xfff == 0 {
		t.takeFourth(k3) // the usual case, inlined
	} else {
		t.takeSentKeys(d, inv.from, k3)
	}
	if inv.typ == abi.InvCall {
		d.state = dsWaiting
	} else {
		c.becomeAvailableLocked(d)
	}
	d.executing = nil // what finishEvent does for a domain that left
	c.cur = t
	t.state, t.executing = dsExecuting, c
	if cl.shared {
		cl.mu.Unlock()
	}
	return true
}

// fastSend sends d's invocation c.inv of its key k, a valid start or
// resume key of t, homed in another cluster, and ends d's event: what
// afterRun, invoke and invokeStart or invokeResume do around sendRemote,
// without invoke's dispatch and second look at the key, then finishEvent,
// as the general path. It declines, having done nothing, when d's outbox is
// still away (the general path parks d until it is free) or the resume key
// is stale (the general path invokes DK(0) instead). fastInvoke checked
// the rest, holding the cluster lock, and gave it up: as the general path
// does between its look at the target's home and sendRemote.
//
// Never inlined: in fastInvoke it would make that too big to inline into
// execute, and cost the round trip within a cluster more than the call
// costs one between clusters.
//
//go:noinline
func (c *Core) fastSend(d, t *Domain) bool {
	inv := &c.inv
	k := inv.key
	if d.outBusy.Load() || k.kt == ktResume && t.resumeGen.Load() != k.val {
		return false
	}
	if testHookSend != nil {
		testHookSend(c, d, sendBegun)
	}
	c.stats.invocations++
	c.stats.fast++
	c.trace(d, "invoke", inv.order)
	c.stats.byKey[k.kt&31]++
	d.recv = inv.recv
	kind := mReply
	if k.kt == ktStart {
		kind = mInvoke
		d.stalledOn = nil
	}
	inv.gathered = true
	d.gatherKeys(&inv.keys, inv.from)
	c.sendRemote(d, k, inv, kind)
	if testHookSend != nil {
		testHookSend(c, d, sendPosted)
	}
	// The general path's end of the event, not a copy of part of it:
	// between fastInvoke's look and sendRemote another core of a shared
	// cluster may have deferred an operation on d or killed it, and once
	// the message is posted d's reply may have come back and d be
	// running on another core already (finishEvent leaves it alone).
	c.finishEvent(d)
	if testHookSend != nil {
		testHookSend(c, d, sendEnded)
	}
	return true
}

// testHookSend is nil but in tests, which set it before a run to stop a
// core in fastSend where another core may overtake it: before anything
// is done, after d's message is posted, and after d's event is ended.
var testHookSend func(c *Core, d *Domain, at sendPoint)

// sendPoint names the places in fastSend where testHookSend is called.
type sendPoint int

const (
	sendBegun sendPoint = iota
	sendPosted
	sendEnded
)
