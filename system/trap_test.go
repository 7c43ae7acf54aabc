package system

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestMeterTrapRecordsPC checks that a domain stopped by its meter records
// where it stopped: the pc of its trap is its pc, inside the program.
func TestMeterTrapRecordsPC(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSys(t, tc.cfg)
			p := load(t, s, "spinner", Options{Budget: 1_000_000})
			p.Start()
			runSys(t, s)
			st := mustCall(t, s.M, p.Domain, abi.OCDomainGetState, nil)
			regs := mustCall(t, s.M, p.Domain, abi.OCDomainGetRegs, nil)
			trap, pc := abi.Trap(st.Word(int(abi.DomainStateTrap))), st.Word(int(abi.DomainStatePC))
			if trap != abi.TrapMeter || pc == 0 || pc != regs.Word(int(abi.RegsPC)) {
				t.Fatalf("trap %d at pc %#x; want a meter trap at the domain's pc %#x", trap, pc, regs.Word(int(abi.RegsPC)))
			}
		})
	}
}
