package cluster

import "syscall"

// sysProcAttr makes the kernel kill a component when the process that
// started it dies, so nothing outlives a crashed or killed test binary.
// Pdeathsig fires when the starting OS thread exits; the Go runtime only
// retires threads that a goroutine locked and abandoned, which this package
// never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
