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

// BenchmarkDestroyBank measures destroying a bank that holds 1,000,000
// objects (nodes): the call returns with every key to them void. The slots
// are swept later, as allocations need them.
func BenchmarkDestroyBank(b *testing.B) {
	const objects = 1000000
	m, err := New(Config{Topology: "native", Deterministic: true, Memory: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	var probe []Key
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sub := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
		bank := sub.hdr.bankObj()
		probe = probe[:0]
		// Buy through the kernel's buy path directly: a million host
		// calls would take longer than the destruction we measure.
		for j := 0; j < objects; j++ {
			h, rc := m.buy(bank, objNode)
			if rc != abi.RCOk {
				b.Fatalf("buy %d: rc %d", j, rc)
			}
			if j%100000 == 0 {
				probe = append(probe, keyTo(h, abi.KTNode, 0, 0))
			}
		}
		b.StartTimer()
		r, err := m.Call(sub, int64(abi.OCBankDestroy), nil)
		b.StopTimer()
		if err != nil || r.RC != 0 {
			b.Fatalf("destroy: %v rc %d", err, r.RC)
		}
		for _, k := range probe {
			if k.live().kt != 0 {
				b.Fatal("a key to an object of the destroyed bank still works")
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(objects), "objects/op")
}

// BenchmarkBuySellPage measures a native domain buying a page and selling it
// back, inside its own event (synchronous kernel calls).
func BenchmarkBuySellPage(b *testing.B) {
	benchBank(b, true)
}

// BenchmarkBuyPage measures a native domain buying pages (new slots). Run
// it with a bounded -benchtime (e.g. 100000x): each page is 4 KiB of host
// memory.
func BenchmarkBuyPage(b *testing.B) {
	benchBank(b, false)
}

func benchBank(b *testing.B, sell bool) {
	m, err := New(Config{Topology: "native", Memory: uint64(b.N+16) * 4096 * 2})
	if err != nil {
		b.Fatal(err)
	}
	left := b.N
	m.RegisterProgram("buyer", func(x *Ctx) {
		buy := &Msg{Order: int64(abi.OCBankBuyPage), Recv: [4]uint8{3}}
		sellMsg := &Msg{Order: int64(abi.OCBankSell), Keys: [4]uint8{3}, Recv: [4]uint8{4}}
		for i := 0; i < 1000 && left > 0; i++ {
			if rc, _ := x.Call(2, buy); rc != 0 {
				panic("buy failed")
			}
			if sell {
				if rc, _ := x.Call(2, sellMsg); rc != 0 {
					panic("sell failed")
				}
			}
			left--
		}
		if left > 0 {
			x.Fork(0, &Msg{}) // continue in the next event
		}
	})
	dom, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "buyer")
	if err != nil {
		b.Fatal(err)
	}
	m.SetKeyReg(dom, 2, m.PrimeBank())
	m.RunDomain(dom)
	b.ResetTimer()
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if left != 0 {
		b.Fatalf("%d buys left", left)
	}
}
