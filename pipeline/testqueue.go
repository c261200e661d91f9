package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
)

// errTestNotNeeded marks a queued test whose stage no longer needs it (the
// stage was blocked, skipped or found up to date).
var errTestNotNeeded = errors.New("test no longer needed")

// testJob is one test-tool call, queued before its stage starts so that the
// server's test queue (one call a minute) never idles.
type testJob struct {
	api API
	req amigo.TestToolRequest

	once      sync.Once
	cancelled chan struct{}
	done      chan struct{}
	resp      *amigo.TestToolResponse
	err       error
	started   time.Time
	finished  time.Time
}

func newTestJob(api API, req amigo.TestToolRequest) *testJob {
	return &testJob{api: api, req: req, cancelled: make(chan struct{}), done: make(chan struct{})}
}

// cancel tells the queue the job is not needed any more (if it has not been
// sent yet).
func (j *testJob) cancel() { j.once.Do(func() { close(j.cancelled) }) }

func (j *testJob) isCancelled() bool {
	select {
	case <-j.cancelled:
		return true
	default:
		return false
	}
}

// wait returns the job's result, or ctx's error.
func (j *testJob) wait(ctx context.Context) (*amigo.TestToolResponse, error) {
	select {
	case <-j.done:
		return j.resp, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// testQueue sends the test-tool calls of one server in order, one at a time
// or, when a call outlasts spacing, the next one spacing after the previous
// started: the client's pacer holds each call to the limit, and the queue
// keeps the order it was given (queueTests puts the tools with the most
// work left first).
type testQueue struct {
	jobs []*testJob
}

func (q *testQueue) add(j *testJob) { q.jobs = append(q.jobs, j) }

// run sends every job, in order, and returns when all are done. ctx cancels
// the calls; halt only stops sending new ones. A test refused before any
// work (429 after the client's own retries, 503) or whose answer was lost
// (a test changes nothing) is retried within pol (a 429 at the end of the
// budget once more, after its Retry-After).
func (q *testQueue) run(ctx, halt context.Context, pol retryPolicy, spacing time.Duration) {
	clk := pol.Clock
	var wg sync.WaitGroup
	for _, j := range q.jobs {
		if j.isCancelled() || halt.Err() != nil {
			j.err = errTestNotNeeded
			if halt.Err() != nil {
				j.err = halt.Err()
			}
			close(j.done)
			continue
		}
		wg.Add(1)
		go func(j *testJob) {
			defer wg.Done()
			j.started = clk.Now()
			j.err = retry(halt, clk, pol.newBackOff(), func() error {
				resp, err := j.api.TestTool(ctx, j.req)
				switch {
				case err == nil:
					j.resp = resp
					return nil
				case amigo.IsRateLimited(err) || amigo.IsMaintenance(err) || errors.Is(err, amigo.ErrUnknownOutcome):
					return err
				default:
					return backoff.Permanent(err)
				}
			}, nil)
			j.finished = clk.Now()
			close(j.done)
		}(j)
		// Wait for the call to finish or for spacing to pass, whichever is
		// first, so the next call is reserved after this one.
		t := clk.NewTimer(spacing)
		select {
		case <-j.done:
		case <-t.C():
		case <-halt.Done():
		}
		t.Stop()
	}
	wg.Wait()
}
