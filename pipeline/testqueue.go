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
// stage was blocked, skipped or found up to date, or the tool turned out
// not to release).
var errTestNotNeeded = errors.New("test no longer needed")

// testJob is one test-tool call, queued before its stage starts so that the
// server's test queue (one call a minute) never idles.
type testJob struct {
	api API
	req amigo.TestToolRequest
	// tool and stage name what it tests; prio is the work left to the
	// tool once the test has passed (the queue sends the largest first),
	// rank breaks ties (the stage's place in the plan, then the tool's
	// name).
	tool, stage string
	prio        time.Duration
	rank        int

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

// before reports whether j goes out before k: more work left first, then
// by rank.
func (j *testJob) before(k *testJob) bool {
	if j.prio != k.prio {
		return j.prio > k.prio
	}
	return j.rank < k.rank
}

// testTurns is what an API offers when its client paces test-tool calls
// (FromClient): the queue takes the turn first and picks the job to send
// when the turn comes, so that a tool the analysis has just found can
// still go first.
type testTurns interface {
	// TakeTestTurn waits for the turn; attach puts it on the context of the
	// call that uses it, release gives it back if none does.
	TakeTestTurn(ctx context.Context) (attach func(context.Context) context.Context, release func(), err error)
}

// testQueue sends the test-tool calls of one server and user, one at a
// time, the most work left first. Jobs may be added while it runs (the
// analysis finds the tools one by one, so the first test goes out within
// seconds while the analysis goes on); close says no more will come. When
// the API offers turns, the queue waits for its turn first and then picks
// the job; otherwise it waits for a call to finish or for spacing to pass,
// whichever is first, before sending the next (the client's pacer holds
// each call to the limit either way).
type testQueue struct {
	api API
	mu  sync.Mutex
	// pending are the jobs not sent yet.
	pending []*testJob
	closed  bool
	wake    chan struct{}
}

func newTestQueue(api API) *testQueue {
	return &testQueue{api: api, wake: make(chan struct{}, 1)}
}

// add queues j.
func (q *testQueue) add(j *testJob) {
	q.mu.Lock()
	q.pending = append(q.pending, j)
	q.mu.Unlock()
	q.poke()
}

// close says no job will be added any more.
func (q *testQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.poke()
}

func (q *testQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// waiting is how many jobs wait to be sent (cancelled ones left out).
func (q *testQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, j := range q.pending {
		if !j.isCancelled() {
			n++
		}
	}
	return n
}

// next removes and returns the job to send now, or nil; cancelled jobs are
// settled on the way.
func (q *testQueue) next() *testJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	var best *testJob
	keep := q.pending[:0]
	for _, j := range q.pending {
		switch {
		case j.isCancelled():
			j.err = errTestNotNeeded
			close(j.done)
		case best == nil || j.before(best):
			if best != nil {
				keep = append(keep, best)
			}
			best = j
		default:
			keep = append(keep, j)
		}
	}
	q.pending = keep
	return best
}

// ready waits until a job is pending (true) or the queue is closed and
// empty, or halt ends (false).
func (q *testQueue) ready(halt context.Context) bool {
	for {
		q.mu.Lock()
		n := 0
		for _, j := range q.pending {
			if !j.isCancelled() {
				n++
			}
		}
		closed := q.closed
		q.mu.Unlock()
		switch {
		case n > 0:
			return true
		case closed:
			return false
		}
		select {
		case <-q.wake:
		case <-halt.Done():
			return false
		}
	}
}

// drain settles every job still pending with err (halted, or the queue
// ended).
func (q *testQueue) drain(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range q.pending {
		j.err = errTestNotNeeded
		if err != nil && !j.isCancelled() {
			j.err = err
		}
		close(j.done)
	}
	q.pending = nil
}

// run sends the jobs until the queue is closed and empty, and returns when
// all are done. ctx cancels the calls; halt only stops sending new ones. A
// test refused before any work (429 after the client's own retries, 503)
// or whose answer was lost (a test changes nothing) is retried within pol
// (a 429 at the end of the budget once more, after its Retry-After).
func (q *testQueue) run(ctx, halt context.Context, pol retryPolicy, spacing time.Duration) {
	clk := pol.Clock
	var wg sync.WaitGroup
	defer wg.Wait()
	turns, _ := q.api.(testTurns)
	for q.ready(halt) {
		callCtx, release := ctx, func() {}
		if turns != nil {
			attach, rel, err := turns.TakeTestTurn(halt)
			if err != nil {
				break // halted while waiting for the turn
			}
			// The call runs on ctx, not halt: a halt stops new calls, not
			// one already sent.
			callCtx, release = attach(ctx), rel
		}
		j := q.next()
		if j == nil {
			release() // every pending job was cancelled meanwhile
			continue
		}
		wg.Add(1)
		go func(j *testJob) {
			defer wg.Done()
			defer release() // a no-op once the call went out on it
			j.started = clk.Now()
			j.err = retry(halt, clk, pol.newBackOff(), func() error {
				resp, err := j.api.TestTool(callCtx, j.req)
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
		// first, so the next call is chosen after this one is on its way
		// (and a retry of this one after a 429 goes before the next).
		t := clk.NewTimer(spacing)
		select {
		case <-j.done:
		case <-t.C():
		case <-halt.Done():
		}
		t.Stop()
	}
	if halt.Err() != nil {
		q.drain(halt.Err())
		return
	}
	q.drain(nil)
}
