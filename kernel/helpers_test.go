package kernel

import (
	"context"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

const (
	krPartner = uint8(abi.KRArg0)      // a start key to the other domain
	krResume  = uint8(abi.KRRecv0 + 3) // where a CALL's resume key lands
)

// pongProgram answers each message through the resume key with the order
// code plus one and the same string.
func pongProgram(x *Ctx) {
	x.Return(krResume, &Msg{Order: x.Order() + 1, Data: x.Data()})
}

// pingProgram CALLs its partner regs[1] times and counts correct replies in
// regs[2]; regs[0] is its step.
func pingProgram(x *Ctx) {
	r := x.Regs()
	if r[0] > 0 && x.Order() == int64(r[0]+1) {
		r[2]++
	}
	if r[0] == r[1] {
		return // done: become available
	}
	r[0]++
	x.CallGate(krPartner, &Msg{Order: int64(r[0])})
}

type testSys struct {
	t *testing.T
	m *Machine
}

func newTestSys(t testing.TB, cfg Config) *testSys {
	t.Helper()
	if cfg.Memory == 0 {
		cfg.Memory = 64 << 20
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterProgram("pong", pongProgram)
	m.RegisterProgram("ping", pingProgram)
	tt, _ := t.(*testing.T)
	return &testSys{t: tt, m: m}
}

// native buys a native domain running program from the prime bank.
func (s *testSys) native(program string) Key {
	d, err := s.m.NewDomain(s.m.PrimeBank(), s.m.PrimeMeter(), abi.KindNative, program)
	if err != nil {
		s.t.Fatal(err)
	}
	return d
}

func (s *testSys) run() {
	if err := s.m.Run(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

func (s *testSys) regs(dom Key) []uint64 {
	r := s.m.MustCall(dom, int64(abi.OCDomainGetRegs), nil)
	w := make([]uint64, len(r.Data)/8)
	for i := range w {
		w[i] = r.Word(i)
	}
	return w
}

func (s *testSys) setRegs(dom Key, w ...uint64) {
	regs := make([]uint64, abi.RegsNative)
	copy(regs, w)
	s.m.MustCall(dom, int64(abi.OCDomainSetRegs), Words(regs...))
}

func (s *testSys) state(dom Key) abi.State {
	return abi.State(s.m.MustCall(dom, int64(abi.OCDomainGetState), nil).Word(int(abi.DomainStateState)))
}

// splitPingPong moves ping (running) to cluster 0 and pong (available) to
// cluster 1, so that every round trip crosses between them. Stopped
// domains move and a running one does not: both are stopped, moved and
// started again.
func (s *testSys) splitPingPong(ping, pong Key) {
	s.m.MustCall(ping, int64(abi.OCDomainStop), nil)
	s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(0))
	s.m.MustCall(pong, int64(abi.OCDomainStop), nil)
	s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(1))
	s.m.MustCall(pong, int64(abi.OCDomainMakeAvailable), nil)
	s.m.MustCall(ping, int64(abi.OCDomainRun), nil)
}

// pingPong sets up ping and pong; ping will make n calls.
func (s *testSys) pingPong(n uint64) (ping, pong Key) {
	return s.pingWith("pong", n, -1, -1)
}

// pingWith sets up ping and a partner running program partner, homed in
// clusters pingHome and partnerHome (-1: where the kernel puts them);
// ping will make n calls.
func (s *testSys) pingWith(partner string, n uint64, pingHome, partnerHome int) (ping, pong Key) {
	pong = s.native(partner)
	ping = s.native("ping")
	if pingHome >= 0 {
		s.m.MustCall(ping, int64(abi.OCDomainSetHome), Words(uint64(pingHome)))
	}
	if partnerHome >= 0 {
		s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(uint64(partnerHome)))
	}
	start, err := s.m.StartKey(pong, 7)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.m.SetKeyReg(ping, int(krPartner), start); err != nil {
		s.t.Fatal(err)
	}
	s.setRegs(ping, 0, n, 0)
	if err := s.m.MakeAvailable(pong); err != nil {
		s.t.Fatal(err)
	}
	if err := s.m.RunDomain(ping); err != nil {
		s.t.Fatal(err)
	}
	return ping, pong
}
