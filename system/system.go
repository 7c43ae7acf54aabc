// Package system assembles a running Keyfish system on a kernel.Machine:
// the zero keeper and the domain creator, exit collection for programs,
// loading rv64 programs with the standard key registers (abi.KR*), and
// the demo system that `keyfish boot` runs. The keyfish command and the
// tests build on it.
package system

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
	"github.com/keyfish-os/keyfish/services"
)

// System is a machine with its services.
type System struct {
	M *kernel.Machine
	// Zero is a start key to the zero keeper.
	Zero kernel.Key
	// Creator is a start key to the domain creator; programs get it in
	// key register abi.KRCreator.
	Creator kernel.Key
	// Console and Clock are the device keys programs get.
	Console, Clock kernel.Key

	mu    sync.Mutex // guards exits and procs
	exits []exitRecord
	procs []*Proc
}

type exitRecord struct {
	done   bool
	status int64
}

// New builds a machine from cfg and starts the zero keeper and the domain
// creator, paid by the prime bank and run by the prime meter.
func New(cfg kernel.Config) (*System, error) {
	m, err := kernel.New(cfg)
	if err != nil {
		return nil, err
	}
	s := &System{M: m}
	s.Console, _ = m.DeviceKey(abi.KTConsole)
	s.Clock, _ = m.DeviceKey(abi.KTClock)
	m.RegisterProgram("exit", s.exitProgram)
	if err := s.needNative(); err != nil {
		return nil, err
	}
	s.Zero, err = services.StartZero(m, m.PrimeBank(), m.PrimeMeter())
	if err != nil {
		return nil, err
	}
	s.Creator, err = services.StartCreator(m, m.PrimeBank(), m.PrimeMeter())
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *System) needNative() error {
	for _, c := range s.M.Clusters() {
		if c.Kinds.Has(abi.KindNative) {
			return nil
		}
	}
	return fmt.Errorf("topology %s has no cluster that runs native domains: the system services need one", kernel.FormatTopology(s.M.Clusters()))
}

// exitProgram records the status a program returned to its exit key.
func (s *System) exitProgram(x *kernel.Ctx) {
	i := x.Regs()[0]
	s.mu.Lock()
	if int(i) < len(s.exits) {
		s.exits[i] = exitRecord{done: true, status: x.Order()}
	}
	s.mu.Unlock()
}

// Proc is a loaded program.
type Proc struct {
	s    *System
	idx  int
	Name string
	// Domain is a domain key to it.
	Domain kernel.Key
	// Bank is its bank, Meter its meter: the launcher's keys, which set
	// the program's limits and budget. The program holds keys to a
	// sub-bank of Bank and a sub-meter of Meter (ProgramBank,
	// ProgramMeter), so it may change their limits and budget as it
	// likes without escaping these.
	Bank, Meter kernel.Key
	// ProgramBank and ProgramMeter are the sub-bank and sub-meter the
	// program holds in key registers KRBank and KRMeter and runs under.
	ProgramBank, ProgramMeter kernel.Key
	// Collector is a domain key to the native domain its exit key calls,
	// which records the status.
	Collector kernel.Key
}

// Options configures a program.
type Options struct {
	// Args are argv (Args[0] is the name).
	Args []string
	// Bank and Meter pay for it; zero Keys mean a fresh sub-bank of the
	// prime bank with Limits and a fresh meter with Budget. The program
	// gets a sub-bank and a sub-meter of them, never these keys.
	Bank, Meter kernel.Key
	// Limits are the new sub-bank's limits in abi.Ledger order (bytes,
	// pages, nodes, domains, meters, banks); nil means unlimited.
	Limits []uint64
	// Budget is the new meter's budget in ticks; 0 means unlimited.
	Budget uint64
	// Keeper is the domain keeper, if any.
	Keeper kernel.Key
	// Keys are extra key registers, by number (abi.KRArg0.. by convention).
	Keys map[int]kernel.Key
	// Mounts are extra segments in the address space.
	Mounts []loader.Mount
}

// Load loads an rv64 program, stopped, with the standard key registers.
func (s *System) Load(name string, img []byte, opt Options) (*Proc, error) {
	m := s.M
	bank, meter := opt.Bank, opt.Meter
	if bank.IsNull() {
		r, err := m.Call(m.PrimeBank(), int64(abi.OCBankBuyBank), kernel.Words(opt.Limits...))
		if err != nil || r.RC != 0 {
			return nil, fmt.Errorf("%s: buying its bank: %v (return code %d)", name, err, r.RC)
		}
		bank = r.Keys[0]
	}
	if meter.IsNull() {
		budget := opt.Budget
		if budget == 0 {
			budget = 1<<63 - 1
		}
		r, err := m.Call(m.PrimeBank(), int64(abi.OCBankBuyMeter), kernel.Words(budget), m.PrimeMeter())
		if err != nil || r.RC != 0 {
			return nil, fmt.Errorf("%s: buying its meter: %v (return code %d)", name, err, r.RC)
		}
		meter = r.Keys[0]
	}
	// On failure, give back what was bought for the program here (the
	// loader gives back what it bought itself).
	var undo []func()
	fail := func(err error) (*Proc, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, err
	}
	if opt.Bank.IsNull() {
		undo = append(undo, func() { m.Call(bank, int64(abi.OCBankDestroy), nil) })
	}
	if opt.Meter.IsNull() {
		undo = append(undo, func() { m.Call(m.PrimeBank(), int64(abi.OCBankSell), nil, meter) })
	}
	// The program's own bank and meter: a sub-bank and a sub-meter, bought
	// from bank, so that the limits and budget set above hold whatever the
	// program does with the keys it holds.
	r, err := m.Call(bank, int64(abi.OCBankBuyBank), nil)
	if err != nil || r.RC != 0 {
		return fail(fmt.Errorf("%s: buying its sub-bank: %v (return code %d)", name, err, r.RC))
	}
	pbank := r.Keys[0]
	if !opt.Bank.IsNull() {
		undo = append(undo, func() { m.Call(pbank, int64(abi.OCBankDestroy), nil) })
	}
	r, err = m.Call(meter, int64(abi.OCMeterMakeSub), kernel.Words(1<<63-1), bank)
	if err != nil || r.RC != 0 {
		return fail(fmt.Errorf("%s: buying its sub-meter: %v (return code %d)", name, err, r.RC))
	}
	pmeter := r.Keys[0]
	if !opt.Bank.IsNull() {
		undo = append(undo, func() { m.Call(bank, int64(abi.OCBankSell), nil, pmeter) })
	}
	s.mu.Lock()
	idx := len(s.exits)
	s.exits = append(s.exits, exitRecord{})
	s.mu.Unlock()
	exitDom, exitKey, err := s.exitKey(idx)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { m.Call(m.PrimeBank(), int64(abi.OCBankSell), nil, exitDom) })
	var keys [16]kernel.Key
	keys[abi.KRConsole] = s.Console
	keys[abi.KRBank] = pbank
	keys[abi.KRMeter] = pmeter
	keys[abi.KRExit] = exitKey
	keys[abi.KRClock] = s.Clock
	keys[abi.KRCreator] = s.Creator
	for r, k := range opt.Keys {
		if r <= 0 || r >= 16 {
			return fail(fmt.Errorf("%s: key register %d out of range", name, r))
		}
		keys[r] = k
	}
	args := opt.Args
	if len(args) == 0 {
		args = []string{name}
	}
	p, err := loader.Load(m, img, loader.Options{
		Name: name, Bank: pbank, Meter: pmeter, Keeper: opt.Keeper, Zero: s.Zero, Args: args, Keys: keys,
		Mounts: opt.Mounts,
	})
	if err != nil {
		return fail(err)
	}
	// The program holds a domain key to itself.
	if err := m.SetKeyReg(p.Domain, int(abi.KRSelf), p.Domain); err != nil {
		return fail(err)
	}
	proc := &Proc{s: s, idx: idx, Name: name, Domain: p.Domain, Bank: bank, Meter: meter,
		ProgramBank: pbank, ProgramMeter: pmeter, Collector: exitDom}
	s.mu.Lock()
	s.procs = append(s.procs, proc)
	s.mu.Unlock()
	return proc, nil
}

// Procs returns the programs loaded so far, in the order they were loaded.
func (s *System) Procs() []*Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Proc(nil), s.procs...)
}

// exitKey makes the start key a program returns its status to: a native
// domain that records it. It returns the domain's key and the start key.
func (s *System) exitKey(idx int) (dom, start kernel.Key, err error) {
	m := s.M
	dom, err = m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "exit")
	if err != nil {
		return dom, start, err
	}
	regs := make([]uint64, abi.RegsNative)
	regs[0] = uint64(idx)
	if r, err := m.Call(dom, int64(abi.OCDomainSetRegs), kernel.Words(regs...)); err != nil || r.RC != 0 {
		return dom, start, fmt.Errorf("setting up an exit collector: %v (return code %d)", err, r.RC)
	}
	if err := m.MakeAvailable(dom); err != nil {
		return dom, start, err
	}
	start, err = m.StartKey(dom, 0)
	return dom, start, err
}

// Start makes the program run.
func (p *Proc) Start() error { return p.s.M.RunDomain(p.Domain) }

// Exit reports the status the program exited with, if it has.
func (p *Proc) Exit() (status int64, done bool) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	e := p.s.exits[p.idx]
	return e.status, e.done
}

// State returns the program's domain state and, if it stopped on a trap,
// the trap.
func (p *Proc) State() (abi.State, abi.Trap, error) {
	r, err := p.s.M.Call(p.Domain, int64(abi.OCDomainGetState), nil)
	if err != nil {
		return 0, 0, err
	}
	return abi.State(r.Word(int(abi.DomainStateState))), abi.Trap(r.Word(int(abi.DomainStateTrap))), nil
}

// Outcome is how a program ended, or where it is now.
type Outcome struct {
	// Exited is set when the program returned a status to its exit key;
	// Status is that status.
	Exited bool
	Status int64
	// State is its domain's state; for a stopped domain Trap says why,
	// PC and Addr where.
	State    abi.State
	Trap     abi.Trap
	PC, Addr uint64
}

// Outcome reports how the program ended, or where it is. The machine must
// be stopped.
func (p *Proc) Outcome() (Outcome, error) {
	var o Outcome
	o.Status, o.Exited = p.Exit()
	r, err := p.s.M.Call(p.Domain, int64(abi.OCDomainGetState), nil)
	if err != nil {
		return o, err
	}
	if r.RC != 0 || len(r.Data) == 0 {
		// The domain is gone: its bank was destroyed.
		o.State, o.Trap = abi.StateStopped, abi.TrapNone
		return o, nil
	}
	o.State = abi.State(r.Word(int(abi.DomainStateState)))
	o.Trap = abi.Trap(r.Word(int(abi.DomainStateTrap)))
	o.PC = r.Word(int(abi.DomainStatePC))
	o.Addr = r.Word(int(abi.DomainStateAddr))
	return o, nil
}

// String describes the outcome in a few words: "exited with status 0",
// "stopped by a meter trap at pc 0x10148", "available".
func (o Outcome) String() string {
	switch {
	case o.Exited:
		return fmt.Sprintf("exited with status %d", o.Status)
	case o.State == abi.StateStopped && o.Trap != abi.TrapNone:
		s := fmt.Sprintf("stopped by %s trap at pc %#x", article(kernel.TrapName(o.Trap)), o.PC)
		if o.Trap == abi.TrapFault || o.Trap == abi.TrapMisaligned {
			s += fmt.Sprintf(" (address %#x)", o.Addr)
		}
		return s
	case o.State == abi.StateStopped:
		return "stopped"
	case o.State == abi.StateAvailable:
		return "available"
	case o.State == abi.StateWaiting:
		return "waiting for a reply"
	}
	return "running"
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// ObjectID returns the object id of the object k names (as keybits
// reports it), or 0 for keys without an object and void keys.
func (s *System) ObjectID(k kernel.Key) uint64 {
	kb, err := s.M.DeviceKey(abi.KTKeybits)
	if err != nil {
		return 0
	}
	r, err := s.M.Call(kb, int64(abi.OCKeybits), nil, k)
	if err != nil || r.RC != 0 {
		return 0
	}
	return r.Word(int(abi.KeybitsObject))
}

// Run runs the machine until it has nothing left to do or ctx is done.
func (s *System) Run(ctx context.Context) error { return s.M.Run(ctx) }

// Discard is an io.Writer that drops everything (a console nobody reads).
var Discard io.Writer = io.Discard
