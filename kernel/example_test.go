package kernel_test

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
)

// A native server that answers each CALL with its order code doubled, and
// a client that calls it through a start key three times, on a machine of
// one native core. Each program serves one message and returns; between
// messages a domain is a record, not a goroutine.
func Example() {
	m, err := kernel.New(kernel.Config{Topology: "native", Memory: 16 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	resume := uint8(abi.KRRecv0 + 3) // where a CALL's resume key lands
	m.RegisterProgram("double", func(x *kernel.Ctx) {
		x.Return(resume, &kernel.Msg{Order: 2 * x.Order()})
	})
	m.RegisterProgram("client", func(x *kernel.Ctx) {
		r := x.Regs() // kept from one message to the next
		if r[0] > 0 {
			fmt.Printf("%d doubled is %d\n", r[0], x.Order())
		}
		if r[0] == 3 {
			return // no final invocation: the domain becomes available
		}
		r[0]++
		x.CallGate(uint8(abi.KRArg0), &kernel.Msg{Order: int64(r[0])})
	})
	server, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "double")
	client, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "client")
	start, _ := m.StartKey(server, 0)
	m.SetKeyReg(client, int(abi.KRArg0), start)
	m.MakeAvailable(server)
	m.RunDomain(client)
	if err := m.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1 doubled is 2
	// 2 doubled is 4
	// 3 doubled is 6
}

// The host invokes kernel objects directly: here it buys a sub-bank and a
// page from it, reads the sub-bank's ledger, and destroys the sub-bank,
// which voids the page key at once.
func ExampleMachine_Call() {
	m, err := kernel.New(kernel.Config{Topology: "native", Memory: 16 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	sub := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyBank), nil).Keys[0]
	page := m.MustCall(sub, int64(abi.OCBankBuyPage), nil).Keys[0]
	m.MustCall(page, int64(abi.OCPageWrite), append(kernel.Words(0), "hello"...))
	fmt.Printf("%q\n", m.MustCall(page, int64(abi.OCPageRead), kernel.Words(0, 5)).Data)

	ledger := m.MustCall(sub, int64(abi.OCBankGetLedger), nil)
	fmt.Println("pages held:", ledger.Word(int(abi.LedgerUsedPages)))

	isPage := func() bool { return m.MustCall(page, int64(abi.OCKeyType), nil).RC == int64(abi.KTPage) }
	fmt.Println("a page key:", isPage())
	m.MustCall(sub, int64(abi.OCBankDestroy), nil)
	fmt.Println("a page key after the bank's destruction:", isPage())
	// Output:
	// "hello"
	// pages held: 1
	// a page key: true
	// a page key after the bank's destruction: false
}

// A native program calls kernel objects inside its event with Ctx.Call:
// this one buys a page from the bank key it was given, writes its order
// code there, and returns the page key to its caller.
func ExampleCtx_Call() {
	m, err := kernel.New(kernel.Config{Topology: "native", Memory: 16 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	const (
		bank = uint8(abi.KRBank)
		page = uint8(abi.KRArg0 + 1)
	)
	m.RegisterProgram("pager", func(x *kernel.Ctx) {
		rc, _ := x.Call(bank, &kernel.Msg{Order: int64(abi.OCBankBuyPage), Recv: [4]uint8{page}})
		if rc != int64(abi.RCOk) {
			x.Return(uint8(abi.KRRecv0+3), &kernel.Msg{Order: rc})
			return
		}
		x.Call(page, &kernel.Msg{Order: int64(abi.OCPageWrite), Data: kernel.Words(0, uint64(x.Order()))})
		x.Return(uint8(abi.KRRecv0+3), &kernel.Msg{Keys: [4]uint8{page}})
	})
	pager, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "pager")
	m.SetKeyReg(pager, int(abi.KRBank), m.PrimeBank())
	m.MakeAvailable(pager)

	// The host cannot CALL a start key itself (Machine.Call answers
	// kernel objects only): a native caller does, as in Example.
	start, _ := m.StartKey(pager, 0)
	m.RegisterProgram("caller", func(x *kernel.Ctx) {
		if r := x.Regs(); r[0] == 0 {
			r[0] = 1
			x.CallGate(uint8(abi.KRArg0), &kernel.Msg{Order: 42})
			return
		}
		// The reply: the page key came in the first receive register.
		rc, data := x.Call(uint8(abi.KRRecv0), &kernel.Msg{Order: int64(abi.OCPageRead), Data: kernel.Words(0, 8)})
		fmt.Println("reply", x.Order(), "read", rc, binary.LittleEndian.Uint64(data))
	})
	caller, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "caller")
	m.SetKeyReg(caller, int(abi.KRArg0), start)
	m.RunDomain(caller)
	if err := m.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// reply 0 read 0 42
}

// CPU time is charged to meters, exactly. In deterministic mode a native
// event costs 100 ticks of virtual time, so the figures are the same in
// every run: a client calls a server until the sub-meter they both run
// under, bought with a budget of 1,000 ticks, is spent; the domain whose
// event finds it empty traps (it has no meter keeper, so it stops).
func Example_meter() {
	m, err := kernel.New(kernel.Config{Topology: "native", Memory: 16 << 20, Deterministic: true, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.RegisterProgram("echo", func(x *kernel.Ctx) {
		x.Return(uint8(abi.KRRecv0+3), &kernel.Msg{Order: x.Order()})
	})
	m.RegisterProgram("client", func(x *kernel.Ctx) {
		x.Regs()[0]++ // messages served
		x.CallGate(uint8(abi.KRArg0), &kernel.Msg{})
	})
	meter := m.MustCall(m.PrimeBank(), int64(abi.OCBankBuyMeter), kernel.Words(1000), m.PrimeMeter()).Keys[0]
	echo, _ := m.NewDomain(m.PrimeBank(), meter, abi.KindNative, "echo")
	client, _ := m.NewDomain(m.PrimeBank(), meter, abi.KindNative, "client")
	start, _ := m.StartKey(echo, 0)
	m.SetKeyReg(client, int(abi.KRArg0), start)
	m.MakeAvailable(echo)
	m.RunDomain(client)
	if err := m.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	r := m.MustCall(meter, int64(abi.OCMeterRead), nil)
	fmt.Println("remaining", int64(r.Word(int(abi.MeterInfoRemaining))), "consumed", r.Word(int(abi.MeterInfoConsumed)))
	regs := m.MustCall(client, int64(abi.OCDomainGetRegs), nil)
	fmt.Println("client events", regs.Word(0), "traps", m.Stats().Traps)
	// Output:
	// remaining 0 consumed 1000
	// client events 5 traps map[meter:1]
}
