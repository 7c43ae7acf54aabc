package hostile

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

// TestReadAfterSold: sdk/hostile/soldpage.c maps a page, lets a reader
// thread on another core (or cluster) read it, then removes it: sells it,
// swaps it out of its node, destroys the bank it came from, or sells it
// while the reader's first translation may still be under way. Expected:
// as soon as the removal has returned, no load on any core reads through
// the old mapping (each faults, KF_FAULT_NOT_MAPPED), and while it is
// mapped every load reads the right value: the TLB invariant of
// DESIGN.md section 5. The program checks each load and exits 0.
func TestReadAfterSold(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		rec := e.recoverKeeper()
		node := e.call(e.m.PrimeBank(), abi.OCBankBuyNode, nil).Keys[0]
		seg := e.call(node, abi.OCNodeMakeSegment, kernel.Words(1, 0)).Keys[0]
		p := e.load("hostile/soldpage", system.Options{Keeper: rec, Args: []string{"soldpage", "60"},
			Keys:   map[int]kernel.Key{int(abi.KRArg0): node},
			Mounts: []loader.Mount{{At: 0x2000_0000, Segment: seg}}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.wantLine("soldpage: 60 rounds, no load through a removed mapping")
		e.destroy(p.Bank)
	})
}
