package hostile

import (
	"os"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/images"
)

// TestHostileProgramsDocumented: every hostile program built into
// images/hostile is described in SECURITY.md, with the guarantee it tests
// and the test that runs it.
func TestHostileProgramsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	names := images.HostileNames()
	if len(names) == 0 {
		t.Fatal("no hostile programs in images/hostile")
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "sdk/hostile/"+n+".c") && !strings.Contains(string(doc), n+".c") {
			t.Errorf("SECURITY.md does not mention sdk/hostile/%s.c", n)
		}
	}
}
