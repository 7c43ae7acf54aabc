package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestSnake(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"NoSpace", "NO_SPACE"}, {"PCValue", "PC_VALUE"}, {"RV64", "RV64"},
		{"X1", "X1"}, {"KeyRegs", "KEY_REGS"}, {"Arg0", "ARG0"}, {"MaxSegSize", "MAX_SEG_SIZE"},
	} {
		if got := snake(tc.in); got != tc.want {
			t.Errorf("snake(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCommittedHeaderIsCurrent fails when abi/abi.go changed and the SDK's
// header was not regenerated with `go generate ./abi`.
func TestCommittedHeaderIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../../abi/abi.go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Header("abi.go", src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../sdk/include/keyfish/abi.h")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("sdk/include/keyfish/abi.h is stale: run `go generate ./abi`")
	}
	for _, name := range []string{"KF_RC_NO_SPACE (-4L)", "KF_OC_PAGE_READ 1L", "KF_UNLIMITED 0xffffffffffffffffUL"} {
		if !strings.Contains(string(got), name) {
			t.Errorf("header lacks %q", name)
		}
	}
}

func TestHeaderRejectsMisnamedConstant(t *testing.T) {
	_, err := Header("x.go", []byte("package abi\ntype RC int64\nconst Bad RC = 1\n"))
	if err == nil {
		t.Fatal("a constant not named after its type was accepted")
	}
}
