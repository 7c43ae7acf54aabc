package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyfish-os/keyfish/images"
	"github.com/keyfish-os/keyfish/internal/rv64/linuxsim"
)

func init() {
	register("interp", "interpreter speed on the CPU-bound compute program: standalone (linuxsim) and as a Keyfish domain, against qemu-riscv64", benchInterp)
}

// computeRounds sizes the compute program: about 270,000 instructions a
// round.
func (e *env) computeRounds() int { return e.size(400, 60) }

// linuxsimRun runs the Linux-ABI compute image on the interpreter alone.
func linuxsimRun(img []byte, rounds int) (time.Duration, uint64, []byte, error) {
	var out bytes.Buffer
	t0 := time.Now()
	code, n, err := linuxsim.Run(img, []string{"compute", fmt.Sprint(rounds)}, &out, 0)
	d := time.Since(t0)
	if err == nil && code != 0 {
		err = fmt.Errorf("compute exited %d", code)
	}
	return d, n, out.Bytes(), err
}

// domainRun runs the Keyfish compute image as a domain on one rv64 core
// and returns the run's time, the instructions executed and the console.
func (e *env) domainRun(rounds int) (time.Duration, uint64, string, error) {
	s, err := newSys("rv64,native", 64<<20)
	if err != nil {
		return 0, 0, "", err
	}
	if _, err := s.load("compute", nil, -1, []string{fmt.Sprint(rounds)}, nil); err != nil {
		return 0, 0, "", err
	}
	if err := s.procs[0].Start(); err != nil {
		return 0, 0, "", err
	}
	d, err := e.timeRun(s.M)
	if err != nil {
		return 0, 0, "", err
	}
	if err := s.checkExits(); err != nil {
		return 0, 0, "", err
	}
	return d, rv64Ticks(s.M.Stats()), s.con.String(), nil
}

// benchInterp compares instructions per second. Every run is measured as
// the difference between the program with the full number of rounds and
// with none, so that loading, start-up and exit (and qemu's translation
// of the start-up code) do not count. qemu's instruction count is the
// interpreter's on the same binary.
func benchInterp(e *env) ([]Result, error) {
	rounds := e.computeRounds()
	img, ok := images.Get("linux/compute")
	if !ok {
		return nil, fmt.Errorf("no linux/compute image")
	}
	// The instructions of the Linux-ABI build, and what it must print.
	_, n0, _, err := linuxsimRun(img, 0)
	if err != nil {
		return nil, err
	}
	_, n1, want, err := linuxsimRun(img, rounds)
	if err != nil {
		return nil, err
	}
	insns := float64(n1 - n0)
	e.logf("compute %d rounds: %d instructions (Linux-ABI build, less start-up)", rounds, n1-n0)

	sim := newSeries("linuxsim", func() (float64, error) {
		d0, _, _, err := linuxsimRun(img, 0)
		if err != nil {
			return 0, err
		}
		d1, _, _, err := linuxsimRun(img, rounds)
		if err != nil {
			return 0, err
		}
		return insns / (d1 - d0).Seconds() / 1e6, nil
	})
	dom := newSeries("keyfish domain", func() (float64, error) {
		d0, t0, _, err := e.domainRun(0)
		if err != nil {
			return 0, err
		}
		d1, t1, out, err := e.domainRun(rounds)
		if err != nil {
			return 0, err
		}
		if out != string(want) {
			return 0, fmt.Errorf("the domain printed %q, the Linux build %q", out, want)
		}
		return float64(t1-t0) / (d1 - d0).Seconds() / 1e6, nil
	})
	var dir string
	qemu := optional(refQEMU, func() (float64, error) {
		path, _ := e.qemuPath()
		f := filepath.Join(dir, "compute.elf")
		d0, _, err := qemuRun(path, f, "0")
		if err != nil {
			return 0, err
		}
		d1, out, err := qemuRun(path, f, fmt.Sprint(rounds))
		if err != nil {
			return 0, err
		}
		if !bytes.Equal(out, want) {
			return 0, fmt.Errorf("qemu printed %q, the interpreter %q", out, want)
		}
		return insns / (d1 - d0).Seconds() / 1e6, nil
	}, func() error {
		if _, err := e.qemuPath(); err != nil {
			return err
		}
		var err error
		if dir, err = os.MkdirTemp("", "keyfish-bench"); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "compute.elf"), img, 0o755)
	})
	defer func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}()
	if err := e.sample(sim, dom, qemu); err != nil {
		return nil, err
	}
	r1 := result("interp/linuxsim", "MIPS", sim.samples, qemu.ref("MIPS"))
	r1.Desc = "the rv64 interpreter alone (linuxsim) on images/linux/compute.elf, against qemu-riscv64 on the same file"
	r1.setTarget(atLeast(500))
	r2 := result("interp/domain", "MIPS", dom.samples, qemu.ref("MIPS"), sim.ref("MIPS"))
	r2.Desc = "the compute image as a Keyfish rv64 domain (one core: segments, meter, preemption), against qemu-riscv64 on the Linux-ABI build"
	r2.setTarget(atLeast(500))
	r2.Note = "qemu and linuxsim run the Linux-ABI build of the same source; the domain's count is its own"
	return []Result{r1, r2}, nil
}
