package bench

import (
	_ "embed" // the touch program
	"fmt"
	"runtime"
	"time"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// touchELF writes one byte to each of argv[1] fresh heap pages and exits
// (testdata/touch.S).
//
//go:embed testdata/touch.elf
var touchELF []byte

func init() {
	register("fault/zero", "an rv64 page fault served by the native demand-zero keeper (a fresh heap page)", benchFault)
	register("bank/destroy", "destroying a bank that holds 1,000,000 nodes: every key to them void when the call returns", benchDestroy)
	register("bank/buy-page", "a native domain buying a page from a bank", benchBuyPage)
}

// touchRun runs touch over n pages on topology topo and returns the run's
// time, the faults trapped and the pages its bank bought. With warm, the
// machine has first bought and destroyed n pages and n/8 nodes, so that
// the zero keeper's purchases reuse storage the host has touched before
// instead of fresh host memory.
func (e *env) touchRun(topo string, n int, warm bool) (time.Duration, uint64, uint64, error) {
	s, err := newSys(topo, uint64(n)*8192+64<<20)
	if err != nil {
		return 0, 0, 0, err
	}
	if warm {
		s.M.RegisterProgram("bench-fill", fillProgram)
		for _, pages := range []bool{true, false} {
			k := n
			if !pages {
				k = n/8 + 16
			}
			f, err := newFiller(s.M, k, pages)
			if err != nil {
				return 0, 0, 0, err
			}
			if _, err := e.timeRun(s.M); err != nil {
				return 0, 0, 0, err
			}
			if err := f.check(); err != nil {
				return 0, 0, 0, err
			}
			if _, err := f.destroy(); err != nil {
				return 0, 0, 0, err
			}
		}
	}
	p, err := s.load("touch", touchELF, -1, []string{fmt.Sprint(n)}, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	before, err := s.M.Call(p.Bank, int64(abi.OCBankGetLedger), nil)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := p.Start(); err != nil {
		return 0, 0, 0, err
	}
	// Finish the collection that the set-up's garbage (and earlier runs')
	// started, so that its marking does not run alongside the faults.
	runtime.GC()
	d, err := e.timeRun(s.M)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := s.checkExits(); err != nil {
		return 0, 0, 0, err
	}
	after, err := s.M.Call(p.Bank, int64(abi.OCBankGetLedger), nil)
	if err != nil {
		return 0, 0, 0, err
	}
	pages := after.Word(int(abi.LedgerUsedPages)) - before.Word(int(abi.LedgerUsedPages))
	return d, s.M.Stats().Traps["fault"], pages, nil
}

// benchFault measures the time per fault of touching n fresh pages less
// that of touching none (start-up and the stack's first page), with the
// kernel's storage new from the host and recycled from a destroyed bank.
func benchFault(e *env) ([]Result, error) {
	n := e.size(20000, 2000)
	faultSeries := func(name, topo string, warm bool, faults *[]float64) *series {
		return newSeries(name, func() (float64, error) {
			d0, f0, _, err := e.touchRun(topo, 0, warm)
			if err != nil {
				return 0, err
			}
			d1, f1, pages, err := e.touchRun(topo, n, warm)
			if err != nil {
				return 0, err
			}
			if pages < uint64(n) || f1-f0 < uint64(n) {
				return 0, fmt.Errorf("touching %d pages bought %d pages in %d faults", n, pages, f1-f0)
			}
			*faults = append(*faults, float64(f1-f0))
			return float64((d1 - d0).Nanoseconds()) / float64(f1-f0), nil
		})
	}
	var faults, warmFaults, oneFaults, oneWarmFaults []float64
	fresh := faultSeries("keyfish, fresh host memory", "rv64,native", false, &faults)
	warm := faultSeries("keyfish, recycled storage", "rv64,native", true, &warmFaults)
	one := faultSeries("keyfish, keeper on the faulting core", "rv64+native", false, &oneFaults)
	oneWarm := faultSeries("keyfish, keeper on the faulting core, recycled", "rv64+native", true, &oneWarmFaults)
	linux := optional("Linux demand-zero page fault", func() (float64, error) { return linuxFault(n) },
		func() error { _, err := linuxFault(16); return err })
	goAlloc := newSeries("Go heap: a zeroed 4 KiB page", func() (float64, error) { return goPageAlloc(n) })
	if err := e.sample(fresh, warm, one, oneWarm, linux, goAlloc); err != nil {
		return nil, err
	}
	// Every fault figure has the same target and counts its faults.
	faultResult := func(name, desc string, s *series, faults []float64, refs ...Ref) Result {
		r := result(name, "ns", s.samples, refs...)
		r.Desc = desc
		r.setTarget(atMost(1000))
		r.Extra = map[string]float64{"faults per run": median(faults)}
		return r
	}
	r := faultResult("fault/zero", "", fresh, faults, linux.ref("ns"), goAlloc.ref("ns"))
	r.Note = fmt.Sprintf("%d pages touched per run; a fault is a CALL from the rv64 core to the zero keeper on the native core, which buys the page (and nodes to map it); the kernel's new pages and nodes are fresh host memory, whose first touch the host pays for", n)
	return []Result{r,
		faultResult("fault/zero-recycled", "the same, with the machine's storage recycled from a destroyed bank (no fresh host memory)",
			warm, warmFaults, linux.ref("ns"), fresh.ref("ns")),
		faultResult("fault/zero-one-core", "the same on one core that runs both kinds (rv64+native): the keeper runs on the faulting core, no message between clusters",
			one, oneFaults, linux.ref("ns"), fresh.ref("ns")),
		faultResult("fault/zero-one-core-recycled", "the same on one core of both kinds, with recycled storage",
			oneWarm, oneWarmFaults, linux.ref("ns"), warm.ref("ns")),
	}, nil
}

// fillProgram buys regs[0] nodes from the bank in key register 2, keeping
// the last in register 3, a thousand per event; regs[1] records a refusal.
func fillProgram(x *kernel.Ctx) {
	r := x.Regs()
	buy := &kernel.Msg{Order: int64(abi.OCBankBuyNode), Recv: [4]uint8{3}}
	if r[2] != 0 {
		buy.Order = int64(abi.OCBankBuyPage)
	}
	for i := 0; i < 1000 && r[0] > 0; i++ {
		if rc, _ := x.Call(2, buy); rc != 0 {
			r[1] = uint64(rc)
			return
		}
		r[0]--
	}
	if r[0] > 0 {
		x.Fork(0, &kernel.Msg{}) // go on in the next event
	}
}

// filler is a native domain that buys objects from a sub-bank.
type filler struct {
	m          *kernel.Machine
	dom, bank  kernel.Key
	probes     []kernel.Key
	probeTypes []int64
}

// newFiller buys a sub-bank, a few probe objects from it, and a filler
// domain (from the prime bank) that will buy n nodes (or pages) from it.
func newFiller(m *kernel.Machine, n int, pages bool) (*filler, error) {
	f := &filler{m: m}
	r, err := m.Call(m.PrimeBank(), int64(abi.OCBankBuyBank), nil)
	if err != nil || r.RC != 0 {
		return nil, fmt.Errorf("buying a bank: %v, return code %d", err, r.RC)
	}
	f.bank = r.Keys[0]
	for _, o := range []struct {
		order abi.OC
		kt    abi.KT
	}{{abi.OCBankBuyNode, abi.KTNode}, {abi.OCBankBuyPage, abi.KTPage}, {abi.OCBankBuyBank, abi.KTBank}} {
		r, err := m.Call(f.bank, int64(o.order), nil)
		if err != nil || r.RC != 0 {
			return nil, fmt.Errorf("buying a probe: %v, return code %d", err, r.RC)
		}
		f.probes = append(f.probes, r.Keys[0])
		f.probeTypes = append(f.probeTypes, int64(o.kt))
	}
	if f.dom, err = nativeDomain(m, "bench-fill", -1); err != nil {
		return nil, err
	}
	if err := m.SetKeyReg(f.dom, 2, f.bank); err != nil {
		return nil, err
	}
	flag := uint64(0)
	if pages {
		flag = 1
	}
	if err := setRegs(m, f.dom, uint64(n), 0, flag); err != nil {
		return nil, err
	}
	return f, m.RunDomain(f.dom)
}

// check checks that the filler bought everything.
func (f *filler) check() error {
	w, err := regs(f.m, f.dom)
	if err != nil {
		return err
	}
	if w[0] != 0 || w[1] != 0 {
		return fmt.Errorf("the filler has %d objects left to buy; the bank answered %d", w[0], int64(w[1]))
	}
	return nil
}

// destroy destroys the bank and returns how long the call took; then it
// checks that every probe key, and the filler's key to the last node it
// bought, is void.
func (f *filler) destroy() (time.Duration, error) {
	m := f.m
	t0 := time.Now()
	r, err := m.Call(f.bank, int64(abi.OCBankDestroy), nil)
	d := time.Since(t0)
	if err != nil || r.RC != 0 {
		return 0, fmt.Errorf("destroying the bank: %v, return code %d", err, r.RC)
	}
	last, err := m.Call(f.dom, int64(abi.OCDomainGetKeyReg), kernel.Words(3))
	if err != nil {
		return 0, err
	}
	keys := append([]kernel.Key{f.bank, last.Keys[0]}, f.probes...)
	for i, k := range keys {
		r, err := m.Call(k, int64(abi.OCKeyType), nil)
		if err != nil {
			return 0, err
		}
		if r.RC != 0 {
			return 0, fmt.Errorf("key %d to an object of the destroyed bank still answers as type %d", i, r.RC)
		}
	}
	return d, nil
}

// benchDestroy measures destroying a bank holding n nodes; the reference
// is buying them, measured on the same machine in the same sample.
func benchDestroy(e *env) ([]Result, error) {
	n := e.size(1000000, 1000000)
	m, err := machine("native", 1<<30)
	if err != nil {
		return nil, err
	}
	m.RegisterProgram("bench-fill", fillProgram)
	var buy []float64
	kf := newSeries("keyfish", func() (float64, error) {
		f, err := newFiller(m, n, false)
		if err != nil {
			return 0, err
		}
		d, err := e.timeRun(m)
		if err != nil {
			return 0, err
		}
		if err := f.check(); err != nil {
			return 0, err
		}
		buy = append(buy, float64(d.Nanoseconds())/1e6)
		d, err = f.destroy()
		if err != nil {
			return 0, err
		}
		return float64(d.Nanoseconds()) / 1e6, nil
	})
	if err := e.sample(kf); err != nil {
		return nil, err
	}
	r := result("bank/destroy", "ms", kf.samples, ref(fmt.Sprintf("buying the %d nodes", n), "ms", buy))
	r.setTarget(atMost(10))
	r.Note = "the destroyed bank's keys, a node's, a page's, a sub-bank's and the filler's key to the last node are checked void after the call"
	return []Result{r}, nil
}

// benchBuyPage measures a native domain buying fresh pages; the reference
// is allocating a zeroed 4 KiB page on the Go heap.
func benchBuyPage(e *env) ([]Result, error) {
	n := e.size(20000, 2000)
	m, err := machine("native", uint64(n)*4096*2+64<<20)
	if err != nil {
		return nil, err
	}
	m.RegisterProgram("bench-fill", fillProgram)
	kf := newSeries("keyfish", func() (float64, error) {
		f, err := newFiller(m, n, true)
		if err != nil {
			return 0, err
		}
		d, err := e.timeRun(m)
		if err != nil {
			return 0, err
		}
		if err := f.check(); err != nil {
			return 0, err
		}
		if _, err := f.destroy(); err != nil {
			return 0, err
		}
		return float64(d.Nanoseconds()) / float64(n), nil
	})
	goAlloc := newSeries("Go heap: a zeroed 4 KiB page", func() (float64, error) { return goPageAlloc(n) })
	if err := e.sample(kf, goAlloc); err != nil {
		return nil, err
	}
	r := result("bank/buy-page", "ns", kf.samples, goAlloc.ref("ns"))
	r.Note = fmt.Sprintf("%d pages per run, bought one per kernel call from a sub-bank destroyed after each run", n)
	return []Result{r}, nil
}
