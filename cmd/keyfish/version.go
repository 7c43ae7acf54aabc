package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	commands["version"] = command{summary: "print the version", run: version}
}

func version(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "version", "unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "keyfish %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}

// buildVersion is the module version the binary was built from (a tag when
// installed with go install), or for a build in a checkout, "devel" with
// the commit, its time and "+dirty" when the tree had changes.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v != "" && v != "(devel)" && rev == "" {
		return v
	}
	v = "devel"
	if rev != "" {
		v += " " + rev[:min(len(rev), 12)]
		if at != "" {
			v += " " + at
		}
		if dirty {
			v += "+dirty"
		}
	}
	return v
}
