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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, os.Args[1:], cmd.Env{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
