package hostile

import (
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// TestGuessKeys: sdk/hostile/guess.c tries to reach keys it was never
// given: it probes every key register, out-of-range register, slot and
// offset numbers, turns object ids (learned with keybits from its own
// keys, and guessed) into data keys and uses them every way it can, tries
// to strengthen weakened keys and to use rescinded ones. Expected: every
// attempt gets the documented refusal or a data key (the program checks
// each and exits 0), and afterwards none of its key registers or root
// slots holds a key to anything of the system's: the prime bank, the
// other programs' domains and banks, a secret page.
func TestGuessKeys(t *testing.T) {
	forTopologies(t, func(t *testing.T, e *env) {
		e.wellBehaved()
		secret := e.call(e.m.PrimeBank(), abi.OCBankBuyPage, nil).Keys[0]
		e.call(secret, abi.OCPageWrite, kernel.Words(0, 0x5ec7e7))
		discrim, _ := e.m.DeviceKey(abi.KTDiscrim)
		keybits, _ := e.m.DeviceKey(abi.KTKeybits)
		p := e.load("hostile/guess", system.Options{Keys: map[int]kernel.Key{
			int(abi.KRArg0): discrim, int(abi.KRArg0) + 1: keybits}})
		e.start(p)
		e.run()
		e.finish()
		e.wantExit(p, 0)
		line := e.linePrefixed("guess: ")
		if !strings.HasSuffix(line, "attempts, no key gained") {
			t.Fatalf("%s", line)
		}
		secrets := []kernel.Key{e.m.PrimeBank(), e.m.PrimeMeter(), secret, e.s.Zero}
		for _, g := range e.good {
			secrets = append(secrets, g.p.Domain, g.p.Bank, g.p.Meter)
		}
		var held []kernel.Key
		for i := range 16 {
			held = append(held, e.call(p.Domain, abi.OCDomainGetKeyReg, kernel.Words(uint64(i))).Keys[0])
		}
		for i := range abi.SlotCount {
			held = append(held, e.call(p.Domain, abi.OCDomainGetSlot, kernel.Words(uint64(i))).Keys[0])
		}
		for i, h := range held {
			for j, s := range secrets {
				if r := e.call(discrim, abi.OCDiscrimCompare, nil, h, s); r.RC != 0 {
					t.Fatalf("guess holds secret %d (%v) in its register or slot %d", j, s, i)
				}
			}
		}
		e.destroy(p.Bank)
	})
}
