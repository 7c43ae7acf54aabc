// Package system assembles a running Keyfish system on a kernel.Machine:
// the zero keeper, exit collection for programs, and loading rv64 programs
// with the standard key registers (abi.KR*). The keyfish command and the
// tests build on it.
package system

import (
	"context"
	"fmt"
	"io"
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
	// Console and Clock are the device keys programs get.
	Console, Clock kernel.Key

	mu    sync.Mutex // guards exits
	exits []exitRecord
}

type exitRecord struct {
	done   bool
	status int64
}

// New builds a machine from cfg and starts the zero keeper.
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
	return s, nil
}

func (s *System) needNative() error {
	for _, c := range s.M.Clusters() {
		if c.Kind == abi.KindNative {
			return nil
		}
	}
	return fmt.Errorf("topology %s has no native cluster: the system services need one", kernel.FormatTopology(s.M.Clusters()))
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
	// Bank is its bank, Meter its meter.
	Bank, Meter kernel.Key
}

// Options configures a program.
type Options struct {
	// Args are argv (Args[0] is the name).
	Args []string
	// Bank and Meter pay for it; zero Keys mean a fresh sub-bank of the
	// prime bank with Limits and a fresh meter with Budget.
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
	s.mu.Lock()
	idx := len(s.exits)
	s.exits = append(s.exits, exitRecord{})
	s.mu.Unlock()
	exitKey, err := s.exitKey(idx)
	if err != nil {
		return nil, err
	}
	var keys [16]kernel.Key
	keys[abi.KRConsole] = s.Console
	keys[abi.KRBank] = bank
	keys[abi.KRMeter] = meter
	keys[abi.KRExit] = exitKey
	keys[abi.KRClock] = s.Clock
	for r, k := range opt.Keys {
		if r <= 0 || r >= 16 {
			return nil, fmt.Errorf("%s: key register %d out of range", name, r)
		}
		keys[r] = k
	}
	args := opt.Args
	if len(args) == 0 {
		args = []string{name}
	}
	p, err := loader.Load(m, img, loader.Options{
		Name: name, Bank: bank, Meter: meter, Keeper: opt.Keeper, Zero: s.Zero, Args: args, Keys: keys,
		Mounts: opt.Mounts,
	})
	if err != nil {
		return nil, err
	}
	// The program holds a domain key to itself.
	if err := m.SetKeyReg(p.Domain, int(abi.KRSelf), p.Domain); err != nil {
		return nil, err
	}
	return &Proc{s: s, idx: idx, Name: name, Domain: p.Domain, Bank: bank, Meter: meter}, nil
}

// exitKey makes the start key a program returns its status to: a native
// domain that records it.
func (s *System) exitKey(idx int) (kernel.Key, error) {
	m := s.M
	dom, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "exit")
	if err != nil {
		return kernel.Key{}, err
	}
	regs := make([]uint64, abi.RegsNative)
	regs[0] = uint64(idx)
	if r, err := m.Call(dom, int64(abi.OCDomainSetRegs), kernel.Words(regs...)); err != nil || r.RC != 0 {
		return kernel.Key{}, fmt.Errorf("setting up an exit collector: %v", err)
	}
	if err := m.MakeAvailable(dom); err != nil {
		return kernel.Key{}, err
	}
	return m.StartKey(dom, 0)
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

// Run runs the machine until it has nothing left to do or ctx is done.
func (s *System) Run(ctx context.Context) error { return s.M.Run(ctx) }

// Discard is an io.Writer that drops everything (a console nobody reads).
var Discard io.Writer = io.Discard
