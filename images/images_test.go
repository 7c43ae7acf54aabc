package images

import (
	"os"
	"os/exec"
	"testing"
)

// needTools skips when the RISC-V tools are missing, unless
// KEYFISH_REQUIRE_TOOLS=1 (CI), where that is a failure.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("KEYFISH_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is missing (KEYFISH_REQUIRE_TOOLS=1): install it with `make tools`", tool)
			}
			t.Skipf("%s missing, skipping (install with `make tools`)", tool)
		}
	}
}

// TestImagesRebuild checks that the SDK rebuilds exactly the committed
// images, and that the Linux-ABI builds print what they should under
// qemu-riscv64.
func TestImagesRebuild(t *testing.T) {
	needTools(t, "riscv64-unknown-elf-gcc", "qemu-riscv64", "make")
	if testing.Short() {
		t.Skip("rebuilding the images takes a while")
	}
	for _, target := range []string{"check-images", "test-linux"} {
		cmd := exec.Command("make", "-s", "-C", "../sdk", target, "OBJ=build/test-"+target)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -C sdk %s: %v\n%s", target, err, out)
		}
	}
}

func TestNames(t *testing.T) {
	names := Names()
	want := map[string]bool{"hello": true, "ping": true, "pong": true, "pager": true, "pagertest": true,
		"outgrow": true, "spinner": true, "compute": true, "malloc": true}
	for _, n := range names {
		delete(want, n)
		if _, ok := Get(n); !ok {
			t.Errorf("Get(%q) failed", n)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing images: %v (have %v)", want, names)
	}
	if _, ok := Get("linux/hello"); !ok {
		t.Fatal("no linux/hello")
	}
}
