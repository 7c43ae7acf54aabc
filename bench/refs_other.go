//go:build !linux

package bench

import "errors"

var errNotLinux = errors.New("needs Linux")

// pipeRT needs Linux pipes and cat.
func pipeRT(n int) (float64, error) { return 0, errNotLinux }

// linuxFault needs Linux mmap.
func linuxFault(n int) (float64, error) { return 0, errNotLinux }
