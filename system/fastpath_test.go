package system

import (
	"fmt"
	"slices"
	"testing"

	"github.com/keyfish-os/keyfish/kernel"
)

// TestDemoFastPathMatches boots the demo in each deterministic topology
// with the kernel's invocation fast path on and off (Config.GeneralPath):
// the kernel events, the console and the final objects must be the same,
// and where ping and pong share a cluster the fast path must have been
// taken. (A fault's CALL to its keeper, and the keeper's answer on a
// restart key, always take the general path.)
func TestDemoFastPathMatches(t *testing.T) {
	for _, tc := range topologies {
		if !tc.cfg.Deterministic {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				events  []kernel.Event
				console string
				snap    kernel.Snapshot
				fast    uint64
			}
			run := func(general bool) result {
				var r result
				cfg := tc.cfg
				cfg.GeneralPath = general
				cfg.Trace = func(e kernel.Event) { r.events = append(r.events, e) }
				s, con := newSys(t, cfg)
				runDemo(t, s, DemoOptions{Computes: 2, ComputeRounds: 2, PingRounds: 100, SpinBudget: 200_000})
				r.console = con.String()
				var err error
				if r.snap, err = s.M.Inspect(); err != nil {
					t.Fatal(err)
				}
				for _, c := range s.M.Stats().Cores {
					r.fast += c.FastInvocations
				}
				return r
			}
			fast, general := run(false), run(true)
			if n := min(len(fast.events), len(general.events)); !slices.Equal(fast.events, general.events) {
				i := 0
				for i < n && fast.events[i] == general.events[i] {
					i++
				}
				t.Fatalf("traces differ at event %d of %d/%d", i, len(fast.events), len(general.events))
			}
			if fast.console != general.console {
				t.Fatalf("consoles differ:\n%s\nagainst\n%s", fast.console, general.console)
			}
			if a, b := fmt.Sprintf("%+v", fast.snap), fmt.Sprintf("%+v", general.snap); a != b {
				t.Fatalf("final objects differ:\n%s\nagainst\n%s", a, b)
			}
			// In the multikernel layout every call crosses clusters:
			// the fast path sends those (fastSend).
			if fast.fast == 0 || general.fast != 0 {
				t.Fatalf("fast invocations: %d with the fast path (want some), %d without (want 0)", fast.fast, general.fast)
			}
			t.Logf("%d events, %d fast invocations", len(fast.events), fast.fast)
		})
	}
}
