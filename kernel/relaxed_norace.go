//go:build !race

package kernel

import (
	"sync/atomic"
	"unsafe"
)

// relaxedU64 is a word written by one owner (one core, or whoever holds
// the lock that guards it) and read by anyone. Loads are
// atomic; a store by the owner is a plain store, which on the machines Go
// supports is a single atomic write and avoids a locked instruction on the
// invocation fast path. Under the race detector (relaxed_race.go) stores
// are atomic too, so the detector still sees every other race.
type relaxedU64 struct{ v atomic.Uint64 }

func (r *relaxedU64) Load() uint64 { return r.v.Load() }

func (r *relaxedU64) Store(x uint64) { *(*uint64)(unsafe.Pointer(&r.v)) = x }

// Add is for the owner only (as Store).
func (r *relaxedU64) Add(d uint64) uint64 {
	x := r.v.Load() + d
	r.Store(x)
	return x
}
