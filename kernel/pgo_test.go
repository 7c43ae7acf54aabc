package kernel

import (
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// hotInlining lists what the compiler does on the invocation fast path
// only because the PGO profile the keyfish command is built with
// (cmd/keyfish/default.pgo) marks the call hot. Without the profile a
// native round trip runs 16% more instructions, and the profile names each
// call by its line offset in the calling function: an edit that moves a
// hot call, or a profile made anew, can silently lose one of these
// (BENCHMARKS.md, sessions 17 to 19).
var hotInlining = []struct {
	file, decision, why string
}{
	{"driver.go", "inlining call to (*Core).afterRun", "execute handles its event's end without a call"},
	{"driver.go", "PGO devirtualizing interface call ... to (*rvKind).run", "an rv64 event's run is a direct call"},
	{"native.go", "inlining call to (*Core).meterFor", "a native event's meter check"},
	{"native.go", "inlining call to (*Core).chargeNative", "a native event's charge"},
	{"fastpath.go", "inlining call to (*Domain).takeKeys", "the fast path's key move"},
	{"fastpath.go", "inlining call to (*rvKind).receive", "an rv64 target's receive on the fast path"},
}

// TestHotPathInlining builds the kernel with the keyfish command's profile
// and checks the decisions of hotInlining. When it fails after an edit,
// move the edit so that the hot calls keep their offsets (or regenerate
// the profile with make pgo and measure before and after: BENCHMARKS.md).
func TestHotPathInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package again")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	out, err := exec.Command(goTool, "build", "-pgo=../cmd/keyfish/default.pgo", "-gcflags=-m", "-o", os.DevNull, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, h := range hotInlining {
		found := false
		for l := range strings.Lines(string(out)) {
			// The file is named from the module's root or from the
			// package's directory, depending on where the build (or the
			// build cache's copy of its output) ran.
			name, _, _ := strings.Cut(l, ":")
			if path.Base(name) == h.file && containsAll(l, strings.Split(h.decision, " ... ")) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: the compiler no longer reports %q (%s)", h.file, h.decision, h.why)
		}
	}
}

// containsAll reports whether s contains every one of parts.
func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
