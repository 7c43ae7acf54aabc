//go:build race

package kernel

import "sync/atomic"

// relaxedU64 is a word written by one owner (one core, or whoever holds
// the lock that guards it) and read by anyone; see
// relaxed_norace.go. Under the race detector its stores are atomic.
type relaxedU64 struct{ v atomic.Uint64 }

func (r *relaxedU64) Load() uint64 { return r.v.Load() }

func (r *relaxedU64) Store(x uint64) { r.v.Store(x) }

// Add is for the owner only.
func (r *relaxedU64) Add(d uint64) uint64 { return r.v.Add(d) }
