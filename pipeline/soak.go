package pipeline

import (
	"context"
	"fmt"
	"time"
)

// soak is the soak step: it waits before the stages that need this one may
// start, without holding a concurrency slot. A halt elsewhere or an
// interrupt cuts it short (blocked or pending, not failed).
func (r *runner) soak(ctx context.Context, _ *toolRun, s *stageRun) (string, error) {
	d, why := r.soakLeft(s)
	if err := r.clk.Sleep(r.haltCtx, d); err != nil {
		if herr := r.haltErr(ctx); herr != nil {
			return "", fmt.Errorf("soak interrupted: %w", herr)
		}
		return "", fmt.Errorf("soak interrupted: %w", err)
	}
	return "waited " + formatDuration(d) + why, nil
}

// soakLeft is how long the stage must still soak: all of it after a
// publish; for an adopted version (an earlier run published it and may have
// stopped before the soak ended) what is left of it since the version was
// created, or all of it when the server gave no creation time.
func (r *runner) soakLeft(s *stageRun) (time.Duration, string) {
	switch {
	case s.spec.Soak <= 0:
		return 0, ""
	case !s.adopting():
		return s.spec.Soak, ""
	case s.liveSince == nil:
		return s.spec.Soak, " (the version's creation time is unknown: the whole soak)"
	}
	live := r.clk.Now().Sub(*s.liveSince)
	if live >= s.spec.Soak {
		return 0, ""
	}
	return s.spec.Soak - live, fmt.Sprintf(" (the rest of the %s soak: %s has been live %s)", formatDuration(s.spec.Soak), s.rep.VersionAfter, formatDuration(live))
}

// planSoak says how long a run would soak.
func (r *runner) planSoak(_ *toolRun, s *stageRun) (string, bool) {
	if s.adopting() {
		return "wait what is left of the " + formatDuration(s.spec.Soak) + " soak since " + s.rep.VersionAfter + " was created", true
	}
	return "wait " + formatDuration(s.spec.Soak), true
}
