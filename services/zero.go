// Package services holds native system services: programs that run as
// native domains and serve other domains through keys.
package services

import (
	"encoding/binary"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// Key registers of the zero keeper.
const (
	zeroSelf  = 1                      // its own start key, put in the segments it makes
	zeroLWin  = 3                      // the red node of the last window served
	zeroLLeaf = 4                      // the node that maps the 16 pages around the last fault
	zeroLBank = 5                      // the last window's bank
	zeroBank  = 10                     // scratch: the bank of the faulting segment
	zeroNode  = 11                     // scratch: the node being walked
	zeroChild = 9                      // scratch: a child node or a new page
	zeroRed   = uint8(abi.KRRecv0)     // received key 0: the red node
	zeroReply = uint8(abi.KRRecv0 + 3) // received key 3: a resume or restart key
)

// ZeroName is the name the zero keeper is registered under.
const ZeroName = "zero"

// Zero is the demand-zero segment keeper: it serves faults in red windows
// (abi.Zero) by buying zero pages, and the nodes to hold them, from the
// window's bank. A window that cannot be served (its bank refuses, or the
// fault is not a missing page) is declined: the trap goes on to the
// domain's keeper. Register 0 counts the faults served.
//
// It remembers the node that maps the last fault's 64 KiB (registers 1
// and 2, key registers zeroLWin to zeroLBank), so that the next fault
// there, the common case of a heap or stack growing, costs two kernel
// calls instead of a walk from the window's root. Only the keeper changes
// its trees; should the remembered node nevertheless have left the tree,
// the instruction faults again at the same address, and a second fault at
// the address it served last is always served by the walk.
//
// Orders: a fault (abi.TrapFault, from the kernel); abi.OCZeroMakeSegment
// [size] with key 0 a bank, answered with key 0 a window segment key;
// abi.OCZeroStats, answered with [faults served].
func Zero(x *kernel.Ctx) {
	switch x.Order() {
	case int64(abi.TrapFault):
		x.Return(zeroReply, &kernel.Msg{Order: zeroFault(x)})
	case int64(abi.OCZeroMakeSegment):
		rc := zeroMake(x)
		x.Return(zeroReply, &kernel.Msg{Order: rc, Keys: [4]uint8{zeroNode}})
	case int64(abi.OCZeroStats):
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], x.Regs()[0])
		x.Return(zeroReply, &kernel.Msg{Data: b[:]})
	default:
		x.Return(zeroReply, &kernel.Msg{Order: int64(abi.RCUnknownOrder)})
	}
}

func call(x *kernel.Ctx, kr uint8, order abi.OC, dst uint8, keys [4]uint8, words ...uint64) int64 {
	var buf [16]byte
	for i, w := range words {
		binary.LittleEndian.PutUint64(buf[8*i:], w)
	}
	rc, _ := x.Call(kr, &kernel.Msg{Order: int64(order), Data: buf[:8*len(words)], Keys: keys, Recv: [4]uint8{dst}})
	return rc
}

// zeroFault serves a fault and returns the order for the restart key: 0
// to retry the instruction, nonzero to decline.
func zeroFault(x *kernel.Ctx) int64 {
	if abi.Fault(x.Word(int(abi.TrapMsgDetail))) != abi.FaultNotMapped {
		return 1
	}
	off := x.Word(int(abi.TrapMsgOffset))
	r := x.Regs()
	if r[1] == off>>16+1 && r[2] != off+1 &&
		x.SameKey(zeroRed, zeroLWin) &&
		call(x, zeroLBank, abi.OCBankBuyPage, zeroChild, [4]uint8{}) == 0 {
		call(x, zeroLLeaf, abi.OCNodeSwap, 0, [4]uint8{zeroChild}, off>>12&15)
		r[0]++
		r[2] = off + 1
		return 0
	}
	r[1], r[2] = 0, 0
	// The window's format gives its size; invoking a data key returns it.
	if call(x, zeroRed, abi.OCNodeFetch, zeroChild, [4]uint8{}, uint64(abi.RedFormatSlot)) != 0 {
		return 1
	}
	rc, _ := x.Call(zeroChild, &kernel.Msg{})
	size := int(rc & 0xff)
	if size < 1 || size > int(abi.LimitMaxSegSize) ||
		call(x, zeroRed, abi.OCNodeFetch, zeroBank, [4]uint8{}, uint64(abi.ZeroBankSlot)) != 0 ||
		call(x, zeroRed, abi.OCNodeFetch, zeroNode, [4]uint8{}, uint64(abi.ZeroTreeSlot)) != 0 ||
		x.KeyType(zeroNode) != abi.KTNode {
		return 1
	}
	for ; size > 1; size-- {
		slot := off >> (12 + 4*uint(size-1)) & 15
		if call(x, zeroNode, abi.OCNodeFetch, zeroChild, [4]uint8{}, slot) != 0 {
			return 1
		}
		if x.KeyType(zeroChild) != abi.KTNode {
			if rc := call(x, zeroBank, abi.OCBankBuyNode, zeroChild, [4]uint8{}); rc != 0 {
				return rc
			}
			call(x, zeroNode, abi.OCNodeSwap, 0, [4]uint8{zeroChild}, slot)
		}
		x.Move(zeroNode, zeroChild)
	}
	if rc := call(x, zeroBank, abi.OCBankBuyPage, zeroChild, [4]uint8{}); rc != 0 {
		return rc
	}
	call(x, zeroNode, abi.OCNodeSwap, 0, [4]uint8{zeroChild}, off>>12&15)
	r[0]++
	x.Move(zeroLWin, zeroRed)
	x.Move(zeroLLeaf, zeroNode)
	x.Move(zeroLBank, zeroBank)
	r[1], r[2] = off>>16+1, off+1
	return 0
}

// zeroMake builds a window of the requested size paid by the bank in key 0
// and leaves its segment key in zeroNode.
func zeroMake(x *kernel.Ctx) int64 {
	size := x.Word(0)
	if size < 1 || size > uint64(abi.LimitMaxSegSize) {
		return int64(abi.RCBadArgument)
	}
	x.Move(zeroBank, zeroRed)
	if rc := call(x, zeroBank, abi.OCBankBuyNode, zeroNode, [4]uint8{}); rc != 0 {
		return rc
	}
	if rc := call(x, zeroBank, abi.OCBankBuyNode, zeroChild, [4]uint8{}); rc != 0 {
		call(x, zeroBank, abi.OCBankSell, 0, [4]uint8{zeroNode})
		return rc
	}
	format := size | uint64(abi.ZeroKeeperSlot)<<uint(abi.RedKeeperShift)
	call(x, zeroNode, abi.OCNodeSwap, 0, [4]uint8{zeroChild}, uint64(abi.ZeroTreeSlot))
	call(x, zeroNode, abi.OCNodeSwap, 0, [4]uint8{zeroBank}, uint64(abi.ZeroBankSlot))
	call(x, zeroNode, abi.OCNodeSwap, 0, [4]uint8{zeroSelf}, uint64(abi.ZeroKeeperSlot))
	call(x, zeroNode, abi.OCNodeWriteData, 0, [4]uint8{}, uint64(abi.RedFormatSlot), format)
	return call(x, zeroNode, abi.OCNodeMakeSegment, zeroNode, [4]uint8{}, size, uint64(abi.FlagRed))
}

// StartZero registers the zero keeper program, buys its domain from bank
// under meter, makes it available, and returns a start key to it.
func StartZero(m *kernel.Machine, bank, meter kernel.Key) (kernel.Key, error) {
	m.RegisterProgram(ZeroName, Zero)
	dom, err := m.NewDomain(bank, meter, abi.KindNative, ZeroName)
	if err != nil {
		return kernel.Key{}, err
	}
	start, err := m.StartKey(dom, 0)
	if err != nil {
		return kernel.Key{}, err
	}
	if err := m.SetKeyReg(dom, zeroSelf, start); err != nil {
		return kernel.Key{}, err
	}
	return start, m.MakeAvailable(dom)
}
