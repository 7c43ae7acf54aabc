package kernel

import (
	"sync"

	"github.com/keyfish-os/keyfish/abi"
)

// Node is 16 key slots. Nodes build address segments, red segment formats,
// and any data structure of keys.
type Node struct {
	header
	mu    sync.Mutex // guards slots
	slots [16]Key
}

// fetch returns the key in slot i (void keys come out as DK(0)).
func (n *Node) fetch(i int) Key {
	n.mu.Lock()
	k := n.slots[i&15]
	n.mu.Unlock()
	return k.live()
}

// nodeOp is a decoded node, fetch or sense key invocation.
type nodeOp struct {
	order abi.OC
	slot  int
	size  uint8
	flags abi.Flag
	n     uint64
	key   Key
}

func decodeNodeInvocation(k Key, r *request) (nodeOp, abi.RC) {
	op := nodeOp{order: abi.OC(r.order)}
	weak := k.kt != ktNode // fetch and sense keys
	slotArg := func() abi.RC {
		w, ok := r.word(0)
		if !ok {
			return abi.RCBadArgument
		}
		if w >= 16 {
			return abi.RCRange
		}
		op.slot = int(w)
		return abi.RCOk
	}
	switch op.order {
	case abi.OCKeyType, abi.OCNodeMakeSense:
		return op, abi.RCOk
	case abi.OCNodeFetch:
		return op, slotArg()
	}
	if weak {
		if op.order >= abi.OCNodeSwap && op.order <= abi.OCNodeWriteData {
			return op, abi.RCNotPermitted
		}
		return op, abi.RCUnknownOrder
	}
	switch op.order {
	case abi.OCNodeSwap:
		op.key = r.keys[0]
		return op, slotArg()
	case abi.OCNodeClear, abi.OCNodeMakeFetch:
	case abi.OCNodeMakeSegment:
		size, ok1 := r.word(0)
		flags, ok2 := r.word(1)
		if !ok1 || !ok2 || size < 1 || size > uint64(abi.LimitMaxSegSize) ||
			flags&^uint64(abi.FlagReadOnly|abi.FlagNoCall|abi.FlagRed) != 0 {
			return op, abi.RCBadArgument
		}
		op.size, op.flags = uint8(size), abi.Flag(flags)
	case abi.OCNodeWriteData:
		if rc := slotArg(); rc != abi.RCOk {
			return op, rc
		}
		n, ok := r.word(1)
		if !ok {
			return op, abi.RCBadArgument
		}
		op.n = n
	default:
		return op, abi.RCUnknownOrder
	}
	return op, abi.RCOk
}

func (m *Machine) invokeNode(c *Core, k Key, r *request, rep *reply) {
	op, rc := decodeNodeInvocation(k, r)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
		return
	}
	n := k.hdr.node()
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(k.kt)
	case abi.OCNodeFetch:
		got := n.fetch(op.slot)
		if k.kt == ktSense {
			got = got.sensed()
		}
		rep.keys[0] = got
	case abi.OCNodeSwap:
		rep.keys[0] = m.swapSlot(c, n, op.slot, op.key.live())
	case abi.OCNodeClear:
		n.mu.Lock()
		n.slots = [16]Key{}
		n.mu.Unlock()
		m.mappingChanged(c, &n.header)
	case abi.OCNodeMakeFetch:
		rep.keys[0] = keyTo(k.hdr, abi.KTFetch, 0, 0)
	case abi.OCNodeMakeSense:
		rep.keys[0] = keyTo(k.hdr, abi.KTSense, 0, 0)
	case abi.OCNodeMakeSegment:
		rep.keys[0] = keyTo(k.hdr, abi.KTSegment, op.flags, op.size)
	case abi.OCNodeWriteData:
		m.swapSlot(c, n, op.slot, DK(op.n))
	}
}

// swapSlot puts nk in slot i of n and returns the old key. If the node may
// be cached in a TLB the caller's reply waits for a grace period, so that
// once the call returns no core can use the old mapping.
func (m *Machine) swapSlot(c *Core, n *Node, i int, nk Key) Key {
	n.mu.Lock()
	old := n.slots[i]
	n.slots[i] = nk
	n.mu.Unlock()
	old = old.live()
	if !old.IsNull() {
		// Filling an empty slot removes no mapping (faults are never
		// cached); replacing a key may, and so may replacing a data key:
		// in slot 15 of a node reached through a red segment key it is
		// the format, which says which slots map and how large the
		// segment is.
		m.mappingChanged(c, &n.header)
	}
	return old
}

// mappingChanged makes the current invocation wait for a grace period if h
// may be part of a cached translation.
func (m *Machine) mappingChanged(c *Core, h *header) {
	if h.mapped.Load() {
		c.waitGrace(m.epochs.bumpMap())
	}
}

// segOp is a decoded segment key invocation.
type segOp struct {
	order abi.OC
	flags abi.Flag
}

func decodeSegmentInvocation(r *request) (segOp, abi.RC) {
	op := segOp{order: abi.OC(r.order)}
	switch op.order {
	case abi.OCKeyType:
	case abi.OCSegWeaken:
		f, ok := r.word(0)
		if !ok || f&^uint64(abi.FlagReadOnly|abi.FlagNoCall) != 0 {
			return op, abi.RCBadArgument
		}
		op.flags = abi.Flag(f)
	default:
		return op, abi.RCUnknownOrder
	}
	return op, abi.RCOk
}

func (m *Machine) invokeSegment(k Key, r *request, rep *reply) {
	op, rc := decodeSegmentInvocation(r)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
		return
	}
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTSegment)
	case abi.OCSegWeaken:
		wk := k
		wk.flags |= flag(op.flags)
		rep.keys[0] = wk
	}
}
