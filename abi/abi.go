// Package abi is the single definition of Keyfish's binary interface: the
// order codes each key answers, the return codes, the trap codes keepers
// receive, the layouts of the byte strings kernel objects exchange, and the
// rv64 ecall convention. The C header of the SDK (sdk/include/keyfish/abi.h)
// is generated from this file by `go generate`; a test fails when the
// committed header is stale.
//
// Every constant's C name is KF_ followed by its type's prefix and the rest
// of its Go name in upper snake case: RCNoSpace becomes KF_RC_NO_SPACE,
// OCPageRead becomes KF_OC_PAGE_READ.
//
// Numbers inside message strings are little-endian 64-bit words unless a
// layout says otherwise.
package abi

//go:generate go run ../internal/abigen -o ../sdk/include/keyfish/abi.h

// Limit is a size limit of the interface.
type Limit int64

const (
	// LimitString is the longest byte string a message carries.
	LimitString Limit = 4096
	// LimitKeys is how many keys a message carries.
	LimitKeys Limit = 4
	// LimitKeyRegs is how many key registers a domain has.
	LimitKeyRegs Limit = 16
	// LimitSlots is how many key slots a node has.
	LimitSlots Limit = 16
	// LimitPageSize is the size of a page in bytes.
	LimitPageSize Limit = 4096
	// LimitMaxSegSize is the largest segment size k: a node of size k spans
	// 16^k pages.
	LimitMaxSegSize Limit = 13
	// LimitBankDepth is how deep sub-banks may nest below the prime bank.
	LimitBankDepth Limit = 64
	// LimitMeterDepth is how deep meters may nest below the prime meter.
	LimitMeterDepth Limit = 64
)

// RC is a return code: the order code of a reply. Zero is success. Every
// invalid invocation gets one of these; the list is complete.
type RC int64

const (
	// RCOk means the operation was done.
	RCOk RC = 0
	// RCUnknownOrder means the key does not answer that order code.
	RCUnknownOrder RC = -1
	// RCBadArgument means the string is too short for the order or holds a
	// value out of range.
	RCBadArgument RC = -2
	// RCBadKey means a key passed in the message is of the wrong type or void.
	RCBadKey RC = -3
	// RCNoSpace means a bank refused: a limit of the bank or of an ancestor
	// would be exceeded, or the machine's storage is used up.
	RCNoSpace RC = -4
	// RCNotPermitted means the key is too weak for the order (read-only,
	// fetch, sense, or a bank key that cannot destroy).
	RCNotPermitted RC = -5
	// RCBadState means the domain is not in the state the order needs.
	RCBadState RC = -6
	// RCBadInvocation means an rv64 ecall's descriptor was malformed: an
	// unknown invocation type, a send string longer than LimitString, or
	// reserved bits set. Nothing was sent.
	RCBadInvocation RC = -7
	// RCNoCluster means the machine has no cluster of the CPU kind asked for.
	RCNoCluster RC = -8
	// RCCalleeDestroyed is the reply a waiting caller gets when the domain
	// holding its resume key in a key register is destroyed.
	RCCalleeDestroyed RC = -9
	// RCWrongBank means the object was not bought from this bank or one of
	// its sub-banks.
	RCWrongBank RC = -10
	// RCRange means a slot, key register or register index is out of
	// range, or a bank or meter would nest deeper than its limit.
	RCRange RC = -11
	// RCWouldWait is returned only to native code calling a key inside its
	// event: the invocation cannot be answered at once (a domain homed in
	// another cluster or running on a core, or a gate key) and must be the
	// handler's final invocation instead.
	RCWouldWait RC = -12
)

// Inv is an invocation type.
type Inv int64

const (
	// InvCall sends and waits for the reply; a resume key to the invoker
	// goes in the fourth key position of the message.
	InvCall Inv = 0
	// InvReturn sends and becomes available for the next message.
	InvReturn Inv = 1
	// InvFork sends and continues running.
	InvFork Inv = 2
)

// Ecall is the rv64 ecall convention. An ecall is a key invocation; its
// arguments are in a0..a7:
//
//	a0  descriptor: key register (bits 0..3) | invocation type << EcallTypeShift
//	a1  order code
//	a2  send string address      a3  send string length (0..LimitString)
//	a4  send keys: key register of key i in bits 4i..4i+3 (register 0 sends DK(0))
//	a5  receive buffer address   a6  receive buffer length
//	a7  receive keys: key register for key i in bits 4i..4i+3 (0 discards it)
//
// When a message arrives (the reply to a CALL, or the next message after a
// RETURN) the domain resumes after the ecall with a0 = order or return code,
// a1 = the length sent (at most a6 bytes were written; a receive buffer that
// is not writable cuts the string there), a2 = the start key's data byte, or
// EcallFromResume for a message through a resume key. A FORK resumes with
// a0 = RCOk. A malformed descriptor resumes at once with a0 = RCBadInvocation.
// Registers other than a0..a2 are preserved.
type Ecall int64

const (
	// EcallKeyMask selects the key register in the descriptor.
	EcallKeyMask Ecall = 0xf
	// EcallTypeShift is where the invocation type sits in the descriptor.
	EcallTypeShift Ecall = 8
	// EcallFromResume is the data byte register's value for a message that
	// came through a resume key.
	EcallFromResume Ecall = -1
)

// KR is a key register number. Register 0 always holds DK(0). The others
// are the program's; the loader and the SDK use these conventions.
type KR int64

const (
	// KRNull is register 0, always DK(0).
	KRNull KR = 0
	// KRConsole holds the console key.
	KRConsole KR = 1
	// KRBank holds a key to the program's own bank.
	KRBank KR = 2
	// KRMeter holds a key to the program's own meter.
	KRMeter KR = 3
	// KRSelf holds a domain key to the program's own domain.
	KRSelf KR = 4
	// KRExit holds the key the program's exit status is returned to.
	KRExit KR = 5
	// KRClock holds the clock key.
	KRClock KR = 6
	// KRCreator holds a start key to the domain creator.
	KRCreator KR = 7
	// KRArg0 is the first of four registers for keys the launcher passes.
	KRArg0 KR = 8
	// KRRecv0 is the first of four registers where the SDK receives keys.
	KRRecv0 KR = 12
)

// KT is a key type: what a key alleges to be (OCKeyType) and what keybits
// reports.
type KT int64

const (
	// KTData is a data key DK(n). Invoking it returns n whatever the order.
	KTData KT = 1
	// KTPage is a page key (read-write or read-only).
	KTPage KT = 2
	// KTNode is a node key.
	KTNode KT = 3
	// KTFetch is a fetch key: it can only fetch.
	KTFetch KT = 4
	// KTSense is a sense key: it fetches and weakens what it returns.
	KTSense KT = 5
	// KTSegment is a node-based segment key.
	KTSegment KT = 6
	// KTDomain is a domain key.
	KTDomain KT = 7
	// KTStart is a start key.
	KTStart KT = 8
	// KTResume is a resume key.
	KTResume KT = 9
	// KTRestart is a restart key: a resume key that restarts a trapped
	// domain without delivering a message.
	KTRestart KT = 10
	// KTBank is a bank key.
	KTBank KT = 11
	// KTMeter is a meter key.
	KTMeter KT = 12
	// KTReturner is the returner.
	KTReturner KT = 13
	// KTDiscrim is the discrim.
	KTDiscrim KT = 14
	// KTKeybits is the keybits key.
	KTKeybits KT = 15
	// KTConsole is the console device key.
	KTConsole KT = 16
	// KTClock is the clock device key.
	KTClock KT = 17
)

// Flag is a key's attribute bits, as keybits reports them.
type Flag int64

const (
	// FlagReadOnly makes a page or segment key read-only.
	FlagReadOnly Flag = 1
	// FlagNoCall stops fault delivery to segment keepers below this key.
	FlagNoCall Flag = 2
	// FlagRed marks a segment key whose node is a red segment node.
	FlagRed Flag = 4
	// FlagNoDestroy marks a weakened bank key: it cannot destroy the bank.
	FlagNoDestroy Flag = 8
)

// OC is an order code.
type OC int64

// Orders every kernel key answers.
const (
	// OCKeyType asks any kernel key its type; the return code is its KT.
	OCKeyType OC = 0x7fff
)

// Page key orders.
const (
	// OCPageRead: string [offset, length] → reply string holds the bytes.
	OCPageRead OC = 1
	// OCPageWrite: string [offset] then the bytes (the bytes start at byte 8).
	OCPageWrite OC = 2
	// OCPageClear zeroes the page.
	OCPageClear OC = 3
	// OCPageWeaken → key 0: a read-only page key.
	OCPageWeaken OC = 4
)

// Node key orders. Fetch and sense keys answer only OCNodeFetch,
// OCNodeMakeSense and OCKeyType.
const (
	// OCNodeFetch: string [slot] → key 0: the key in the slot.
	OCNodeFetch OC = 1
	// OCNodeSwap: string [slot], key 0 → key 0: the key that was there.
	OCNodeSwap OC = 2
	// OCNodeClear puts DK(0) in every slot.
	OCNodeClear OC = 3
	// OCNodeMakeFetch → key 0: a fetch key to the node.
	OCNodeMakeFetch OC = 4
	// OCNodeMakeSense → key 0: a sense key to the node.
	OCNodeMakeSense OC = 5
	// OCNodeMakeSegment: string [size, flags] → key 0: a segment key. size
	// is 1..LimitMaxSegSize; flags are FlagReadOnly, FlagNoCall, FlagRed.
	OCNodeMakeSegment OC = 6
	// OCNodeWriteData: string [slot, n] puts DK(n) in the slot.
	OCNodeWriteData OC = 7
)

// Segment keys answer OCKeyType and OCSegWeaken.
const (
	// OCSegWeaken: string [flags] → key 0: the same segment key with the
	// flags added (FlagReadOnly, FlagNoCall).
	OCSegWeaken OC = 1
)

// Domain key orders.
const (
	// OCDomainGetSlot: string [slot] → key 0: a root slot (see Slot).
	OCDomainGetSlot OC = 1
	// OCDomainSetSlot: string [slot], key 0.
	OCDomainSetSlot OC = 2
	// OCDomainGetKeyReg: string [reg] → key 0.
	OCDomainGetKeyReg OC = 3
	// OCDomainSetKeyReg: string [reg], key 0. Register 0 stays DK(0).
	OCDomainSetKeyReg OC = 4
	// OCDomainGetRegs → string: the register file (see Regs).
	OCDomainGetRegs OC = 5
	// OCDomainSetRegs: string: the register file.
	OCDomainSetRegs OC = 6
	// OCDomainMakeStart: string [data byte] → key 0: a start key.
	OCDomainMakeStart OC = 7
	// OCDomainMakeRestart → key 0: a restart key, if the domain is waiting.
	OCDomainMakeRestart OC = 8
	// OCDomainRun makes a stopped or available domain run from its pc.
	OCDomainRun OC = 9
	// OCDomainMakeAvailable makes a stopped domain available for messages.
	OCDomainMakeAvailable OC = 10
	// OCDomainStop stops the domain; resume keys to it become void.
	OCDomainStop OC = 11
	// OCDomainGetState → string: see DomainState.
	OCDomainGetState OC = 12
	// OCDomainSetHome: string [cluster] moves the domain to another cluster
	// of the same CPU kind.
	OCDomainSetHome OC = 13
)

// Bank key orders.
const (
	// OCBankBuyPage → key 0: a page key.
	OCBankBuyPage OC = 1
	// OCBankBuyNode → key 0: a node key.
	OCBankBuyNode OC = 2
	// OCBankBuyDomain: string [CPU kind] → key 0: a domain key. The domain is
	// stopped, homed in a cluster of that kind.
	OCBankBuyDomain OC = 3
	// OCBankBuyMeter: string [budget], key 0: the superior meter → key 0.
	OCBankBuyMeter OC = 4
	// OCBankBuyBank: optional string of limits (see Ledger) → key 0: a
	// sub-bank.
	OCBankBuyBank OC = 5
	// OCBankSell: key 0: an object bought from this bank or a sub-bank.
	OCBankSell OC = 6
	// OCBankSetLimits: string: limits in the order of LedgerLimitBytes..
	// LedgerLimitBanks (Unlimited for none). A limit below what the bank
	// already uses is refused with RCBadArgument.
	OCBankSetLimits OC = 7
	// OCBankGetLedger → string: the ledger (see Ledger).
	OCBankGetLedger OC = 8
	// OCBankDestroy destroys the bank, its sub-banks and everything bought
	// from them.
	OCBankDestroy OC = 9
	// OCBankWeaken → key 0: a bank key that cannot destroy.
	OCBankWeaken OC = 10
)

// Meter key orders.
const (
	// OCMeterRead → string: see MeterInfo.
	OCMeterRead OC = 1
	// OCMeterMakeSub: string [budget], key 0: a bank key → key 0: a new meter
	// under this one.
	OCMeterMakeSub OC = 2
	// OCMeterSetBudget: string [budget] sets the remaining budget.
	OCMeterSetBudget OC = 3
	// OCMeterSetKeeper: key 0: the keeper (a start key), or DK(0) for none.
	OCMeterSetKeeper OC = 4
)

// Discrim orders.
const (
	// OCDiscrimClassify: key 0 → return code: a Discrim class; for a data key
	// the string holds n.
	OCDiscrimClassify OC = 1
	// OCDiscrimCompare: keys 0 and 1 → return code 1 if they are the same
	// key, else 0.
	OCDiscrimCompare OC = 2
)

// Keybits orders.
const (
	// OCKeybits: key 0 → string: see Keybits.
	OCKeybits OC = 1
)

// Console orders.
const (
	// OCConsoleWrite writes the string.
	OCConsoleWrite OC = 1
)

// Clock orders.
const (
	// OCClockRead → string [nanoseconds since boot].
	OCClockRead OC = 1
	// OCClockWaitUntil: string [deadline] replies when the clock reaches it.
	OCClockWaitUntil OC = 2
)

// Domain creator (a native service) orders.
const (
	// OCCreatorCreate: string [kind], key 0: a bank, key 1: a meter →
	// key 0: a domain key, key 1: a start key (data byte 0).
	OCCreatorCreate OC = 1
)

// Zero-keeper (the native demand-zero segment keeper) orders, besides the
// fault messages it serves as a segment keeper.
const (
	// OCZeroMakeSegment: string [size], key 0: a bank → key 0: a red
	// segment key of that size whose faults this keeper serves with zero
	// pages bought from the bank.
	OCZeroMakeSegment OC = 1
	// OCZeroStats → string [faults served].
	OCZeroStats OC = 2
)

// Discrim is a class that the discrim reports.
type Discrim int64

const (
	// DiscrimData is a data key (a void key is DK(0)).
	DiscrimData Discrim = 0
	// DiscrimMemory is a page, node, fetch, sense or segment key.
	DiscrimMemory Discrim = 1
	// DiscrimGate is a start, resume or restart key.
	DiscrimGate Discrim = 2
	// DiscrimOther is any other kernel key.
	DiscrimOther Discrim = 3
)

// Slot is a domain root slot.
type Slot int64

const (
	// SlotBrand holds the domain's brand, any key the creator chooses.
	SlotBrand Slot = 0
	// SlotMeter holds the meter that pays for the domain's CPU time.
	SlotMeter Slot = 1
	// SlotKeeper holds the domain keeper (a start key) or DK(0).
	SlotKeeper Slot = 2
	// SlotSpace holds the address segment (a page or segment key).
	SlotSpace Slot = 3
	// SlotCount is the number of root slots.
	SlotCount Slot = 4
)

// Kind is a CPU kind.
type Kind int64

const (
	// KindRV64 is the RISC-V RV64IMAC user-mode simulator.
	KindRV64 Kind = 1
	// KindNative is native Go code.
	KindNative Kind = 2
)

// State is a domain's state.
type State int64

const (
	// StateAvailable is waiting for a message on a start key.
	StateAvailable State = 0
	// StateRunning is running, ready to run, or stalled sending.
	StateRunning State = 1
	// StateWaiting is waiting for a reply on a resume key.
	StateWaiting State = 2
	// StateStopped is stopped: by a domain key, or trapped with no keeper.
	StateStopped State = 3
)

// Trap is the order code of a message the kernel sends a keeper on a
// domain's behalf, and the reason a stopped domain records.
type Trap int64

const (
	// TrapNone means no trap.
	TrapNone Trap = 0
	// TrapIllegal is an illegal or privileged instruction.
	TrapIllegal Trap = 1
	// TrapBreakpoint is ebreak.
	TrapBreakpoint Trap = 2
	// TrapMisaligned is a misaligned load, store or atomic.
	TrapMisaligned Trap = 3
	// TrapFault is a memory fault: nothing mapped, a write through
	// read-only, or a malformed segment.
	TrapFault Trap = 4
	// TrapMeter means the domain's meter (or a superior) is exhausted.
	TrapMeter Trap = 5
	// TrapNoMeter means the meter slot holds no valid meter.
	TrapNoMeter Trap = 6
	// TrapNativePanic means a native handler panicked.
	TrapNativePanic Trap = 7
	// TrapStopped means a domain key stopped the domain.
	TrapStopped Trap = 8
)

// Fault is the detail of a TrapFault.
type Fault int64

const (
	// FaultNotMapped means nothing is mapped at the address.
	FaultNotMapped Fault = 1
	// FaultReadOnly means a write through a read-only mapping.
	FaultReadOnly Fault = 2
	// FaultBadSegment means the segment tree is malformed there.
	FaultBadSegment Fault = 3
)

// Access is the kind of memory access in a fault.
type Access int64

const (
	// AccessRead is a load.
	AccessRead Access = 0
	// AccessWrite is a store or atomic.
	AccessWrite Access = 1
	// AccessExec is an instruction fetch.
	AccessExec Access = 2
)

// TrapMsg is the layout (word indexes) of the string of a trap message.
// A domain keeper gets key 0: a domain key, key 3: a restart key. A segment
// keeper gets key 0: a node key to the red segment node, key 3: a restart
// key. A meter keeper gets key 0: a key to the exhausted meter, key 3: a
// restart key. Invoking the restart key resumes the domain at its pc.
type TrapMsg int64

const (
	// TrapMsgCode is the Trap.
	TrapMsgCode TrapMsg = 0
	// TrapMsgPC is the pc of the trapping instruction.
	TrapMsgPC TrapMsg = 1
	// TrapMsgAddr is the faulting address.
	TrapMsgAddr TrapMsg = 2
	// TrapMsgAccess is the Access.
	TrapMsgAccess TrapMsg = 3
	// TrapMsgDetail is the Fault, or the instruction bits for TrapIllegal.
	TrapMsgDetail TrapMsg = 4
	// TrapMsgOffset is the address's offset inside the red segment whose
	// keeper gets the fault.
	TrapMsgOffset TrapMsg = 5
	// TrapMsgWords is the number of words.
	TrapMsgWords TrapMsg = 6
)

// Red is the layout of a red segment node's format, a data key in slot
// RedFormatSlot: size | mapping slots << RedSlotsShift | keeper slot <<
// RedKeeperShift. Slots 0 to mapping slots - 1 map memory; the keeper slot
// holds the segment keeper's start key, or is RedNoKeeper.
type Red int64

const (
	// RedFormatSlot is the slot holding the format.
	RedFormatSlot Red = 15
	// RedSlotsShift is where the count of mapping slots sits.
	RedSlotsShift Red = 8
	// RedKeeperShift is where the keeper slot number sits.
	RedKeeperShift Red = 16
	// RedNoKeeper as the keeper slot means no keeper.
	RedNoKeeper Red = 0xff
)

// Ledger is the layout (word indexes) of a bank's ledger.
type Ledger int64

const (
	// LedgerUsedBytes is the bytes used by the bank and its sub-banks.
	LedgerUsedBytes Ledger = 0
	// LedgerUsedPages is the pages held by the bank and its sub-banks.
	LedgerUsedPages Ledger = 1
	// LedgerUsedNodes is the nodes held by the bank and its sub-banks.
	LedgerUsedNodes Ledger = 2
	// LedgerUsedDomains is the domains held by the bank and its sub-banks.
	LedgerUsedDomains Ledger = 3
	// LedgerUsedMeters is the meters held by the bank and its sub-banks.
	LedgerUsedMeters Ledger = 4
	// LedgerUsedBanks is the sub-banks below the bank, at any depth.
	LedgerUsedBanks Ledger = 5
	// LedgerLimitBytes is the limit on used bytes.
	LedgerLimitBytes Ledger = 6
	// LedgerLimitPages is the limit on pages.
	LedgerLimitPages Ledger = 7
	// LedgerLimitNodes is the limit on nodes.
	LedgerLimitNodes Ledger = 8
	// LedgerLimitDomains is the limit on domains.
	LedgerLimitDomains Ledger = 9
	// LedgerLimitMeters is the limit on meters.
	LedgerLimitMeters Ledger = 10
	// LedgerLimitBanks is the limit on sub-banks.
	LedgerLimitBanks Ledger = 11
	// LedgerWords is the number of words.
	LedgerWords Ledger = 12
	// LedgerLimitCount is the number of limit words.
	LedgerLimitCount Ledger = 6
)

// Cost is what an object is charged to its bank, in bytes.
type Cost int64

const (
	// CostPage is a page.
	CostPage Cost = 4096
	// CostNode is a node: 16 key slots.
	CostNode Cost = 256
	// CostDomain is a domain: 40 node units, holding its root slots, key
	// registers, register file and a 4096-byte outbox for messages between
	// clusters.
	CostDomain Cost = 40 * 256
	// CostMeter is a meter: one node unit.
	CostMeter Cost = 256
	// CostBank is a bank: one node unit.
	CostBank Cost = 256
)

// Unlimited as a limit means no limit.
const Unlimited uint64 = 1<<64 - 1

// MeterInfo is the layout (word indexes) of a meter's OCMeterRead reply.
type MeterInfo int64

const (
	// MeterInfoRemaining is the remaining budget in ticks.
	MeterInfoRemaining MeterInfo = 0
	// MeterInfoConsumed is the ticks consumed under this meter.
	MeterInfoConsumed MeterInfo = 1
	// MeterInfoWords is the number of words.
	MeterInfoWords MeterInfo = 2
)

// DomainState is the layout (word indexes) of OCDomainGetState's reply.
type DomainState int64

const (
	// DomainStateState is the State.
	DomainStateState DomainState = 0
	// DomainStateTrap is the Trap that stopped it, or TrapNone.
	DomainStateTrap DomainState = 1
	// DomainStatePC is the pc of the trap.
	DomainStatePC DomainState = 2
	// DomainStateAddr is the trap's address.
	DomainStateAddr DomainState = 3
	// DomainStateKind is the CPU Kind.
	DomainStateKind DomainState = 4
	// DomainStateHome is the home cluster's index.
	DomainStateHome DomainState = 5
	// DomainStateTicks is the ticks the domain has consumed.
	DomainStateTicks DomainState = 6
	// DomainStateWords is the number of words.
	DomainStateWords DomainState = 7
)

// Keybits is the layout (word indexes) of keybits' reply.
type Keybits int64

const (
	// KeybitsType is the KT.
	KeybitsType Keybits = 0
	// KeybitsFlags is the Flag bits.
	KeybitsFlags Keybits = 1
	// KeybitsData is the data byte (start key), size (segment key) or n (data key).
	KeybitsData Keybits = 2
	// KeybitsObject is the object id, 0 for keys without an object.
	KeybitsObject Keybits = 3
	// KeybitsAlloc is the allocation count the key names.
	KeybitsAlloc Keybits = 4
	// KeybitsWords is the number of words.
	KeybitsWords Keybits = 5
)

// Regs is the layout (word indexes) of an rv64 domain's register file as
// OCDomainGetRegs and OCDomainSetRegs exchange it. A native domain's is
// RegsNative words of general registers.
type Regs int64

const (
	// RegsPC is the pc.
	RegsPC Regs = 0
	// RegsX1 is x1; x1..x31 follow in order.
	RegsX1 Regs = 1
	// RegsWords is the number of words of an rv64 register file.
	RegsWords Regs = 32
	// RegsNative is the number of words of a native register file.
	RegsNative Regs = 16
)

// Layout is the address space a program is loaded into (the loader and the
// SDK's linker script and runtime agree on it). The image's segments lie
// below LayoutImageEnd; the heap and the stack are red windows served by
// the zero keeper.
type Layout int64

const (
	// LayoutImageEnd bounds the program image.
	LayoutImageEnd Layout = 0x1000_0000
	// LayoutHeap is where the heap starts.
	LayoutHeap Layout = 0x1000_0000
	// LayoutHeapEnd is where the heap ends.
	LayoutHeapEnd Layout = 0x2000_0000
	// LayoutStackBase is the lowest stack address.
	LayoutStackBase Layout = 0x7000_0000
	// LayoutStackTop is just above the stack; sp starts below it.
	LayoutStackTop Layout = 0x8000_0000
	// LayoutRootSize is the size of the root segment (16^5 pages: 4 GiB).
	LayoutRootSize Layout = 5
	// LayoutRegionSize is the size of each 256 MiB region of the root.
	LayoutRegionSize Layout = 4
)

// Zero is the layout of a red window node served by the zero keeper: slot
// ZeroTreeSlot holds the node tree that maps the window, ZeroBankSlot the
// bank that pays for the pages and nodes it adds, ZeroKeeperSlot the zero
// keeper's start key; the format says 0 mapping slots (a window).
type Zero int64

const (
	// ZeroTreeSlot holds the tree's root node key.
	ZeroTreeSlot Zero = 0
	// ZeroBankSlot holds the bank.
	ZeroBankSlot Zero = 13
	// ZeroKeeperSlot holds the keeper's start key.
	ZeroKeeperSlot Zero = 14
)
