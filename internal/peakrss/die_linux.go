package peakrss

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the command when the spawner dies (a test's
// timeout kills the spawner).
func dieWithParent(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
