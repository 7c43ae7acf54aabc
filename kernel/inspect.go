package kernel

import (
	"sort"

	"github.com/keyfish-os/keyfish/abi"
)

// Stats is what the machine has done, for summaries and benchmarks. Read
// it only while the machine is stopped.
type Stats struct {
	Topology string
	// WallSeconds is the time spent in Run.
	WallSeconds float64
	Cores       []CoreStats
	// Invocations counts invocations by the type of key invoked ("start",
	// "resume", "page", "data", ...).
	Invocations map[string]uint64
	// Traps counts traps by kind ("fault", "meter", "illegal", ...).
	Traps map[string]uint64
	// Instructions is the rv64 instructions executed and native ticks
	// charged, all cores together.
	Ticks uint64
	// Messages is how many outboxes were posted between clusters.
	Messages uint64
	// DomainsFreed counts domains reaped and freed.
	DomainsFreed uint64
	// ConsoleBytes counts bytes written to the console.
	ConsoleBytes uint64
	// MaxStallQueue and MaxInbox are the longest stall queue and inbox
	// seen: never more than the number of domains.
	MaxStallQueue, MaxInbox int64
}

// CoreStats is one core's part.
type CoreStats struct {
	Cluster int
	// Kind names the CPU kinds the core runs, in topology syntax ("rv64",
	// "native", "rv64+native").
	Kind        string
	Events      uint64 // domain runs handled
	Invocations uint64
	// FastInvocations is the part of Invocations that took the fast path
	// (a CALL or RETURN to a start or resume key done in one step: within
	// the cluster a direct switch, to another cluster the message sent;
	// see Config.GeneralPath).
	FastInvocations uint64
	Traps           uint64
	Slices          uint64 // preemptions at the end of a slice
	Ticks           uint64 // ticks charged for domains it ran
	// RV64Instructions and NativeTicks split Ticks by the kind of
	// domain charged: rv64 instructions retired, native time.
	RV64Instructions, NativeTicks uint64
	// Utilization is the fraction of Run's wall time the core was not
	// idle (parallel mode; 0 in deterministic mode).
	Utilization float64
	// Sleeps counts the times the core went to sleep, idle, until
	// notified (parallel mode).
	Sleeps uint64
}

var trapNames = map[abi.Trap]string{
	abi.TrapIllegal: "illegal", abi.TrapBreakpoint: "breakpoint", abi.TrapMisaligned: "misaligned",
	abi.TrapFault: "fault", abi.TrapMeter: "meter", abi.TrapNoMeter: "no meter",
	abi.TrapNativePanic: "native panic", abi.TrapStopped: "stopped",
}

// TrapName names a trap code.
func TrapName(t abi.Trap) string {
	if n, ok := trapNames[t]; ok {
		return n
	}
	return "none"
}

// Stats returns the machine's counters.
func (m *Machine) Stats() Stats {
	s := Stats{
		Topology:    FormatTopology(m.Clusters()),
		WallSeconds: float64(m.runNanos) / 1e9,
		Invocations: map[string]uint64{},
		Traps:       map[string]uint64{},

		DomainsFreed:  m.stats.domainsFreed.Load(),
		MaxStallQueue: m.stats.maxStall.Load(),
	}
	m.console.mu.Lock()
	s.ConsoleBytes = m.console.bytes
	m.console.mu.Unlock()
	for _, c := range m.cores {
		cs := CoreStats{
			Cluster: c.cl.index, Kind: c.cl.kinds.String(), Events: c.stats.events,
			Invocations: c.stats.invocations, FastInvocations: c.stats.fast, Traps: c.stats.traps, Slices: c.stats.slices,
			Ticks: c.stats.busyTicks, Sleeps: c.stats.sleeps,
			RV64Instructions: c.stats.rvInsns, NativeTicks: c.stats.busyTicks - c.stats.rvInsns,
		}
		if !m.det && m.runNanos > 0 {
			cs.Utilization = max(0, 1-float64(c.stats.idleNanos)/float64(m.runNanos))
		}
		s.Cores = append(s.Cores, cs)
		s.Ticks += c.stats.busyTicks
		s.Messages += c.stats.posts
		s.MaxInbox = max(s.MaxInbox, c.stats.maxInbox)
		for kt, n := range c.stats.byKey {
			if n > 0 {
				name := "data"
				if kt != 0 {
					name = ktName(abi.KT(kt))
				}
				s.Invocations[name] += n
			}
		}
		for t, n := range c.stats.byTrap {
			if n > 0 {
				s.Traps[TrapName(abi.Trap(t))] += n
			}
		}
	}
	return s
}

// Snapshot is the object graph of a stopped machine: banks with their use,
// domains with their state and keys, meters.
type Snapshot struct {
	Topology string         `json:"topology"`
	Memory   uint64         `json:"memory"`
	Free     uint64         `json:"free"`
	Banks    []BankInfo     `json:"banks"`
	Domains  []DomainInfo   `json:"domains"`
	Meters   []MeterInfo    `json:"meters"`
	Objects  map[string]int `json:"objects"` // live objects by kind
}

// BankInfo describes a bank.
type BankInfo struct {
	ID       uint64            `json:"id"`
	Parent   uint64            `json:"parent"` // 0 for the prime bank
	Depth    int               `json:"depth"`
	Bytes    uint64            `json:"bytes"`
	Used     map[string]uint64 `json:"used"`
	Held     map[string]uint64 `json:"held"`
	Limits   map[string]uint64 `json:"limits,omitempty"`
	Children int               `json:"children"`
}

// DomainInfo describes a domain.
type DomainInfo struct {
	ID      uint64   `json:"id"`
	Bank    uint64   `json:"bank"`
	Kind    string   `json:"kind"`
	Home    int      `json:"home"`
	State   string   `json:"state"`
	Trap    string   `json:"trap,omitempty"`
	TrapPC  uint64   `json:"trap_pc,omitempty"`
	Ticks   uint64   `json:"ticks"`
	Program string   `json:"program,omitempty"` // native
	PC      uint64   `json:"pc,omitempty"`      // rv64
	Keys    []string `json:"keys"`              // key registers 1..15 that are not DK(0)
	Meter   string   `json:"meter"`
	Keeper  string   `json:"keeper"`
	Space   string   `json:"space"`
	Stalled int      `json:"stalled"` // domains in its stall queue
}

// MeterInfo describes a meter.
type MeterInfo struct {
	ID        uint64 `json:"id"`
	Superior  uint64 `json:"superior"` // 0 for the prime meter
	Remaining int64  `json:"remaining"`
	Consumed  uint64 `json:"consumed"`
	Keeper    string `json:"keeper"`
}

var stateNames = map[abi.State]string{
	abi.StateAvailable: "available", abi.StateRunning: "running",
	abi.StateWaiting: "waiting", abi.StateStopped: "stopped",
}

// Inspect returns the object graph. The machine must be stopped.
func (m *Machine) Inspect() (Snapshot, error) {
	if m.running.Load() {
		return Snapshot{}, ErrRunning
	}
	s := Snapshot{Topology: FormatTopology(m.Clusters()), Memory: m.cfg.Memory, Objects: map[string]int{}}
	m.ledger.Lock()
	s.Free = m.cfg.Memory - m.prime.bytes
	var domains []*Domain
	var meters []*Meter
	var walk func(b *Bank)
	walk = func(b *Bank) {
		bi := BankInfo{ID: uint64(b.id), Depth: b.depth, Bytes: b.bytes,
			Used: map[string]uint64{}, Held: map[string]uint64{}}
		if b.parent != nil {
			bi.Parent = uint64(b.parent.id)
		}
		for k := objPage; k < numObjKinds; k++ {
			bi.Used[k.String()] = b.used[k]
			bi.Held[k.String()] = b.held[k]
			if l := b.limits[limitIndex[k]]; l != abi.Unlimited {
				if bi.Limits == nil {
					bi.Limits = map[string]uint64{}
				}
				bi.Limits[k.String()] = l
			}
		}
		if b.limits[0] != abi.Unlimited {
			if bi.Limits == nil {
				bi.Limits = map[string]uint64{}
			}
			bi.Limits["bytes"] = b.limits[0]
		}
		for k := objPage; k < numObjKinds; k++ {
			for h := b.objs[k]; h != nil; h = h.next {
				s.Objects[k.String()]++
				switch k {
				case objDomain:
					domains = append(domains, h.domain())
				case objMeter:
					meters = append(meters, h.meter())
				}
			}
		}
		s.Banks = append(s.Banks, bi)
		for h := b.objs[objBank]; h != nil; h = h.next {
			s.Banks[len(s.Banks)-1].Children++
		}
		for h := b.objs[objBank]; h != nil; h = h.next {
			walk(h.bankObj())
		}
	}
	walk(m.prime)
	m.ledger.Unlock()

	meters = append([]*Meter{m.primeMeter}, meters...)
	for _, mt := range meters {
		mi := MeterInfo{ID: uint64(mt.id), Remaining: mt.remaining.Load(), Consumed: mt.consumed.Load()}
		if sup, _ := mt.up(); sup != nil {
			mi.Superior = uint64(sup.id)
		}
		mt.mu.Lock()
		mi.Keeper = mt.keeper.live().String()
		mt.mu.Unlock()
		s.Meters = append(s.Meters, mi)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i].id < domains[j].id })
	for _, d := range domains {
		di := DomainInfo{
			ID: uint64(d.id), Bank: uint64(d.bank.Load().id), Kind: KindName(d.kind),
			Home: d.home.Load().index, State: stateNames[d.external()], Ticks: d.ticks,
			Meter: d.slots[abi.SlotMeter].live().String(), Keeper: d.slots[abi.SlotKeeper].live().String(),
			Space: d.slots[abi.SlotSpace].live().String(),
		}
		if d.trap.code != abi.TrapNone {
			di.Trap, di.TrapPC = TrapName(d.trap.code), d.trap.pc
		}
		switch d.kind {
		case abi.KindNative:
			if k := d.slots[abi.SlotSpace].live(); k.kt == 0 && k.val > 0 && k.val <= uint64(len(m.programs)) {
				di.Program = m.programs[k.val-1].name
			}
		case abi.KindRV64:
			di.PC = d.cpu.rv.PC
		}
		for i := 1; i < 16; i++ {
			if k := d.keys[i].live(); !k.IsNull() {
				di.Keys = append(di.Keys, ktRegName(i)+"="+k.String())
			}
		}
		for x := d.stallHead; x != nil; x = x.snext {
			di.Stalled++
		}
		s.Domains = append(s.Domains, di)
	}
	return s, nil
}

func ktRegName(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return "k" + digits[i:i+1]
	}
	return "k1" + digits[i-10:i-9]
}
