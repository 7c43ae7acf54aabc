// Package images holds the example programs built by the SDK (make -C sdk),
// committed so that running them needs nothing but Go.
package images

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.elf linux/*.elf
var files embed.FS

// Get returns the image of the named example ("hello", or "linux/hello"
// for the Linux-ABI build).
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
