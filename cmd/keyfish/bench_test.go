package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfish-os/keyfish/bench"
)

// TestBenchEndToEnd runs a quick benchmark with the keyfish binary
// (built by TestMain) and -json, parsing what it writes.
func TestBenchEndToEnd(t *testing.T) {
	bin := keyfishBin
	cmd := exec.Command(bin, "bench", "-json", "-short", "-count", "1", "-run", "^(call/native|flood)$")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("keyfish bench: %v\nstderr:\n%s", err, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the output is not a bench.Report: %v\n%s", err, stdout.String())
	}
	if rep.Host.CPUs < 1 || rep.Host.Go == "" || !rep.Options.Short || rep.Options.Count != 1 {
		t.Fatalf("host or options not recorded: %+v %+v", rep.Host, rep.Options)
	}
	got := map[string]bench.Result{}
	for _, r := range rep.Results {
		if r.Err != "" {
			t.Errorf("%s failed: %s", r.Name, r.Err)
		}
		got[r.Name] = r
	}
	nat, ok := got["call/native"]
	if !ok || nat.Unit != "ns" || nat.Value <= 0 || len(nat.Samples) != 1 || len(nat.Refs) == 0 || nat.Refs[0].Value <= 0 || nat.Target == "" || nat.Met == nil {
		t.Errorf("call/native: %+v", nat)
	}
	if lost, ok := got["flood/lost"]; !ok || lost.Value != 0 {
		t.Errorf("flood/lost: %+v", lost)
	}
	saved := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(saved, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "bench", "-from", saved).Output()
	if err != nil || !strings.Contains(string(out), "call/native") || !strings.Contains(string(out), "flood/lost") {
		t.Errorf("keyfish bench -from: %v\n%s", err, out)
	}
	for _, want := range []string{"call/native: start", "call/native: sample 1/1", "flood: done"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("no progress line %q on stderr:\n%s", want, stderr.String())
		}
	}
}

// TestBenchFlags checks the flag handling and the table, in process.
func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		out    string // in stdout
		errOut string // in stderr
	}{
		{[]string{"bench", "-list"}, 0, "scaling", ""},
		{[]string{"bench", "-run", "("}, 2, "", "-run"},
		{[]string{"bench", "-run", "nothing-matches"}, 2, "", "no benchmark matches"},
		{[]string{"bench", "-cores", "1,x"}, 2, "", "-cores"},
		{[]string{"bench", "-count", "-1"}, 2, "", "-count"},
		{[]string{"bench", "extra"}, 2, "", "unexpected arguments"},
		{[]string{"bench", "-nosuchflag"}, 2, "", "nosuchflag"},
		{[]string{"bench", "-from", "/nonexistent/report.json"}, 1, "", "nonexistent"},
		{[]string{"bench", "-q", "-short", "-count", "1", "-run", "^call/native$"}, 0, "call/native", ""},
	} {
		var stdout, stderr bytes.Buffer
		st := keyfish(tc.args, &stdout, &stderr)
		if st != tc.status || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.errOut) {
			t.Errorf("keyfish %q: status %d (want %d)\nstdout:\n%s\nstderr:\n%s", tc.args, st, tc.status, stdout.String(), stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	keyfish([]string{"bench", "-q", "-short", "-count", "1", "-run", "^call/native$"}, &stdout, &stderr)
	for _, col := range []string{"benchmark", "value", "unit", "reference", "ref value", "ratio", "target", "met", "Go channel round trip"} {
		if !strings.Contains(stdout.String(), col) {
			t.Errorf("the table lacks %q:\n%s", col, stdout.String())
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("-q wrote progress:\n%s", stderr.String())
	}
}
