package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/internal/conbuf"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// Key registers the native programs here use.
const (
	krPartner = uint8(abi.KRArg0)      // a start key to the other domain
	krArg1    = uint8(abi.KRArg0 + 1)  // a second key the harness passes
	krResume  = uint8(abi.KRRecv0 + 3) // where a CALL's resume key lands
)

// echoProgram answers every message through the resume key with the order
// code plus one and the same string: the native counterpart of the pong
// image, so rv64 ping can call it too.
func echoProgram(x *kernel.Ctx) {
	x.Return(krResume, &kernel.Msg{Order: x.Order() + 1, Data: x.Data()})
}

// pingProgram CALLs its partner regs[1] times and counts correct replies
// in regs[2]; regs[0] is the round trip under way.
func pingProgram(x *kernel.Ctx) {
	r := x.Regs()
	if r[0] > 0 && x.Order() == int64(r[0]+1) {
		r[2]++
	}
	if r[0] == r[1] {
		return // done: become available
	}
	r[0]++
	x.CallGate(krPartner, &kernel.Msg{Order: int64(r[0])})
}

// machine makes a bare machine with the programs here registered.
func machine(topo string, memory uint64) (*kernel.Machine, error) {
	m, err := kernel.New(kernel.Config{Topology: topo, Memory: memory})
	if err != nil {
		return nil, err
	}
	m.RegisterProgram("bench-echo", echoProgram)
	m.RegisterProgram("bench-ping", pingProgram)
	return m, nil
}

// nativeDomain buys a native domain running program from the prime bank,
// homed in cluster home (-1: where the kernel puts it).
func nativeDomain(m *kernel.Machine, program string, home int) (kernel.Key, error) {
	d, err := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, program)
	if err != nil {
		return d, err
	}
	return d, setHome(m, d, home)
}

// setHome moves a stopped domain to cluster home (-1: leave it).
func setHome(m *kernel.Machine, dom kernel.Key, home int) error {
	if home < 0 {
		return nil
	}
	r, err := m.Call(dom, int64(abi.OCDomainSetHome), kernel.Words(uint64(home)))
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("moving a domain to cluster %d: return code %d", home, r.RC)
	}
	return err
}

// setRegs sets a native domain's registers.
func setRegs(m *kernel.Machine, dom kernel.Key, w ...uint64) error {
	regs := make([]uint64, abi.RegsNative)
	copy(regs, w)
	r, err := m.Call(dom, int64(abi.OCDomainSetRegs), kernel.Words(regs...))
	if err == nil && r.RC != 0 {
		err = fmt.Errorf("setting registers: return code %d", r.RC)
	}
	return err
}

// regs reads a domain's registers.
func regs(m *kernel.Machine, dom kernel.Key) ([]uint64, error) {
	r, err := m.Call(dom, int64(abi.OCDomainGetRegs), nil)
	if err != nil {
		return nil, err
	}
	w := make([]uint64, len(r.Data)/8)
	for i := range w {
		w[i] = r.Word(i)
	}
	return w, nil
}

// nativePair sets up native ping (in cluster pingHome) to make n calls to
// native echo (in cluster echoHome).
func nativePair(m *kernel.Machine, pingHome, echoHome int, n uint64) (ping kernel.Key, err error) {
	echo, err := nativeDomain(m, "bench-echo", echoHome)
	if err != nil {
		return ping, err
	}
	ping, err = nativeDomain(m, "bench-ping", pingHome)
	if err != nil {
		return ping, err
	}
	start, err := m.StartKey(echo, 7)
	if err != nil {
		return ping, err
	}
	if err := m.SetKeyReg(ping, int(krPartner), start); err != nil {
		return ping, err
	}
	if err := setRegs(m, ping, 0, n, 0); err != nil {
		return ping, err
	}
	if err := m.MakeAvailable(echo); err != nil {
		return ping, err
	}
	return ping, m.RunDomain(ping)
}

// checkPing checks that native ping got n good replies.
func checkPing(m *kernel.Machine, ping kernel.Key, n uint64) error {
	w, err := regs(m, ping)
	if err != nil {
		return err
	}
	if w[2] != n {
		return fmt.Errorf("ping got %d good replies, want %d", w[2], n)
	}
	return nil
}

// timeRun runs m until it has nothing left to do and returns how long that
// took.
func (e *env) timeRun(m *kernel.Machine) (time.Duration, error) {
	ctx, cancel := e.ctx()
	defer cancel()
	t0 := time.Now()
	err := m.Run(ctx)
	d := time.Since(t0)
	if err == context.DeadlineExceeded {
		err = fmt.Errorf("the machine did not finish within %v", e.timeout())
	}
	return d, err
}

// sys is a system (machine, zero keeper, exit collection) and its console.
type sys struct {
	*system.System
	con   *conbuf.Buffer
	procs []*system.Proc
}

// newSys builds a system on topology topo with memory bytes of storage.
func newSys(topo string, memory uint64) (*sys, error) {
	con := &conbuf.Buffer{}
	s, err := system.New(kernel.Config{Topology: topo, Memory: memory, Console: con})
	if err != nil {
		return nil, err
	}
	s.M.RegisterProgram("bench-echo", echoProgram)
	s.M.RegisterProgram("bench-ping", pingProgram)
	return &sys{System: s, con: con}, nil
}

// load loads the named image (or img, if not nil), stopped, homed in
// cluster home (-1: where the kernel puts it).
func (s *sys) load(name string, img []byte, home int, args []string, keys map[int]kernel.Key) (*system.Proc, error) {
	if img == nil {
		var ok bool
		if img, ok = images.Get(name); !ok {
			return nil, fmt.Errorf("no image %q", name)
		}
	}
	p, err := s.Load(name, img, system.Options{Args: append([]string{name}, args...), Keys: keys})
	if err != nil {
		return nil, err
	}
	if err := setHome(s.M, p.Domain, home); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

// checkExits checks that every program loaded exited with status 0.
func (s *sys) checkExits() error {
	for _, p := range s.procs {
		if p.Name == "pong" {
			continue // a server: it never exits
		}
		st, done := p.Exit()
		if !done {
			state, trap, _ := p.State()
			return fmt.Errorf("%s did not exit (state %d, trap %s); console: %q", p.Name, state, kernel.TrapName(trap), s.con.String())
		}
		if st != 0 {
			return fmt.Errorf("%s exited %d; console: %q", p.Name, st, s.con.String())
		}
	}
	return nil
}

// wantLines checks that the console holds line exactly n times.
func (s *sys) wantLines(line string, n int) error {
	if got := strings.Count(s.con.String(), line+"\n"); got != n {
		return fmt.Errorf("console has %d lines %q, want %d; console: %q", got, line, n, s.con.String())
	}
	return nil
}

// rv64Ticks is the instructions rv64 cores executed.
func rv64Ticks(st kernel.Stats) uint64 {
	var n uint64
	for _, c := range st.Cores {
		n += c.RV64Instructions
	}
	return n
}
