// Command keyfish boots and runs Keyfish systems, inspects their object
// graph and measures them.
//
// Usage:
//
//	keyfish boot [flags]            boot the built-in demo image
//	keyfish run [flags] PROGRAM.elf [ARGS...]
//	                                run a RISC-V program as a domain
//	keyfish inspect [flags] [PROGRAM.elf...]
//	                                show a system's object graph
//	keyfish bench [flags]           run the benchmark suite
//	keyfish version                 print the version
//
// Run "keyfish help COMMAND" for a command's flags. Errors are one line on
// stderr, "keyfish: COMMAND: what went wrong"; a usage error (an unknown
// command or flag, a malformed flag value, a missing argument) exits with
// status 2, any other failure with status 1, unless the command documents
// its own statuses (run passes on its program's).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
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
		switch {
		case len(rest) == 0:
			usage(stdout)
			return 0
		case len(rest) > 1:
			fmt.Fprintln(stderr, "keyfish: help: give one command name (usage: keyfish help <command>)")
			return 2
		}
		c, ok := commands[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "keyfish: help: unknown command %q (run 'keyfish help' for the list)\n", rest[0])
			return 2
		}
		return c.run([]string{"-h"}, stdout, stdout)
	}
	c, ok := commands[name]
	if !ok {
		if len(name) > 0 && name[0] == '-' {
			fmt.Fprintf(stderr, "keyfish: flags go after the command: keyfish <command> %s (run 'keyfish help' for the list)\n", name)
		} else {
			fmt.Fprintf(stderr, "keyfish: unknown command %q (run 'keyfish help' for the list)\n", name)
		}
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

// newFlags makes a command's flag set: -h prints the usage line and the
// flags to stderr, and parse errors become exit status 2 with a one-line
// message (see parseFlags).
func newFlags(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("keyfish "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: keyfish %s %s\n", name, usageLine)
		if doc, ok := commandDocs[name]; ok {
			fmt.Fprintf(stderr, "\n%s", doc)
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// commandDocs holds each command's longer help, printed by -h between the
// usage line and the flags.
var commandDocs = map[string]string{}

// parseFlags parses args; it returns (status, false) when the command
// must stop: 0 after -h (the usage is printed), 2 after a bad flag (one
// line: "keyfish: CMD: what is wrong").
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.Usage()
		return 0, false
	}
	if err != nil {
		cmd := strings.TrimPrefix(fs.Name(), "keyfish ")
		fmt.Fprintf(out, "keyfish: %s: %v (run 'keyfish help %s' for usage)\n", cmd, err, cmd)
		return 2, false
	}
	return 0, true
}

// usageError prints a one-line usage error for command cmd and returns
// exit status 2.
func usageError(stderr io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(stderr, "keyfish: %s: %s (run 'keyfish help %s' for usage)\n", cmd, fmt.Sprintf(format, args...), cmd)
	return 2
}

// failure prints a one-line error for command cmd and returns exit
// status 1.
func failure(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "keyfish: %s: %s\n", cmd, oneLine(strings.TrimPrefix(err.Error(), "keyfish: ")))
	return 1
}

// oneLine joins the lines of a message with "; ".
func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")
}
