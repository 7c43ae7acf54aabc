package kernel

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/keyfish-os/keyfish/abi"
)

// Devices and kernel tools: keys with no object behind them. The boot image
// holds the console and clock keys; the returner and discrim are harmless
// and may be given to anyone; keybits is closely held.

// console is the console device: bytes written to it go to the machine's
// console writer.
type console struct {
	mu    sync.Mutex // guards w and bytes
	w     io.Writer
	bytes uint64
}

func (m *Machine) invokeConsole(r *request, rep *reply) {
	switch abi.OC(r.order) {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTConsole)
	case abi.OCConsoleWrite:
		m.console.mu.Lock()
		if m.console.w != nil {
			m.console.w.Write(r.data)
		}
		m.console.bytes += uint64(len(r.data))
		m.console.mu.Unlock()
	default:
		rep.rc = int64(abi.RCUnknownOrder)
	}
}

// invokeClock answers the clock. A wait whose deadline has not come makes
// the reply wait in the invoker's home cluster's timer queue.
func (m *Machine) invokeClock(c *Core, r *request, rep *reply) {
	switch abi.OC(r.order) {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTClock)
	case abi.OCClockRead:
		rep.setWords(c, []uint64{uint64(m.now())})
	case abi.OCClockWaitUntil:
		t, ok := r.word(0)
		if !ok {
			rep.rc = int64(abi.RCBadArgument)
			return
		}
		if int64(t) > m.now() {
			rep.timer = int64(t)
		}
	default:
		rep.rc = int64(abi.RCUnknownOrder)
	}
}

// discrimClass classifies a key without giving authority.
func discrimClass(k Key) abi.Discrim {
	switch k.kt {
	case 0:
		return abi.DiscrimData
	case ktPage, ktNode, ktFetch, ktSense, ktSegment:
		return abi.DiscrimMemory
	case ktStart, ktResume, ktRestart:
		return abi.DiscrimGate
	}
	return abi.DiscrimOther
}

func (m *Machine) invokeDiscrim(c *Core, r *request, rep *reply) {
	switch abi.OC(r.order) {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTDiscrim)
	case abi.OCDiscrimClassify:
		k := r.keys[0].live()
		rep.rc = int64(discrimClass(k))
		if k.kt == 0 {
			rep.setWords(c, []uint64{k.val})
		}
	case abi.OCDiscrimCompare:
		a, b := r.keys[0].live(), r.keys[1].live()
		if a == b {
			rep.rc = 1
		}
	default:
		rep.rc = int64(abi.RCUnknownOrder)
	}
}

func (m *Machine) invokeKeybits(c *Core, r *request, rep *reply) {
	switch abi.OC(r.order) {
	case abi.OCKeyType:
		rep.rc = int64(abi.KTKeybits)
	case abi.OCKeybits:
		k := r.keys[0].live()
		w := [abi.KeybitsWords]uint64{uint64(k.Type()), uint64(k.flags), uint64(k.db), 0, uint64(k.alloc)}
		if k.kt == 0 {
			w[abi.KeybitsData] = k.val
		}
		if k.hdr != nil {
			w[abi.KeybitsObject] = uint64(k.hdr.id)
		}
		rep.setWords(c, w[:])
	default:
		rep.rc = int64(abi.RCUnknownOrder)
	}
}

// request is an invocation of a kernel object as its handler sees it.
type request struct {
	order int64
	data  []byte
	keys  [4]Key
}

// word returns the i'th little-endian word of the string.
func (r *request) word(i int) (uint64, bool) {
	if len(r.data) < 8*(i+1) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(r.data[8*i:]), true
}

// reply is a kernel object's answer.
type reply struct {
	rc    int64
	data  []byte // a view of the core's scratch buffer, or nil
	keys  [4]Key
	timer int64 // nonzero: deliver the reply when the clock reaches this
}

// setWords makes the reply's string the given words.
func (rep *reply) setWords(c *Core, w []uint64) { rep.data = putWords(c.scratch[:], w) }
