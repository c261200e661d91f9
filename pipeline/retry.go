package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/clock"
)

// retryPolicy is the pipeline's retry policy for its calls (the plan's
// publish section): jittered exponential backoff from Initial up to Max
// between attempts, giving up when Budget of (clock) time has passed since
// the first attempt. Every wait is at least the server's Retry-After, and a
// 429 that arrives when the budget is spent is waited out once more: the
// server said when to come back, so the limit is the service's, not a
// failure of the tool.
type retryPolicy struct {
	Budget  time.Duration
	Initial time.Duration
	Max     time.Duration
	Clock   clock.Clock
	// OnLastChance, when set, is called each time a 429 at the end of the
	// budget is waited out once more (for the run's Stats).
	OnLastChance func()
}

// newBackOff returns the policy's backoff, measured on the policy's clock.
func (p retryPolicy) newBackOff() *retryAfterBackOff {
	if p.Budget <= 0 {
		// No budget: one attempt (the backoff library reads a zero
		// MaxElapsedTime as "retry forever"), and the last chance of a 429.
		return &retryAfterBackOff{b: &backoff.StopBackOff{}, initial: p.Initial, onLastChance: p.OnLastChance}
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithClockProvider(p.Clock),
		backoff.WithInitialInterval(p.Initial),
		backoff.WithMaxInterval(p.Max),
		backoff.WithMaxElapsedTime(p.Budget),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMultiplier(2),
	)
	return &retryAfterBackOff{b: b, initial: p.Initial, onLastChance: p.OnLastChance}
}

// retryAfterBackOff waits at least the server's Retry-After when the last
// answer carried one, and gives a 429 that arrives when the budget is spent
// one more wait of its Retry-After (once per call).
type retryAfterBackOff struct {
	b            backoff.BackOff
	initial      time.Duration
	onLastChance func()

	after       time.Duration // the last answer's Retry-After
	rateLimited bool          // the last answer was a 429
	lastChance  bool          // the once-more wait has been used
}

// observe records what the last failed attempt's answer asked for.
func (r *retryAfterBackOff) observe(err error) {
	r.after, r.rateLimited = 0, false
	if ae, ok := errors.AsType[*amigo.APIError](err); ok {
		r.after = ae.RetryAfter
		r.rateLimited = ae.StatusCode == 429
	}
}

// NextBackOff is the wait before the next attempt, or backoff.Stop.
func (r *retryAfterBackOff) NextBackOff() time.Duration {
	d := r.b.NextBackOff()
	after, limited := r.after, r.rateLimited
	r.after, r.rateLimited = 0, false
	if d == backoff.Stop {
		if !limited || r.lastChance {
			return backoff.Stop
		}
		r.lastChance = true
		if r.onLastChance != nil {
			r.onLastChance()
		}
		if after <= 0 {
			after = r.initial
		}
		return after
	}
	return max(d, after)
}

// Reset starts over (a new call).
func (r *retryAfterBackOff) Reset() {
	r.b.Reset()
	r.after, r.rateLimited, r.lastChance = 0, false, false
}

// waitCut is the error of a retry loop whose wait before the next attempt
// was cut short (the run halted or was interrupted, or ctx ended): both the
// last attempt's error and the reason match errors.Is.
type waitCut struct {
	last, cause error
}

func (e *waitCut) Error() string {
	return fmt.Sprintf("%v (stopped waiting to try again: %v)", e.last, e.cause)
}

func (e *waitCut) Unwrap() []error { return []error{e.last, e.cause} }

// retry runs op with b, sleeping on clk, until op succeeds, returns a
// permanent error (backoff.Permanent), or b stops. waitCtx bounds only the
// waits (a halt ends them; a call in flight is op's to bound): a cut wait
// returns op's last error together with the reason (waitCut). notify sees
// every retryable error with the wait that follows it.
func retry(waitCtx context.Context, clk clock.Clock, b *retryAfterBackOff, op func() error, notify func(error, time.Duration)) error {
	b.Reset()
	for {
		err := op()
		if err == nil {
			return nil
		}
		if perm, ok := errors.AsType[*backoff.PermanentError](err); ok {
			return perm.Err
		}
		b.observe(err)
		next := b.NextBackOff()
		if next == backoff.Stop {
			return err
		}
		if cerr := waitCtx.Err(); cerr != nil {
			return &waitCut{err, cerr}
		}
		if notify != nil {
			notify(err, next)
		}
		if serr := clk.Sleep(waitCtx, next); serr != nil {
			return &waitCut{err, serr}
		}
	}
}

// retryCall runs fn until it succeeds or fails with an error that retryable
// rejects, waiting by the run's retry policy (Retry-After honoured) within
// its budget. The client has already retried what is a property of the API
// (GETs, 429 within its own budget); this is the pipeline's policy for the
// mutating calls of a stage besides publish. Waits end when the run halts.
func (r *runner) retryCall(ctx context.Context, retryable func(error) bool, fn func() error) error {
	return r.retryWaiting(r.haltCtx, ctx, retryable, fn)
}

// finishCall is retryCall for the calls that complete what the run has
// already changed (verify's listing after a publish, the withdrawal of an
// untested version): a halt or an interrupt does not cut their waits short,
// only ctx (the caller's grace period) does.
func (r *runner) finishCall(ctx context.Context, retryable func(error) bool, fn func() error) error {
	return r.retryWaiting(ctx, ctx, retryable, fn)
}

// retryWaiting is retryCall with its waits bounded by waitCtx.
func (r *runner) retryWaiting(waitCtx, ctx context.Context, retryable func(error) bool, fn func() error) error {
	return retry(waitCtx, r.clk, r.policy.newBackOff(), func() error {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return backoff.Permanent(err)
		}
		return err
	}, nil)
}

// read runs a read of a stage (list, find, sign in) with the run's retry
// policy on top of the client's own retries: a refusal or a failed exchange
// that outlasts the client's budget (which pacing waits count against) is
// tried again within the run's, and a 429 once more at its end.
func (r *runner) read(ctx context.Context, fn func() error) error {
	return r.retryCall(ctx, transient, fn)
}

// transient reports an error that the service may not give again: a 408,
// 429 or 5xx answer, or an exchange that failed on the way (a reset
// connection, no answer in time). Not: a server where nothing has ever
// answered (a wrong address does not fix itself), a request the client
// refused to send, or any other answer.
func transient(err error) bool {
	if ae, ok := errors.AsType[*amigo.APIError](err); ok {
		return ae.StatusCode == 408 || ae.StatusCode == 429 || ae.StatusCode >= 500
	}
	if _, ok := errors.AsType[*amigo.UnreachableError](err); ok {
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// refusedBeforeWork reports a 429 or 503 answer: the server did nothing, so
// any call may be sent again.
func refusedBeforeWork(err error) bool {
	return amigo.IsRateLimited(err) || amigo.IsMaintenance(err)
}

// idempotentRetry retries refusals and lost answers: for calls that may be
// repeated (modify-tool sets fields; invoke only runs the tool again; an
// exact deprecation is the same the second time).
func idempotentRetry(err error) bool {
	return refusedBeforeWork(err) || errors.Is(err, amigo.ErrUnknownOutcome)
}
