package bench

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// cpuMask is a Linux cpu_set_t of 1,024 CPUs.
type cpuMask [1024 / 64]uint64

func maskOf(cpus []int) cpuMask {
	var m cpuMask
	for _, c := range cpus {
		if c >= 0 && c < len(m)*64 {
			m[c/64] |= 1 << (c % 64)
		}
	}
	return m
}

func setAffinity(tid int, cpus []int) error {
	m := maskOf(cpus)
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return e
	}
	return nil
}

// pinThread pins the calling OS thread to cpu.
func pinThread(cpu int) error { return setAffinity(0, []int{cpu}) }

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() []int {
	var m cpuMask
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(m), uintptr(unsafe.Pointer(&m)))
	if e != 0 {
		return nil
	}
	var cpus []int
	for i := range len(m) * 64 {
		if m[i/64]&(1<<(i%64)) != 0 {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// PinProcess restricts every thread of this process to cpus; threads
// started later inherit the mask of the thread that starts them. The load
// generator uses it to leave the server's core alone.
func PinProcess(cpus []int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := setAffinity(tid, cpus); err != nil && err != syscall.ESRCH {
			return err
		}
	}
	return nil
}

// StartPinned runs start (which starts a child process) on an OS thread
// pinned to cpu, so that the child inherits that affinity: the fallback of
// `bench --cpu` where taskset is missing. The thread gets its mask back.
func StartPinned(cpu int, start func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old cpuMask
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(old), uintptr(unsafe.Pointer(&old))); e != 0 {
		return e
	}
	if err := pinThread(cpu); err != nil {
		return err
	}
	defer syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(old), uintptr(unsafe.Pointer(&old)))
	return start()
}
