package kernel

import (
	"encoding/binary"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/internal/mem"
	"github.com/keyfish-os/keyfish/internal/rv64"
)

// The rv64 CPU kind: domains that run RISC-V RV64IMAC machine code on the
// user-mode simulator. ecall is a key invocation (abi.Ecall); everything
// else that traps goes to a keeper.

// rvRegs is an rv64 domain's register file.
type rvRegs = rv64.Regs

// rvCore is a core's rv64 state: the simulator's caches (a software TLB and
// decoded instructions, both caches only) and the translator it calls.
type rvCore struct {
	core  *rv64.Core
	trans rvTranslator // for the running domain
	other rvTranslator // for a domain a message is delivered to
	fault segFault     // why the last translation failed
	walk  walkCache    // where the last walk entered its last node
	last  *Domain      // the domain that ran last here (its reservation)
}

// rvChunk is how many instructions run between looks at the core's
// messages and the machine's epoch: the bound on how long a running domain
// delays a shootdown, a kill or a message to its core.
const rvChunk = 4096

func (r *rvCore) init(m *Machine) {
	r.core = rv64.NewCore()
	r.core.CodeGen = &m.codeGen
	r.core.TimeFn = func() uint64 { return uint64(m.now()) }
}

// rvTranslator lets the simulator walk the running domain's segment.
type rvTranslator struct {
	c *Core
	d *Domain
}

func (t *rvTranslator) Translate(vaddr uint64, acc rv64.Access) (*mem.Page, bool, bool) {
	p, w := translate(t.d.slots[abi.SlotSpace], vaddr, acc == rv64.Write, &t.c.rv.fault, &t.c.rv.walk)
	if p == nil {
		return nil, false, false
	}
	return &p.data, w, true
}

type rvKind struct{}

func init() { kinds[abi.KindRV64] = rvCPU }

// rvCPU is the rv64 kind, for direct calls (see nativeCPU).
var rvCPU = &rvKind{}

// Register numbers of the ecall convention.
const (
	rA0 = 10 + iota
	rA1
	rA2
	rA3
	rA4
	rA5
	rA6
	rA7
)

func (*rvKind) run(c *Core, d *Domain) event {
	rc := &c.rv
	r := &d.cpu.rv
	if c.slice <= 0 {
		rc.last = nil
		return evSlice
	}
	if rc.last != d {
		rc.last = d
		r.ResValid = false // a migrated domain's SC may fail, as the spec allows
	}
	rc.trans.c, rc.trans.d = c, d
	for {
		if !c.leaseCovers(d, false) {
			if ev := c.meterFor(d); ev != 0 {
				c.trap.info.pc = r.PC // where it stopped: the keeper and DomainState see it
				return ev
			}
		}
		// meterFor left ticks in the lease and the slice is not over, so
		// the budget is positive; at least 1 all the same, since Run takes
		// it unsigned and a negative one would never end.
		budget := max(min(c.lease.left, c.slice, rvChunk), 1)
		ex := rc.core.Run(r, &rc.trans, d.asid, uint64(budget))
		n := int64(ex.Executed)
		c.charge(d, n)
		c.stats.rvInsns += uint64(n)
		c.slice -= n
		if c.m.det {
			c.m.advance(n)
		}
		switch ex.Reason {
		case rv64.Budget:
			if c.slice <= 0 {
				rc.last = nil
				return evSlice
			}
			// A chunk boundary: an event boundary for the epoch, and a
			// chance for the core's messages and a kill to get in.
			c.ack()
			if c.preempt.Load() || d.killed.Load() || !c.cl.inbox.empty() || !c.cl.reap.empty() || !c.cl.withdraw.empty() {
				return evPause
			}
		case rv64.Ecall:
			return c.rvEcall(d)
		case rv64.Ebreak:
			return c.rvTrap(d, abi.TrapBreakpoint, r.PC, 0, abi.AccessExec, uint64(ex.Insn))
		case rv64.Illegal:
			return c.rvTrap(d, abi.TrapIllegal, r.PC, 0, abi.AccessExec, uint64(ex.Insn))
		case rv64.Misaligned:
			return c.rvTrap(d, abi.TrapMisaligned, r.PC, ex.Addr, rvAccess(ex.Access), 0)
		case rv64.Fault:
			f := &rc.fault
			c.rvTrap(d, abi.TrapFault, r.PC, ex.Addr, rvAccess(ex.Access), uint64(f.detail))
			c.trap.info.offset = f.offset
			c.trap.segKeeper, c.trap.segNode = f.keeper, f.node
			return evTrap
		}
	}
}

func rvAccess(a rv64.Access) abi.Access {
	switch a {
	case rv64.Write:
		return abi.AccessWrite
	case rv64.Exec:
		return abi.AccessExec
	}
	return abi.AccessRead
}

func (c *Core) rvTrap(d *Domain, code abi.Trap, pc, addr uint64, acc abi.Access, detail uint64) event {
	c.trap = keeperTrap{info: trapInfo{code: code, pc: pc, addr: addr, access: acc, detail: detail}}
	return evTrap
}

// rvEcall decodes an ecall into c.inv. A malformed descriptor is answered
// at once with RCBadInvocation; an unreadable send string is a fault of
// the ecall instruction.
func (c *Core) rvEcall(d *Domain) event {
	x := &d.cpu.rv.X
	desc := x[rA0]
	typ := abi.Inv(desc >> uint(abi.EcallTypeShift))
	if desc&^(uint64(abi.EcallKeyMask)|3<<uint(abi.EcallTypeShift)) != 0 || typ > abi.InvFork ||
		x[rA3] > uint64(abi.LimitString) || x[rA4] > 0xffff || x[rA7] > 0xffff {
		rc := int64(abi.RCBadInvocation)
		x[rA0] = uint64(rc)
		d.cpu.rv.PC += 4
		return evPause
	}
	data := c.sendBuf[:x[rA3]]
	if va, ok := c.readGuest(d, x[rA2], data); !ok {
		f := &c.rv.fault
		c.rvTrap(d, abi.TrapFault, d.cpu.rv.PC, va, abi.AccessRead, uint64(f.detail))
		c.trap.info.offset = f.offset
		c.trap.segKeeper, c.trap.segNode = f.keeper, f.node
		return evTrap
	}
	d.cpu.rv.PC += 4
	inv := &c.inv
	inv.typ = typ
	inv.key = d.keys[desc&15]
	inv.order = int64(x[rA1])
	inv.data = data
	sel := x[rA4]
	inv.from, inv.gathered = keyRegs(sel), false
	inv.recv = recvArea{buf: x[rA5], len: min(x[rA6], uint64(abi.LimitString)), keys: keyRegs(x[rA7])}
	return evInvoke
}

// readGuest copies len(dst) bytes of d's memory at va into dst, through
// the core's TLB. On a fault it returns the faulting address and false,
// with c.rv.fault set.
func (c *Core) readGuest(d *Domain, va uint64, dst []byte) (uint64, bool) {
	t := &c.rv.other
	t.c, t.d = c, d
	for len(dst) > 0 {
		p := c.rv.core.Page(t, d.asid, va, rv64.Read)
		if p == nil {
			return va, false
		}
		n := p.Read(va&mem.PageMask, dst)
		dst, va = dst[n:], va+uint64(n)
	}
	return 0, true
}

// writeGuest copies src into d's memory at va through the core's TLB,
// stopping at the first byte that cannot be written. It returns the count
// written.
func (c *Core) writeGuest(d *Domain, va uint64, src []byte) int {
	t := &c.rv.other
	t.c, t.d = c, d
	done := 0
	for done < len(src) {
		p := c.rv.core.Page(t, d.asid, va, rv64.Write)
		if p == nil {
			break
		}
		n := p.Write(va&mem.PageMask, src[done:])
		done += n
		va += uint64(n)
	}
	return done
}

func (*rvKind) receive(c *Core, d *Domain, order int64, data []byte, db int64) {
	x := &d.cpu.rv.X
	if len(data) > 0 && d.recv.len > 0 {
		c.writeGuest(d, d.recv.buf, data[:min(uint64(len(data)), d.recv.len)])
	}
	x[rA0], x[rA1], x[rA2] = uint64(order), uint64(len(data)), uint64(db)
}

func (*rvKind) setResult(d *Domain, rc int64) { d.cpu.rv.X[rA0] = uint64(rc) }

func (*rvKind) rewind(c *Core, d *Domain) { d.cpu.rv.PC -= 4 }

func (*rvKind) getRegs(d *Domain, w []uint64) int {
	r := &d.cpu.rv
	w[abi.RegsPC] = r.PC
	copy(w[abi.RegsX1:abi.RegsWords], r.X[1:])
	return int(abi.RegsWords)
}

func (*rvKind) setRegs(d *Domain, data []byte) abi.RC {
	if len(data) != 8*int(abi.RegsWords) {
		return abi.RCBadArgument
	}
	r := &d.cpu.rv
	r.PC = binary.LittleEndian.Uint64(data)
	for i := 1; i < 32; i++ {
		r.X[i] = binary.LittleEndian.Uint64(data[8*i:])
	}
	r.ResValid = false
	return abi.RCOk
}

func (*rvKind) recvFromRegs(d *Domain) {
	x := &d.cpu.rv.X
	d.recv = recvArea{buf: x[rA5], len: min(x[rA6], uint64(abi.LimitString)), keys: keyRegs(x[rA7])}
}

func (*rvKind) flush(c *Core) {
	c.rv.walk = walkCache{}
	c.rv.core.FlushTLB()
	c.rv.core.FlushCode()
}
