package pipeline

import (
	"context"
	"errors"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
)

// refusedBeforeWork reports a 429 or 503 answer: the server did nothing, so
// any call may be sent again.
func refusedBeforeWork(err error) bool {
	return amigo.IsRateLimited(err) || amigo.IsMaintenance(err)
}

// retryCall runs fn until it succeeds or fails with an error that retryable
// rejects, waiting by the run's retry policy (Retry-After honoured) within
// its budget. The client has already retried what is a property of the API
// (GETs, 429 within its own budget); this is the pipeline's policy for the
// mutating calls of a stage besides publish. Waits end when the run halts.
func (r *runner) retryCall(ctx context.Context, retryable func(error) bool, fn func() error) error {
	b := r.policy.newBackOff()
	return retryWithClock(r.haltCtx, r.clk, b, func() error {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return backoff.Permanent(err)
		}
		var ae *amigo.APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			b.after = ae.RetryAfter
		}
		return err
	}, nil)
}

// idempotentRetry retries refusals and lost answers: for calls that may be
// repeated (modify-tool sets fields; invoke only runs the tool again).
func idempotentRetry(err error) bool {
	return refusedBeforeWork(err) || errors.Is(err, amigo.ErrUnknownOutcome)
}
