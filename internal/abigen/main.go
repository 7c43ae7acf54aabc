// Command abigen writes the SDK's C header from package abi, the single
// definition of Keyfish's binary interface. `go generate ./abi` runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", "", "write the header to this file (default: standard output)")
	src := flag.String("src", "abi.go", "the Go file that defines the ABI")
	flag.Parse()
	text, err := os.ReadFile(*src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "abigen:", err)
		os.Exit(1)
	}
	h, err := Header(filepath.Base(*src), text)
	if err != nil {
		fmt.Fprintln(os.Stderr, "abigen:", err)
		os.Exit(1)
	}
	if *out == "" {
		os.Stdout.Write(h)
		return
	}
	if err := os.WriteFile(*out, h, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "abigen:", err)
		os.Exit(1)
	}
}
