package system

import (
	"context"
	"fmt"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/internal/conbuf"
	"github.com/keyfish-os/keyfish/kernel"
)

// BenchmarkRV64RoundTrip measures a CALL+RETURN round trip between the
// ping and pong images: on one rv64 core, and between two one-core rv64
// clusters. Loading is outside the timer; start-up and exit are inside,
// a constant that keyfish bench subtracts and b.N makes small here.
func BenchmarkRV64RoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name, topo         string
		pingHome, pongHome uint64
	}{
		{"one-core", "rv64,native", 0, 0},
		{"two-clusters", "rv64,rv64,native", 0, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			con := &conbuf.Buffer{}
			s, err := New(kernel.Config{Topology: tc.topo, Memory: 64 << 20, Console: con})
			if err != nil {
				b.Fatal(err)
			}
			load := func(name string, home uint64, opt Options) *Proc {
				img, _ := images.Get(name)
				p, err := s.Load(name, img, opt)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.M.Call(p.Domain, int64(abi.OCDomainSetHome), kernel.Words(home)); err != nil {
					b.Fatal(err)
				}
				return p
			}
			pong := load("pong", tc.pongHome, Options{})
			start, err := s.M.StartKey(pong.Domain, 0)
			if err != nil {
				b.Fatal(err)
			}
			ping := load("ping", tc.pingHome, Options{Args: []string{"ping", fmt.Sprint(b.N)},
				Keys: map[int]kernel.Key{int(abi.KRArg0): start}})
			if err := pong.Start(); err != nil {
				b.Fatal(err)
			}
			if err := ping.Start(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := s.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if want := fmt.Sprintf("ping: %d round trips ok\n", b.N); con.String() != want {
				b.Fatalf("console %q, want %q", con.String(), want)
			}
			b.ReportMetric(float64(s.M.Stats().Ticks)/float64(b.N), "insns/op")
		})
	}
}
