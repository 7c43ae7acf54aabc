package linuxsim

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

func readTestELF(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkInterpreter runs the CPU-bound bench program (full scale) on the
// interpreter and reports its speed in MIPS.
func BenchmarkInterpreter(b *testing.B) {
	elfBytes := readTestELF(b, "bench.elf")
	var insns uint64
	var elapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		_, n, err := Run(elfBytes, []string{"bench"}, io.Discard, 0)
		elapsed += time.Since(t)
		if err != nil {
			b.Fatal(err)
		}
		insns += n
	}
	b.ReportMetric(float64(insns)/elapsed.Seconds()/1e6, "MIPS")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(insns), "ns/insn")
}

// BenchmarkVersusQEMU runs the bench program on the interpreter and under
// qemu-riscv64 in each iteration and reports the interpreter's time over
// QEMU's (qemu-x) and both speeds in MIPS.
func BenchmarkVersusQEMU(b *testing.B) {
	qemu, err := exec.LookPath("qemu-riscv64")
	if err != nil {
		b.Skip("qemu-riscv64 not installed")
	}
	elfBytes := readTestELF(b, "bench.elf")
	var insns uint64
	var sim, qem time.Duration
	for b.Loop() {
		var simOut bytes.Buffer
		t := time.Now()
		_, n, err := Run(elfBytes, []string{"bench"}, &simOut, 0)
		sim += time.Since(t)
		if err != nil {
			b.Fatal(err)
		}
		insns += n
		cmd := exec.Command(qemu, "../testdata/bench.elf")
		var qOut bytes.Buffer
		cmd.Stdout = &qOut
		t = time.Now()
		err = cmd.Run()
		qem += time.Since(t)
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			b.Fatal(err)
		}
		if !bytes.Equal(simOut.Bytes(), qOut.Bytes()) {
			b.Fatalf("outputs differ:\nsim:\n%s\nqemu:\n%s", simOut.Bytes(), qOut.Bytes())
		}
	}
	b.ReportMetric(sim.Seconds()/qem.Seconds(), "qemu-x")
	b.ReportMetric(float64(insns)/sim.Seconds()/1e6, "MIPS")
	b.ReportMetric(float64(insns)/qem.Seconds()/1e6, "qemu-MIPS")
}
