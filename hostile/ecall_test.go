package hostile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// ecallKeys are the key registers the ecalls program gets: a start key to
// a pong, the discrim, the returner, and no clock (a random clock wait
// could keep the machine from ever coming to rest, which a domain may do
// but a test may not wait for).
func (e *env) ecallKeys(pong kernel.Key) map[int]kernel.Key {
	discrim, _ := e.m.DeviceKey(abi.KTDiscrim)
	returner, _ := e.m.DeviceKey(abi.KTReturner)
	return map[int]kernel.Key{int(abi.KRArg0): pong, int(abi.KRArg0) + 1: discrim,
		int(abi.KRArg0) + 2: returner, int(abi.KRClock): {}}
}

// TestRandomEcalls: six instances of sdk/hostile/ecalls.c, each making
// 2000 ecalls with random arguments (mostly plausible, a few percent of
// every register entirely random) at the keys of a playground, a pong,
// the discrim and the returner; recover is their domain keeper, so an
// ecall whose string cannot be read comes back as a fault. Expected: every
// ecall gets a return code or a trap, the invariants hold at every pause,
// and each instance ends at rest: exited ("ecalls: 2000 ecalls done"), or
// stopped, available or waiting, where a random ecall put it (a RETURN, a
// stop of itself, its meter, destroying its own bank). The test revives
// the instances a random RETURN, stop or unanswered CALL left idle, so that
// more of them get through all their ecalls.
func TestRandomEcalls(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		rec := e.recoverKeeper()
		_, pong := e.server("pong", system.Options{})
		var ps []*system.Proc
		for i := range 6 {
			p := e.load("hostile/ecalls", system.Options{Keeper: rec, Budget: scaled(20_000_000),
				Args: []string{"ecalls", fmt.Sprint(100 + i), fmt.Sprint(scaled(2000))},
				Keys: e.ecallKeys(pong)})
			e.start(p)
			ps = append(ps, p)
		}
		e.run()
		// A random RETURN leaves an instance available, a random stop of
		// itself stopped, a CALL to a domain that never answers (its exit
		// collector) waiting: revive those (stop the wait, run them on
		// from their pc), 30 rounds at most. (Their exit keys are no guide: a random
		// invocation can reach them, through the returner for one.)
		want := fmt.Sprintf("ecalls: %d ecalls done\n", scaled(2000))
		for range 30 {
			if strings.Count(e.con.String(), want) == len(ps) {
				break
			}
			for _, p := range ps {
				if r, _ := e.m.Call(p.Domain, int64(abi.OCKeyType), nil); r.RC != int64(abi.KTDomain) {
					continue // it destroyed its own bank
				}
				switch st, trap := e.state(p.Domain); {
				case st == abi.StateWaiting:
					// for a reply that may never come: stop the wait
					e.call(p.Domain, abi.OCDomainStop, nil)
					e.start(p)
				case st == abi.StateAvailable, st == abi.StateStopped && trap == abi.TrapStopped:
					e.start(p)
				}
			}
			e.run()
		}
		e.finish()
		for _, p := range ps {
			st, trap := e.state(p.Domain)
			if st == abi.StateRunning {
				t.Fatalf("%s is running after the machine came to rest", p.Name)
			}
			t.Logf("%s: state %d, trap %s", p.Name, st, kernel.TrapName(trap))
		}
		t.Logf("%d of %d instances made all their ecalls", strings.Count(e.con.String(), want), len(ps))
		for _, p := range ps {
			e.destroy(p.Bank)
		}
	})
}
