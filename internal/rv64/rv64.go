// Package rv64 is a user-level RV64IMAC interpreter: RV64I with the M, A and
// C extensions, Zifencei, and read-only access through Zicsr to the cycle,
// time and instret counters.
//
// A hart's architectural state is a Regs, owned by the kernel. A Core is the
// per-host-core cache that makes interpretation fast: a software TLB and a
// decoded-instruction cache keyed by page frame. Core.Run interprets guest
// code until its budget of instructions is spent or the guest traps; traps
// are reported to the caller in an Exit and are never handled here.
//
// Guest memory is reached only through a Translator and the accessors of
// package mem. Atomic memory operations are atomic across host cores; LR/SC is
// a reservation plus compare-and-swap on the value loaded, as QEMU does.
//
// # Using it from a kernel
//
//   - Make one Core per host core (goroutine); give all Cores of a machine
//     the same CodeGen (and, optionally, TLBGen) counter. Run a hart with
//     c.Run(&regs, translator, asid, budget); the asid must differ between
//     address spaces whose mappings differ (it tags TLB entries; nothing is
//     flushed on a switch).
//   - Ecall: the system call number and arguments are in Regs.X[17] (a7) and
//     X[10]..X[15] (a0..a5), following the Linux convention if the kernel
//     chooses it; Regs.PC is at the ecall (always 4 bytes): the kernel sets
//     the results (X[10]) and adds 4 to PC before running the hart again.
//     The ecall is not counted in Exit.Executed or Instret.
//   - Fault: Exit.Addr and Exit.Access say what failed (for a fetch, the
//     address of the instruction or of the page its second half lies in).
//     After a keeper repairs the mapping, running the hart again retries
//     the instruction. Misaligned: loads, stores and AMOs are never
//     emulated. Illegal and Ebreak: Exit.Insn holds the bits (Insn&3 != 3
//     means a 2-byte instruction).
//   - Budget bounds how long Run runs: it returns after exactly budget
//     retired instructions, so a budget is also the preemption quantum.
//   - After removing or restricting a mapping, flush the TLBs: FlushTLB on
//     an idle Core, or increment TLBGen. After changing bytes of a frame that
//     may hold decoded code (reusing a frame, loading a program), increment
//     CodeGen. Guest self-modifying code needs fence.i, as on hardware.
//   - The decode cache holds up to 256 frames per Core (about 4 MiB) and
//     keeps pointers to them, so those frames stay reachable until evicted
//     or flushed with FlushCode.
package rv64

import (
	"sync/atomic"
	"unsafe"

	"github.com/keyfish-os/keyfish/internal/mem"
)

// Access is the kind of memory access.
type Access uint8

const (
	// Read is a data load (and the load half of LR).
	Read Access = iota
	// Write is a data store, SC or AMO.
	Write
	// Exec is an instruction fetch.
	Exec
)

// String returns the access kind's name.
func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Exec:
		return "exec"
	}
	return "access?"
}

// Translator is implemented by the kernel: it walks the domain's address
// segment. It returns the page holding vaddr and whether stores may use it.
// ok=false means the access faults (nothing mapped, or a write through
// read-only). For acc == Exec, ok means the page may be executed.
//
// The Core caches translations (tagged with the asid given to Run) until
// FlushTLB: a Translator result must stay valid until the kernel calls
// FlushTLB on every Core that may have cached it.
type Translator interface {
	Translate(vaddr uint64, acc Access) (page *mem.Page, writable bool, ok bool)
}

// Regs is a hart's architectural state; it lives in the kernel's domain
// record. Only the goroutine running the hart (inside Core.Run) or the kernel
// while the hart is stopped may touch it.
type Regs struct {
	// X holds the integer registers x0..x31. X[0] reads as zero always: Run
	// ignores what is stored there and leaves zero in it on return. The
	// kernel reads syscall arguments from X[10]..X[17] (a0..a7) and writes
	// results to X[10] (a0) while the hart is stopped.
	X [32]uint64
	// sink follows X: it is register 32 of regs, where Run writes the
	// results of instructions whose rd is x0.
	//lint:ignore U1000 written only through regs, by address
	sink uint64
	// PC is the address of the next instruction. After a trap it is the
	// address of the trapping instruction. The kernel moves it (e.g. past an
	// ecall, PC += 4) while the hart is stopped.
	PC uint64
	// Instret counts the instructions retired by this hart; Run adds each
	// Run's Exit.Executed. It is also what the cycle counter returns. The
	// kernel may read it at any time the hart is stopped.
	Instret uint64
	// ResValid, ResAddr and ResVal are the LR/SC reservation: LR sets it to
	// the address and the (sign-extended) value loaded; SC succeeds only if
	// it is valid for the same address and memory still holds that value,
	// and clears it when it completes, succeeding or not (an SC that faults
	// keeps it, so that its retry can succeed). The kernel may clear ResValid (e.g. on a
	// context switch or a trap) to make the next SC fail; it must not set it.
	ResValid bool
	ResAddr  uint64
	ResVal   uint64
}

// Reason says why Run returned.
type Reason uint8

const (
	// Budget means Run retired the budget of instructions it was given.
	Budget Reason = iota
	// Ecall means the hart executed ecall; PC is at the ecall (4 bytes).
	Ecall
	// Ebreak means the hart executed ebreak or c.ebreak; PC is at it.
	Ebreak
	// Illegal means the instruction at PC is illegal; Exit.Insn has its bits.
	Illegal
	// Misaligned means a load, store or AMO at PC used a misaligned address
	// (Exit.Addr, Exit.Access).
	Misaligned
	// Fault means the Translator refused an access: Exit.Addr is the
	// faulting address (for a fetch, the address of the missing page's
	// first byte the instruction needed) and Exit.Access its kind.
	Fault
)

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case Budget:
		return "budget"
	case Ecall:
		return "ecall"
	case Ebreak:
		return "ebreak"
	case Illegal:
		return "illegal"
	case Misaligned:
		return "misaligned"
	case Fault:
		return "fault"
	}
	return "reason?"
}

// Exit reports why and where Run stopped.
type Exit struct {
	// Cause is why Run returned: Reason, and for a trap its details.
	Cause
	// Executed is the count of instructions retired during this Run (also
	// added to Regs.Instret). A trapping instruction is not retired.
	Executed uint64
	// Addr is the faulting address for Fault and Misaligned.
	Addr uint64
}

// Cause is the part of an Exit that says why Run returned. (Exit keeps it
// in one field so that Exit has three: the compiler keeps a struct of at
// most four fields in registers, and Run's caller then copies no Exit
// through memory, where stores of its small fields stalled the wide loads
// that copied it whole.)
type Cause struct {
	// Reason is why Run returned.
	Reason Reason
	// Access is the kind of the faulting access for Fault and Misaligned.
	Access Access
	// Insn is the instruction's bits for Illegal and Ebreak (a 16-bit form,
	// such as c.ebreak = 0x9002, is zero-extended): Insn&3 != 3 means the
	// instruction is 2 bytes long.
	Insn uint32
}

// Core is per-host-core cached state: the software TLB and the
// decoded-instruction cache. It is a cache only: any Regs may be run on any
// Core (domains migrate), costing time, never correctness. A Core is used by
// one goroutine at a time (the one running on that host core).
type Core struct {
	// TimeFn returns the value of the time counter (rdtime); nil reads as
	// 0. Set by the kernel before the first Run; read only by Run.
	TimeFn func() uint64
	// CodeGen is the machine's code generation counter, shared by all Cores
	// of a machine: fence.i increments it, and Run flushes this Core's
	// decoded instructions on entry when it has changed since this Core last
	// saw it. The kernel sets the pointer before the first Run and
	// increments the counter whenever it changes bytes of a page that may
	// have been executed (e.g. reusing a frame for new code). nil disables
	// the cross-core check.
	CodeGen *atomic.Uint64
	// TLBGen is an optional machine-wide TLB generation counter, shared by
	// all Cores like CodeGen: Run flushes this Core's TLB on entry when it
	// has changed since this Core last saw it. The kernel increments it
	// after removing or restricting a mapping, instead of calling FlushTLB
	// on Cores that other goroutines are running. A Core already inside
	// Run keeps its translations until Run returns (at most budget
	// instructions later): the kernel waits for that before reusing the
	// frame. nil disables the check.
	TLBGen *atomic.Uint64

	// Everything below is private to Run and the Flush methods.

	seenGen  uint64     // the CodeGen value this Core's decode cache matches
	seenTLB  uint64     // the TLBGen value this Core's TLB matches
	recent   [2]asidLid // the asids of the last two Runs, the latest first
	fenceVar uint64     // target of the atomic op that makes fence a host fence
	dtlb     [dtlbSize]dtlbEntry
	itlb     [itlbSize]itlbEntry
	asids    [numLids]uint64 // asid of each local asid id (index 1..)
	lidUsed  [numLids]bool
	lidNext  int
	blocks   [blockSets][blockWays]*block // decode cache, set-associative by frame
	bnext    [blockSets]uint8             // round-robin victim per set
	crossBlk *block                       // holds a decoded page-crossing instruction in slot 0
}

// asidLid is an asid and the local id that tags its TLB entries (0: none).
type asidLid struct{ asid, lid uint64 }

// regs is the register file as Run's instructions index it: X[0] to
// X[31] of a Regs, then its sink as register 32, where the decoder sends
// writes to x0. Run works on the domain's Regs in place. A per-core copy,
// indexable without bounds checks, cost two copies of 256 bytes a Run:
// BenchmarkRunEcall took 16.4 ns with it and takes 9.7 ns without.
// get and set do not check i: the register fields of a decoded
// instruction are at most 32 (mk, mkInst), as TestDecodeAll16 (every
// compressed instruction), TestDecodedRegisters (every 32-bit opcode,
// funct3 and funct7) and FuzzDecode check.
type regs struct{ p unsafe.Pointer }

// regs returns r's register file.
func (r *Regs) regs() regs { return regs{unsafe.Pointer(&r.X)} }

// get returns register i.
func (x regs) get(i uint8) uint64 { return *(*uint64)(unsafe.Add(x.p, uintptr(i)*8)) }

// set sets register i to v.
func (x regs) set(i uint8, v uint64) { *(*uint64)(unsafe.Add(x.p, uintptr(i)*8)) = v }

const (
	dtlbSize  = 256
	itlbSize  = 64
	numLids   = 64 // local asid ids 1..numLids-1 are handed out
	blockSets = 64
	blockWays = 4
)

// dtlbEntry caches one data translation. rtag and wtag are the page's
// virtual address with the local asid id in bits 3..11 (zero when invalid
// for that access kind). Both TLBs are direct-mapped, indexed by the virtual
// page number xor the shifted local id, so that address spaces using the
// same addresses (a CALL between domains) do not evict each other.
type dtlbEntry struct {
	rtag uint64
	wtag uint64
	page *mem.Page
}

// itlbEntry caches one instruction translation and its decode block.
type itlbEntry struct {
	tag uint64
	blk *block
}

// NewCore returns a Core with empty caches. Decode blocks (16 KiB each, at
// most blockSets*blockWays = 256 per Core) are allocated the first time the
// Core needs each one; after that Run allocates nothing.
func NewCore() *Core {
	return &Core{crossBlk: newCrossBlock()}
}
