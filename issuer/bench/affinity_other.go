//go:build !linux

package bench

import (
	"errors"
	"runtime"
)

var errNoAffinity = errors.New("CPU affinity is only set on Linux")

func pinThread(int) error { return errNoAffinity }

// AllowedCPUs lists CPUs 0 to NumCPU-1: without Linux's affinity calls the
// exact set is unknown.
func AllowedCPUs() []int {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// PinProcess is not supported outside Linux.
func PinProcess([]int) error { return errNoAffinity }

// StartPinned runs start unpinned: affinity is only set on Linux.
func StartPinned(_ int, start func() error) error { return start() }
