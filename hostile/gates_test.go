package hostile

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// TestStaleResumeKeys: ping makes 300 round trips to stalepong
// (sdk/hostile/stalepong.c), which answers each CALL through a copy of the
// resume key and then again through the original, FORKs and CALLs the
// previous caller's used resume key, all with wrong answers. Expected:
// ping gets exactly one, right, answer per CALL ("ping: 300 round trips
// ok"): using any copy of a resume key voids all copies; a FORK or RETURN
// to a stale one delivers nothing and a CALL is answered 0 at once, as
// DK(0) would; stalepong never traps and ends available.
func TestStaleResumeKeys(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		stale, start := e.server("hostile/stalepong", system.Options{})
		ping := e.load("ping", system.Options{Args: []string{"ping", "300"},
			Keys: map[int]kernel.Key{int(abi.KRArg0): start}})
		e.start(ping)
		e.run()
		e.finish()
		e.wantExit(ping, 0)
		e.wantLine("ping: 300 round trips ok")
		if st, trap := e.state(stale.Domain); st != abi.StateAvailable {
			t.Fatalf("stalepong is in state %d (trap %s), want available", st, kernel.TrapName(trap))
		}
		e.destroy(stale.Bank)
	})
}

// TestDestroyCalleeBank: sdk/hostile/bankkill.c destroys the bank of a
// server it is calling, while the server spins, waits for the clock, or is
// stalled on the caller itself, with the server in the other cluster where
// there is one. Expected: the caller's CALL is answered
// RCCalleeDestroyed, the destroy succeeds, and every key to the server and
// its bank is void afterwards; the program checks each and exits 0.
func TestDestroyCalleeBank(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		p := e.load("hostile/bankkill", system.Options{Args: []string{"bankkill", "9"}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.wantLine("bankkill: 9 rounds, every call answered callee destroyed, every key void")
		e.destroy(p.Bank)
	})
}
