// Command keyfish boots and runs Keyfish systems, inspects their object
// graph and measures them.
//
// Usage:
//
//	keyfish boot [flags]            boot the built-in demo image
//	keyfish run [flags] PROGRAM.elf [ARGS...]
//	                                run a RISC-V program as a domain
//	keyfish inspect [flags]         show a system's object graph
//	keyfish bench [flags]           run the benchmark suite
//	keyfish version                 print the version
//
// Run "keyfish help COMMAND" for a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is a keyfish subcommand.
type command struct {
	summary string
	// run executes the command with its arguments; stdout and stderr are
	// where it writes. It returns the process exit status.
	run func(args []string, stdout, stderr io.Writer) int
}

// commands is filled in by each command's file.
var commands = map[string]command{}

func main() {
	os.Exit(keyfish(os.Args[1:], os.Stdout, os.Stderr))
}

// keyfish runs the command line args and returns the exit status.
func keyfish(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 {
			if c, ok := commands[rest[0]]; ok {
				return c.run([]string{"-h"}, stdout, stderr)
			}
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "keyfish: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	return c.run(rest, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Keyfish: a capability operating system with the semantics of KeyKOS")
	fmt.Fprintln(w, "and the multiprocessor structure of Barrelfish.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "\tkeyfish <command> [flags] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Use "keyfish help <command>" for a command's flags.`)
}

// newFlags makes a command's flag set: errors and -h go to stderr, and
// parse errors become exit status 2 with a one-line message.
func newFlags(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("keyfish "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: keyfish %s %s\n\nFlags:\n", name, usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns (status, false) when the command
// must stop: 0 after -h, 2 after a bad flag.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0, false
	}
	if err != nil {
		return 2, false
	}
	return 0, true
}
