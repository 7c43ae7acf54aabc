package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/keyfish-os/keyfish/abi"
)

// TestWalkCacheAgreesWithWalk: a walk that starts from the page-walk cache
// finds what a walk from the root finds (page, writability, and for a
// fault its detail, keeper, node and offset), while random changes are
// made to a random segment tree through node keys and the cache is
// flushed only when the map epoch moves, as a core's is. The tree has red
// nodes (keepers, windows, fewer mapping slots), read-only and no-call
// keys, node keys and smaller segments in slots; the changes fill empty
// slots (which leave the epoch alone), replace keys, rewrite formats and
// sell nodes and pages.
func TestWalkCacheAgreesWithWalk(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { walkCacheRound(t, uint64(seed)) })
	}
}

func walkCacheRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	m, err := New(Config{Topology: "native", Deterministic: true, Memory: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	bank := m.PrimeBank()
	buy := func(oc abi.OC) Key { return m.MustCall(bank, int64(oc), nil).Keys[0] }
	var nodes, pages []Key
	keeper := buy(abi.OCBankBuyNode) // any key will do as a keeper here
	newPage := func() Key { p := buy(abi.OCBankBuyPage); pages = append(pages, p); return p }
	// node builds a node that maps as a segment of the given size, and
	// returns the key to put in a parent's slot (or the root).
	var node func(size int, root bool) Key
	var child func(size int, window bool) Key
	node = func(size int, root bool) Key {
		n := buy(abi.OCBankBuyNode)
		nodes = append(nodes, n)
		red := rng.IntN(3) == 0
		slots := 16
		if red {
			slots = rng.IntN(15) // 0 is a window
			ks := uint64(14)
			if rng.IntN(2) == 0 {
				m.MustCall(n, int64(abi.OCNodeSwap), Words(ks), keeper)
			}
			format := uint64(size) | uint64(slots)<<uint(abi.RedSlotsShift) | ks<<uint(abi.RedKeeperShift)
			m.MustCall(n, int64(abi.OCNodeWriteData), Words(uint64(abi.RedFormatSlot), format))
		}
		fill := slots
		if red && slots == 0 {
			fill = 1
		}
		for i := range min(fill, 4) { // the first few slots: addresses stay small
			m.MustCall(n, int64(abi.OCNodeSwap), Words(uint64(i)), child(size, red && slots == 0))
		}
		if !root && !red && rng.IntN(2) == 0 {
			return n // a node key: maps one size smaller than its parent
		}
		var flags uint64
		if red {
			flags |= uint64(abi.FlagRed)
		}
		if rng.IntN(5) == 0 {
			flags |= uint64(abi.FlagReadOnly)
		}
		if rng.IntN(5) == 0 {
			flags |= uint64(abi.FlagNoCall)
		}
		return m.MustCall(n, int64(abi.OCNodeMakeSegment), Words(uint64(size), flags)).Keys[0]
	}
	child = func(size int, window bool) Key {
		sub := size - 1
		if window {
			sub = size
		}
		switch {
		case sub == 0 || rng.IntN(4) == 0:
			p := newPage()
			if rng.IntN(4) == 0 {
				return m.MustCall(p, int64(abi.OCPageWeaken), nil).Keys[0]
			}
			return p
		case rng.IntN(6) == 0:
			return Key{}
		default:
			return node(1+rng.IntN(sub), false)
		}
	}
	const size = 3
	space := node(size, true)

	var wc walkCache
	seen := m.epochs.mapGen.Load()
	var last uint64
	addr := func() uint64 {
		// Mostly in the 64 KiB of the last address (what the cache
		// serves), else in the first few slots at every level, where the
		// tree is.
		if rng.IntN(4) != 0 {
			last = last&^0xffff | uint64(rng.IntN(5))<<12 | uint64(rng.IntN(4096))
			return last
		}
		var a uint64
		for l := 0; l < size; l++ {
			a = a<<4 | uint64(rng.IntN(5))
		}
		last = a<<12 | uint64(rng.IntN(4096))
		return last
	}
	for step := range 400 {
		if rng.IntN(3) == 0 {
			// A change, made as a domain would make it.
			n := nodes[rng.IntN(len(nodes))]
			slot := uint64(rng.IntN(16))
			switch r := rng.IntN(10); {
			case r < 5:
				m.MustCall(n, int64(abi.OCNodeSwap), Words(slot), child(1+rng.IntN(2), false))
			case r < 6:
				m.MustCall(n, int64(abi.OCNodeSwap), Words(slot))
			case r < 7:
				format := uint64(1+rng.IntN(size)) | uint64(rng.IntN(16))<<uint(abi.RedSlotsShift) | uint64(rng.IntN(16))<<uint(abi.RedKeeperShift)
				m.MustCall(n, int64(abi.OCNodeWriteData), Words(uint64(abi.RedFormatSlot), format))
			case r < 8:
				m.MustCall(n, int64(abi.OCNodeSwap), Words(slot), keeper)
			case r < 9 && len(pages) > 0:
				m.Call(bank, int64(abi.OCBankSell), nil, pages[rng.IntN(len(pages))])
			default:
				m.Call(bank, int64(abi.OCBankSell), nil, nodes[rng.IntN(len(nodes))])
			}
			if g := m.epochs.mapGen.Load(); g != seen {
				seen = g
				wc = walkCache{} // as rvKind.flush does
			}
			continue
		}
		a, write := addr(), rng.IntN(2) == 0
		var f1, f2 segFault
		p1, w1 := translate(space, a, write, &f1, &wc)
		p2, w2 := translate(space, a, write, &f2, nil)
		if p1 != p2 || w1 != w2 || f1 != f2 {
			t.Fatalf("step %d, address %#x, write %v: from the cache %p %v %+v; from the root %p %v %+v",
				step, a, write, p1, w1, f1, p2, w2, f2)
		}
	}
}
