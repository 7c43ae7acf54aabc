package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
)

// The host API: Go code outside any domain (the boot image, the loader,
// tests) builds a system through it while the machine is stopped. It has
// the authority of whatever keys it holds; the machine hands it the prime
// bank, the prime meter and the device keys.

// PrimeBank returns a key to the prime bank, which holds all storage.
func (m *Machine) PrimeBank() Key { return keyTo(&m.prime.header, abi.KTBank, 0, 0) }

// PrimeMeter returns a key to the prime meter, whose budget is unlimited.
func (m *Machine) PrimeMeter() Key { return keyTo(&m.primeMeter.header, abi.KTMeter, 0, 0) }

// DeviceKey returns the key to a device or kernel tool: abi.KTConsole,
// KTClock, KTReturner, KTDiscrim or KTKeybits.
func (m *Machine) DeviceKey(kt abi.KT) (Key, error) {
	switch kt {
	case abi.KTConsole, abi.KTClock, abi.KTReturner, abi.KTDiscrim, abi.KTKeybits:
		return deviceKey(kt), nil
	}
	return Key{}, fmt.Errorf("keyfish: %s is not a device", ktName(kt))
}

// Reply is what a host call returns.
type Reply struct {
	RC   int64
	Data []byte
	Keys [4]Key
}

// Word returns the i'th little-endian word of the reply's string, or 0.
func (r Reply) Word(i int) uint64 {
	if len(r.Data) < 8*(i+1) {
		return 0
	}
	return binary.LittleEndian.Uint64(r.Data[8*i:])
}

// ErrGate is returned by Call for keys that only domains answer.
var ErrGate = errors.New("keyfish: host calls reach kernel objects only, not start or resume keys")

// Call invokes a kernel object key from the host and returns its reply.
// The machine must be stopped.
func (m *Machine) Call(k Key, order int64, data []byte, keys ...Key) (Reply, error) {
	if m.running.Load() {
		return Reply{}, ErrRunning
	}
	if len(keys) > 4 {
		return Reply{}, fmt.Errorf("keyfish: a message carries at most 4 keys, not %d", len(keys))
	}
	k = k.live()
	switch k.kt {
	case ktStart, ktResume, ktRestart, ktReturner:
		return Reply{}, ErrGate
	}
	c := m.host
	req := request{order: order, data: data}
	copy(req.keys[:], keys)
	var rep reply
	m.perform(c, nil, k, &req, &rep)
	out := Reply{RC: rep.rc, Keys: rep.keys}
	if rep.data != nil {
		out.Data = append([]byte(nil), rep.data...)
	}
	// A stopped machine has no core inside an event: grace periods and
	// reaping can be finished at once.
	m.settle()
	return out, nil
}

// Words encodes little-endian words as a message string.
func Words(w ...uint64) []byte {
	b := make([]byte, 8*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// settle finishes, while the machine is stopped, what host calls left for
// the cores: reaping killed domains (which may take messages between
// clusters: withdrawing their outboxes, telling their callers) until
// nothing is left to do.
func (m *Machine) settle() {
	for {
		did := false
		for _, c := range m.cores {
			did = c.drainWithdraw() || did
			did = c.drainInbox() || did
			c.flushReleases()
			if !c.cl.reap.empty() || len(c.cl.zombies) > 0 {
				did = c.drainReap() || did
			}
		}
		if !did {
			return
		}
	}
}

// MustCall is Call for setup code that cannot fail: it panics on a host
// error or a nonzero return code. Use it in tests and examples only.
func (m *Machine) MustCall(k Key, order int64, data []byte, keys ...Key) Reply {
	r, err := m.Call(k, order, data, keys...)
	if err != nil {
		panic(err)
	}
	if r.RC != 0 && abi.OC(order) != abi.OCKeyType {
		panic(fmt.Sprintf("keyfish: %v order %d: return code %d", k, order, r.RC))
	}
	return r
}

// NewDomain buys a stopped domain of the given kind from bank, runs it
// under meter, and returns its domain key. A native domain's space is the
// program registered under program (ignored for other kinds, whose space
// the caller sets). Its key registers are all DK(0): give it what it needs
// with SetKeyReg, and a keeper with the domain key's OCDomainSetSlot.
func (m *Machine) NewDomain(bank, meter Key, kind abi.Kind, program string) (Key, error) {
	var id uint64
	if kind == abi.KindNative {
		var err error
		if id, err = m.ProgramID(program); err != nil {
			return Key{}, err
		}
	}
	r, err := m.Call(bank, int64(abi.OCBankBuyDomain), Words(uint64(kind)))
	if err != nil {
		return Key{}, err
	}
	if r.RC != 0 {
		return Key{}, fmt.Errorf("keyfish: buying a domain: return code %d", r.RC)
	}
	dom := r.Keys[0]
	if err := m.setSlot(dom, abi.SlotMeter, meter); err != nil {
		return Key{}, err
	}
	if kind == abi.KindNative {
		if err := m.setSlot(dom, abi.SlotSpace, DK(id)); err != nil {
			return Key{}, err
		}
	}
	return dom, nil
}

// setSlot puts k in root slot slot of the domain dom names.
func (m *Machine) setSlot(dom Key, slot abi.Slot, k Key) error {
	r, err := m.Call(dom, int64(abi.OCDomainSetSlot), Words(uint64(slot)), k)
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("keyfish: setting the domain's slot %d: return code %d", slot, r.RC)
	}
	return err
}

// SetKeyReg puts k in key register i of the domain dom names.
func (m *Machine) SetKeyReg(dom Key, i int, k Key) error {
	r, err := m.Call(dom, int64(abi.OCDomainSetKeyReg), Words(uint64(i)), k)
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("keyfish: setting key register %d: return code %d", i, r.RC)
	}
	return err
}

// StartKey returns a start key with data byte db to the domain dom names.
func (m *Machine) StartKey(dom Key, db uint8) (Key, error) {
	r, err := m.Call(dom, int64(abi.OCDomainMakeStart), Words(uint64(db)))
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("keyfish: making a start key: return code %d", r.RC)
	}
	return r.Keys[0], err
}

// MakeAvailable makes a stopped domain available for messages.
func (m *Machine) MakeAvailable(dom Key) error {
	r, err := m.Call(dom, int64(abi.OCDomainMakeAvailable), nil)
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("keyfish: making a domain available: return code %d", r.RC)
	}
	return err
}

// RunDomain makes a stopped or available domain run from its pc (a native
// domain: call its program with an empty message).
func (m *Machine) RunDomain(dom Key) error {
	r, err := m.Call(dom, int64(abi.OCDomainRun), nil)
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("keyfish: running a domain: return code %d", r.RC)
	}
	return err
}
