package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Host describes the machine a run was measured on.
type Host struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	QEMU       string `json:"qemu,omitempty"`
}

// Report is a run's results with the machine they were measured on, as
// the keyfish command writes it with -json.
type Report struct {
	Time    time.Time `json:"time"`
	Host    Host      `json:"host"`
	Options Options   `json:"options"`
	Results []Result  `json:"results"`
}

// ThisHost describes the machine the process runs on; qemu is the path of
// qemu-riscv64 whose version to record ("" for none).
func ThisHost(qemu string) Host {
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), CPU: cpuModel()}
	if qemu != "" {
		if out, err := exec.Command(qemu, "--version").Output(); err == nil {
			h.QEMU, _, _ = strings.Cut(string(out), "\n")
		}
	}
	return h
}

// cpuModel reads the CPU's model name on Linux.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// WriteTable writes results as a table: one row per result and reference
// (benchmark, value, unit, reference, its value, ratio, target, met),
// then the notes and the failures.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tvalue\tunit\treference\tref value\tratio\ttarget\tmet")
	var notes []string
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\tFAILED\t\t\t\t\t\t\n", r.Name)
			notes = append(notes, fmt.Sprintf("%s: FAILED: %s", r.Name, r.Err))
			continue
		}
		met := ""
		if r.Met != nil {
			met = "yes"
			if !*r.Met {
				met = "NO"
			}
		}
		first := fmt.Sprintf("%s\t%s\t%s", r.Name, fmtNum(r.Value), r.Unit)
		if len(r.Refs) == 0 {
			fmt.Fprintf(tw, "%s\t\t\t\t%s\t%s\n", first, r.Target, met)
		}
		for i, ref := range r.Refs {
			if i > 0 {
				first, met = "\t\t", ""
			}
			target := r.Target
			if i > 0 {
				target = ""
			}
			if ref.Note != "" {
				fmt.Fprintf(tw, "%s\t%s\t-\t-\t%s\t%s\n", first, ref.Name, target, met)
				notes = append(notes, fmt.Sprintf("%s: reference %q left out: %s", r.Name, ref.Name, ref.Note))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\n", first, ref.Name, fmtNum(ref.Value), ref.Unit,
				fmtRatio(ref.Ratio), target, met)
		}
		if r.Note != "" {
			notes = append(notes, r.Name+": "+r.Note)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			if _, err := fmt.Fprintln(w, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// fmtRatio formats a ratio with three significant digits.
func fmtRatio(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	case v >= 10:
		return fmt.Sprintf("%.1f×", v)
	case v >= 1:
		return fmt.Sprintf("%.2f×", v)
	case v >= 0.001:
		return fmt.Sprintf("%.3f×", v)
	}
	return strconv.FormatFloat(v, 'g', 2, 64) + "×"
}
