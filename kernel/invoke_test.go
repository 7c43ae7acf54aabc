package kernel

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

func TestNativePingPong(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"deterministic", Config{Topology: "native", Deterministic: true, Seed: 1}},
		{"parallel", Config{Topology: "native"}},
		{"smp", Config{Topology: "native:2"}},
		{"two clusters", Config{Topology: "native,native", Deterministic: true, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSys(t, tc.cfg)
			ping, pong := s.pingPong(1000)
			s.run()
			if got := s.regs(ping)[2]; got != 1000 {
				t.Fatalf("ping counted %d good replies, want 1000", got)
			}
			if st := s.state(ping); st != abi.StateAvailable {
				t.Errorf("ping state %d, want available", st)
			}
			if st := s.state(pong); st != abi.StateAvailable {
				t.Errorf("pong state %d, want available", st)
			}
		})
	}
}

// TestRemoteStringLengths sends strings of every length class between
// clusters (empty, inline in the outbox, just past inline, the limit) and
// checks that each comes back from pong intact.
func TestRemoteStringLengths(t *testing.T) {
	lengths := []int{0, 1, outboxInline - 1, outboxInline, outboxInline + 1, 1000, int(abi.LimitString)}
	msg := func(i int) []byte {
		b := make([]byte, lengths[i])
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		return b
	}
	for _, topo := range []string{"native,native", "native:2"} {
		t.Run(topo, func(t *testing.T) {
			s := newTestSys(t, Config{Topology: topo, Deterministic: true, Seed: 5})
			bad := 0
			s.m.RegisterProgram("sizes", func(x *Ctx) {
				r := x.Regs()
				if i := r[0]; i > 0 && string(x.Data()) != string(msg(int(i-1))) {
					bad++
					t.Errorf("length %d: got %d bytes back, want them intact", lengths[i-1], len(x.Data()))
				}
				if int(r[0]) == len(lengths) {
					return
				}
				r[0]++
				x.CallGate(krPartner, &Msg{Data: msg(int(r[0] - 1))})
			})
			pong := s.native("pong")
			sizes := s.native("sizes")
			start, err := s.m.StartKey(pong, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.m.SetKeyReg(sizes, int(krPartner), start); err != nil {
				t.Fatal(err)
			}
			if topo == "native,native" {
				s.m.MustCall(pong, int64(abi.OCDomainSetHome), Words(1))
				s.m.MustCall(sizes, int64(abi.OCDomainSetHome), Words(0))
			}
			if err := s.m.MakeAvailable(pong); err != nil {
				t.Fatal(err)
			}
			if err := s.m.RunDomain(sizes); err != nil {
				t.Fatal(err)
			}
			s.run()
			if got := s.regs(sizes)[0]; got != uint64(len(lengths)) || bad != 0 {
				t.Fatalf("%d of %d strings sent, %d bad", got, len(lengths), bad)
			}
			if topo == "native,native" && s.m.Stats().Messages == 0 {
				t.Fatal("nothing crossed between clusters")
			}
		})
	}
}

// TestKeyRegs checks the packing of four key register numbers: each is
// taken mod 16, and a native program's all-zero Recv means abi.KRRecv0
// to abi.KRRecv0+3.
func TestKeyRegs(t *testing.T) {
	for _, tc := range []struct {
		regs [4]uint8
		want [4]uint8
	}{
		{[4]uint8{0, 0, 0, 0}, [4]uint8{0, 0, 0, 0}},
		{[4]uint8{1, 2, 3, 15}, [4]uint8{1, 2, 3, 15}},
		{[4]uint8{16, 17, 255, 0}, [4]uint8{0, 1, 15, 0}},
		{[4]uint8{0, 0, 0, 9}, [4]uint8{0, 0, 0, 9}},
	} {
		k := packKeyRegs(tc.regs)
		for i := range 4 {
			if got := k.reg(i); got != tc.want[i] {
				t.Errorf("packKeyRegs(%v).reg(%d) = %d, want %d", tc.regs, i, got, tc.want[i])
			}
		}
	}
	def := recvRegs([4]uint8{})
	for i := range 4 {
		if got, want := def.reg(i), uint8(abi.KRRecv0)+uint8(i); got != want {
			t.Errorf("default receive register %d = %d, want %d", i, got, want)
		}
	}
	// A nonzero Recv whose registers are all 0 mod 16 discards: it is not
	// the default.
	if got := recvRegs([4]uint8{16, 0, 0, 0}); got != 0 {
		t.Errorf("recvRegs({16,0,0,0}) = %#x, want 0", got)
	}
}
