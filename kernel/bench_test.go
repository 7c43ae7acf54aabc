package kernel

import (
	"context"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// BenchmarkNativeRoundTrip measures a native CALL+RETURN round trip between
// two domains on one core.
func BenchmarkNativeRoundTrip(b *testing.B) {
	s := newTestSys(b, Config{Topology: "native"})
	s.t = nil
	ping, _ := s.pingPongB(b, uint64(b.N))
	b.ResetTimer()
	if err := s.m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := s.regsB(b, ping)[2]; got != uint64(b.N) {
		b.Fatalf("%d good replies, want %d", got, b.N)
	}
}

// BenchmarkChannelRoundTrip is the reference: two goroutines bouncing a
// value over unbuffered channels.
func BenchmarkChannelRoundTrip(b *testing.B) {
	a, c := make(chan int), make(chan int)
	go func() {
		for v := range a {
			c <- v
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a <- i
		<-c
	}
	close(a)
}

func (s *testSys) pingPongB(b *testing.B, n uint64) (ping, pong Key) {
	m := s.m
	mk := func(p string) Key {
		d, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, p)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	pong, ping = mk("pong"), mk("ping")
	start, _ := m.StartKey(pong, 7)
	m.SetKeyReg(ping, int(krPartner), start)
	regs := make([]uint64, abi.RegsNative)
	regs[1] = n
	m.MustCall(ping, int64(abi.OCDomainSetRegs), Words(regs...))
	m.MakeAvailable(pong)
	m.RunDomain(ping)
	return ping, pong
}

func (s *testSys) regsB(b *testing.B, dom Key) []uint64 {
	r := s.m.MustCall(dom, int64(abi.OCDomainGetRegs), nil)
	w := make([]uint64, len(r.Data)/8)
	for i := range w {
		w[i] = r.Word(i)
	}
	return w
}
