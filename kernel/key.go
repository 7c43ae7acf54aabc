package kernel

import (
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
)

// Key is a capability. It lives only in kernel memory (node slots, domain
// root slots and key registers) and in messages in flight; user code names
// keys by key register number. The zero Key is DK(0), the null key.
//
// A key to an object names it by header and allocation count; the pointer
// is an accelerator, the pair is the name. A key whose allocation count no
// longer matches, or whose object's bank was destroyed, is void and behaves
// as DK(0).
type Key struct {
	hdr   *header // the object, or nil for data and device keys
	val   uint64  // data key: n; resume and restart keys: the domain's resume generation
	alloc uint32  // the object's allocation count this key names
	keyBits
}

// keyBits are a key's type and attributes. They are a struct of their own
// so that Key has four fields, the most the Go compiler keeps in registers:
// with six, every copy of a key went through memory as stores of one width
// and loads of another, which stalls the CPU's store forwarding, and
// Key.live alone took a quarter of a page fault's time.
type keyBits struct {
	kt    kt    // what the key is; 0 means data key (DK(val))
	flags flag  // abi.Flag bits
	db    uint8 // start key: data byte; segment key: size
}

// kt and flag are abi.KT and abi.Flag stored in a byte, to keep keys at 24
// bytes.
type (
	kt   uint8
	flag uint8
)

// DK returns the data key DK(n).
func DK(n uint64) Key { return Key{val: n} }

// Type reports the key's type as keybits sees it (void keys are data keys).
func (k Key) Type() abi.KT {
	if k.kt == 0 {
		return abi.KTData
	}
	return abi.KT(k.kt)
}

// IsNull reports whether k is DK(0) (void keys are not folded in; see live).
func (k Key) IsNull() bool { return k.kt == 0 && k.val == 0 }

// live returns k, or DK(0) if k is void. Device keys have no object and are
// always live; resume and restart keys also need their domain waiting under
// the same generation.
func (k Key) live() Key {
	if k.hdr == nil {
		return k
	}
	if !k.hdr.valid(k.alloc) {
		return Key{}
	}
	if k.kt == ktResume || k.kt == ktRestart {
		if k.hdr.domain().resumeGen.Load() != k.val {
			return Key{}
		}
	}
	return k
}

// keyTo makes a key of type kt to the object h.
func keyTo(h *header, t abi.KT, flags abi.Flag, db uint8) Key {
	return Key{hdr: h, alloc: h.alloc.Load(), keyBits: keyBits{kt: kt(t), flags: flag(flags), db: db}}
}

// deviceKey makes a key to a device or kernel tool (no object).
func deviceKey(t abi.KT) Key { return Key{keyBits: keyBits{kt: kt(t)}} }

// The key types as stored in Key.kt.
const (
	ktPage     = kt(abi.KTPage)
	ktNode     = kt(abi.KTNode)
	ktFetch    = kt(abi.KTFetch)
	ktSense    = kt(abi.KTSense)
	ktSegment  = kt(abi.KTSegment)
	ktDomain   = kt(abi.KTDomain)
	ktStart    = kt(abi.KTStart)
	ktResume   = kt(abi.KTResume)
	ktRestart  = kt(abi.KTRestart)
	ktBank     = kt(abi.KTBank)
	ktMeter    = kt(abi.KTMeter)
	ktReturner = kt(abi.KTReturner)
	ktDiscrim  = kt(abi.KTDiscrim)
	ktKeybits  = kt(abi.KTKeybits)
	ktConsole  = kt(abi.KTConsole)
	ktClock    = kt(abi.KTClock)

	flReadOnly  = flag(abi.FlagReadOnly)
	flNoCall    = flag(abi.FlagNoCall)
	flRed       = flag(abi.FlagRed)
	flNoDestroy = flag(abi.FlagNoDestroy)
)

// sensed returns the key a sense key hands out for k: pages become
// read-only, nodes become sense keys, segments read-only and no-call, data
// keys are unchanged, anything else becomes DK(0).
func (k Key) sensed() Key {
	switch k.kt {
	case 0:
		return k
	case ktPage:
		k.flags |= flReadOnly
		return k
	case ktNode, ktFetch, ktSense:
		k.kt = ktSense
		k.flags = 0
		return k
	case ktSegment:
		k.flags |= flReadOnly | flNoCall
		return k
	}
	return Key{}
}

// String renders a key for traces and inspection.
func (k Key) String() string {
	switch {
	case k.kt == 0:
		return fmt.Sprintf("DK(%d)", k.val)
	case k.hdr == nil:
		return ktName(abi.KT(k.kt))
	}
	s := fmt.Sprintf("%s(%s#%d/%d", ktName(abi.KT(k.kt)), k.hdr.kind, k.hdr.id.index(), k.alloc)
	if k.flags&flReadOnly != 0 {
		s += ",ro"
	}
	if k.flags&flNoCall != 0 {
		s += ",nocall"
	}
	if k.flags&flRed != 0 {
		s += ",red"
	}
	if k.flags&flNoDestroy != 0 {
		s += ",nodestroy"
	}
	switch k.kt {
	case ktStart:
		s += fmt.Sprintf(",db=%d", k.db)
	case ktSegment:
		s += fmt.Sprintf(",size=%d", k.db)
	}
	return s + ")"
}

var ktNames = map[abi.KT]string{
	abi.KTData: "data", abi.KTPage: "page", abi.KTNode: "node", abi.KTFetch: "fetch",
	abi.KTSense: "sense", abi.KTSegment: "segment", abi.KTDomain: "domain",
	abi.KTStart: "start", abi.KTResume: "resume", abi.KTRestart: "restart",
	abi.KTBank: "bank", abi.KTMeter: "meter", abi.KTReturner: "returner",
	abi.KTDiscrim: "discrim", abi.KTKeybits: "keybits", abi.KTConsole: "console",
	abi.KTClock: "clock",
}

func ktName(kt abi.KT) string {
	if s, ok := ktNames[kt]; ok {
		return s
	}
	return fmt.Sprintf("kt%d", kt)
}
