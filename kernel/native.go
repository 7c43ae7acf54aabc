package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
)

// Program is native code. A native domain's address slot holds DK(id) of a
// registered Program; the program is called once per message, runs to
// completion and keeps no goroutine: whatever it must remember between
// messages it keeps in its registers (Ctx.Regs) or in pages and nodes it
// holds keys to. Its last act is one invocation (Return, CallGate, Fork);
// without one it becomes available for the next message.
type Program func(x *Ctx)

// Msg is a message a native program sends.
type Msg struct {
	Order int64
	Data  []byte
	// Keys are the key registers of the keys to send; 0 sends DK(0).
	Keys [4]uint8
	// Recv are the key registers where the keys of the answer land (0
	// discards that key). For a final invocation (Return, CallGate, Fork)
	// all zero means abi.KRRecv0 to abi.KRRecv0+3, so that the next
	// message's resume key lands in register 15; for Call all zero
	// discards them.
	Recv [4]uint8
}

// nativeAction is a native program's final invocation, kept while it
// waits to be done again (rewind). A program's final invocation goes
// straight into its core's invocation (Ctx.final), and is copied here
// only when it must be retried.
type nativeAction struct {
	set   bool
	typ   abi.Inv
	kr    uint8
	order int64
	data  []byte
	keys  keyRegs
	recv  keyRegs
}

// Ctx is a native program's view of its domain while it serves a message.
// It is valid only during the call.
type Ctx struct {
	c *Core   // the core that owns this Ctx (Core.nctx), set once
	d *Domain // the domain served, or nil between events
}

// Order is the received order code (or return code, for a reply).
func (x *Ctx) Order() int64 { return x.d.cpu.nat.order }

// DataByte is the start key's data byte, or -1 for a message that came
// through a resume key.
func (x *Ctx) DataByte() int64 { return x.d.cpu.nat.db }

// Data is the received string. It is valid until the program returns.
func (x *Ctx) Data() []byte {
	n := &x.d.cpu.nat
	if n.buf == nil || n.n == 0 {
		return nil
	}
	return n.buf[:min(n.n, len(n.buf))]
}

// Word returns the i'th little-endian word of the received string, or 0.
func (x *Ctx) Word(i int) uint64 {
	d := x.Data()
	if len(d) < 8*(i+1) {
		return 0
	}
	return binary.LittleEndian.Uint64(d[8*i:])
}

// Regs is the domain's register file, which persists between messages.
func (x *Ctx) Regs() *[abi.RegsNative]uint64 { return &x.d.cpu.nat.r }

// Move copies key register from to key register to.
func (x *Ctx) Move(to, from uint8) { x.d.setKey(to, x.d.key(from)) }

// KeyType reports the type of the key in register kr (void keys are data).
func (x *Ctx) KeyType(kr uint8) abi.KT { return x.d.key(kr).Type() }

// SameKey reports whether key registers a and b hold the same key: what a
// discrim key's compare answers, without the invocation (void keys compare
// as DK(0)).
func (x *Ctx) SameKey(a, b uint8) bool { return x.d.key(a) == x.d.key(b) }

// Call invokes a key that answers at once (a string longer than
// abi.LimitString gets abi.RCBadInvocation) (a kernel object, device or data
// key) and returns its return code and string; the string is valid until
// the next Call. Keys of the reply land in m.Recv. A start, resume or
// restart key, a domain key to a domain homed in another cluster or running
// on another core, and a clock wait that has not come due cannot be
// answered inside this event: Call returns abi.RCWouldWait and does
// nothing; make it the program's final invocation instead (CallGate).
func (x *Ctx) Call(kr uint8, m *Msg) (rc int64, data []byte) {
	c, d := x.c, x.d
	if len(m.Data) > int(abi.LimitString) {
		return int64(abi.RCBadInvocation), nil
	}
	k := d.key(kr)
	switch k.kt {
	case ktStart, ktResume, ktRestart, ktReturner:
		return int64(abi.RCWouldWait), nil
	}
	req := &c.req
	// The string is copied: kept in c.req, m.Data would escape, and a
	// program's buffer on its stack would be allocated at every call.
	req.order, req.data = m.Order, c.callData[:copy(c.callData[:], m.Data)]
	for i, r := range m.Keys {
		req.keys[i] = d.key(r)
	}
	rep := &c.rep
	*rep = reply{}
	saved := c.graceEpoch
	c.graceEpoch = 0
	c.inKernel = true
	c.m.perform(c, d, k, req, rep)
	c.inKernel = false
	g := c.graceEpoch
	c.graceEpoch = max(saved, g)
	if rep.timer != 0 || rep.rc == int64(abi.RCWouldWait) {
		return int64(abi.RCWouldWait), nil
	}
	for i, r := range m.Recv {
		if r != 0 {
			d.setKey(r, rep.keys[i])
		}
	}
	c.stats.kernelCalls++
	return rep.rc, rep.data
}

// recvRegs is where a final invocation's answer puts its keys: r, or
// abi.KRRecv0 to abi.KRRecv0+3 when r is all zero.
func recvRegs(r [4]uint8) keyRegs {
	if r == [4]uint8{} {
		return recvDefault
	}
	return packKeyRegs(r)
}

func (x *Ctx) final(typ abi.Inv, kr uint8, m *Msg) {
	inv := &x.c.inv // written in place
	inv.typ, inv.kr, inv.order, inv.data, inv.from, inv.recv.keys = typ, kr, m.Order, m.Data, packKeyRegs(m.Keys), recvRegs(m.Recv)
}

// noFinal is in the core's invocation while a native program runs, until
// it makes its final invocation.
const noFinal abi.Inv = -1

// Return makes the program's final invocation a RETURN to key register kr:
// the message goes there and the domain becomes available.
func (x *Ctx) Return(kr uint8, m *Msg) { x.final(abi.InvReturn, kr, m) }

// CallGate makes the final invocation a CALL of key register kr; the reply
// is the next message the program serves.
func (x *Ctx) CallGate(kr uint8, m *Msg) { x.final(abi.InvCall, kr, m) }

// Fork makes the final invocation a FORK to key register kr; the program
// is then called again with an empty message whose order is the outcome.
func (x *Ctx) Fork(kr uint8, m *Msg) { x.final(abi.InvFork, kr, m) }

// nativeKind runs native domains.
type nativeKind struct{}

// programFor returns the program in d's address slot.
func (m *Machine) programFor(d *Domain) Program {
	k := d.slots[abi.SlotSpace].live()
	if k.kt != 0 || k.val == 0 || k.val > uint64(len(m.programs)) {
		return nil
	}
	return m.programs[k.val-1].fn
}

// nativeSliceTicks is what a native event takes from the core's slice.
const nativeSliceTicks = 100

func (k *nativeKind) run(c *Core, d *Domain) event {
	if c.slice <= 0 {
		return evSlice
	}
	c.slice -= nativeSliceTicks
	if !c.leaseCovers(d, true) {
		if ev := c.meterFor(d); ev != 0 {
			return ev
		}
	}
	inv := &c.inv
	if a := &d.cpu.nat.action; !a.set {
		p := d.prog
		if p == nil {
			p = c.m.programFor(d)
			d.prog = p
		}
		if p == nil {
			c.trap = keeperTrap{info: trapInfo{code: abi.TrapFault, access: abi.AccessExec, detail: uint64(abi.FaultNotMapped)}}
			return evTrap
		}
		x := &c.nctx
		x.d = d
		inv.typ = noFinal
		// A panic here unwinds to the core's loop (Core.guarded), which
		// finishes this event with programPanicked: a deferred recover
		// in every event would cost more than the rest of this call.
		p(x)
		x.d = nil
		if !c.countNative(d) {
			c.chargeNative(d)
		}
		if c.selfStop {
			// It stopped itself: its final invocation is abandoned.
			return evStopped
		}
		if inv.typ == noFinal {
			// None: a RETURN to DK(0), to be available for the next message.
			inv.typ, inv.kr, inv.order, inv.data, inv.from, inv.recv.keys = abi.InvReturn, 0, 0, nil, 0, recvDefault
		}
	} else {
		// Its final invocation again, as it was (rewind).
		c.chargeNative(d)
		a.set = false
		inv.typ, inv.kr, inv.order, inv.data, inv.from, inv.recv.keys = a.typ, a.kr, a.order, a.data, a.keys, a.recv
	}
	if len(inv.data) > int(abi.LimitString) {
		// As an rv64 ecall would be: refused, and the domain goes on.
		k.setResult(d, int64(abi.RCBadInvocation))
		return evSlice
	}
	inv.key = d.keys[inv.kr&15]
	inv.gathered = false
	inv.recv.len = uint64(abi.LimitString)
	inv.recv.buf, inv.recv.discard = 0, false
	return evInvoke
}

// programPanicked finishes the event of the native program that panicked
// with msg on c: the domain traps to its keeper, as it would for a fault.
func (c *Core) programPanicked(msg any) {
	x := &c.nctx
	d := x.d
	x.d = nil
	c.chargeNative(d)
	d.cpu.nat.action = nativeAction{}
	if c.selfStop {
		// It had stopped itself: the stop stands, and the panic is only
		// logged.
		c.m.logf("native domain %d panicked after stopping itself: %v", d.id.index(), msg)
		c.afterRun(d, evStopped)
		return
	}
	c.trap = keeperTrap{info: trapInfo{code: abi.TrapNativePanic}}
	c.m.logf("native domain %d panicked: %v", d.id.index(), msg)
	c.afterRun(d, evTrap)
}

func (*nativeKind) receive(c *Core, d *Domain, order int64, data []byte, db int64) {
	d.cpu.nat.receive(order, data, db)
}

// receive stores a message's order (or return code), string and data
// byte, for the program's next call.
func (n *nativeRegs) receive(order int64, data []byte, db int64) {
	n.order, n.db, n.n = order, db, len(data)
	if len(data) > 0 {
		if n.buf == nil {
			n.buf = new([abi.LimitString]byte)
		}
		copy(n.buf[:], data)
	}
}

func (*nativeKind) setResult(d *Domain, rc int64) {
	n := &d.cpu.nat
	n.order, n.db, n.n = rc, int64(abi.EcallFromResume), 0
}

func (*nativeKind) rewind(c *Core, d *Domain) {
	inv := &c.inv // d's invocation, from run
	d.cpu.nat.action = nativeAction{set: true, typ: inv.typ, kr: inv.kr, order: inv.order, data: inv.data, keys: inv.from, recv: inv.recv.keys}
}

func (*nativeKind) getRegs(d *Domain, w []uint64) int {
	return copy(w, d.cpu.nat.r[:])
}

func (*nativeKind) setRegs(d *Domain, data []byte) abi.RC {
	if len(data) != 8*int(abi.RegsNative) {
		return abi.RCBadArgument
	}
	for i := range d.cpu.nat.r {
		d.cpu.nat.r[i] = binary.LittleEndian.Uint64(data[8*i:])
	}
	return abi.RCOk
}

func (*nativeKind) recvFromRegs(d *Domain) {
	d.recv = recvArea{len: uint64(abi.LimitString), keys: recvRegs([4]uint8{})}
}

func (*nativeKind) flush(*Core) {}

// registeredProgram is a native program and its name.
type registeredProgram struct {
	name string
	fn   Program
}

// RegisterProgram makes p available to native domains and returns its id:
// a native domain runs p when its address slot holds DK(id). Register
// programs before Run.
func (m *Machine) RegisterProgram(name string, p Program) uint64 {
	for i, r := range m.programs {
		if r.name == name {
			m.programs[i].fn = p
			return uint64(i + 1)
		}
	}
	m.programs = append(m.programs, registeredProgram{name, p})
	return uint64(len(m.programs))
}

// ProgramID returns the id of the program registered under name.
func (m *Machine) ProgramID(name string) (uint64, error) {
	for i, r := range m.programs {
		if r.name == name {
			return uint64(i + 1), nil
		}
	}
	return 0, fmt.Errorf("no native program named %q", name)
}
