package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// report is what boot and inspect show of a stopped system: its object
// graph, its counters, its programs, and the invariant checks.
type report struct {
	Topology string        `json:"topology"`
	Mode     string        `json:"mode"`
	Seed     *uint64       `json:"seed,omitempty"`
	End      string        `json:"end"` // "finished", "interrupted" or "timeout"
	Memory   memoryJSON    `json:"memory"`
	Programs []programJSON `json:"programs"`
	Domains  domainsJSON   `json:"domains"`
	Stats    statsJSON     `json:"stats"`
	Check    *checkJSON    `json:"check,omitempty"`
	Console  string        `json:"console,omitempty"`

	snap  kernel.Snapshot
	names map[uint64]string // object id → the program it belongs to
}

// memoryJSON is the prime bank's use.
type memoryJSON struct {
	Total   uint64         `json:"total"`
	Used    uint64         `json:"used"`
	Free    uint64         `json:"free"`
	Objects map[string]int `json:"objects"`
}

// programJSON is a loaded program and how it ended.
type programJSON struct {
	Name    string `json:"name"`
	Domain  uint64 `json:"domain"` // object id
	Want    string `json:"want,omitempty"`
	OK      *bool  `json:"ok,omitempty"`
	Outcome string `json:"outcome"`
	Exited  bool   `json:"exited"`
	Status  int64  `json:"status"`
	State   string `json:"state"`
	Trap    string `json:"trap,omitempty"`
	TrapPC  uint64 `json:"trap_pc,omitempty"`
	Ticks   uint64 `json:"ticks"`
	// Bank is the program's bank's use in bytes, pages and nodes.
	BankBytes uint64 `json:"bank_bytes"`
	BankPages uint64 `json:"bank_pages"`
	BankNodes uint64 `json:"bank_nodes"`
}

// domainsJSON counts domains.
type domainsJSON struct {
	Total   int            `json:"total"`
	ByState map[string]int `json:"by_state"`
	ByKind  map[string]int `json:"by_kind"`
}

// statsJSON is kernel.Stats.
type statsJSON struct {
	WallSeconds float64 `json:"wall_seconds"`
	// Ticks is every tick charged: RV64Instructions (an rv64 instruction
	// is a tick) and NativeTicks (native code is charged a tick per
	// nanosecond).
	Ticks            uint64            `json:"ticks"`
	RV64Instructions uint64            `json:"rv64_instructions"`
	NativeTicks      uint64            `json:"native_ticks"`
	InvocationsTotal uint64            `json:"invocations_total"`
	FastInvocations  uint64            `json:"fast_invocations"` // of those, by the fast path
	Invocations      map[string]uint64 `json:"invocations"`
	Traps            map[string]uint64 `json:"traps"`
	Messages         uint64            `json:"messages"`
	MaxStallQueue    int64             `json:"max_stall_queue"`
	MaxInbox         int64             `json:"max_inbox"`
	DomainsFreed     uint64            `json:"domains_freed"`
	ConsoleBytes     uint64            `json:"console_bytes"`
	Cores            []coreJSON        `json:"cores"`
}

// coreJSON is kernel.CoreStats.
type coreJSON struct {
	Core        int     `json:"core"`
	Cluster     int     `json:"cluster"`
	Kind        string  `json:"kind"`
	Events      uint64  `json:"events"`
	Invocations uint64  `json:"invocations"`
	Fast        uint64  `json:"fast_invocations"`
	Traps       uint64  `json:"traps"`
	Slices      uint64  `json:"slices"`
	Ticks       uint64  `json:"ticks"`
	Utilization float64 `json:"utilization"`
}

// checkJSON is the result of Machine.Check.
type checkJSON struct {
	OK         bool     `json:"ok"`
	Violations []string `json:"violations"`
}

// idIndex is an object id's index (kernel.ObjectID: the kind is in the top
// byte).
func idIndex(id uint64) uint64 { return id & (1<<56 - 1) }

// newReport gathers the report of a stopped system. want, if not nil, says
// what each program should do (boot's demo).
func newReport(s *system.System, mf *machineFlags, end runEnd, want map[*system.Proc]*system.DemoProgram, check bool) (*report, error) {
	m := s.M
	snap, err := m.Inspect()
	if err != nil {
		return nil, err
	}
	r := &report{
		Topology: snap.Topology, Mode: "parallel", End: [...]string{"finished", "interrupted", "timeout"}[end],
		snap: snap, names: map[uint64]string{},
	}
	if mf.deterministic {
		r.Mode = "deterministic"
		r.Seed = &mf.seed
	}
	r.Memory = memoryJSON{Total: snap.Memory, Used: snap.Memory - snap.Free, Free: snap.Free, Objects: snap.Objects}

	banks := map[uint64]kernel.BankInfo{}
	for _, b := range snap.Banks {
		banks[b.ID] = b
	}
	domains := map[uint64]kernel.DomainInfo{}
	r.Domains = domainsJSON{ByState: map[string]int{}, ByKind: map[string]int{}}
	for _, d := range snap.Domains {
		domains[d.ID] = d
		r.Domains.Total++
		r.Domains.ByState[d.State]++
		r.Domains.ByKind[d.Kind]++
		if d.Program != "" {
			r.names[d.ID] = d.Program
		}
	}
	for _, p := range s.Procs() {
		o, err := p.Outcome()
		if err != nil {
			return nil, err
		}
		id, bank := s.ObjectID(p.Domain), s.ObjectID(p.Bank)
		r.names[id] = p.Name
		r.names[s.ObjectID(p.Collector)] = "exit(" + p.Name + ")"
		if bank != 0 && bank != s.ObjectID(m.PrimeBank()) {
			r.names[bank] = p.Name
		}
		if meter := s.ObjectID(p.Meter); meter != 0 && meter != s.ObjectID(m.PrimeMeter()) {
			r.names[meter] = p.Name
		}
		// The sub-bank and sub-meter the program holds and runs under.
		r.names[s.ObjectID(p.ProgramBank)] = p.Name + "/program"
		r.names[s.ObjectID(p.ProgramMeter)] = p.Name + "/program"
		pj := programJSON{
			Name: p.Name, Domain: id, Outcome: o.String(), Exited: o.Exited, Status: o.Status,
			State: domains[id].State, Ticks: domains[id].Ticks,
			BankBytes: banks[bank].Bytes, BankPages: banks[bank].Used["page"], BankNodes: banks[bank].Used["node"],
		}
		if pj.State == "" {
			pj.State = "gone"
		}
		if o.Trap != abi.TrapNone {
			pj.Trap, pj.TrapPC = kernel.TrapName(o.Trap), o.PC
		}
		if dp := want[p]; dp != nil {
			ok := dp.OK(o)
			pj.Want, pj.OK = dp.Want, &ok
		}
		r.Programs = append(r.Programs, pj)
	}

	st := m.Stats()
	r.Stats = statsJSON{
		WallSeconds: st.WallSeconds, Ticks: st.Ticks, Invocations: st.Invocations, Traps: st.Traps,
		Messages: st.Messages, MaxStallQueue: st.MaxStallQueue, MaxInbox: st.MaxInbox,
		DomainsFreed: st.DomainsFreed, ConsoleBytes: st.ConsoleBytes,
	}
	for _, n := range st.Invocations {
		r.Stats.InvocationsTotal += n
	}
	for i, c := range st.Cores {
		r.Stats.RV64Instructions += c.RV64Instructions
		r.Stats.NativeTicks += c.NativeTicks
		r.Stats.FastInvocations += c.FastInvocations
		r.Stats.Cores = append(r.Stats.Cores, coreJSON{
			Core: i, Cluster: c.Cluster, Kind: c.Kind, Events: c.Events, Invocations: c.Invocations, Fast: c.FastInvocations,
			Traps: c.Traps, Slices: c.Slices, Ticks: c.Ticks, Utilization: c.Utilization,
		})
	}
	if check {
		r.Check = &checkJSON{OK: true, Violations: []string{}}
		if err := m.Check(); err != nil {
			r.Check.OK = false
			r.Check.Violations = violations(err)
		}
	}
	return r, nil
}

// violations splits Check's joined error into its violations.
func violations(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

// modeText describes the scheduling mode: "parallel" or "deterministic,
// seed 3".
func (r *report) modeText() string {
	if r.Seed != nil {
		return fmt.Sprintf("%s, seed %d", r.Mode, *r.Seed)
	}
	return r.Mode
}

// allOK reports whether every program with a want did what it should.
func (r *report) allOK() bool {
	for _, p := range r.Programs {
		if p.OK != nil && !*p.OK {
			return false
		}
	}
	return true
}

// name returns the program an object belongs to, or "".
func (r *report) name(id uint64) string { return r.names[id] }

// sortedCounts renders a map of counts, largest first: "start 12, bank 3".
func sortedCounts[V uint64 | int](m map[string]V) string {
	type kv struct {
		k string
		v V
	}
	var kvs []kv
	for k, v := range m {
		if v != 0 {
			kvs = append(kvs, kv{k, v})
		}
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].v != kvs[j].v {
			return kvs[i].v > kvs[j].v
		}
		return kvs[i].k < kvs[j].k
	})
	parts := make([]string, len(kvs))
	for i, e := range kvs {
		parts[i] = fmt.Sprintf("%s %s", e.k, commas(uint64(e.v)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// commas renders n with thousands separators.
func commas(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// objectCounts renders a bank's object counts in a fixed order.
func objectCounts(m map[string]uint64) string {
	var parts []string
	for _, k := range []string{"page", "node", "domain", "meter", "bank"} {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %s", commas(m[k]), plural(k, m[k])))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func plural(s string, n uint64) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
