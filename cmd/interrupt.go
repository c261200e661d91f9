package cmd

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// InterruptGrace is how long, after the first SIGINT or SIGTERM, the calls
// in flight of `run` may go on (a publish that is building) before they are
// cancelled. Both CI runners stop a step the same way: SIGINT, SIGTERM 7.5 s
// later, then SIGKILL of the process tree 2.5 s after that (GitHub Actions
// runner, src/Runner.Sdk/ProcessInvoker.cs: _sigintTimeout 7500 ms,
// _sigtermTimeout 2500 ms; Azure Pipelines agent,
// src/Agent.Sdk/ProcessInvoker.cs: _defaultSigintTimeout 7500 ms,
// _defaultSigtermTimeout 2500 ms). The grace ends before that SIGTERM, and
// a second signal (the runner's SIGTERM, a second Ctrl-C) ends it at once,
// so the report goes out in the 2.5 s left before the kill.
const InterruptGrace = 7 * time.Second

// reportGrace bounds what is written after an interrupt (outputs, summary,
// the pull request comment): it must be done before the runner's SIGKILL.
const reportGrace = 2 * time.Second

// interrupts turns the process's signals into the two stops of a
// graceful command: stop is closed at the first signal (start nothing new),
// and the context Main gives the command is cancelled at the second signal
// or InterruptGrace after the first (abandon the calls in flight).
type interrupts struct {
	stop chan struct{}
	once sync.Once
}

// watchSignals starts watching sigs (nil: none). gracefulCtx ends at the
// second signal or grace after the first; abruptCtx ends at the first (for
// commands that just stop: the emulator, the demo). Both end with ctx.
// release stops the watching.
func watchSignals(ctx context.Context, sigs <-chan os.Signal, grace time.Duration) (in *interrupts, gracefulCtx, abruptCtx context.Context, release func()) {
	in = &interrupts{stop: make(chan struct{})}
	gracefulCtx, cancelGraceful := context.WithCancel(ctx)
	abruptCtx, cancelAbrupt := context.WithCancel(gracefulCtx)
	done := make(chan struct{})
	if sigs != nil {
		go func() {
			select {
			case <-sigs:
			case <-done:
				return
			}
			in.fire()
			cancelAbrupt()
			timer := clock.Real{}.NewTimer(grace)
			defer timer.Stop()
			select {
			case <-sigs:
			case <-timer.C():
			case <-done:
			}
			cancelGraceful()
		}()
	}
	return in, gracefulCtx, abruptCtx, func() {
		close(done)
		cancelAbrupt()
		cancelGraceful()
	}
}

func (in *interrupts) fire() { in.once.Do(func() { close(in.stop) }) }

// fired reports whether a signal came.
func (in *interrupts) fired() bool {
	select {
	case <-in.stop:
		return true
	default:
		return false
	}
}
