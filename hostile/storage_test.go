package hostile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// boundedBank returns a limited bank (a sub-bank of the prime bank, held by
// the test) and an unlimited sub-bank of it for a hostile program: the
// program holds a full key to its own bank, so it can change that bank's
// limits, but not those of the bank above.
func (e *env) boundedBank(lim []uint64) (limited, sub kernel.Key) {
	e.t.Helper()
	limited = e.call(e.m.PrimeBank(), abi.OCBankBuyBank, kernel.Words(lim...)).Keys[0]
	sub = e.call(limited, abi.OCBankBuyBank, nil).Keys[0]
	return limited, sub
}

// TestAllocBomb: sdk/hostile/allocbomb.c buys pages, nodes, meters, banks,
// domains and nested banks until its bank refuses, after lifting its own
// bank's limits. Expected: every refusal is RCNoSpace (RCRange at the bank
// depth limit), the limits of the bank above it hold (it never uses more
// than they allow, and it reaches the page limit), selling frees space at
// once, and destroying the limited bank gives everything back.
func TestAllocBomb(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		lim := limits(4<<20, 200, 300, 6, 40, 20)
		limited, sub := e.boundedBank(lim)
		p := e.load("hostile/allocbomb", system.Options{Bank: sub})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.wantLine("allocbomb: set limits: 0")
		line := e.linePrefixed("allocbomb: ")
		if !strings.HasSuffix(e.linePrefixed("allocbomb: 1"), "every refusal as expected") {
			t.Fatalf("allocbomb: %s", line)
		}
		led := e.ledger(limited)
		for i := range abi.LedgerLimitCount {
			if used, l := led[i], led[int(abi.LedgerLimitBytes)+int(i)]; used > l {
				t.Fatalf("ledger word %d: %d used over the limit %d", i, used, l)
			}
		}
		if led[abi.LedgerUsedPages] != lim[1] {
			t.Fatalf("the bomb holds %d pages, want the limit %d", led[abi.LedgerUsedPages], lim[1])
		}
		e.destroy(limited)
	})
}

// TestDomainBomb: sdk/hostile/dombomb.c, whose every child makes more
// children, in and across clusters, until the bank refuses. Expected:
// every refusal is RCNoSpace, the bank ends up holding exactly its domain
// limit, every child ends up available (waiting, using no CPU), the
// machine comes to rest, and destroying the bank kills them all at once.
func TestDomainBomb(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		const maxDomains = 24
		limited, sub := e.boundedBank(limits(64<<20, unl, unl, maxDomains, unl, unl))
		p := e.load("hostile/dombomb", system.Options{Bank: sub})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		line := e.linePrefixed("dombomb: made ")
		if !strings.HasSuffix(line, "then the bank refused: -4") {
			t.Fatalf("%s", line)
		}
		if got := e.ledger(limited)[abi.LedgerUsedDomains]; got != maxDomains {
			t.Fatalf("the bomb's bank holds %d domains, want its limit %d", got, maxDomains)
		}
		snap, err := e.m.Inspect()
		if err != nil {
			t.Fatal(err)
		}
		avail := 0
		for _, d := range snap.Domains {
			if d.Kind == "rv64" && d.State == "available" {
				avail++
			}
		}
		// The bomb (exited) and its maxDomains-1 children are available,
		// besides pong and recover-less examples.
		if avail < maxDomains {
			var states []string
			for _, d := range snap.Domains {
				states = append(states, fmt.Sprintf("%s:%s:%s@%#x", d.Kind, d.State, d.Trap, d.TrapPC))
			}
			t.Fatalf("%d rv64 domains are available, want at least %d: %v", avail, maxDomains, states)
		}
		e.destroy(limited)
	})
}

// TestLoadLimitsHold: a full bank key may change the bank's limits, and
// the allocation bomb lifts those of the bank it holds and buys until its
// bank refuses. system.Load gives a program a sub-bank of the bank its
// Options.Limits are set on (until 2026-11-27 it gave the program that
// very bank, and the bomb bought until the machine's storage ran out).
// Expected: the launcher's limits bound the program.
func TestLoadLimitsHold(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		lim := limits(4<<20, 100, 300, 6, 40, 20)
		p := e.load("hostile/allocbomb", system.Options{Limits: lim})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		e.wantLine("allocbomb: set limits: 0") // on its own sub-bank
		led := e.ledger(p.Bank)
		for i := range abi.LedgerLimitCount {
			if used, l := led[i], led[int(abi.LedgerLimitBytes)+int(i)]; used > l || l != lim[i] {
				t.Fatalf("ledger word %d: %d used, limit %d, want the launcher's limit %d", i, used, l, lim[i])
			}
		}
		if led[abi.LedgerUsedPages] != lim[1] {
			t.Fatalf("the bomb holds %d pages, want the limit %d", led[abi.LedgerUsedPages], lim[1])
		}
		e.destroy(p.Bank)
	})
}
