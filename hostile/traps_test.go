package hostile

import (
	"fmt"
	"testing"

	"github.com/keyfish-os/keyfish/system"
)

// TestWild: wild loads, stores and jumps (sdk/hostile/wild.c) with the
// recover keeper as domain keeper. Expected: every load, store or jump to
// an unmapped address traps to the keeper as a fault (nothing mapped, the
// address, the access kind); a store into its text is a read-only fault;
// heap accesses are served by the zero keeper; a jump into zeroed heap is
// an illegal instruction. The program checks each outcome and exits 0.
func TestWild(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		rec := e.recoverKeeper()
		p := e.load("hostile/wild", system.Options{Keeper: rec, Args: []string{"wild", "17", "3000"}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.linePrefixed("wild: 3000 probes: ")
		e.destroy(p.Bank)
	})
}

// TestIllegal: privileged instructions, instructions outside RV64IMAC (F,
// D), reserved encodings, and ebreak (sdk/hostile/illegal.c). Expected:
// each traps to the domain keeper as KF_TRAP_ILLEGAL (or
// KF_TRAP_BREAKPOINT) with the instruction bits as the detail; the
// user-level counters, fences and arithmetic run. The program checks each
// outcome and exits 0.
func TestIllegal(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		rec := e.recoverKeeper()
		p := e.load("hostile/illegal", system.Options{Keeper: rec, Args: []string{"illegal", "20"}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.wantLine(fmt.Sprintf("illegal: %d instructions, %d trapped, all as expected", 20*31, 20*21))
		e.destroy(p.Bank)
	})
}

// TestMisaligned: misaligned loads, stores, lr, sc and amoadd
// (sdk/hostile/misaligned.c). Expected: every misaligned access traps to
// the domain keeper as KF_TRAP_MISALIGNED with its address and access
// kind, mapped or not, and a trapped store changes no byte.
func TestMisaligned(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		rec := e.recoverKeeper()
		p := e.load("hostile/misaligned", system.Options{Keeper: rec, Args: []string{"misaligned", "20"}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.linePrefixed("misaligned: ")
		e.destroy(p.Bank)
	})
}
