package bench

import (
	"testing"
	"time"
)

// The key benchmarks in go test -bench form: each does b.N of its unit of
// work and also reports the figure keyfish bench reports. Run them with
// their references, in the same run:
//
//	go test -run NONE -bench . ./bench/

func benchEnv() *env { return &env{opts: Options{Timeout: 10 * time.Minute}, count: 1} }

func report(b *testing.B, m measure, unit string) {
	b.Helper()
	v, err := m()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(v, unit)
}

// BenchmarkCallNative is a native CALL+RETURN round trip on one core.
func BenchmarkCallNative(b *testing.B) {
	report(b, benchEnv().nativeRT("native", -1, -1, b.N), "ns/roundtrip")
}

// BenchmarkCallCrossCluster is a native round trip between two one-core
// clusters.
func BenchmarkCallCrossCluster(b *testing.B) {
	report(b, benchEnv().nativeRT("native,native", 0, 1, b.N), "ns/roundtrip")
}

// BenchmarkCallRV64 is a round trip between the rv64 ping and pong images
// on one core (including loading and start-up: keyfish bench subtracts
// them).
func BenchmarkCallRV64(b *testing.B) {
	e := benchEnv()
	d, err := ppSpec{topo: "rv64,native", pairs: 1}.run(e, max(b.N, 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.Nanoseconds())/float64(max(b.N, 1)), "ns/roundtrip")
}

// BenchmarkZeroFault is a page fault served by the zero keeper (b.N pages
// touched, at most the heap's 65536): in a native cluster of its own, and
// on the faulting core (a cluster of both kinds).
func BenchmarkZeroFault(b *testing.B) {
	for _, topo := range []string{"rv64,native", "rv64+native"} {
		b.Run(topo, func(b *testing.B) {
			n := min(b.N, 65536)
			d, faults, _, err := benchEnv().touchRun(topo, n, false)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(d.Nanoseconds())/float64(faults), "ns/fault")
		})
	}
}

// BenchmarkInterpDomain runs b.N rounds of the compute image as a domain.
func BenchmarkInterpDomain(b *testing.B) {
	d, insns, _, err := benchEnv().domainRun(b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(insns)/d.Seconds()/1e6, "MIPS")
}

// BenchmarkRefChannel is the Go channel round trip reference.
func BenchmarkRefChannel(b *testing.B) {
	report(b, func() (float64, error) { return channelRT(b.N) }, "ns/roundtrip")
}

// BenchmarkRefPipe is the Linux pipe round trip reference.
func BenchmarkRefPipe(b *testing.B) {
	if _, err := pipeRT(1); err != nil {
		b.Skip(err)
	}
	report(b, func() (float64, error) { return pipeRT(b.N) }, "ns/roundtrip")
}

// BenchmarkRefRing is the two-line round trip reference, as a plain mean
// over b.N round trips (keyfish bench reports the fastest batch instead).
func BenchmarkRefRing(b *testing.B) {
	d := bounceAttempt(1, max(b.N, 1), time.Now().Add(time.Hour), true)
	b.ReportMetric(float64(d.Nanoseconds())/float64(max(b.N, 1)), "ns/roundtrip")
}

// BenchmarkRefBounce is the cache-line bounce reference, as a plain mean
// over b.N round trips (keyfish bench reports the fastest batch instead).
func BenchmarkRefBounce(b *testing.B) {
	d := bounceAttempt(1, max(b.N, 1), time.Now().Add(time.Hour), false)
	b.ReportMetric(float64(d.Nanoseconds())/float64(max(b.N, 1)), "ns/roundtrip")
}
