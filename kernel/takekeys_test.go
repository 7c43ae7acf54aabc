package kernel

import (
	"testing"

	"pgregory.net/rapid"
)

// TestFastKeyMoveMatchesGatherPut checks the fast path's key moves
// (takeFourth and takeSentKeys, which fastInvoke picks between) against
// what the general path does: gatherKeys from the sender's registers, the
// fourth replaced by the resume key, then putKeys into the receiver's
// registers as its receive area names them.
func TestFastKeyMoveMatchesGatherPut(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d, want, got := new(Domain), new(Domain), new(Domain)
		for i := range d.keys {
			if i > 0 { // register 0 holds DK(0)
				d.keys[i] = Key{val: uint64(100 + i)} // DK(100+i): one value per register
			}
			want.keys[i] = Key{val: uint64(200 + i)}
		}
		got.keys = want.keys
		nib := rapid.IntRange(0, 15)
		from := keyRegs(0)
		if rapid.Bool().Draw(t, "sends") {
			from = keyRegs(nib.Draw(t, "f0") | nib.Draw(t, "f1")<<4 | nib.Draw(t, "f2")<<8)
		}
		from |= keyRegs(nib.Draw(t, "f3") << 12) // the fourth: replaced by k3
		recv := recvDefault
		if !rapid.Bool().Draw(t, "default receive") {
			recv = keyRegs(nib.Draw(t, "r0") | nib.Draw(t, "r1")<<4 | nib.Draw(t, "r2")<<8 | nib.Draw(t, "r3")<<12)
		}
		k3 := Key{val: 999}
		want.recv.keys, got.recv.keys = recv, recv

		var keys [4]Key
		d.gatherKeys(&keys, from)
		keys[3] = k3
		want.putKeys(&keys)

		if got.recv.keys == recvDefault && from&0xfff == 0 {
			got.takeFourth(k3)
		} else {
			got.takeSentKeys(d, from, k3)
		}
		if got.keys != want.keys {
			t.Fatalf("from %#04x, receive %#04x: key registers\n got %v\nwant %v", uint16(from), uint16(recv), got.keys, want.keys)
		}
	})
}
