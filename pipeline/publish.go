package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/clock"
)

// retryPolicy shapes the publish retries: jittered exponential backoff from
// Initial up to Max between attempts, giving up when Budget of (clock) time
// has passed since the first attempt.
type retryPolicy struct {
	Budget  time.Duration
	Initial time.Duration
	Max     time.Duration
	Clock   clock.Clock
}

// newBackOff returns the policy's backoff, measured on the policy's clock.
func (p retryPolicy) newBackOff() *retryAfterBackOff {
	if p.Budget <= 0 {
		// No budget: one attempt (the backoff library reads a zero
		// MaxElapsedTime as "retry forever").
		return &retryAfterBackOff{b: &backoff.StopBackOff{}}
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithClockProvider(p.Clock),
		backoff.WithInitialInterval(p.Initial),
		backoff.WithMaxInterval(p.Max),
		backoff.WithMaxElapsedTime(p.Budget),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMultiplier(2),
	)
	return &retryAfterBackOff{b: b}
}

// retryAfterBackOff waits at least the server's Retry-After when the last
// answer carried one.
type retryAfterBackOff struct {
	b     backoff.BackOff
	after time.Duration
}

func (r *retryAfterBackOff) NextBackOff() time.Duration {
	d := r.b.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	if r.after > d {
		d = r.after
	}
	r.after = 0
	return d
}

func (r *retryAfterBackOff) Reset() { r.b.Reset(); r.after = 0 }

// retryWithClock runs op with b, sleeping on clk, until it succeeds, returns
// a permanent error, b stops, or ctx ends (ctx bounds only the waits). notify sees every retryable error
// with the wait that follows it.
func retryWithClock(ctx context.Context, clk clock.Clock, b backoff.BackOff, op func() error, notify func(error, time.Duration)) error {
	t := clk.NewTimer(time.Duration(math.MaxInt64))
	t.Stop()
	defer t.Stop()
	return backoff.RetryNotifyWithTimer(op, backoff.WithContext(b, ctx), notify, t)
}

// publishRequest is what a publish needs besides the API.
type publishRequest struct {
	ToolID string
	Body   amigo.PublishRequest
	// Commit is the tested commit: an unknown outcome is resolved by looking
	// for a non-deprecated version pinned to it.
	Commit string
	// Pinned reports the versions pruning must never deprecate.
	Pinned func(amigo.Version) bool
	// Active are the tool's active versions as last listed, Server the
	// serverKey of the stage and Caps what the run learned about the cap
	// refusals of each server (caprule.go); nil Caps learns nothing.
	Active []amigo.ToolVersion
	Server string
	Caps   *capMemory
}

// publishOutcome is what publishing did.
type publishOutcome struct {
	Version    string
	Attempts   int  // publish calls sent
	Retries    int  // retryable refusals (409, 429, 503, unknown outcome)
	Reconciled bool // the version was found by commit after an unknown outcome or a 409
	CapPruned  []string
	Warnings   []string
}

// errCapRefusal reports a publish refused because the tool has too many
// active versions.
func isCapRefusal(err error) bool {
	var ae *amigo.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 {
		return false
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "active version") || strings.Contains(m, "active tool version")
}

// retryablePublishError reports the refusals after which a publish may be
// sent again: 409 (another operation on the tool in progress), 429 and 503
// (refused before any work). An unknown outcome is retried too, but only
// after reconciliation (see publish).
func retryablePublishError(err error) bool {
	return amigo.IsConflict(err) || amigo.IsRateLimited(err) || amigo.IsMaintenance(err)
}

// publish publishes req on api, retrying by pol. It never publishes twice
// for one commit: after an unknown outcome or a 409 every further attempt
// first lists the versions and stops when one is pinned to req.Commit. (A
// 409 means another operation on the tool is in progress: it may be a
// publish of this very commit, sent by an earlier run that was cancelled or
// timed out, or by a concurrent run; publishing again once it is done would
// make a second version of the commit.) A publish refused
// for too many active versions prunes the oldest unpinned version and tries
// once more. ctx bounds the calls; waitCtx (the run's halt context) bounds
// the waits between attempts, so --fail-fast stops retrying without
// abandoning a call in flight.
func publish(ctx, waitCtx context.Context, api API, pol retryPolicy, req publishRequest, note func(string)) (publishOutcome, error) {
	var out publishOutcome
	out.CapPruned = makeRoomFirst(ctx, api, req, note)
	b := pol.newBackOff()
	reconcile := false
	capRetried := false
	op := func() error {
		for {
			if reconcile {
				vs, err := api.Versions(ctx, req.ToolID)
				if err != nil {
					return fmt.Errorf("reconcile after unknown outcome: list versions: %w", err)
				}
				if v := versionWithCommit(vs, req.Commit); v != nil {
					out.Version = v.Version.String()
					out.Reconciled = true
					return nil
				}
			}
			out.Attempts++
			resp, err := api.PublishVersion(ctx, req.ToolID, req.Body)
			switch {
			case err == nil:
				out.Version = resp.NewVersion
				return nil
			case errors.Is(err, amigo.ErrUnknownOutcome):
				reconcile = true
				out.Retries++
				return err
			case retryablePublishError(err):
				if amigo.IsConflict(err) {
					reconcile = true
				}
				var ae *amigo.APIError
				if errors.As(err, &ae) && ae.RetryAfter > 0 {
					b.after = ae.RetryAfter
				}
				out.Retries++
				return err
			case isCapRefusal(err) && !capRetried:
				capRetried = true
				v, perr := pruneForCap(ctx, api, req)
				if perr != nil {
					return backoff.Permanent(fmt.Errorf("%w; making room failed: %v", err, perr))
				}
				out.CapPruned = append(out.CapPruned, v)
				note(fmt.Sprintf("publish refused for too many active versions: deprecated %s, trying once more", v))
				// Once more at once, whatever is left of the retry budget:
				// the room just made must not go to waste.
				continue
			default:
				return backoff.Permanent(err)
			}
		}
	}
	err := retryWithClock(waitCtx, pol.Clock, b, op, func(err error, d time.Duration) {
		note(fmt.Sprintf("publish attempt %d: %v; retrying in %s", out.Attempts, shortErr(err), d.Round(time.Second)))
	})
	if err != nil && reconcile && ctx.Err() == nil {
		// The budget (or the run) ended while an earlier attempt's outcome
		// was unknown: look once more before reporting a failure, so a
		// version that is live is reported as released, never as failed.
		if vs, lerr := api.Versions(ctx, req.ToolID); lerr == nil {
			if v := versionWithCommit(vs, req.Commit); v != nil {
				out.Version = v.Version.String()
				out.Reconciled = true
				return out, nil
			}
		} else {
			err = fmt.Errorf("%w (and listing versions to reconcile failed: %v; a rerun reconciles)", err, lerr)
		}
	}
	if err != nil {
		if retryablePublishError(err) || errors.Is(err, amigo.ErrUnknownOutcome) {
			err = fmt.Errorf("gave up after %d attempts within the %s retry budget: %w", out.Attempts, pol.Budget, err)
		}
		return out, err
	}
	if out.Version == "" {
		return out, fmt.Errorf("publish answered without a version number")
	}
	return out, nil
}

// pruneForCap deprecates the oldest version that may go.
func pruneForCap(ctx context.Context, api API, req publishRequest) (string, error) {
	vs, err := api.Versions(ctx, req.ToolID)
	if err != nil {
		return "", fmt.Errorf("list versions: %w", err)
	}
	req.Caps.learn(req.Server, activeCount(vs))
	v, ok := pruneOneForCap(vs, req.Commit, req.Pinned)
	if !ok {
		return "", fmt.Errorf("every active version is pinned (keep) or serves this commit: unpin one or deprecate one by hand")
	}
	if err := api.DeprecateVersions(ctx, req.ToolID, exactConstraint(v)); err != nil {
		return "", fmt.Errorf("deprecate %s: %w", v, err)
	}
	return v, nil
}

// shortErr is err's message without the amigo package prefix.
func shortErr(err error) string {
	return strings.TrimPrefix(err.Error(), "amigo: ")
}
