//go:build !linux

package peakrss

import "os/exec"

// dieWithParent does nothing where the system has no parent-death signal.
func dieWithParent(*exec.Cmd) {}
