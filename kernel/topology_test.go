package kernel

import (
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

func TestParseTopology(t *testing.T) {
	rv, nat := Kinds(abi.KindRV64), Kinds(abi.KindNative)
	both := Kinds(abi.KindRV64, abi.KindNative)
	for _, tc := range []struct {
		in      string
		want    []ClusterSpec
		format  string
		wantErr string
	}{
		{in: "rv64", want: []ClusterSpec{{rv, 1}}, format: "rv64:1"},
		{in: "rv64:4, native", want: []ClusterSpec{{rv, 4}, {nat, 1}}, format: "rv64:4,native:1"},
		{in: "2*rv64:1,native:2", want: []ClusterSpec{{rv, 1}, {rv, 1}, {nat, 2}}, format: "rv64:1,rv64:1,native:2"},
		{in: "rv64+native", want: []ClusterSpec{{both, 1}}, format: "rv64+native:1"},
		{in: "native+rv64:3,rv64", want: []ClusterSpec{{both, 3}, {rv, 1}}, format: "rv64+native:3,rv64:1"},
		{in: "", wantErr: "empty"},
		{in: "arm64", wantErr: `unknown CPU kind "arm64"`},
		{in: "rv64+", wantErr: `unknown CPU kind ""`},
		{in: "rv64+rv64", wantErr: "CPU kind rv64 twice"},
		{in: "rv64:0", wantErr: "bad core count"},
		{in: "rv64:x", wantErr: "bad core count"},
		{in: "0*rv64", wantErr: "bad repeat count"},
		{in: "1025*native", wantErr: "bad repeat count"},
		{in: "2*native:600", wantErr: "more than 1024 cores"},
	} {
		got, err := ParseTopology(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTopology(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParseTopology(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseTopology(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
		if f := FormatTopology(got); f != tc.format {
			t.Errorf("FormatTopology(ParseTopology(%q)) = %q, want %q", tc.in, f, tc.format)
		}
	}
}

// TestMixedClusterHomes checks where domains of each kind are homed on a
// machine with a cluster of both kinds, and that moving a domain checks
// the kinds its new cluster runs.
func TestMixedClusterHomes(t *testing.T) {
	s := newTestSys(t, Config{Topology: "rv64,rv64+native", Deterministic: true, Seed: 1})
	d := s.native("pong")
	info := func() uint64 { return s.m.MustCall(d, int64(abi.OCDomainGetState), nil).Word(int(abi.DomainStateHome)) }
	if h := info(); h != 1 {
		t.Fatalf("a native domain homed in cluster %d, want 1 (the only one that runs native code)", h)
	}
	if rep, err := s.m.Call(d, int64(abi.OCDomainSetHome), Words(0)); err != nil || rep.RC != int64(abi.RCBadArgument) {
		t.Fatalf("moving a native domain to an rv64 cluster: %v, rc %d; want RCBadArgument", err, rep.RC)
	}
	if got := s.m.Stats().Cores[1].Kind; got != "rv64+native" {
		t.Errorf("core 1 kind %q, want rv64+native", got)
	}
}
