package system

import (
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/loader"
)

// DemoOptions sizes the demo system. Zero values mean the defaults.
type DemoOptions struct {
	// Computes is how many compute domains run in parallel (default 4).
	Computes int
	// ComputeRounds is each compute domain's argument (default 185, about
	// 50 million instructions).
	ComputeRounds int
	// PingRounds is how many round trips ping makes to pong (default 1000).
	PingRounds int
	// SpinBudget is the spinner's meter budget in ticks (default 5,000,000).
	SpinBudget uint64
	// OutgrowPages is the page limit of outgrow's bank (default 100).
	OutgrowPages uint64
}

// DemoProgram is a program of the demo and what it should do.
type DemoProgram struct {
	*Proc
	// Want says what the program should do: "exit 0", "stopped by its
	// meter", or "serve" (a server: it ends available).
	Want string
}

// What the demo programs should do (DemoProgram.Want).
const (
	// WantExit0 means the program should exit with status 0.
	WantExit0 = "exit 0"
	// WantMeter means its meter should stop it (a meter trap, no keeper).
	WantMeter = "stopped by its meter"
	// WantServe means it is a server: it should end available, waiting
	// for the next message.
	WantServe = "serve"
)

// OK reports whether the outcome is what the program should do.
func (d *DemoProgram) OK(o Outcome) bool {
	switch d.Want {
	case WantExit0:
		return o.Exited && o.Status == 0
	case WantMeter:
		return !o.Exited && o.State == abi.StateStopped && o.Trap == abi.TrapMeter
	case WantServe:
		return !o.Exited && o.State == abi.StateAvailable
	}
	return false
}

// LoadDemo loads the demo system from the SDK's example programs, each
// with its own bank and meter, all stopped (start them with StartAll):
//
//   - hello, with two arguments;
//   - pong, a server, and ping, which calls it PingRounds times;
//   - pager, a segment keeper, and pagertest, which faults on a red
//     segment pager serves;
//   - outgrow, which buys pages from a bank limited to OutgrowPages until
//     the bank refuses;
//   - spinner, an endless loop stopped by its meter after SpinBudget ticks;
//   - Computes compute domains, which run in parallel;
//   - malloc, which grows its heap through the zero keeper.
func (s *System) LoadDemo(opt DemoOptions) ([]*DemoProgram, error) {
	if opt.Computes <= 0 {
		opt.Computes = 4
	}
	if opt.ComputeRounds <= 0 {
		opt.ComputeRounds = 185
	}
	if opt.PingRounds <= 0 {
		opt.PingRounds = 1000
	}
	if opt.SpinBudget == 0 {
		opt.SpinBudget = 5_000_000
	}
	if opt.OutgrowPages == 0 {
		opt.OutgrowPages = 100
	}
	m := s.M
	var out []*DemoProgram
	load := func(name, want string, o Options) (*Proc, error) {
		img, ok := images.Get(name)
		if !ok {
			return nil, fmt.Errorf("no built-in image %q", name)
		}
		label := name
		if len(o.Args) > 0 {
			label = o.Args[0]
		}
		p, err := s.Load(label, img, o)
		if err != nil {
			return nil, err
		}
		out = append(out, &DemoProgram{Proc: p, Want: want})
		return p, nil
	}
	start := func(p *Proc) (kernel.Key, error) { return m.StartKey(p.Domain, 0) }

	if _, err := load("hello", WantExit0, Options{Args: []string{"hello", "from", "the", "demo"}}); err != nil {
		return nil, err
	}

	pong, err := load("pong", WantServe, Options{})
	if err != nil {
		return nil, err
	}
	pongKey, err := start(pong)
	if err != nil {
		return nil, err
	}
	if _, err := load("ping", WantExit0, Options{Args: []string{"ping", fmt.Sprint(opt.PingRounds)},
		Keys: map[int]kernel.Key{int(abi.KRArg0): pongKey}}); err != nil {
		return nil, err
	}

	pager, err := load("pager", WantServe, Options{})
	if err != nil {
		return nil, err
	}
	pagerKey, err := start(pager)
	if err != nil {
		return nil, err
	}
	seg, err := s.pagerSegment(pagerKey)
	if err != nil {
		return nil, err
	}
	if _, err := load("pagertest", WantExit0, Options{Keys: map[int]kernel.Key{int(abi.KRArg0): pagerKey},
		Mounts: []loader.Mount{{At: 0x2000_0000, Segment: seg}}}); err != nil {
		return nil, err
	}

	u := abi.Unlimited
	if _, err := load("outgrow", WantExit0, Options{Limits: []uint64{u, opt.OutgrowPages, u, u, u, u}}); err != nil {
		return nil, err
	}
	if _, err := load("spinner", WantMeter, Options{Budget: opt.SpinBudget}); err != nil {
		return nil, err
	}
	for i := range opt.Computes {
		name := fmt.Sprintf("compute%d", i+1)
		if _, err := load("compute", WantExit0, Options{Args: []string{name, fmt.Sprint(opt.ComputeRounds)}}); err != nil {
			return nil, err
		}
	}
	if _, err := load("malloc", WantExit0, Options{}); err != nil {
		return nil, err
	}
	return out, nil
}

// pagerSegment makes the red segment pagertest maps at 0x2000_0000: size
// 1, slots 0 to 13 map pages, slot 14 holds the pager's start key (see
// sdk/README.md). The prime bank pays for the node.
func (s *System) pagerSegment(pager kernel.Key) (kernel.Key, error) {
	m := s.M
	call := func(k kernel.Key, order abi.OC, data []byte, keys ...kernel.Key) (kernel.Reply, error) {
		r, err := m.Call(k, int64(order), data, keys...)
		if err == nil && r.RC != 0 {
			err = fmt.Errorf("building the pager's segment: order %d: return code %d", order, r.RC)
		}
		return r, err
	}
	r, err := call(m.PrimeBank(), abi.OCBankBuyNode, nil)
	if err != nil {
		return kernel.Key{}, err
	}
	red := r.Keys[0]
	format := 1 | 14<<uint(abi.RedSlotsShift) | 14<<uint(abi.RedKeeperShift)
	if _, err := call(red, abi.OCNodeSwap, kernel.Words(14), pager); err != nil {
		return kernel.Key{}, err
	}
	if _, err := call(red, abi.OCNodeWriteData, kernel.Words(uint64(abi.RedFormatSlot), uint64(format))); err != nil {
		return kernel.Key{}, err
	}
	r, err = call(red, abi.OCNodeMakeSegment, kernel.Words(1, uint64(abi.FlagRed)))
	return r.Keys[0], err
}

// StartAll starts every program: servers first, so that they are
// available before their clients call.
func StartAll(progs []*DemoProgram) error {
	for _, server := range []bool{true, false} {
		for _, p := range progs {
			if (p.Want == WantServe) == server {
				if err := p.Start(); err != nil {
					return fmt.Errorf("%s: %v", p.Name, err)
				}
			}
		}
	}
	return nil
}
