package kernel

import (
	"fmt"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestNativePanicTraps: a native program that panics traps to its domain
// keeper, whose restart runs it again, and the core goes on running
// everything else; in deterministic mode and in parallel mode, with
// several victims panicking on several cores at once. The recovery lives
// at the top of each core's loop (Core.guarded), not in each event.
func TestNativePanicTraps(t *testing.T) {
	const victims, panics = 6, 4
	for _, tc := range []struct {
		topo string
		det  bool
	}{
		{"native", true},
		{"native:2,native", true},
		{"native", false},
		{"native:2,native", false},
	} {
		t.Run(fmt.Sprintf("%s/det=%v", tc.topo, tc.det), func(t *testing.T) {
			s := newTestSys(t, Config{Topology: tc.topo, Deterministic: tc.det})
			m := s.m
			m.RegisterProgram("victim", func(x *Ctx) {
				r := x.Regs()
				r[0]++ // registers persist across the panic
				if r[0] <= panics {
					panic(fmt.Sprintf("hostile test: panic %d", r[0]))
				}
			})
			m.RegisterProgram("keeper", func(x *Ctx) {
				r := x.Regs()
				r[0]++
				if x.Order() == int64(abi.TrapNativePanic) {
					r[1]++
				}
				x.Return(krResume, &Msg{}) // restart the victim
			})
			var vs, ks []Key
			for i := range victims {
				k, v := s.native("keeper"), s.native("victim")
				if tc.topo != "native" {
					home := uint64(i % 2)
					m.MustCall(k, int64(abi.OCDomainSetHome), Words(1-home))
					m.MustCall(v, int64(abi.OCDomainSetHome), Words(home))
				}
				m.MustCall(v, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotKeeper)), mustStart(m, k, 1))
				m.MakeAvailable(k)
				vs, ks = append(vs, v), append(ks, k)
			}
			for _, v := range vs {
				m.RunDomain(v)
			}
			s.run()
			for i := range victims {
				if got := s.regs(vs[i])[0]; got != panics+1 {
					t.Errorf("victim %d ran %d times, want %d", i, got, panics+1)
				}
				if got := s.regs(ks[i])[:2]; got[0] != panics || got[1] != panics {
					t.Errorf("keeper %d got %d messages, %d of them panic traps; want %d of each", i, got[0], got[1], panics)
				}
				if st := s.state(vs[i]); st != abi.StateAvailable {
					t.Errorf("victim %d ends in state %d, want available", i, st)
				}
			}
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNewDomainErrors: NewDomain names what went wrong, and a domain it
// could not set up is not left bought from the bank.
func TestNewDomainErrors(t *testing.T) {
	s := newTestSys(t, Config{Topology: "native"})
	m := s.m
	domains := func() uint64 {
		return m.MustCall(m.PrimeBank(), int64(abi.OCBankGetLedger), nil).Word(int(abi.LedgerUsedDomains))
	}
	before := domains()
	for _, tc := range []struct {
		name    string
		bank    Key
		program string
	}{
		{"unknown program", m.PrimeBank(), "no-such-program"},
		{"not a bank", DK(7), "ping"},
	} {
		if _, err := m.NewDomain(tc.bank, m.PrimeMeter(), abi.KindNative, tc.program); err == nil {
			t.Errorf("%s: NewDomain succeeded", tc.name)
		}
		if got := domains(); got != before {
			t.Errorf("%s: the bank holds %d domains, had %d", tc.name, got, before)
		}
	}
	if _, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "ping"); err != nil {
		t.Fatal(err)
	}
	if got := domains(); got != before+1 {
		t.Errorf("after a good NewDomain the bank holds %d domains, want %d", got, before+1)
	}
}
