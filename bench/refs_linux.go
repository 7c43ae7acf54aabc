//go:build linux

package bench

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// pipeRT is a Linux pipe round trip between two processes: this one writes
// a byte into one pipe, cat copies it into another, and this one reads it
// back. Both pipes are blocking, read and written with plain system calls,
// so that it is what two C processes would do (lmbench's lat_pipe).
func pipeRT(n int) (float64, error) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		return 0, errors.New("cat not found in PATH")
	}
	var in, out [2]int
	if err := syscall.Pipe2(in[:], syscall.O_CLOEXEC); err != nil {
		return 0, err
	}
	if err := syscall.Pipe2(out[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(in[0])
		syscall.Close(in[1])
		return 0, err
	}
	childIn, childOut := os.NewFile(uintptr(in[0]), "pipe-in"), os.NewFile(uintptr(out[1]), "pipe-out")
	cmd := exec.Command(cat)
	cmd.Stdin, cmd.Stdout = childIn, childOut
	err = cmd.Start()
	childIn.Close()
	childOut.Close()
	defer syscall.Close(out[0])
	if err != nil {
		syscall.Close(in[1])
		return 0, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := []byte{'x'}
	rt := func() error {
		if _, err := syscall.Write(in[1], b); err != nil {
			return err
		}
		for {
			k, err := syscall.Read(out[0], b)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if k != 1 {
				return errors.New("cat closed the pipe")
			}
			return nil
		}
	}
	// Warm up: the child has started and reached its first read.
	err = rt()
	t0 := time.Now()
	for i := 0; i < n && err == nil; i++ {
		err = rt()
	}
	d := time.Since(t0)
	syscall.Close(in[1])
	if werr := cmd.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return 0, err
	}
	return float64(d.Nanoseconds()) / float64(n), nil
}

// linuxFault is a Linux demand-zero page fault: touching each page of a
// fresh anonymous private mapping (huge pages refused, so that each 4 KiB
// page faults).
func linuxFault(n int) (float64, error) {
	const page = 4096
	b, err := syscall.Mmap(-1, 0, n*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return 0, err
	}
	defer syscall.Munmap(b)
	// Best effort: without transparent huge pages there is nothing to
	// refuse.
	_ = syscall.Madvise(b, syscall.MADV_NOHUGEPAGE)
	t0 := time.Now()
	for i := 0; i < len(b); i += page {
		b[i] = 1
	}
	d := time.Since(t0)
	return float64(d.Nanoseconds()) / float64(n), nil
}
