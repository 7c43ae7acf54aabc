package kernel

import "github.com/keyfish-os/keyfish/abi"

// cpuKind is what a CPU kind provides the kernel: how to run a domain of
// that kind until it invokes a key, traps or uses up its slice, and how a
// message lands in its register file. Each kind has its own kind of domain
// and its own clusters (DESIGN.md rule 8).
type cpuKind interface {
	// run executes d on c. It returns evInvoke with c.inv filled, evTrap
	// with c.trap filled, or evSlice when d used up its slice.
	run(c *Core, d *Domain) event
	// receive puts a message, all but its keys, into d: order or return
	// code, string (cut to d's receive buffer), and the start key's data
	// byte (or abi.EcallFromResume). The keys go into d's key registers
	// (Core.deliver, takeFourth, takeSentKeys).
	receive(c *Core, d *Domain, order int64, data []byte, db int64)
	// setResult gives d the result of an invocation that delivers no
	// message (a FORK).
	setResult(d *Domain, rc int64)
	// rewind makes d, which has just invoked c.inv on c, re-execute that
	// invocation when it next runs.
	rewind(c *Core, d *Domain)
	// getRegs writes d's register file in the abi.Regs layout.
	getRegs(d *Domain, w []uint64) int
	// setRegs sets d's register file from little-endian words.
	setRegs(d *Domain, data []byte) abi.RC
	// recvFromRegs sets d's receive area from its registers, as if it had
	// just become available through a RETURN.
	recvFromRegs(d *Domain)
	// flush drops c's caches of this kind (TLB, decoded instructions).
	flush(c *Core)
}

// event is why a domain stopped running on a core.
type event uint8

const (
	evInvoke  event = iota + 1 // it invokes a key (Core.inv)
	evTrap                     // it trapped (Core.trap)
	evSlice                    // its slice is used up
	evPause                    // it stops for the core's own work and runs on after
	evStopped                  // it stopped itself (Core.selfStop): its event just ends
)

var kinds = [...]cpuKind{abi.KindNative: nativeCPU}

// nativeCPU is the native kind, for the direct calls of the hot paths
// (Core.execute, fastInvoke); rvCPU is the rv64 kind.
var nativeCPU = &nativeKind{}

// kindOf returns the CPU kind k. Domains are only bought with kinds the
// machine has clusters for, so k is always valid here.
func kindOf(k abi.Kind) cpuKind { return kinds[k] }

func validKind(k abi.Kind) bool {
	return k >= 0 && int(k) < len(kinds) && kinds[k] != nil
}

// deliver puts a message into d: its order or return code, string and
// data byte (the kind's receive), and its four keys into d's receive key
// registers.
func (c *Core) deliver(d *Domain, order int64, data []byte, keys *[4]Key, db int64) {
	kindOf(d.kind).receive(c, d, order, data, db)
	d.putKeys(keys)
}
