package kernel

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
)

// FuzzInvocations feeds a native domain's arbitrary invocations: any key
// register, order code, string length, key lists and invocation type, on a
// domain holding every kind of key. Nothing may panic, the machine must
// settle, and Machine.Check must pass afterwards. Each script runs with
// the invocation fast path and without it (Config.GeneralPath): the two
// runs must have the same events and end with the same objects.
func FuzzInvocations(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		for _, topo := range []string{"native", "native,native:2"} {
			fast := runFuzzScript(t, script, topo, false)
			general := runFuzzScript(t, script, topo, true)
			if i := firstDifference(fast.events, general.events); i >= 0 {
				t.Fatalf("%s: events differ at %d of %d/%d: fast path %v, general path %v",
					topo, i, len(fast.events), len(general.events), eventAt(fast.events, i), eventAt(general.events, i))
			}
			if fast.objects != general.objects {
				t.Fatalf("%s: the objects differ:\nfast path %s\ngeneral path %s", topo, fast.objects, general.objects)
			}
		}
	})
}

// fuzzRun is what a script did: its kernel events, and its objects when
// the machine came to rest.
type fuzzRun struct {
	events  []Event
	objects string
}

// A script is a sequence of 20-byte operations:
//
//	0     what: 0 sync call, 1 CALL, 2 RETURN, 3 FORK, 4 move key
//	1     key register
//	2..9  order code
//	10,11 string length (little-endian; may exceed 4096)
//	12..15 send key registers
//	16..19 receive key registers
const fuzzOpSize = 20

func runFuzzScript(t *testing.T, script []byte, topo string, general bool) (run fuzzRun) {
	m, err := New(Config{Topology: topo, Deterministic: true, Seed: uint64(len(script)), Memory: 4 << 20,
		GeneralPath: general, Trace: func(e Event) { run.events = append(run.events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[uint64]int{}
	m.RegisterProgram("fuzz", func(x *Ctx) {
		who := x.Regs()[0]
		for pos[who]+fuzzOpSize <= len(script) {
			op := script[pos[who] : pos[who]+fuzzOpSize]
			pos[who] += fuzzOpSize
			msg := &Msg{Order: int64(binary.LittleEndian.Uint64(op[2:])),
				Data: make([]byte, binary.LittleEndian.Uint16(op[10:]))}
			copy(msg.Keys[:], op[12:16])
			copy(msg.Recv[:], op[16:20])
			kr := op[1]
			switch op[0] % 5 {
			case 0:
				x.Call(kr, msg)
				continue
			case 1:
				x.CallGate(kr, msg)
			case 2:
				x.Return(kr, msg)
			case 3:
				x.Fork(kr, msg)
			case 4:
				x.Move(op[12], op[13])
				continue
			}
			return
		}
	})
	m.RegisterProgram("echo", pongProgram)
	bank, meter := m.PrimeBank(), m.PrimeMeter()
	sub := m.MustCall(bank, int64(abi.OCBankBuyBank), Words(1<<20, 64, 64, 8, 8, 8)).Keys[0]
	subMeter := m.MustCall(sub, int64(abi.OCBankBuyMeter), Words(1<<24), meter).Keys[0]
	mk := func(p string, i uint64) Key {
		d, err := m.NewDomain(sub, subMeter, abi.KindNative, p)
		if err != nil {
			t.Fatal(err)
		}
		m.MustCall(d, int64(abi.OCDomainSetRegs), Words(i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
		return d
	}
	a, b, echo := mk("fuzz", 0), mk("fuzz", 1), mk("echo", 2)
	node := m.MustCall(sub, int64(abi.OCBankBuyNode), nil).Keys[0]
	page := m.MustCall(sub, int64(abi.OCBankBuyPage), nil).Keys[0]
	dev := func(kt abi.KT) Key { k, _ := m.DeviceKey(kt); return k }
	for i, d := range []Key{a, b} {
		other := []Key{b, a}[i]
		keys := []Key{sub, node, page, mustStart(m, d, 1), mustStart(m, other, 2), mustStart(m, echo, 3), other,
			subMeter, dev(abi.KTReturner), dev(abi.KTDiscrim), dev(abi.KTKeybits), dev(abi.KTClock), d, DK(42), dev(abi.KTConsole)}
		for r, k := range keys {
			m.SetKeyReg(d, r+1, k)
		}
	}
	m.MakeAvailable(echo)
	m.MakeAvailable(b)
	m.RunDomain(a)
	// A hang inside one event would never look at ctx: crash instead, so
	// that the fuzzer keeps the input.
	watchdog := time.AfterFunc(30*time.Second, func() { panic("fuzz script hung the machine") })
	defer watchdog.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("%s: run: %v", topo, err)
	}
	if err := m.Check(); err != nil {
		t.Fatalf("%s: %v", topo, err)
	}
	snap, err := m.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	run.objects = fmt.Sprintf("%+v", snap)
	// Whatever the script did, destroying its bank frees everything.
	m.MustCall(sub, int64(abi.OCBankDestroy), nil)
	if err := m.Check(); err != nil {
		t.Fatalf("%s: after destroying the bank: %v", topo, err)
	}
	led := m.MustCall(bank, int64(abi.OCBankGetLedger), nil)
	if used := led.Word(int(abi.LedgerUsedBytes)); used != 0 {
		t.Fatalf("%s: prime bank still uses %d bytes after destroying everything", topo, used)
	}
	return run
}

func mustStart(m *Machine, d Key, db uint8) Key {
	k, err := m.StartKey(d, db)
	if err != nil {
		panic(err)
	}
	return k
}

func fuzzOp(what, kr byte, order int64, n uint16, send, recv [4]byte) []byte {
	op := make([]byte, fuzzOpSize)
	op[0], op[1] = what, kr
	binary.LittleEndian.PutUint64(op[2:], uint64(order))
	binary.LittleEndian.PutUint16(op[10:], n)
	copy(op[12:], send[:])
	copy(op[16:], recv[:])
	return op
}

func fuzzSeeds() [][]byte {
	cat := func(ops ...[]byte) []byte {
		var b []byte
		for _, o := range ops {
			b = append(b, o...)
		}
		return b
	}
	return [][]byte{
		nil,
		cat(fuzzOp(0, 1, int64(abi.OCBankBuyPage), 0, [4]byte{}, [4]byte{3}), fuzzOp(0, 3, int64(abi.OCPageWrite), 100, [4]byte{}, [4]byte{})),
		cat(fuzzOp(1, 6, 7, 10, [4]byte{2, 3}, [4]byte{}), fuzzOp(2, 15, 8, 0, [4]byte{}, [4]byte{})),
		cat(fuzzOp(0, 1, int64(abi.OCBankDestroy), 0, [4]byte{}, [4]byte{}), fuzzOp(1, 5, 1, 0, [4]byte{1}, [4]byte{})),
		cat(fuzzOp(3, 4, 1, 5000, [4]byte{}, [4]byte{}), fuzzOp(1, 7, int64(abi.OCDomainStop), 0, [4]byte{}, [4]byte{})),
		cat(fuzzOp(0, 12, int64(abi.OCClockWaitUntil), 8, [4]byte{}, [4]byte{}), fuzzOp(1, 12, int64(abi.OCClockWaitUntil), 8, [4]byte{}, [4]byte{})),
		cat(fuzzOp(2, 9, 3, 0, [4]byte{1, 2, 3, 5}, [4]byte{}), fuzzOp(4, 0, 0, 0, [4]byte{15, 1}, [4]byte{})),
		cat(fuzzOp(0, 1, int64(abi.OCBankSell), 0, [4]byte{2}, [4]byte{}), fuzzOp(0, 2, int64(abi.OCNodeSwap), 8, [4]byte{3}, [4]byte{14})),
	}
}
