package kernel

import (
	"encoding/binary"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/internal/mem"
)

// Page is 4096 bytes of memory. Its bytes are shared between cores like
// real memory and are reached only through the mem.Page accessors.
type Page struct {
	header
	data mem.Page
}

// pageOp is a decoded page invocation.
type pageOp struct {
	order  abi.OC
	off    uint64
	n      uint64
	source []byte // Write: the bytes
}

func decodePageInvocation(k Key, r *request) (pageOp, abi.RC) {
	op := pageOp{order: abi.OC(r.order)}
	ro := k.flags&flReadOnly != 0
	switch op.order {
	case abi.OCKeyType, abi.OCPageWeaken:
	case abi.OCPageRead:
		off, ok1 := r.word(0)
		n, ok2 := r.word(1)
		if !ok1 || !ok2 || off > mem.PageSize || n > mem.PageSize-off {
			return op, abi.RCBadArgument
		}
		op.off, op.n = off, n
	case abi.OCPageWrite:
		if ro {
			return op, abi.RCNotPermitted
		}
		off, ok := r.word(0)
		if !ok || off > mem.PageSize || uint64(len(r.data)-8) > mem.PageSize-off {
			return op, abi.RCBadArgument
		}
		op.off, op.source = off, r.data[8:]
	case abi.OCPageClear:
		if ro {
			return op, abi.RCNotPermitted
		}
	default:
		return op, abi.RCUnknownOrder
	}
	return op, abi.RCOk
}

func (m *Machine) invokePage(c *Core, k Key, r *request, rep *reply) {
	op, rc := decodePageInvocation(k, r)
	if rc != abi.RCOk {
		rep.rc = int64(rc)
		return
	}
	p := k.hdr.page()
	switch op.order {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTPage)
	case abi.OCPageRead:
		rep.data = c.scratch[:op.n]
		p.data.Read(op.off, rep.data)
	case abi.OCPageWrite:
		p.data.Write(op.off, op.source)
	case abi.OCPageClear:
		p.data.Zero()
	case abi.OCPageWeaken:
		wk := k
		wk.flags |= flReadOnly
		rep.keys[0] = wk
	}
}

// putWords writes little-endian words into buf and returns the used part.
func putWords(buf []byte, w []uint64) []byte {
	for i, v := range w {
		binary.LittleEndian.PutUint64(buf[8*i:], v)
	}
	return buf[:8*len(w)]
}
