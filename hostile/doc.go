// Package hostile attacks the Keyfish kernel from user mode and checks that
// its guarantees hold (see SECURITY.md, which names the test behind each).
//
// The hostile programs are real RISC-V programs (sdk/hostile/NAME.c, built
// into images/hostile/NAME.elf). Each test runs one beside well-behaved
// programs (ping and pong making round trips, compute) on several
// topologies: two rv64 cores sharing a ready queue in parallel mode, and
// two single-core rv64 clusters in deterministic mode under several seeds.
// After every run the test asserts that the kernel is up, the machine-wide
// invariant checker (kernel.Machine.Check) passes, the well-behaved
// programs finished their work, and the hostile program got the documented
// result: a refusal code, a trap to its keeper, preemption, or a stop.
//
// The package also holds the fuzz targets of the ecall interface
// (FuzzEcall) and of random invocation sequences across clusters
// (FuzzInvocations), and the random-invocation soak test (TestSoak).
// It has no non-test code.
package hostile
