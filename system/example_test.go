package system_test

import (
	"context"
	"fmt"
	"os"

	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/system"
)

// Load runs an SDK example program as a domain with its own bank and
// meter; its console output goes to the machine's console writer.
func ExampleSystem_Load() {
	s, err := system.New(kernel.Config{Topology: "rv64,native", Memory: 64 << 20, Console: os.Stdout})
	if err != nil {
		panic(err)
	}
	img, _ := images.Get("hello")
	p, err := s.Load("hello", img, system.Options{Args: []string{"hello", "world"}})
	if err != nil {
		panic(err)
	}
	if err := p.Start(); err != nil {
		panic(err)
	}
	if err := s.Run(context.Background()); err != nil {
		panic(err)
	}
	o, _ := p.Outcome()
	fmt.Println(o)
	// Output:
	// hello from keyfish
	// argc=2
	// argv[0]=hello
	// argv[1]=world
	// exited with status 0
}

// The demo system that `keyfish boot` runs, in deterministic mode.
func ExampleSystem_LoadDemo() {
	s, err := system.New(kernel.Config{Topology: "rv64:2,native", Memory: 64 << 20, Deterministic: true, Seed: 1})
	if err != nil {
		panic(err)
	}
	progs, err := s.LoadDemo(system.DemoOptions{Computes: 2, ComputeRounds: 3, PingRounds: 50, SpinBudget: 100_000})
	if err != nil {
		panic(err)
	}
	if err := system.StartAll(progs); err != nil {
		panic(err)
	}
	if err := s.Run(context.Background()); err != nil {
		panic(err)
	}
	for _, p := range progs {
		o, _ := p.Outcome()
		fmt.Printf("%-9s %-20s ok=%v\n", p.Name, p.Want, p.OK(o))
	}
	// Output:
	// hello     exit 0               ok=true
	// pong      serve                ok=true
	// ping      exit 0               ok=true
	// pager     serve                ok=true
	// pagertest exit 0               ok=true
	// outgrow   exit 0               ok=true
	// spinner   stopped by its meter ok=true
	// compute1  exit 0               ok=true
	// compute2  exit 0               ok=true
	// malloc    exit 0               ok=true
}
