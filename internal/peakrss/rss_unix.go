//go:build linux || darwin

package peakrss

import (
	"os"
	"runtime"
	"syscall"
)

const supported = true

// maxRSS is what the kernel says of a finished process, in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss
	}
	return ru.Maxrss * 1024
}
