package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestWithdrawnBeforeReaped: a killed domain that asked another cluster
// for its outbox back is not reaped, its slot not freed, until that
// cluster has taken it off its withdraw list, even when the outbox comes
// home first. A slot bought again while still on the list would have its
// link cleared by the new domain's initialization, cutting the list short,
// and the list's cluster would then withdraw the new domain's outbox.
// (White box: the steps of two clusters, one at a time.)
func TestWithdrawnBeforeReaped(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native,native", Deterministic: true})
	m := s.m
	m.RegisterProgram("idle", func(x *Ctx) {})
	k := s.native("idle")
	d := k.hdr.domain()
	home, other := m.cores[0], m.cores[1]
	if d.home.Load() != home.cl || other.cl == home.cl {
		t.Fatal("test set-up: want the domain homed on core 0's cluster and core 1 in another")
	}
	// d's outbox is away in the other cluster.
	d.outBusy.Store(true)
	d.outTo.Store(other.cl)
	freed := m.stats.domainsFreed.Load()
	if rc := m.sell(home, m.prime, k); rc != abi.RCOk {
		t.Fatalf("sell: %v", rc)
	}
	if !d.withdrawing.Load() {
		t.Fatal("killing the domain did not ask the other cluster for its outbox")
	}
	// The outbox comes home on its own before the other cluster looks at
	// its withdraw list.
	d.outBusy.Store(false)
	home.drainReap()
	if d.reaped || m.stats.domainsFreed.Load() != freed {
		t.Fatal("the domain was reaped while on another cluster's withdraw list")
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	other.drainWithdraw()
	if d.withdrawing.Load() {
		t.Fatal("the other cluster's withdraw list still holds the domain")
	}
	home.drainReap()
	if !d.reaped || m.stats.domainsFreed.Load() != freed+1 {
		t.Fatal("the domain was not reaped once off the withdraw list")
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}
