package services_test

import (
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/services"
)

// faulter CALLs the keeper in key register 9 once with a fault message for
// offset register 0 of the red node in key register 8, as the kernel does
// for a missing page, and keeps the keeper's answer (0: served) in
// register 2.
func faulter(x *kernel.Ctx) {
	r := x.Regs()
	if r[1] == 0 {
		r[1] = 1
		w := make([]uint64, abi.TrapMsgWords)
		w[abi.TrapMsgCode] = uint64(abi.TrapFault)
		w[abi.TrapMsgDetail] = uint64(abi.FaultNotMapped)
		w[abi.TrapMsgOffset] = r[0]
		x.CallGate(krStart, &kernel.Msg{Order: int64(abi.TrapFault), Data: kernel.Words(w...), Keys: [4]uint8{krDomain}})
		return
	}
	r[2] = uint64(x.Order())
}

// window is a two-level zero window built by hand, so that the test holds
// node keys to its tree: a red node, and a root whose slots hold leaves.
type window struct{ red, root kernel.Key }

func (e *env) window() window {
	bank := e.m.PrimeBank()
	w := window{red: e.call(bank, abi.OCBankBuyNode, nil).Keys[0], root: e.call(bank, abi.OCBankBuyNode, nil).Keys[0]}
	e.call(w.red, abi.OCNodeSwap, kernel.Words(uint64(abi.ZeroTreeSlot)), w.root)
	e.call(w.red, abi.OCNodeSwap, kernel.Words(uint64(abi.ZeroBankSlot)), bank)
	e.call(w.red, abi.OCNodeWriteData, kernel.Words(uint64(abi.RedFormatSlot), 2|uint64(abi.ZeroKeeperSlot)<<uint(abi.RedKeeperShift)))
	return w
}

// mapped reports whether a page is mapped at off in w.
func (e *env) mapped(w window, off uint64) bool {
	leaf := e.call(w.root, abi.OCNodeFetch, kernel.Words(off>>16&15)).Keys[0]
	if leaf.Type() != abi.KTNode {
		return false
	}
	return e.call(leaf, abi.OCNodeFetch, kernel.Words(off>>12&15)).Keys[0].Type() == abi.KTPage
}

// TestZeroKeeperServes drives the zero keeper with fault messages: the
// first fault in a 64 KiB walks the tree, the next ones use the node it
// remembered, and neither a node that has left the tree nor a fault in
// another window can make it map a page in the wrong place.
func TestZeroKeeperServes(t *testing.T) {
	e := newEnv(t, kernel.Config{Topology: "rv64+native", Deterministic: true, Seed: 1})
	e.m.RegisterProgram("faulter", faulter)
	zero, err := services.StartZero(e.m, e.m.PrimeBank(), e.m.PrimeMeter())
	if err != nil {
		t.Fatal(err)
	}
	fault := func(w window, off uint64) {
		t.Helper()
		f := e.native("faulter", map[uint8]kernel.Key{krDomain: w.red, krStart: zero}, off)
		e.run()
		if regs := e.call(f, abi.OCDomainGetRegs, nil); regs.Word(1) != 1 || regs.Word(2) != 0 {
			t.Fatalf("fault at %#x: answered %d (phase %d), want 0 (served)", off, int64(regs.Word(2)), regs.Word(1))
		}
	}
	w := e.window()
	for _, off := range []uint64{0x0000, 0x1000, 0x5000, 0x12000} {
		fault(w, off)
		if !e.mapped(w, off) {
			t.Fatalf("no page at %#x after its fault was served", off)
		}
	}

	// The leaf for 0x10000 to 0x1ffff leaves the tree, replaced by an empty
	// node: a fault there is served into the remembered, detached leaf
	// (nothing to see in the tree), and its retry, at the same address,
	// walks the tree.
	fault(w, 0x13000) // remember the leaf in root slot 1 (0x10000 to 0x1ffff)
	fresh := e.call(e.m.PrimeBank(), abi.OCBankBuyNode, nil).Keys[0]
	e.call(w.root, abi.OCNodeSwap, kernel.Words(1), fresh)
	fault(w, 0x14000)
	fault(w, 0x14000)
	if !e.mapped(w, 0x14000) {
		t.Fatal("a fault repeated at the same address was not served through the tree")
	}

	// Another window: its faults map pages in its own tree, even at the
	// same offset as the remembered leaf of the first.
	w2 := e.window()
	fault(w2, 0x14000+0x1000)
	if !e.mapped(w2, 0x15000) {
		t.Fatal("a fault in a second window did not map a page there")
	}
	if e.mapped(w, 0x15000) {
		t.Fatal("a fault in a second window mapped a page in the first")
	}
}
