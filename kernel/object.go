package kernel

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// objKind is the type of a kernel object.
type objKind uint8

const (
	objPage objKind = iota
	objNode
	objDomain
	objBank
	objMeter
	numObjKinds
)

var objKindNames = [numObjKinds]string{"page", "node", "domain", "bank", "meter"}

func (k objKind) String() string {
	if k < numObjKinds {
		return objKindNames[k]
	}
	return "object?"
}

// ObjectID is an object's stable id: its kind in the top byte and its index
// in the object store below. Ids are reused after an object is freed, with a
// new allocation count.
type ObjectID uint64

func makeObjectID(k objKind, index uint64) ObjectID { return ObjectID(uint64(k)<<56 | index) }

func (id ObjectID) index() uint64 { return uint64(id) & (1<<56 - 1) }

// header is the first field of every kernel object.
type header struct {
	id   ObjectID // immutable once the slot exists
	kind objKind  // immutable

	// alloc is the allocation count. It changes only when the object is
	// freed (sold, or swept after its bank was destroyed), voiding every
	// key that names the old count. Read by any core; written by the core
	// freeing the object.
	alloc atomic.Uint32

	// bank is the bank the object was bought from; nil while free. A key
	// is void once its object's bank is destroyed. Written by the buying
	// or freeing core; read by any core.
	bank atomic.Pointer[Bank]

	// mapped is set when a TLB fill walks through this page or node, so
	// that removing the mapping must wait for a grace period (epoch.go).
	mapped atomic.Bool

	// used is set once the slot has held an object; a fresh slot's
	// contents are known to be zero (ledger).
	used bool

	// prev, next link the object into its bank's list of objects of its
	// kind. Written only under Machine.ledger (a destroyer walks the list
	// under it); a destroyed bank's dropped list keeps its links until its
	// slots are swept or, for domains, bought again.
	prev, next *header
}

// valid reports whether a key naming this header with allocation count a
// still designates a live object.
func (h *header) valid(a uint32) bool {
	if h.alloc.Load() != a {
		return false
	}
	b := h.bank.Load()
	if b == nil || b.dead.Load() {
		return false
	}
	// The sweeper bumps alloc before it changes bank, so an unchanged alloc
	// means bank was read from the same incarnation.
	return h.alloc.Load() == a
}

// Casting a header back to its object: every object type has header as its
// first field, so a *header of kind k points at the start of the object.
func (h *header) page() *Page     { return (*Page)(unsafe.Pointer(h)) }
func (h *header) node() *Node     { return (*Node)(unsafe.Pointer(h)) }
func (h *header) domain() *Domain { return (*Domain)(unsafe.Pointer(h)) }
func (h *header) bankObj() *Bank  { return (*Bank)(unsafe.Pointer(h)) }
func (h *header) meter() *Meter   { return (*Meter)(unsafe.Pointer(h)) }

// store holds every object slot of a machine, by kind and index, and the
// free slots ready for reuse.
type store struct {
	mu sync.Mutex // guards everything below

	// slots[k] lists every slot of kind k ever created, indexed by
	// ObjectID.index; slots are never given back to Go.
	slots [numObjKinds][]*header

	// free[k] holds slots of kind k that can be reused now.
	free [numObjKinds][]*header

	// limbo holds freed slots waiting for a grace period: a slot freed at
	// epoch e is reusable once every core has seen epoch e.
	limbo []limboEntry

	// dead holds the object lists of destroyed banks, swept lazily
	// (sweepSome) once their grace period has passed.
	dead []deadList

	// created counts slots created, by kind (for inspection).
	created [numObjKinds]uint64
}

type limboEntry struct {
	h     *header
	epoch uint64
}

// deadList is one kind's object list of a destroyed bank.
type deadList struct {
	head  *header
	epoch uint64
}

// newObject returns a fresh slot of kind k, creating one if none is free.
// The caller holds Machine.ledger, initializes the object and sets its bank.
func (m *Machine) newObject(k objKind) *header {
	s := &m.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.free[k]) == 0 {
		m.reclaimLocked(k)
	}
	if n := len(s.free[k]); n > 0 {
		h := s.free[k][n-1]
		s.free[k] = s.free[k][:n-1]
		return h
	}
	var h *header
	switch k {
	case objPage:
		h = &new(Page).header
	case objNode:
		h = &new(Node).header
	case objDomain:
		h = &new(Domain).header
	case objBank:
		h = &new(Bank).header
	case objMeter:
		h = &new(Meter).header
	}
	h.kind = k
	h.id = makeObjectID(k, uint64(len(s.slots[k])))
	s.slots[k] = append(s.slots[k], h)
	s.created[k]++
	return h
}

// reclaimLocked moves slots whose grace period has passed from limbo and
// from destroyed banks' lists to the free lists, enough to satisfy an
// allocation of kind want. s.mu is held.
func (m *Machine) reclaimLocked(want objKind) {
	s := &m.store
	safe := m.epochs.safe()
	kept := s.limbo[:0]
	for _, e := range s.limbo {
		if e.epoch <= safe {
			s.free[e.h.kind] = append(s.free[e.h.kind], e.h)
		} else {
			kept = append(kept, e)
		}
	}
	clear(s.limbo[len(kept):])
	s.limbo = kept
	if len(s.free[want]) > 0 {
		return
	}
	// Sweep destroyed banks' objects, a bounded number per call so that
	// no single allocation pays for a whole destroyed bank.
	const batch = 256
	swept := 0
	for i := 0; i < len(s.dead) && swept < batch; i++ {
		d := &s.dead[i]
		if d.epoch > safe {
			continue
		}
		for d.head != nil && swept < batch {
			h := d.head
			d.head = h.next
			h.prev, h.next = nil, nil
			m.scrub(h)
			s.free[h.kind] = append(s.free[h.kind], h)
			swept++
		}
	}
	kept2 := s.dead[:0]
	for _, d := range s.dead {
		if d.head != nil {
			kept2 = append(kept2, d)
		}
	}
	clear(s.dead[len(kept2):])
	s.dead = kept2
}

// scrub voids every key to h and forgets its contents, making the slot free.
func (m *Machine) scrub(h *header) {
	h.alloc.Add(1)
	h.bank.Store(nil)
	h.mapped.Store(false)
	switch h.kind {
	case objNode:
		n := h.node()
		n.mu.Lock()
		n.slots = [16]Key{}
		n.mu.Unlock()
	case objMeter:
		mt := h.meter()
		mt.mu.Lock()
		mt.superior, mt.keeper = Key{}, Key{}
		mt.mu.Unlock()
	case objBank:
		// Machine.ledger is held (newObject's caller).
		b := h.bankObj()
		b.parent = nil
		b.objs = [numObjKinds]*header{}
	}
}

// freeLater puts a freed slot in limbo until every core has passed epoch e.
func (m *Machine) freeLater(h *header, e uint64) {
	s := &m.store
	s.mu.Lock()
	s.limbo = append(s.limbo, limboEntry{h, e})
	s.mu.Unlock()
}
