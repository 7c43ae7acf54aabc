package hostile

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// The seed corpora of the fuzz targets live in testdata/fuzz/NAME/ (go
// test runs them as ordinary tests). They are written by
//
//	go test ./hostile -run TestWriteFuzzCorpus -hostile.writecorpus
//
// from the seeds below, so that they can be read and regenerated.
var writeCorpus = flag.Bool("hostile.writecorpus", false, "rewrite testdata/fuzz/* from the seeds in corpus_test.go")

// op makes one puppet op (puppet_test.go).
func op(what byte, kr byte, order int64, n uint16, send, recv [4]byte) []byte {
	b := make([]byte, opSize)
	b[0], b[1] = what, kr
	binary.LittleEndian.PutUint64(b[2:], uint64(order))
	binary.LittleEndian.PutUint16(b[10:], n)
	copy(b[12:], send[:])
	copy(b[16:], recv[:])
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Puppet key registers (puppetKeys).
const (
	pBank, pNode, pPage, pSelfStart, pNextStart, pEcallsStart, pNextDomain = 1, 2, 3, 4, 5, 6, 7
	pMeter, pReturner, pDiscrim, pKeybits, pData, pSelfDomain, pClock      = 8, 9, 10, 11, 12, 13, 14
)

// Op kinds.
const (
	wSync, wCall, wReturn, wFork, wMove = 0, 3, 4, 5, 6
)

func invocationSeeds() map[string][]byte {
	none := [4]byte{}
	r15 := [4]byte{0, 0, 0, 15}
	return map[string][]byte{
		"empty": nil,
		"buy-write-sell": cat(
			op(wSync, pBank, int64(abi.OCBankBuyPage), 0, none, [4]byte{15}),
			op(wSync, 15, int64(abi.OCPageWrite), 64, none, none),
			op(wSync, pBank, int64(abi.OCBankSell), 0, [4]byte{15}, none),
			op(wSync, 15, int64(abi.OCPageRead), 16, none, none)),
		"call-next-and-answer": cat(
			op(wCall, pNextStart, 7, 100, [4]byte{pPage, pNode}, r15),
			op(wReturn, 15, 8, 10, [4]byte{pBank}, r15),
			op(wReturn, 15, 9, 0, none, r15)),
		"call-ecalls-across": cat(
			op(wCall, pEcallsStart, 1, 8, [4]byte{pNode}, r15),
			op(wFork, pEcallsStart, 2, 4096, none, none),
			op(wReturn, pEcallsStart, 3, 5000, none, r15)),
		"domain-ops-across": cat(
			op(wCall, pNextDomain, int64(abi.OCDomainGetState), 0, none, none),
			op(wCall, pNextDomain, int64(abi.OCDomainStop), 0, none, none),
			op(wCall, pNextDomain, int64(abi.OCDomainSetHome), 8, none, none),
			op(wCall, pNextDomain, int64(abi.OCDomainMakeStart), 8, none, [4]byte{13}),
			op(wCall, pNextDomain, int64(abi.OCDomainRun), 0, none, none),
			op(wCall, pNextDomain, int64(abi.OCDomainMakeAvailable), 0, none, none),
			op(wCall, pNextDomain, int64(abi.OCDomainGetRegs), 0, none, none)),
		"destroy-then-call": cat(
			op(wCall, pNextStart, 1, 0, none, r15),
			op(wSync, pBank, int64(abi.OCBankDestroy), 0, none, none),
			op(wCall, pNextStart, 1, 0, none, r15)),
		"fork-flood": cat(
			op(wFork, pNextStart, 1, 4000, [4]byte{1, 2, 3, 4}, none),
			op(wFork, pSelfStart, 2, 10, none, none),
			op(wFork, pNextStart, 3, 0, none, none),
			op(wFork, pEcallsStart, 4, 100, none, none)),
		"clock": cat(
			op(wSync, pClock, int64(abi.OCClockWaitUntil), 8, none, none),
			op(wCall, pClock, int64(abi.OCClockWaitUntil), 8, none, none),
			op(wCall, pClock, int64(abi.OCClockRead), 0, none, none)),
		"returner": cat(
			op(wCall, pNextStart, 1, 0, none, r15),
			op(wReturn, pReturner, 5, 8, [4]byte{0, 0, 0, 15}, r15),
			op(wFork, pReturner, 6, 8, [4]byte{0, 0, 0, pSelfStart}, none),
			op(wCall, pReturner, 7, 0, none, r15)),
		"meter-zero": cat(
			op(wSync, pMeter, int64(abi.OCMeterSetBudget), 8, none, none),
			op(wCall, pNextStart, 1, 0, none, r15)),
		"sell-self": cat(
			op(wSync, pBank, int64(abi.OCBankSell), 0, [4]byte{pSelfDomain}, none),
			op(wCall, pNextStart, 1, 0, none, r15)),
		"nodes": cat(
			op(wSync, pNode, int64(abi.OCNodeSwap), 8, [4]byte{pBank}, [4]byte{15}),
			op(wSync, pNode, int64(abi.OCNodeMakeSense), 0, none, [4]byte{15}),
			op(wSync, 15, int64(abi.OCNodeFetch), 8, none, [4]byte{14}),
			op(wSync, pNode, int64(abi.OCNodeMakeSegment), 16, none, [4]byte{13}),
			op(wMove, 0, 0, 0, [4]byte{12, 13}, none),
			op(wSync, pNode, int64(abi.OCNodeClear), 0, none, none)),
		"stale-resume": cat(
			op(wCall, pNextStart, 1, 0, none, r15),
			op(wMove, 0, 0, 0, [4]byte{13, 15}, none),
			op(wFork, 15, 2, 0, none, none),
			op(wFork, 13, 3, 0, none, none),
			op(wCall, 13, 4, 0, none, r15)),
	}
}

func ecallSeeds() map[string][]byte {
	const offs = 3 // both flags: a2 and a5 are buffer offsets
	call := func(kr uint64) uint64 { return kr | uint64(abi.InvCall)<<uint(abi.EcallTypeShift) }
	return map[string][]byte{
		"empty": nil,
		"playground": ecallPage(
			[9]uint64{offs, call(11), uint64(abi.OCBankBuyPage), 0, 0, 0, 0, 0, 12},
			[9]uint64{offs, call(12), uint64(abi.OCPageWrite), 0, 64, 0, 0, 0, 0},
			[9]uint64{offs, call(12), uint64(abi.OCPageRead), 0, 16, 0, 0, 4096, 0},
			[9]uint64{offs, call(11), uint64(abi.OCBankSell), 0, 0, 12, 0, 0, 0}),
		"bad-descriptors": ecallPage(
			[9]uint64{offs, 1 << 4, 0, 0, 0, 0, 0, 0, 0},
			[9]uint64{offs, 3 << 8, 0, 0, 0, 0, 0, 0, 0},
			[9]uint64{offs, call(11), 1, 0, 4097, 0, 0, 0, 0},
			[9]uint64{offs, call(11), 1, 0, 0, 0x10000, 0, 0, 0},
			[9]uint64{offs, call(11), 1, 0, 0, 0, 0, 0, 0x10000}),
		"wild-strings": ecallPage(
			[9]uint64{0, call(11), 1, 0x4000_0000, 8, 0, 0x5000_0000, 8, 0},
			[9]uint64{0, call(1), 1, 0x1_0000_0000, 100, 0, 0, 0, 0},
			[9]uint64{0, call(11), 8, 0, 0, 0, 0x10000, 4096, 0}),
		"gates": ecallPage(
			[9]uint64{offs, call(8), 1, 0, 8, 0, 0, 8, 0xf000},
			[9]uint64{offs, 8 | uint64(abi.InvFork)<<uint(abi.EcallTypeShift), 2, 0, 4096, 0x1234, 0, 0, 0},
			[9]uint64{offs, 10 | uint64(abi.InvFork)<<uint(abi.EcallTypeShift), 3, 0, 0, 0x8000, 0, 0, 0},
			[9]uint64{offs, call(10), 4, 0, 0, 0, 0, 0, 0xffff}),
		"domain": ecallPage(
			[9]uint64{offs, call(15), uint64(abi.OCDomainRun), 0, 0, 0, 0, 0, 0},
			[9]uint64{offs, call(15), uint64(abi.OCDomainGetState), 0, 0, 0, 0, 56, 0},
			[9]uint64{offs, call(15), uint64(abi.OCDomainStop), 0, 0, 0, 0, 0, 0},
			[9]uint64{offs, call(4), uint64(abi.OCDomainGetSlot), 0, 8, 0, 0, 0, 13}),
		"destroy-playground": ecallPage(
			[9]uint64{offs, call(11), uint64(abi.OCBankDestroy), 0, 0, 0, 0, 0, 0},
			[9]uint64{offs, call(12), uint64(abi.OCNodeFetch), 0, 8, 0, 0, 0, 13},
			[9]uint64{offs, call(13), uint64(abi.OCPageRead), 0, 16, 0, 0, 64, 0}),
	}
}

func writeSeeds(t *testing.T, name string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, "seed-"+n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteFuzzCorpus writes the seed corpora (only with
// -hostile.writecorpus).
func TestWriteFuzzCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("writes testdata/fuzz only with -hostile.writecorpus")
	}
	writeSeeds(t, "FuzzInvocations", invocationSeeds())
	writeSeeds(t, "FuzzEcall", ecallSeeds())
}
