package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTouchRebuild checks that testdata/touch.elf is what its Makefile
// builds from touch.S. Without the RISC-V compiler it is skipped, unless
// KEYFISH_REQUIRE_TOOLS=1 (CI), where that is a failure.
func TestTouchRebuild(t *testing.T) {
	for _, tool := range []string{"riscv64-unknown-elf-gcc", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("KEYFISH_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is missing (KEYFISH_REQUIRE_TOOLS=1): install it with `make tools`", tool)
			}
			t.Skipf("%s missing, skipping", tool)
		}
	}
	dir := t.TempDir()
	out, err := exec.Command("make", "-s", "-C", "testdata", "OUT="+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make -C bench/testdata: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "touch.elf"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, touchELF) {
		t.Fatal("bench/testdata/touch.elf differs from a fresh build: rebuild it with make -C bench/testdata and commit it")
	}
}
