package images

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/internal/rv64/linuxsim"
)

// TestLinuxExamplesAgainstQEMU runs the Linux-ABI builds of the console
// examples on the simulator (with its Linux shim) and under qemu-riscv64,
// and compares their output and exit status: the example programs' part of
// the differential test (internal/rv64 has the instruction-level part).
func TestLinuxExamplesAgainstQEMU(t *testing.T) {
	needTools(t, "qemu-riscv64")
	for _, name := range []string{"hello", "compute", "malloc"} {
		t.Run(name, func(t *testing.T) {
			img, ok := Get("linux/" + name)
			if !ok {
				t.Fatalf("no linux/%s image", name)
			}
			args := []string{name}
			if a, err := os.ReadFile(filepath.Join("..", "sdk", "examples", name+".args")); err == nil {
				args = append(args, strings.Fields(string(a))...)
			}
			if name == "compute" {
				args = []string{name, "10"}
			}
			var simOut bytes.Buffer
			simStatus, _, err := linuxsim.Run(img, args, &simOut, 0)
			if err != nil {
				t.Fatalf("simulator: %v", err)
			}
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, img, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("qemu-riscv64", append([]string{"-0", name, path}, args[1:]...)...)
			var qOut bytes.Buffer
			cmd.Stdout = &qOut
			qStatus := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("qemu-riscv64: %v", err)
				}
				qStatus = ee.ExitCode()
			}
			if simStatus != qStatus || simOut.String() != qOut.String() {
				t.Fatalf("simulator: status %d, output %q\nqemu:      status %d, output %q", simStatus, simOut.String(), qStatus, qOut.String())
			}
			if simOut.Len() == 0 {
				t.Fatal("no output to compare")
			}
		})
	}
}
