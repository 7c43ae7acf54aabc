// Package images holds the example programs built by the SDK (make -C sdk),
// committed so that running them needs nothing but Go: the examples, their
// Linux-ABI builds (linux/NAME) and the hostile programs (hostile/NAME) that
// package hostile runs against the kernel.
package images

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.elf linux/*.elf hostile/*.elf
var files embed.FS

// Get returns the image of the named example ("hello", "linux/hello" for
// the Linux-ABI build, "hostile/wild" for a hostile program).
func Get(name string) ([]byte, bool) {
	b, err := files.ReadFile(strings.TrimSuffix(name, ".elf") + ".elf")
	return b, err == nil
}

// Names lists the Keyfish examples.
func Names() []string {
	ents, _ := fs.Glob(files, "*.elf")
	for i, e := range ents {
		ents[i] = strings.TrimSuffix(e, ".elf")
	}
	sort.Strings(ents)
	return ents
}

// HostileNames lists the hostile programs (without the "hostile/" prefix).
func HostileNames() []string {
	ents, _ := fs.Glob(files, "hostile/*.elf")
	for i, e := range ents {
		ents[i] = strings.TrimSuffix(strings.TrimPrefix(e, "hostile/"), ".elf")
	}
	sort.Strings(ents)
	return ents
}
