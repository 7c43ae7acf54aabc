package kernel

import (
	"github.com/keyfish-os/keyfish/abi"
)

// invocation is a domain's invocation of one of its keys, decoded from its
// CPU kind's calling convention (an rv64 ecall, a native action).
type invocation struct {
	typ   abi.Inv
	key   Key // the key invoked, as it was in the key register
	order int64
	data  []byte // the string: a view the CPU kind provides
	recv  recvArea
	// keys are the keys sent, once gathered (gathered set); until then
	// they are in the invoker's key registers from. The general path
	// gathers them first thing (invoke); the fast path moves them from
	// register to register (takeFourth, takeSentKeys).
	keys     [4]Key
	from     keyRegs
	gathered bool
	kr       uint8 // native: the key register invoked, kept for a retry (rewind)
}

// keyRegs names four key registers, one a nibble: key i's register is bits
// 4i to 4i+3, as in the rv64 ecall's a4 and a7. Packed in one word, the
// four are stored and loaded whole. As four bytes, written one at a time
// just before being read as one word, they stalled the CPU's store
// forwarding in every invocation (about 6 ns of an rv64 round trip).
type keyRegs uint16

// packKeyRegs packs four key register numbers (each taken mod 16).
func packKeyRegs(r [4]uint8) keyRegs {
	// One load of the four bytes, then shifts: no byte loads.
	w := uint32(r[0]) | uint32(r[1])<<8 | uint32(r[2])<<16 | uint32(r[3])<<24
	return keyRegs(w&0xf | w>>4&0xf0 | w>>8&0xf00 | w>>12&0xf000)
}

// reg returns key i's register.
func (s keyRegs) reg(i int) uint8 { return uint8(s >> (4 * uint(i)) & 15) }

// gatherKeys copies the key registers an invocation sends, regs, into dst.
// Register 0 always holds DK(0), the zero Key, and most of an invocation's
// four are register 0: those are stored as zeros rather than copied from
// the register file.
func (d *Domain) gatherKeys(dst *[4]Key, regs keyRegs) {
	*dst = [4]Key{}
	for i := range dst {
		if r := regs.reg(i); r != 0 {
			dst[i] = d.keys[r]
		}
	}
}

// recvDefault is the receive area of a program that names none: registers
// abi.KRRecv0 to abi.KRRecv0+3.
const recvDefault = keyRegs(abi.KRRecv0) | keyRegs(abi.KRRecv0+1)<<4 | keyRegs(abi.KRRecv0+2)<<8 | keyRegs(abi.KRRecv0+3)<<12

// putKeys stores keys, an invocation's four, in d's key registers as its
// receive area names them; register 0 discards.
func (d *Domain) putKeys(keys *[4]Key) {
	regs := d.recv.keys
	if regs == recvDefault {
		// The usual case, four registers in a row: one block copy, where
		// the loop copies each key field by field.
		*(*[4]Key)(d.keys[abi.KRRecv0:]) = *keys
		return
	}
	for i := range keys {
		if r := regs.reg(i); r != 0 {
			d.keys[r] = keys[i]
		}
	}
}

// The fast path moves the keys d sends from its key registers from, with
// k3 in place of the fourth, straight into t's key registers, as t's
// receive area names them: what gatherKeys and then putKeys do, without
// the copy between (t is not d). takeFourth is the usual case, which the
// fast path tests for itself so that it inlines without the keyfish
// command's profile; takeSentKeys is the rest.

// takeFourth moves no keys sent but (perhaps) the fourth, into the usual
// registers.
func (t *Domain) takeFourth(k3 Key) {
	dst := (*[4]Key)(t.keys[abi.KRRecv0:])
	*(*[3]Key)(dst[:3]) = [3]Key{}
	dst[3] = k3
}

// takeSentKeys moves keys sent in the first three registers, or keys
// that t receives elsewhere than in the usual registers.
func (t *Domain) takeSentKeys(d *Domain, from keyRegs, k3 Key) {
	if regs := t.recv.keys; regs != recvDefault {
		// Key by key, as putKeys stores them (register 0 discards), each
		// read from d's register as gatherKeys would (register 0 holds
		// DK(0)).
		for i := range 3 {
			if r := regs.reg(i); r != 0 {
				if f := from.reg(i); f != 0 {
					t.keys[r] = d.keys[f]
				} else {
					t.keys[r] = Key{}
				}
			}
		}
		if r := regs.reg(3); r != 0 {
			t.keys[r] = k3
		}
		return
	}
	dst := (*[4]Key)(t.keys[abi.KRRecv0:])
	// Register 0 always holds DK(0): it needs no test.
	dst[0] = d.keys[from.reg(0)]
	dst[1] = d.keys[from.reg(1)]
	dst[2] = d.keys[from.reg(2)]
	dst[3] = k3
}

// pendingReply is a kernel object's reply held back for a grace period or
// a clock wait. Such replies carry no string.
type pendingReply struct {
	rc   int64
	keys [4]Key
	none bool // nothing to deliver: a native program's final invocation waits
}

// invoke performs inv for d, which is executing on c. On return d has a
// new state: still executing (c.cur is set to continue it), or waiting,
// available, stalled or sending. c may have a new domain to run in c.cur.
func (c *Core) invoke(d *Domain, inv *invocation) {
	if !inv.gathered {
		inv.gathered = true
		d.gatherKeys(&inv.keys, inv.from)
	}
	k := inv.key.live()
	if d.retry && (k.kt != ktStart || d.stalledOn == nil || k.hdr != &d.stalledOn.header) {
		// Woken from a stall, d does something else: the wake-up goes on.
		c.cl.lock()
		c.passWakeup(d)
		c.cl.unlock()
	}
	c.stats.byKey[k.kt&31]++
	if inv.typ != abi.InvFork {
		d.recv = inv.recv
	}
	switch k.kt {
	case ktStart:
		c.invokeStart(d, k, inv)
	case ktResume, ktRestart:
		c.invokeResume(d, k, inv)
	case ktReturner:
		c.invokeReturner(d, inv)
	default:
		c.invokeKernel(d, k, inv)
	}
}

// invokeKernel handles keys that answer inside the invoker's event: kernel
// objects, devices and data keys.
func (c *Core) invokeKernel(d *Domain, k Key, inv *invocation) {
	m := c.m
	req := &c.req
	req.order, req.data, req.keys = inv.order, inv.data, inv.keys
	rep := &c.rep
	*rep = reply{}
	c.graceEpoch = 0
	m.perform(c, d, k, req, rep)
	if rep.rc == int64(abi.RCWouldWait) && k.kt == ktDomain {
		// The target is homed elsewhere or running on another core.
		c.sendKernelOp(d, k, inv)
		return
	}
	c.stats.kernelCalls++
	if c.selfStop {
		// The invocation stopped the invoker itself.
		c.cl.lock()
		c.endSelfStop(d)
		c.cl.unlock()
		return
	}
	if d.state != dsExecuting {
		return // the operation took the invoker out of its event
	}
	switch inv.typ {
	case abi.InvCall:
		switch {
		case c.graceEpoch != 0:
			d.pend = pendingReply{rc: rep.rc, keys: rep.keys}
			c.cl.addGrace(d, c.graceEpoch)
		case rep.timer != 0:
			d.pend = pendingReply{rc: rep.rc}
			c.cl.addTimer(d, rep.timer)
		default:
			c.deliver(d, rep.rc, rep.data, &rep.keys, int64(abi.EcallFromResume))
			c.cur = d
		}
	case abi.InvReturn:
		c.becomeAvailable(d)
	case abi.InvFork:
		kindOf(d.kind).setResult(d, int64(abi.RCOk))
		c.cur = d
	}
}

// perform runs one kernel object invocation. d is the invoker (nil for the
// host), homed in c's cluster.
func (m *Machine) perform(c *Core, d *Domain, k Key, req *request, rep *reply) {
	switch k.kt {
	case 0:
		rep.rc = int64(k.val)
	case ktPage:
		m.invokePage(c, k, req, rep)
	case ktNode, ktFetch, ktSense:
		m.invokeNode(c, k, req, rep)
	case ktSegment:
		m.invokeSegment(k, req, rep)
	case ktDomain:
		t := k.hdr.domain()
		op, rc := decodeDomainInvocation(req)
		if rc != abi.RCOk {
			rep.rc = int64(rc)
			return
		}
		if c != m.host && t.home.Load() != c.cl {
			rep.rc = int64(abi.RCWouldWait)
			return
		}
		c.cl.lock()
		if c != m.host && c.cl.shared && t.home.Load() != c.cl {
			// Moved away by another core of this cluster since the look
			// above: its new home performs the operation.
			rep.rc = int64(abi.RCWouldWait)
		} else if t.state == dsExecuting && t != d {
			rep.rc = int64(abi.RCWouldWait)
		} else {
			m.performDomain(c, t, k, op, req, rep)
		}
		c.cl.unlock()
	case ktBank:
		m.invokeBank(c, k, req, rep)
	case ktMeter:
		m.invokeMeter(c, k, req, rep)
	case ktConsole:
		m.invokeConsole(req, rep)
	case ktClock:
		m.invokeClock(c, req, rep)
	case ktDiscrim:
		m.invokeDiscrim(c, req, rep)
	case ktKeybits:
		m.invokeKeybits(c, req, rep)
	default:
		rep.rc = int64(abi.RCUnknownOrder)
	}
}

// invokeReturner sends the message to the fourth key, as the invoker's
// invocation of that key. A CALL on the returner answers the invoker
// itself, since the fourth key of a CALL is the invoker's resume key.
func (c *Core) invokeReturner(d *Domain, inv *invocation) {
	if inv.typ == abi.InvCall {
		keys := &c.msgKeys
		*keys = inv.keys
		keys[3] = Key{}
		c.deliver(d, inv.order, inv.data, keys, int64(abi.EcallFromResume))
		c.cur = d
		return
	}
	next := *inv
	next.key = inv.keys[3]
	next.keys[3] = Key{}
	k := next.key.live()
	switch k.kt {
	case ktStart:
		c.invokeStart(d, k, &next)
	case ktResume, ktRestart:
		c.invokeResume(d, k, &next)
	default:
		// The returner passes messages to gates only; anything else is
		// dropped, as a reply to a non-resume key is.
		c.invokeKernel(d, Key{}, &next)
	}
}

// invokeStart sends to a start key: delivered if the target is available,
// otherwise the invoker stalls in the target's FIFO stall queue. Its home
// is looked at under the cluster's lock: in a cluster of several cores
// another core may move it away (setHome) until then. A RETURN to the
// invoker's own start key delivers to the invoker (rather than stalling
// it on itself for ever). The lines of its hot calls are where the PGO
// profile expects them (README, "Libraries and tools").
func (c *Core) invokeStart(d *Domain, k Key, inv *invocation) {
	t := k.hdr.domain()
	cl := c.cl
	cl.lock()
	if t.home.Load() != cl {
		cl.unlock()
		d.retry, d.stalledOn = false, nil
		c.sendRemote(d, k, inv, mInvoke)
		return
	}
	if t == d && inv.typ == abi.InvReturn {
		// The invoker returns to its own start key: it becomes available
		// and receives its own message.
		d.retry, d.stalledOn = false, nil
		keys := &c.msgKeys
		*keys = inv.keys
		c.deliver(d, inv.order, inv.data, keys, int64(k.db))
		c.cur = d
		cl.unlock()
		return
	}
	if t.state != dsAvailable {
		if t.reaped {
			// Reaped by another core of the cluster since k was looked
			// at: k is void, and nothing would ever wake a staller. (A
			// wake-up d held from t goes with t.)
			d.retry, d.stalledOn = false, nil
			cl.unlock()
			c.invokeKernel(d, Key{}, inv)
			return
		}
		c.rewindFor(d)
		cl.stall(d, t)
		cl.unlock()
		return
	}
	d.retry, d.stalledOn = false, nil
	// The message's keys are delivered from inv itself, which is not
	// used again: a CALL's fourth key becomes the invoker's resume key.
	keys := &inv.keys
	if inv.typ == abi.InvCall {
		keys[3] = d.beginWait(d.waitKind())
	}
	c.deliver(t, inv.order, inv.data, keys, int64(k.db))
	c.switchTo(d, t, inv.typ)
	cl.unlock()
}

// invokeResume sends to a resume or restart key: delivered if the waiting
// domain still waits under the key's generation (exactly once), else
// nothing is delivered. Its home is looked at under the lock, as in
// invokeStart. The lines of its hot calls are where the PGO profile
// expects them (README, "Libraries and tools").
func (c *Core) invokeResume(d *Domain, k Key, inv *invocation) {
	w := k.hdr.domain()
	cl := c.cl
	cl.lock()
	if w.home.Load() != cl {
		cl.unlock()
		c.sendRemote(d, k, inv, mReply)
		return
	}
	if w.state != dsWaiting || w.resumeGen.Load() != k.val {
		cl.unlock()
		c.invokeKernel(d, Key{}, inv) // stale: nothing delivered; a CALL on it behaves as DK(0)
		return
	}
	keys := &inv.keys // as in invokeStart
	if inv.typ == abi.InvCall {
		keys[3] = d.beginWait(d.waitKind())
	}
	if !c.resumeWaiter(w, k, inv.order, inv.data, keys) {
		// A keeper declined to restart a trapped domain: it went on to
		// its domain keeper or stopped; the invoker carries on.
		c.finishSender(d, inv.typ)
		cl.unlock()
		return
	}
	c.switchTo(d, w, inv.typ)
	cl.unlock()
}

// resumeWaiter ends w's wait and delivers the message, unless w is a
// trapped domain whose keeper answered with a nonzero order, which passes
// the trap on. It reports whether w now runs. The cluster lock is held.
func (c *Core) resumeWaiter(w *Domain, k Key, order int64, data []byte, keys *[4]Key) bool {
	w.endWait()
	if w.recv.discard {
		w.recv.discard = false
		if order != 0 {
			c.declineTrap(w, order)
			return false
		}
		w.trap = trapInfo{}
		return true
	}
	c.deliver(w, order, data, keys, int64(abi.EcallFromResume))
	return true
}

// switchTo completes a delivered invocation of type typ from d to t on c:
// CALL and RETURN switch directly to t on this core; FORK keeps d running
// and makes t ready. The cluster lock is held.
func (c *Core) switchTo(d, t *Domain, typ abi.Inv) {
	switch typ {
	case abi.InvCall:
		d.state = dsWaiting
		c.cur = t
		t.state, t.executing = dsExecuting, c
	case abi.InvReturn:
		c.becomeAvailableLocked(d)
		c.cur = t
		t.state, t.executing = dsExecuting, c
	case abi.InvFork:
		// t waits its turn in the ready queue: it is not executing.
		kindOf(d.kind).setResult(d, int64(abi.RCOk))
		c.makeReadyLocked(t)
		c.cur = d
	}
}

// finishSender sets d's state after its invocation went nowhere (its
// message was dropped). The cluster lock is held.
func (c *Core) finishSender(d *Domain, typ abi.Inv) {
	switch typ {
	case abi.InvCall:
		c.deliver(d, 0, nil, &c.noKeys, int64(abi.EcallFromResume))
		c.cur = d
	case abi.InvReturn:
		c.becomeAvailableLocked(d)
	case abi.InvFork:
		kindOf(d.kind).setResult(d, int64(abi.RCOk))
		c.cur = d
	}
}
