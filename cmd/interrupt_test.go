package cmd

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// The first signal stops a graceful command from starting work and ends
// an abrupt command's context; the graceful context lasts until the second
// signal or the end of the grace period, whichever comes first.
func TestWatchSignals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		second bool
	}{
		{"the grace period ends", false},
		{"a second signal", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, 2)
			grace := 200 * time.Millisecond
			if tt.second {
				grace = time.Hour
			}
			in, graceful, abrupt, release := watchSignals(t.Context(), sigs, grace)
			defer release()
			if in.fired() || graceful.Err() != nil || abrupt.Err() != nil {
				t.Fatalf("stopped before any signal")
			}
			sigs <- os.Interrupt
			select {
			case <-in.stop:
			case <-time.After(5 * time.Second):
				t.Fatal("the first signal did not close stop")
			}
			<-abrupt.Done()
			if graceful.Err() != nil {
				t.Fatalf("the graceful context ended at the first signal")
			}
			if tt.second {
				sigs <- syscall.SIGTERM
			}
			select {
			case <-graceful.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the graceful context outlived the grace period or the second signal")
			}
		})
	}
	// Without signals nothing stops but the caller's context.
	ctx, cancel := context.WithCancel(t.Context())
	in, graceful, _, release := watchSignals(ctx, nil, time.Millisecond)
	defer release()
	cancel()
	<-graceful.Done()
	if in.fired() {
		t.Errorf("fired without a signal")
	}
}

// The grace period fits both CI runners: SIGINT, then SIGTERM 7.5 s later
// and the kill 2.5 s after that (see InterruptGrace).
func TestInterruptGraceFitsTheRunners(t *testing.T) {
	const sigintToSigterm, sigtermToKill = 7500 * time.Millisecond, 2500 * time.Millisecond
	if InterruptGrace >= sigintToSigterm || reportGrace >= sigtermToKill || InterruptGrace+reportGrace >= sigintToSigterm+sigtermToKill {
		t.Errorf("grace %v and report grace %v do not fit the runners' %v and %v", InterruptGrace, reportGrace, sigintToSigterm, sigtermToKill)
	}
}
