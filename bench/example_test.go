package bench_test

import (
	"fmt"

	"github.com/keyfish-os/keyfish/bench"
)

// Run the native round-trip benchmark at small sizes, once, and show what
// was measured and against what. bench.WriteTable prints the figures as a
// table.
func ExampleRun() {
	results, err := bench.Run(bench.Options{Run: "^call/native$", Short: true, Count: 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.Name, r.Unit, len(r.Samples), "sample")
		for _, ref := range r.Refs {
			fmt.Println("  against", ref.Name)
		}
		fmt.Println("  target", r.Target)
	}
	// Output:
	// call/native ns 1 sample
	//   against Go channel round trip
	//   against Linux pipe round trip
	//   target ≤ 50 ns, ≤ 0.25× Go channel round trip
}
