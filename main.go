// Command amigo-release releases Amigo tools from a monorepo: it finds the
// tool projects that changed, infers each one's semver bump from Conventional
// Commits, tests, publishes and promotes them stage by stage, and reports on
// the pull request. See the cmd package for the subcommands and exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/amigo-release/amigo-release/cmd"
)

func main() {
	// cmd handles SIGINT and SIGTERM (a run stops starting work at the
	// first and lets the calls in flight finish within cmd.InterruptGrace).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(context.Background(), os.Args[1:], cmd.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr, Signals: sigs})
	signal.Stop(sigs)
	os.Exit(code)
}
