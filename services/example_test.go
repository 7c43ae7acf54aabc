package services_test

import (
	"context"
	"fmt"

	"github.com/keyfish-os/keyfish/abi"
	"github.com/keyfish-os/keyfish/kernel"
	"github.com/keyfish-os/keyfish/services"
)

// A native domain asks the domain creator for an rv64 domain, paid by its
// own bank and run by its own meter.
func ExampleCreator() {
	m, err := kernel.New(kernel.Config{Topology: "rv64,native", Deterministic: true, Memory: 16 << 20})
	if err != nil {
		panic(err)
	}
	creator, err := services.StartCreator(m, m.PrimeBank(), m.PrimeMeter())
	if err != nil {
		panic(err)
	}

	// The client holds the creator in key register 7, a bank in 2 and a
	// meter in 3. Its first run CALLs the creator; the reply is its next
	// message, with the new domain's keys in registers 8 and 9.
	m.RegisterProgram("client", func(x *kernel.Ctx) {
		if x.Regs()[0] == 0 {
			x.Regs()[0] = 1
			x.CallGate(7, &kernel.Msg{
				Order: int64(abi.OCCreatorCreate),
				Data:  kernel.Words(uint64(abi.KindRV64)),
				Keys:  [4]uint8{2, 3},
				Recv:  [4]uint8{8, 9},
			})
			return
		}
		fmt.Println("return code:", x.Order())
		fmt.Println("domain key:", x.KeyType(8) == abi.KTDomain)
		fmt.Println("start key:", x.KeyType(9) == abi.KTStart)
	})
	client, _ := m.NewDomain(m.PrimeBank(), m.PrimeMeter(), abi.KindNative, "client")
	m.SetKeyReg(client, 7, creator)
	m.SetKeyReg(client, 2, m.PrimeBank())
	m.SetKeyReg(client, 3, m.PrimeMeter())
	m.RunDomain(client)
	if err := m.Run(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// return code: 0
	// domain key: true
	// start key: true
}
