// Package peakrss measures the peak resident memory of a command a test
// runs, for tests only.
//
// The kernel's own figure for a child (wait4's ru_maxrss) is not the
// child's alone: Linux charges a process, when it execs, with the peak
// resident memory of the address space it leaves, and os/exec starts a
// child in its parent's address space (vfork), so a test's child is
// charged with the test's memory. Here the test binary itself, started
// anew (a few MB), starts the command and reads its figure: Measure
// rewrites a command to run that way, Spawn is what the test binary does
// then, called first thing in TestMain.
package peakrss

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// env names the file where the spawner writes the figure.
const env = "AMIGO_PEAKRSS_FILE"

// Spawn is the spawner: when the test binary was started by a command
// that Measure rewrote, it runs that command with this process's standard
// streams, writes its peak RSS and exits with its exit code. Otherwise it
// returns. Call it first thing in TestMain.
func Spawn() {
	file := os.Getenv(env)
	if file == "" {
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "peakrss: no command to run")
		os.Exit(127)
	}
	c := exec.Command(os.Args[1], os.Args[2:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	dieWithParent(c)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, env+"=") {
			c.Env = append(c.Env, kv)
		}
	}
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(127)
	}
	if werr := os.WriteFile(file, []byte(strconv.FormatInt(maxRSS(c.ProcessState), 10)), 0o644); werr != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", werr)
		os.Exit(127)
	}
	os.Exit(code)
}

// Measure rewrites cmd (before it starts) to run under the spawner, the
// test binary started anew, and returns what reads the command's peak RSS
// in bytes once it has finished (0 where the system does not say). dir
// holds the figure's file.
func Measure(cmd *exec.Cmd, dir string) (peak func() int64) {
	self, err := os.Executable()
	if err != nil || !supported {
		return func() int64 { return maxRSS(cmd.ProcessState) }
	}
	f, err := os.CreateTemp(dir, "peakrss-*")
	if err != nil {
		return func() int64 { return 0 }
	}
	f.Close()
	cmd.Args = append([]string{self, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = self
	cmd.Env = append(append([]string(nil), cmd.Env...), env+"="+f.Name())
	return func() int64 {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return 0
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
}
