//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process with this PID exists (EPERM: it does, another user's).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// syncDir makes the rename durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
