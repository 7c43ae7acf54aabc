package hostile

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/system"
)

// FuzzInvocations: random invocation sequences across clusters. The input
// is a script of 20-byte ops (puppet_test.go) that four native puppets,
// homed in a single-core and a two-core native cluster, each work
// through (puppet i starting at op i); the same bytes, read as a page of
// ecall records, drive an ecalls program ("buf") on each of two rv64
// clusters. Puppets hold every kind of key: the shared bank, its objects,
// start and domain keys to each other (in other clusters) and to an
// ecalls program, a meter, the kernel tools, the clock. Nothing may panic
// or hang, the invariants must hold after the run and after each bank is
// destroyed, and then every byte of storage must be back.
func FuzzInvocations(f *testing.F) {
	f.Fuzz(func(t *testing.T, script []byte) {
		pos := make([]int, 4)
		for i := range pos {
			pos[i] = i * opSize
		}
		next := func(who uint64) ([]byte, bool) {
			p := pos[who]
			if p+opSize > len(script) {
				return nil, false
			}
			pos[who] += opSize
			return script[p : p+opSize], true
		}
		cfg := kernel.Config{Topology: "native,native:2,rv64,rv64", Deterministic: true,
			Seed: uint64(len(script)), Memory: 64 << 20}
		r := newPuppetRig(t, cfg, 4, next, func(int) []string { return []string{"ecalls", "buf"} }, script)
		r.start(t)
		r.run(t, 20*time.Second)
		if err := r.m.Check(); err != nil {
			t.Fatal(err)
		}
		r.teardown(t)
	})
}

// ecallPage lays out ecall records for ecalls "buf": word 0 the count,
// then per record flags and a0..a7.
func ecallPage(recs ...[9]uint64) []byte {
	b := make([]byte, 8+72*len(recs))
	binary.LittleEndian.PutUint64(b, uint64(len(recs)))
	for i, r := range recs {
		for j, w := range r {
			binary.LittleEndian.PutUint64(b[8+72*i+8*j:], w)
		}
	}
	return b
}

// FuzzEcall: the ecall interface of an rv64 domain. The input is the page
// sdk/hostile/ecalls.c ("buf") reads its ecalls from: a count, then
// records of flags and the raw a0..a7 (flags make a2 and a5 offsets into
// the program's buffers). The program holds a playground of objects, a
// start key to a pong, the discrim and the returner; recover is its keeper.
// It runs on one rv64 core and on two single-core rv64 clusters. Nothing may
// panic or hang, the invariants must hold during and after the run and
// after its bank is destroyed, and the well-behaved ping and compute
// finish. On one core it runs twice, with the kernel's invocation fast
// path and without it (Config.GeneralPath): the same events, the same
// console, the same objects at the end.
func FuzzEcall(f *testing.F) {
	f.Fuzz(func(t *testing.T, page []byte) {
		fast := runEcallPage(t, page, "rv64,native", false)
		general := runEcallPage(t, page, "rv64,native", true)
		if fast != general {
			t.Fatalf("with and without the fast path, the runs differ:\n%s\n%s", fast, general)
		}
		runEcallPage(t, page, "2*rv64:1,native", false)
	})
}

// runEcallPage runs FuzzEcall's input on topo and returns a digest of
// the run: its event count and hash, its console, and its objects before
// they are destroyed.
func runEcallPage(t *testing.T, page []byte, topo string, general bool) string {
	h := &eventHash{Hash64: fnv.New64a()}
	e := newEnv(t, kernel.Config{Topology: topo, Deterministic: true, Seed: uint64(len(page)), GeneralPath: general, Trace: h.add})
	e.limit = 20 * time.Second
	e.wellBehaved()
	rec := e.recoverKeeperBudget(2_000_000)
	pong, pongKey := e.server("pong", system.Options{})
	mount := e.call(e.m.PrimeBank(), abi.OCBankBuyPage, nil).Keys[0]
	for off := 0; off < min(len(page), int(abi.LimitPageSize)); off += 2048 {
		chunk := page[off:min(off+2048, len(page), int(abi.LimitPageSize))]
		e.call(mount, abi.OCPageWrite, append(kernel.Words(uint64(off)), chunk...))
	}
	p := e.load("hostile/ecalls", system.Options{Keeper: rec, Budget: 1_000_000,
		Args: []string{"ecalls", "buf"}, Keys: e.ecallKeys(pongKey),
		Mounts: []loader.Mount{{At: 0x3000_0000, Segment: mount}}})
	e.start(p)
	e.run()
	e.finish()
	if testing.Verbose() {
		st, trap := e.state(p.Domain)
		t.Logf("%s: ecalls ends in state %d, trap %s; console %q", topo, st, kernel.TrapName(trap), e.con)
	}
	snap, err := e.m.Inspect()
	if err != nil {
		t.Fatal(err)
	}
	digest := fmt.Sprintf("%d events, hash %#x\nconsole %q\nobjects %+v", h.events, h.Sum64(), e.con, snap)
	// And every program's registers: what a message left there.
	doms := []kernel.Key{p.Domain, pong.Domain}
	for _, g := range e.good {
		doms = append(doms, g.p.Domain)
	}
	for _, d := range doms {
		rep, _ := e.m.Call(d, int64(abi.OCDomainGetRegs), nil)
		digest += fmt.Sprintf("\nregisters %x", rep.Data)
	}
	e.destroy(p.Bank)
	e.destroy(pong.Bank)
	return digest
}
