package kernel

import (
	"sync/atomic"

	"github.com/keyfish-os/keyfish/abi"
)

// runState is where a domain is in its life. Outside the kernel only the
// four abi.State values are visible (see external).
type runState uint8

const (
	dsStopped   runState = iota // stopped; trap says why
	dsAvailable                 // waiting for a message on a start key
	dsWaiting                   // waiting for a reply on a resume key
	dsReady                     // in its home cluster's ready queue
	dsExecuting                 // running on a core of its home cluster
	dsStalled                   // its invocation waits in a target's stall queue
	dsSending                   // its outbox is in flight to another cluster
	dsGrace                     // its kernel reply waits for a grace period
	dsOutWait                   // it waits for its outbox to be free to send again
)

var runStateNames = [...]string{"stopped", "available", "waiting", "ready", "executing", "stalled", "sending", "grace", "outwait"}

func (s runState) String() string { return runStateNames[s] }

// external is the state d shows: a CALL whose outbox still waits in
// another cluster (in a stall queue, say) is not delivered yet, so the
// caller still counts as running, as a local staller does.
func (d *Domain) external() abi.State {
	if d.state == dsWaiting && d.remoteCall != 0 && d.remoteCall == d.resumeGen.Load() && d.outBusy.Load() {
		return abi.StateRunning
	}
	return d.state.external()
}

// external maps a run state to the abi.State the domain shows.
func (s runState) external() abi.State {
	switch s {
	case dsStopped:
		return abi.StateStopped
	case dsAvailable:
		return abi.StateAvailable
	case dsWaiting:
		return abi.StateWaiting
	}
	return abi.StateRunning
}

// trapInfo records a trap: why a domain stopped, or the trap its keeper is
// handling.
type trapInfo struct {
	stage  uint8 // 0: first keeper (segment or meter); 1: domain keeper
	code   abi.Trap
	pc     uint64
	addr   uint64
	access abi.Access
	detail uint64
	offset uint64
}

// recvArea says where the next message to a domain lands.
type recvArea struct {
	buf     uint64  // rv64: guest address of the buffer
	len     uint64  // buffer length
	keys    keyRegs // key registers for the four keys; 0 discards
	discard bool    // trapped: a restart delivers nothing and retries
}

// Domain is a running program: root slots, key registers, a register file
// of its CPU kind, and its state.
//
// Ownership: unless a field says otherwise it is touched only by cores of
// the domain's home cluster, under that cluster's lock (Cluster.lock),
// and while the domain is executing, only by the core executing it.
type Domain struct {
	header
	m    *Machine
	kind abi.Kind // set when bought

	// home is the cluster the domain belongs to. Written by its home
	// cluster (SetHome); read by any core to route messages.
	home atomic.Pointer[Cluster]

	// What other cores read to reach the domain (header, home) is kept
	// off the line of what its home writes at every event (state, ...).
	_ cacheLinePad

	state       runState
	trap        trapInfo
	pendingTrap bool // raise trap (to trapKeeper, or the domain keeper) when next run
	// trapKeeper and trapKey0 are the keeper a pending trap goes to and the
	// key 0 it gets (a red segment's keeper and node key, a meter's keeper
	// and key); DK(0) for the domain keeper.
	trapKeeper, trapKey0 Key
	executing            *Core // the core running it, while dsExecuting

	// resumeGen names the current wait: resume and restart keys carry the
	// value it had when the domain began waiting, and using one bumps it,
	// voiding every copy. Written only by the home cluster (under its
	// lock); read by any core.
	resumeGen relaxedU64

	slots [abi.SlotCount]Key
	keys  [16]Key
	recv  recvArea
	cpu   cpuState // the CPU kind's register file
	prog  Program  // native: the program in the address slot, looked up once

	// Queue links. qprev/qnext link the domain into its home cluster's
	// ready queue or a core's grace list (home). snext links it into the
	// stall queue of the domain it is stalled on (that domain's home);
	// inext (beside the outbox) links the outbox into a cluster's inbox.
	qprev, qnext *Domain
	snext        *Domain
	stalledOn    *Domain // the target of a local stall, or of the stall it was woken from (home)
	retry        bool    // woken from a stall to re-execute its invocation: holds the wake-up, re-stalls at the head

	// stall queue: domains whose start-key invocation waits for this
	// domain to become available, FIFO (home).
	stallHead, stallTail *Domain
	nstalled             int

	// out is the outbox: an invocation or reply in flight to another
	// cluster. Written by the home cluster before posting; read by the
	// consuming cluster. It sits on cache lines of its own, apart from
	// the fields the home cluster keeps touching.
	_     cacheLinePad
	out   outbox
	inext *Domain // links the outbox into an inbox (the inbox's owner)
	_     cacheLinePad
	// outBusy says the outbox is away. Set by the home cluster when it
	// posts; cleared when the consuming cluster is done with it, most
	// often by the home cluster itself, told in a message coming back
	// (Core.releaseLater): so it is off the outbox's lines.
	outBusy    atomic.Bool
	remoteCall uint64 // the resume generation of a CALL sent to another cluster (home)

	// deferred is the first domain whose kernel operation on this one waits
	// for it to stop executing (linked through their qnext) (home).
	deferred *Domain

	// pend is a kernel reply held back until a grace period has passed or
	// the clock reaches timerAt (home).
	pend       pendingReply
	graceEpoch uint64

	timerAt  int64 // clock wait deadline, while in the timer queue (home)
	timerIdx int   // index in the home cluster's timer heap, or -1 (home)
	timerGen uint64

	ticks uint64 // CPU ticks consumed (home)
	// nativeTicks is the run time of the domain's native events, added
	// by the core of its cluster that timed them (spendBatch).
	nativeTicks atomic.Uint64
	events      uint64 // kernel events handled for it (home)
	asid        uint64 // address space tag for TLB entries (home)

	// killed is set when the domain is sold or its bank destroyed; the
	// home cluster then reaps it (reap.go). reapNext links it into the
	// home cluster's reap list.
	killed      atomic.Bool
	reapNext    *Domain
	reaped      bool // home
	reapPending bool // popped from the reap list while it could not be reaped (home)

	// outTo is the cluster the outbox was last posted to. parkedOn is the
	// domain in whose stall queue the outbox waits, written under that
	// domain's home cluster's lock (atomic: a withdraw request may reach
	// another cluster, if the message was forwarded on the way). A domain
	// killed, or stopped while its CALL is undelivered, asks outTo to
	// withdraw a busy outbox. withdrawNext links it into that cluster's
	// withdraw list (written by the pusher, then by the draining cluster);
	// withdrawing says it is on one, and keeps it from being reaped until
	// it is off (reapLocked): a freed and reused slot still on a list
	// would cut the list short.
	outTo        atomic.Pointer[Cluster]
	parkedOn     atomic.Pointer[Domain]
	withdrawNext *Domain
	withdrawing  atomic.Bool
}

// cpuState is the register file of either CPU kind.
type cpuState struct {
	rv  rvRegs     // rv64
	nat nativeRegs // native
}

// nativeRegs is a native domain's register file and received message.
type nativeRegs struct {
	r      [abi.RegsNative]uint64
	order  int64
	db     int64
	n      int // length sent
	buf    *[abi.LimitString]byte
	action nativeAction // a final invocation waiting to be retried
}

// init readies a freshly bought domain slot: stopped, homed in cl.
func (d *Domain) init(m *Machine, cl *Cluster, kind abi.Kind) {
	d.m = m
	d.kind = kind
	d.home.Store(cl)
	d.state = dsStopped
	d.trap = trapInfo{}
	d.pendingTrap = false
	d.trapKeeper, d.trapKey0 = Key{}, Key{}
	d.executing = nil
	d.resumeGen.Add(1)
	d.slots = [abi.SlotCount]Key{}
	d.keys = [16]Key{}
	d.recv = recvArea{}
	d.prog = nil
	d.cpu.rv = rvRegs{}
	buf := d.cpu.nat.buf
	d.cpu.nat = nativeRegs{buf: buf}
	d.qprev, d.qnext, d.snext, d.inext, d.stalledOn = nil, nil, nil, nil, nil
	d.retry = false
	d.stallHead, d.stallTail, d.nstalled = nil, nil, 0
	d.out = outbox{}
	d.outBusy.Store(false)
	d.deferred = nil
	d.timerIdx = -1
	d.ticks, d.events = 0, 0
	d.nativeTicks.Store(0)
	d.asid = m.asids.Add(1)
	d.killed.Store(false)
	d.reapNext = nil
	d.outTo.Store(nil)
	d.parkedOn.Store(nil)
	d.withdrawNext = nil
	d.withdrawing.Store(false)
	d.reaped = false
	d.reapPending = false
}

// key returns key register i, voided keys read as DK(0).
func (d *Domain) key(i uint8) Key { return d.keys[i&15].live() }

// setKey sets key register i; register 0 stays DK(0).
func (d *Domain) setKey(i uint8, k Key) {
	if i&15 != 0 {
		d.keys[i&15] = k
	}
}

// startKey returns a start key to d with data byte db.
func (d *Domain) startKey(db uint8) Key { return keyTo(&d.header, abi.KTStart, 0, db) }

// beginWait makes the current generation's resume keys valid and returns a
// resume key of type kt (resume or restart) to d.
func (d *Domain) beginWait(t abi.KT) Key {
	g := d.resumeGen.Add(1)
	return Key{hdr: &d.header, alloc: d.alloc.Load(), keyBits: keyBits{kt: kt(t)}, val: g}
}

// waitKind is the kind of key a CALL by d hands out: a restart key when
// the kernel calls a keeper on a trapped d's behalf.
func (d *Domain) waitKind() abi.KT {
	if d.recv.discard {
		return abi.KTRestart
	}
	return abi.KTResume
}

// endWait voids every resume and restart key to d.
func (d *Domain) endWait() { d.resumeGen.Add(1) }

// domainOp is a decoded domain key invocation.
type domainOp struct {
	order abi.OC
	index int
	key   Key
	db    uint8
}

func decodeDomainInvocation(r *request) (domainOp, abi.RC) {
	op := domainOp{order: abi.OC(r.order)}
	index := func(limit int) abi.RC {
		w, ok := r.word(0)
		if !ok {
			return abi.RCBadArgument
		}
		if w >= uint64(limit) {
			return abi.RCRange
		}
		op.index = int(w)
		return abi.RCOk
	}
	switch op.order {
	case abi.OCKeyType, abi.OCDomainGetRegs, abi.OCDomainMakeRestart, abi.OCDomainRun,
		abi.OCDomainMakeAvailable, abi.OCDomainStop, abi.OCDomainGetState:
		return op, abi.RCOk
	case abi.OCDomainGetSlot:
		return op, index(int(abi.SlotCount))
	case abi.OCDomainSetSlot:
		op.key = r.keys[0].live()
		return op, index(int(abi.SlotCount))
	case abi.OCDomainGetKeyReg:
		return op, index(16)
	case abi.OCDomainSetKeyReg:
		op.key = r.keys[0].live()
		return op, index(16)
	case abi.OCDomainSetRegs:
		if len(r.data) < 8 {
			return op, abi.RCBadArgument
		}
		return op, abi.RCOk
	case abi.OCDomainMakeStart:
		w, ok := r.word(0)
		if !ok {
			return op, abi.RCBadArgument
		}
		if w > 255 {
			return op, abi.RCRange
		}
		op.db = uint8(w)
		return op, abi.RCOk
	case abi.OCDomainSetHome:
		w, ok := r.word(0)
		if !ok {
			return op, abi.RCBadArgument
		}
		if w > 1<<20 {
			return op, abi.RCRange
		}
		op.index = int(w)
		return op, abi.RCOk
	}
	return op, abi.RCUnknownOrder
}

// performDomain carries out a domain key invocation on d, which is homed
// in c's cluster and not executing; c holds the cluster lock, so nothing
// here may take it again.
func (m *Machine) performDomain(c *Core, d *Domain, k Key, op domainOp, r *request, rep *reply) {
	if d.reaped || !d.valid(k.alloc) {
		// Sold, or its bank destroyed, since k was looked at, and perhaps
		// reaped meanwhile by another core of the cluster: k is void now,
		// and acting on the slot could hand out a key to whatever is
		// bought there next.
		*rep = reply{}
		return
	}
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTDomain)
	case abi.OCDomainGetSlot:
		rep.keys[0] = d.slots[op.index].live()
	case abi.OCDomainSetSlot:
		d.slots[op.index] = op.key
		if abi.Slot(op.index) == abi.SlotSpace {
			d.prog = nil
			// New address space: entries cached under the old tag can
			// never match again.
			d.asid = m.asids.Add(1)
		}
	case abi.OCDomainGetKeyReg:
		rep.keys[0] = d.key(uint8(op.index))
	case abi.OCDomainSetKeyReg:
		d.setKey(uint8(op.index), op.key)
	case abi.OCDomainGetRegs:
		n := kindOf(d.kind).getRegs(d, c.words[:])
		rep.setWords(c, c.words[:n])
	case abi.OCDomainSetRegs:
		rep.rc = int64(kindOf(d.kind).setRegs(d, r.data))
		// A woken staller with new registers will not retry.
		c.passWakeup(d)
	case abi.OCDomainMakeStart:
		rep.keys[0] = d.startKey(op.db)
	case abi.OCDomainMakeRestart:
		if d.state != dsWaiting {
			rep.rc = int64(abi.RCBadState)
			return
		}
		rep.keys[0] = Key{hdr: &d.header, alloc: d.alloc.Load(), keyBits: keyBits{kt: ktRestart}, val: d.resumeGen.Load()}
	case abi.OCDomainRun:
		if d.state != dsStopped && d.state != dsAvailable {
			rep.rc = int64(abi.RCBadState)
			return
		}
		d.trap = trapInfo{}
		c.makeReadyLocked(d)
	case abi.OCDomainMakeAvailable:
		if d.state != dsStopped {
			rep.rc = int64(abi.RCBadState)
			return
		}
		d.trap = trapInfo{}
		kindOf(d.kind).recvFromRegs(d)
		c.becomeAvailableLocked(d)
	case abi.OCDomainStop:
		rep.rc = int64(c.stopDomain(d, trapInfo{code: abi.TrapStopped}))
	case abi.OCDomainGetState:
		w := [abi.DomainStateWords]uint64{
			uint64(d.external()), uint64(d.trap.code), d.trap.pc, d.trap.addr,
			uint64(d.kind), uint64(d.home.Load().index), d.ticks + d.nativeTicks.Load(),
		}
		rep.setWords(c, w[:])
	case abi.OCDomainSetHome:
		rep.rc = int64(m.setHome(d, op.index))
	}
}

// setHome moves an idle domain to another cluster that runs its CPU kind.
func (m *Machine) setHome(d *Domain, idx int) abi.RC {
	if idx >= len(m.clusters) {
		return abi.RCRange
	}
	to := m.clusters[idx]
	if !to.kinds.Has(d.kind) {
		return abi.RCBadArgument
	}
	switch d.state {
	case dsStopped, dsAvailable, dsWaiting:
	default:
		return abi.RCBadState
	}
	if d.stallHead != nil || d.timerIdx >= 0 || d.outBusy.Load() || d.deferred != nil {
		return abi.RCBadState
	}
	d.home.Store(to)
	return abi.RCOk
}
