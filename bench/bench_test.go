package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestTargets(t *testing.T) {
	r := result("x", "ns", []float64{40, 60, 45}, ref("channel", "ns", []float64{200, 200}))
	if r.Value != 45 || r.Refs[0].Ratio != 45.0/200 {
		t.Fatalf("value %v ratio %v", r.Value, r.Refs[0].Ratio)
	}
	r.setTarget(atMost(50), ratioAtMost(0, 0.25))
	if r.Met == nil || !*r.Met {
		t.Fatalf("45 ns, 0.225× should meet %q", r.Target)
	}
	if r.Target != "≤ 50 ns, ≤ 0.25× channel" {
		t.Fatalf("target text %q", r.Target)
	}
	r.setTarget(atLeast(50))
	if r.Met == nil || *r.Met {
		t.Fatal("45 meets ≥ 50")
	}
	r.setTarget(ratioAtLeast(0, 0.5))
	if r.Met == nil || *r.Met {
		t.Fatal("0.225× meets ≥ 0.5×")
	}
	m := result("y", "MIPS", []float64{1}, missingRef("qemu", "MIPS", "not installed"))
	m.setTarget(ratioAtLeast(0, 1))
	if m.Met != nil || m.Refs[0].Ratio != 0 {
		t.Fatal("a target on a missing reference was judged")
	}
}

func TestSanitize(t *testing.T) {
	r := result("x", "ns", nil, ref("y", "ns", []float64{math.Inf(1)}))
	r.Extra = map[string]float64{"z": math.NaN()}
	r.sanitize()
	if r.Value != 0 || r.Refs[0].Value != 0 || r.Refs[0].Samples[0] != 0 || r.Extra["z"] != 0 || r.Note == "" {
		t.Fatalf("not sanitized: %+v", r)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func TestParseCores(t *testing.T) {
	got, err := ParseCores("1, 2,16")
	if err != nil || len(got) != 3 || got[2] != 16 {
		t.Fatalf("ParseCores: %v %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "2000", "-1"} {
		if _, err := ParseCores(bad); err == nil {
			t.Errorf("ParseCores(%q) accepted", bad)
		}
	}
	if d := DefaultCores(); d[0] != 1 {
		t.Fatalf("DefaultCores %v", d)
	}
}

func TestRunOptions(t *testing.T) {
	if _, err := Run(Options{Run: "("}, nil); err == nil {
		t.Error("a bad regexp was accepted")
	}
	if _, err := Run(Options{Run: "no-such-benchmark"}, nil); err == nil {
		t.Error("a regexp matching nothing was accepted")
	}
	if _, err := Run(Options{Run: "x", Count: -1}, nil); err == nil {
		t.Error("a negative count was accepted")
	}
}

func TestWriteTable(t *testing.T) {
	met := false
	rs := []Result{
		{Name: "a", Value: 12.5, Unit: "ns", Target: "≤ 10 ns", Met: &met,
			Refs: []Ref{{Name: "chan", Value: 100, Unit: "ns", Ratio: 0.125}, {Name: "qemu", Unit: "ns", Note: "missing"}}},
		{Name: "b", Err: "boom"},
		{Name: "c", Value: 1, Unit: "x", Note: "a note"},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"benchmark", "12.50", "0.125×", "NO", "b  ", "FAILED", "b: FAILED: boom",
		`a: reference "qemu" left out: missing`, "c: a note"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestSuiteTiny runs every benchmark at tiny sizes, once, and checks what
// they must show whatever the timings: nothing fails, every figure has its
// references, and flooding loses nothing and fills no queue beyond the
// number of flooders.
func TestSuiteTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every benchmark")
	}
	var progress bytes.Buffer
	rs, err := Run(Options{Count: 1, tiny: true, Cores: []int{1, 2}}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]Result{}
	for _, r := range rs {
		if r.Err != "" {
			t.Errorf("%s failed: %s", r.Name, r.Err)
			continue
		}
		names[r.Name] = r
		if len(r.Samples) == 0 || math.IsNaN(r.Value) {
			t.Errorf("%s has no value (%v)", r.Name, r.Samples)
		}
		for _, ref := range r.Refs {
			if ref.Note == "" && ref.Ratio == 0 && r.Value != 0 {
				t.Errorf("%s: reference %q has no ratio", r.Name, ref.Name)
			}
		}
	}
	for _, b := range List() {
		if !strings.Contains(progress.String(), b.Name+": done") && !strings.Contains(progress.String(), b.Name+": FAILED") {
			t.Errorf("no progress reported for %s", b.Name)
		}
	}
	for _, want := range []string{"call/native", "call/rv64", "call/cross-cluster", "call/kinds", "wake/idle",
		"interp/linuxsim", "interp/domain", "fault/zero", "fault/zero-recycled", "bank/destroy", "bank/buy-page", "scaling/1", "scaling/2",
		"scaling/2-clusters", "pingpong/smp", "pingpong/multikernel", "pingpong/multikernel-split",
		"queues/per-core", "migrate", "flood/lost", "flood/bystander"} {
		if _, ok := names[want]; !ok {
			t.Errorf("no result %s", want)
		}
	}
	if r := names["flood/lost"]; r.Value != 0 || r.Met == nil || !*r.Met {
		t.Errorf("flooding lost messages: %+v", r)
	}
	for name, r := range names {
		if strings.HasPrefix(name, "flood/queue-") && r.Value > r.Refs[0].Value {
			t.Errorf("%s: a queue held %v entries with %v flooders", name, r.Value, r.Refs[0].Value)
		}
	}
	if _, err := exec.LookPath("qemu-riscv64"); err == nil {
		if r := names["interp/linuxsim"]; len(r.Refs) == 0 || r.Refs[0].Note != "" {
			t.Errorf("qemu-riscv64 is installed but the interpreter was not compared with it: %+v", r.Refs)
		}
	}
}
