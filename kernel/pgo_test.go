package kernel

import (
	"os"
	"os/exec"
	"path"
	"strings"
	"testing"
)

// hotInlining lists what the compiler must do on the invocation fast path.
// Most of it the code is written to get with or without the PGO profile
// the keyfish command is built with (cmd/keyfish/default.pgo): small
// functions for the usual cases, tested for at the call site, and direct
// calls of each CPU kind. A native round trip built without the profile
// ran 16% more instructions before (BENCHMARKS.md, session 20). The rest
// (profile set) comes from the profile alone, which names each hot call by
// its line offset in the calling function: an edit that moves a hot call,
// or a profile made anew, can lose it.
var hotInlining = []struct {
	file, decision, why string
	profile             bool
}{
	{"native.go", "inlining call to (*Core).leaseCovers", "a native event's meter check", false},
	{"native.go", "inlining call to (*Core).countNative", "a native event's charge", false},
	{"rv64kind.go", "inlining call to (*Core).leaseCovers", "an rv64 run's meter check", false},
	{"fastpath.go", "inlining call to (*Domain).takeFourth", "the fast path's key move", false},
	{"fastpath.go", "inlining call to (*nativeRegs).receive", "a native target's receive on the fast path", false},
	{"driver.go", "inlining call to (*Core).fastInvoke", "execute performs a fast-path invocation without a call", true},
}

// TestHotPathInlining builds the kernel with the keyfish command's profile
// and without it, and checks the decisions of hotInlining. When a
// profile decision is lost after an edit, move the edit so that the hot
// call keeps its offset, or regenerate the profile with make pgo and
// measure before and after (BENCHMARKS.md).
func TestHotPathInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package again")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	for _, pgo := range []string{"../cmd/keyfish/default.pgo", "off"} {
		out, err := exec.Command(goTool, "build", "-pgo="+pgo, "-gcflags=-m", "-o", os.DevNull, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go build -pgo=%s -gcflags=-m: %v\n%s", pgo, err, out)
		}
		for _, h := range hotInlining {
			if h.profile && pgo == "off" {
				continue
			}
			if !reported(string(out), h.file, h.decision) {
				t.Errorf("-pgo=%s: %s: the compiler no longer reports %q (%s)", pgo, h.file, h.decision, h.why)
			}
		}
	}
}

// reported reports whether the compiler's output out has decision (parts
// separated by " ... " may have anything between them) for file.
func reported(out, file, decision string) bool {
	for l := range strings.Lines(out) {
		// The file is named from the module's root or from the package's
		// directory, depending on where the build (or the build cache's
		// copy of its output) ran.
		name, _, _ := strings.Cut(l, ":")
		if path.Base(name) == file && containsAll(l, strings.Split(decision, " ... ")) {
			return true
		}
	}
	return false
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
