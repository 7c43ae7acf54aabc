package kernel

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// A few RV64I encodings, enough for hand-written test programs.
func rvI(op, funct3, rd, rs1 uint32, imm int32) uint32 {
	return uint32(imm)<<20 | rs1<<15 | funct3<<12 | rd<<7 | op
}
func rvLd(rd, rs1 uint32, imm int32) uint32   { return rvI(0x03, 3, rd, rs1, imm) }
func rvAddi(rd, rs1 uint32, imm int32) uint32 { return rvI(0x13, 0, rd, rs1, imm) }
func rvSd(rs2, rs1 uint32, imm int32) uint32 {
	u := uint32(imm)
	return (u>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | 3<<12 | (u&0x1f)<<7 | 0x23
}
func rvLui(rd uint32, imm20 uint32) uint32 { return imm20<<12 | rd<<7 | 0x37 }
func rvJal(rd uint32, off int32) uint32 {
	u := uint32(off)
	return (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12 | rd<<7 | 0x6f
}

func rvProgram(insns ...uint32) []byte {
	b := make([]byte, 4*len(insns))
	for i, w := range insns {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// The TLB invariant: once an operation that removes or weakens a mapping
// has returned, no domain on any core can use the old mapping.
//
// An rv64 domain R loops over a page P mapped at 0x1000: it reads P[0] and
// stores what it read at S[8] (S at 0x2000), or (in the write variants)
// increments P[0]; S[0] counts iterations. A native domain C on another core
// waits until R is running, then removes or weakens the mapping (node slot
// swap, page sold, read-only key), and when that call has returned writes a
// new value into P (or reads P twice). R must fault, and must never see the
// value written after the call returned (or write after it returned). In
// the "format" variant the space is a red segment whose format C rewrites
// to map two slots instead of three: S goes, and R must not write it after
// the call returned.
func TestTLBInvariant(t *testing.T) {
	ops := []string{"unmap", "sell", "readonly", "format"}
	modes := []struct {
		name string
		cfg  Config
	}{
		{"multicore", Config{Topology: "rv64:2,native"}},
		{"deterministic", Config{Topology: "rv64:2,native", Deterministic: true}},
	}
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	for _, mode := range modes {
		for _, op := range ops {
			t.Run(mode.name+"/"+op, func(t *testing.T) {
				for i := 0; i < rounds; i++ {
					cfg := mode.cfg
					cfg.Seed = uint64(i)
					tlbRound(t, cfg, op)
				}
			})
		}
	}
}

const (
	tlbOld = 0x1111111111111111
	tlbNew = 0x2222222222222222
)

func tlbRound(t *testing.T, cfg Config, op string) {
	cfg.Memory = 16 << 20
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bank := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	buy := func(order abi.OC) Key { return m.MustCall(bank, int64(order), nil).Keys[0] }
	code, p, s, node := buy(abi.OCBankBuyPage), buy(abi.OCBankBuyPage), buy(abi.OCBankBuyPage), buy(abi.OCBankBuyNode)
	write := op == "readonly"
	var prog []byte
	if write {
		prog = rvProgram(
			rvLui(6, 1), rvLui(7, 2), // x6 = P, x7 = S
			rvLd(5, 6, 0), rvAddi(5, 5, 1), rvSd(5, 6, 0), // P[0]++
			rvLd(28, 7, 0), rvAddi(28, 28, 1), rvSd(28, 7, 0), // S[0]++
			rvJal(0, -24),
		)
	} else {
		prog = rvProgram(
			rvLui(6, 1), rvLui(7, 2),
			rvLd(5, 6, 0), rvSd(5, 7, 8), // S[8] = P[0]
			rvLd(28, 7, 0), rvAddi(28, 28, 1), rvSd(28, 7, 0), // S[0]++
			rvJal(0, -20),
		)
	}
	m.MustCall(code, int64(abi.OCPageWrite), append(Words(0), prog...))
	m.MustCall(p, int64(abi.OCPageWrite), Words(0, tlbOld))
	roCode := m.MustCall(code, int64(abi.OCPageWeaken), nil).Keys[0]
	m.MustCall(node, int64(abi.OCNodeSwap), Words(0), roCode)
	m.MustCall(node, int64(abi.OCNodeSwap), Words(1), p)
	m.MustCall(node, int64(abi.OCNodeSwap), Words(2), s)
	redFormat := func(slots uint64) uint64 {
		return 1 | slots<<uint(abi.RedSlotsShift) | 14<<uint(abi.RedKeeperShift) // slot 14 is empty: no keeper
	}
	var space Key
	if op == "format" {
		m.MustCall(node, int64(abi.OCNodeWriteData), Words(uint64(abi.RedFormatSlot), redFormat(3)))
		space = m.MustCall(node, int64(abi.OCNodeMakeSegment), Words(1, uint64(abi.FlagRed))).Keys[0]
	} else {
		space = m.MustCall(node, int64(abi.OCNodeMakeSegment), Words(1, 0)).Keys[0]
	}
	r := m.MustCall(bank, int64(abi.OCBankBuyDomain), Words(uint64(abi.KindRV64))).Keys[0]
	m.MustCall(r, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotMeter)), m.PrimeMeter())
	m.MustCall(r, int64(abi.OCDomainSetSlot), Words(uint64(abi.SlotSpace)), space)
	m.MustCall(r, int64(abi.OCDomainSetRegs), Words(make([]uint64, abi.RegsWords)...))

	// C: key registers 1 node, 2 P, 3 S, 4 bank; regs[0] step, regs[1]
	// P[0] read after the call returned.
	var after [2]uint64
	var steps int
	watched := uint8(2) // the page R must stop writing: P, or S for "format"
	faultAt := uint64(0x1000)
	if op == "format" {
		watched, faultAt = 3, 0x2000
	}
	m.RegisterProgram("tlb-c", func(x *Ctx) {
		regs := x.Regs()
		steps++
		switch regs[0] {
		case 0: // wait until R has run some iterations
			_, data := x.Call(3, &Msg{Order: int64(abi.OCPageRead), Data: Words(0, 8)})
			if binary.LittleEndian.Uint64(data) < 50 {
				x.Fork(0, &Msg{})
				return
			}
			regs[0] = 1
			switch op {
			case "unmap":
				x.Call(1, &Msg{Order: int64(abi.OCNodeSwap), Data: Words(1)})
			case "sell":
				x.Call(4, &Msg{Order: int64(abi.OCBankSell), Keys: [4]uint8{2}})
			case "readonly":
				x.Call(2, &Msg{Order: int64(abi.OCPageWeaken), Recv: [4]uint8{5}})
				x.Call(1, &Msg{Order: int64(abi.OCNodeSwap), Data: Words(1), Keys: [4]uint8{5}})
			case "format":
				x.Call(1, &Msg{Order: int64(abi.OCNodeWriteData), Data: Words(uint64(abi.RedFormatSlot), redFormat(2))})
			}
			// The calls above changed a mapping: this final invocation
			// is held until the grace period has passed, so the program
			// runs again (step 1) only after the change is complete.
			x.Fork(0, &Msg{})
		case 1:
			regs[0] = 2
			switch op {
			case "unmap":
				x.Call(2, &Msg{Order: int64(abi.OCPageWrite), Data: Words(0, tlbNew)})
			case "sell":
				// Buy pages until one reuses P's frame is likely; write
				// the new value into each.
				for range 4 {
					x.Call(4, &Msg{Order: int64(abi.OCBankBuyPage), Recv: [4]uint8{6}})
					x.Call(6, &Msg{Order: int64(abi.OCPageWrite), Data: Words(0, tlbNew)})
				}
			case "readonly", "format":
				_, data := x.Call(watched, &Msg{Order: int64(abi.OCPageRead), Data: Words(0, 8)})
				after[0] = binary.LittleEndian.Uint64(data)
			}
			x.Fork(0, &Msg{})
		case 2:
			if op == "readonly" || op == "format" {
				_, data := x.Call(watched, &Msg{Order: int64(abi.OCPageRead), Data: Words(0, 8)})
				after[1] = binary.LittleEndian.Uint64(data)
				// give R every chance to write through a stale entry
				if regs[1]++; regs[1] < 200 {
					x.Fork(0, &Msg{})
					return
				}
			}
		}
	})
	c, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "tlb-c")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []Key{node, p, s, bank} {
		m.SetKeyReg(c, i+1, k)
	}
	m.RunDomain(r)
	m.RunDomain(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("%s: run: %v (C took %d steps)", op, err, steps)
	}
	st := m.MustCall(r, int64(abi.OCDomainGetState), nil)
	trap, addr := abi.Trap(st.Word(int(abi.DomainStateTrap))), st.Word(int(abi.DomainStateAddr))
	if abi.State(st.Word(int(abi.DomainStateState))) != abi.StateStopped || trap != abi.TrapFault || addr&^0xfff != faultAt {
		t.Fatalf("%s: R is in state %d, trap %d at %#x; want stopped by a fault in the page at %#x",
			op, st.Word(int(abi.DomainStateState)), trap, addr, faultAt)
	}
	sdata := m.MustCall(s, int64(abi.OCPageRead), Words(0, 16)).Data
	seen := binary.LittleEndian.Uint64(sdata[8:])
	switch op {
	case "unmap", "sell":
		if seen == tlbNew {
			t.Fatalf("%s: R read the value written after the call returned: the old mapping was used", op)
		}
	case "format":
		if after[0] != after[1] {
			t.Fatalf("format: S[0] changed from %d to %d after the call that unmapped it returned", after[0], after[1])
		}
	case "readonly":
		if after[0] != after[1] {
			t.Fatalf("readonly: P[0] changed from %d to %d after the call that made it read-only returned", after[0], after[1])
		}
	}
	if err := m.Check(); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", op, err))
	}
}
