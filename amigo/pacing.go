package amigo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// Op names an API operation by its OpenAPI operationId.
type Op string

// The 14 operations of the Amigo Tool API.
const (
	OpSignIn            Op = "sign-in-with-api-key"
	OpListTools         Op = "get-tools"
	OpCreateTool        Op = "create-tool"
	OpModifyTool        Op = "modify-tool"
	OpDeprecateTool     Op = "deprecate-tool"
	OpModifyEnvvars     Op = "modify-tool-envvars"
	OpTestTool          Op = "test-tool"
	OpPublishVersion    Op = "publish-tool-version"
	OpListVersions      Op = "get-tool-versions"
	OpDeprecateVersions Op = "deprecate-tool-version"
	OpInvoke            Op = "invoke-tool-version"
	OpListInvocations   Op = "get-tool-invocations"
	OpSearchInvocations Op = "search-tool-invocations"
	OpDownloadScaffold  Op = "get-tool-scaffold-release"
)

// Ops lists every operation, in the order of the API documentation.
var Ops = []Op{
	OpSignIn, OpListTools, OpCreateTool, OpModifyTool, OpDeprecateTool, OpModifyEnvvars,
	OpTestTool, OpPublishVersion, OpListVersions, OpDeprecateVersions, OpInvoke,
	OpListInvocations, OpSearchInvocations, OpDownloadScaffold,
}

// DefaultLimits are the documented rate limits, in requests per minute per
// user and endpoint.
func DefaultLimits() map[Op]int {
	return map[Op]int{
		OpSignIn:            5,
		OpListTools:         50,
		OpCreateTool:        20,
		OpModifyTool:        20,
		OpDeprecateTool:     20,
		OpModifyEnvvars:     20,
		OpTestTool:          1,
		OpPublishVersion:    10,
		OpListVersions:      50,
		OpDeprecateVersions: 20,
		OpInvoke:            10,
		OpListInvocations:   50,
		OpSearchInvocations: 50,
		OpDownloadScaffold:  50,
	}
}

// DefaultPaceMargin is how much longer than a minute the pacer's window
// is: a limit of N a minute is kept as at most N requests in any minute and
// a half second, so that requests still arrive inside the server's limit
// when the network delays one of them a little more than the one before
// (test-tool, 1 a minute, goes out every 60.5 s).
const DefaultPaceMargin = 500 * time.Millisecond

// PacerConfig configures a Pacer.
type PacerConfig struct {
	// Clock measures and waits; default clock.Real{}.
	Clock clock.Clock
	// Limits overrides DefaultLimits per operation, in requests per minute.
	// A limit of 0 or less turns pacing off for that operation.
	Limits map[Op]int
	// Margin lengthens the pacer's minute: 0 means DefaultPaceMargin, a
	// negative value means none.
	Margin time.Duration
	// Share, when set, makes the Pacer keep to its part of limits that
	// other processes using the same credentials share (see Share).
	Share *Share
}

// Share is one process's part of rate limits that several processes
// share: the jobs of one release fanned out over a CI matrix with the same
// credentials. Limits are per user and endpoint on each server, so the
// jobs must divide them between them without talking to each other:
//
//   - test-tool (1 a minute) goes by slots: entry i of the release tests at
//     TestAt, or, when it is not ready by then, at TestAt plus a multiple
//     of Period. The release plan spaces the entries' slots at least a
//     minute and the margin apart within one Period, so no two entries ever
//     share a slot, however the CI schedules their jobs;
//   - every other endpoint's limit N is split evenly: each job keeps to
//     N/Jobs (rounded down) in any minute, so the jobs that run at once
//     never send more than N together. Jobs is at most the smallest of
//     those limits (sign-in, 5 a minute).
type Share struct {
	// Jobs is how many of the entries may run at once (the matrix's
	// max-parallel).
	Jobs int
	// Index is this process's entry (0-based) and Count the number of
	// entries of the release.
	Index, Count int
	// TestAt is this entry's first test slot; Period is the time after
	// which the slots come round again.
	TestAt time.Time
	Period time.Duration
	// From, when set, is the first time the process may send anything:
	// what the release plan itself sent before has left every window by
	// then (the plan shares the limits too).
	From time.Time
}

// Check reports what is wrong with s, naming the field; minLimit is the
// smallest per-minute limit the Share splits (not test-tool's).
func (s *Share) Check(margin time.Duration, minLimit int) error {
	switch {
	case s.Jobs < 1:
		return fmt.Errorf("jobs=%d: want 1 or more", s.Jobs)
	case minLimit > 0 && s.Jobs > minLimit:
		return fmt.Errorf("jobs=%d: at most %d jobs can share one user's limits (the smallest after test-tool's is %d a minute); give more jobs credentials of their own", s.Jobs, minLimit, minLimit)
	case s.Count < 1 || s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("entry=%d/%d: want 0 <= entry < count", s.Index, s.Count)
	case s.TestAt.IsZero():
		return errors.New("no test=TIME")
	case !s.From.IsZero() && s.From.After(s.TestAt):
		return fmt.Errorf("from=%s: after the first test slot %s", s.From.UTC().Format(time.RFC3339), s.TestAt.UTC().Format(time.RFC3339))
	case s.Period < time.Duration(s.Count)*(time.Minute+margin):
		return fmt.Errorf("every=%s: want at least %s, a minute and the margin per entry", s.Period, time.Duration(s.Count)*(time.Minute+margin))
	}
	return nil
}

// String is the Share as ParseShare reads it, e.g.
// "test=2026-06-01T12:03:00Z,entry=3/12,every=13m0s,jobs=4".
func (s *Share) String() string {
	v := fmt.Sprintf("test=%s,entry=%d/%d,every=%s,jobs=%d", s.TestAt.UTC().Format(time.RFC3339), s.Index, s.Count, s.Period, s.Jobs)
	if !s.From.IsZero() {
		v += ",from=" + s.From.UTC().Format(time.RFC3339)
	}
	return v
}

// ParseShare reads a Share written by String (the release plan's matrix
// gives it to each job). Errors name the part that is wrong.
func ParseShare(v string) (*Share, error) {
	s := &Share{}
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return nil, fmt.Errorf("%q: want test=TIME,entry=I/N,every=DURATION,jobs=N", part)
		}
		seen[k] = true
		var err error
		switch k {
		case "test":
			s.TestAt, err = time.Parse(time.RFC3339, val)
		case "entry":
			a, b, ok := strings.Cut(val, "/")
			if !ok {
				err = errors.New("want I/N")
				break
			}
			if s.Index, err = strconv.Atoi(a); err == nil {
				s.Count, err = strconv.Atoi(b)
			}
		case "every":
			s.Period, err = time.ParseDuration(val)
		case "jobs":
			s.Jobs, err = strconv.Atoi(val)
		case "from":
			s.From, err = time.Parse(time.RFC3339, val)
		default:
			err = errors.New("unknown part")
		}
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %v", k, val, err)
		}
	}
	for _, k := range []string{"test", "entry", "every", "jobs"} {
		if !seen[k] {
			return nil, fmt.Errorf("no %s=: want test=TIME,entry=I/N,every=DURATION,jobs=N", k)
		}
	}
	return s, nil
}

// Pacer keeps requests within the per-minute limit of their endpoint. A
// limit of N a minute is kept as at most N requests in any window of a
// minute plus the margin (a rolling window): that keeps to a server that
// counts N in fixed clock minutes and to one with a token bucket of burst
// N alike, and lets a burst of reads go out at once where the budget
// allows. The Pacer learns: after a 429 on an endpoint it spaces that
// endpoint's requests evenly (a server stricter than the documented burst,
// or another client on the same credentials), and no request of it goes
// out before the Retry-After has passed; the retry goes out exactly then.
//
// It keeps one window per server, user and operation, so one Pacer can be
// shared by every Client of a process: clients talking to the same server
// as the same user share windows, others do not interfere. A Pacer is safe
// for concurrent use.
type Pacer struct {
	clk    clock.Clock
	limits map[Op]int
	margin time.Duration
	share  *Share

	mu    sync.Mutex
	lanes map[paceKey]*lane
}

type paceKey struct {
	server, user string
	op           Op
}

// lane is the pacing state of one server, user and operation.
type lane struct {
	n      int           // requests per window
	window time.Duration // a minute plus the margin
	// smooth: a 429 came; requests are spaced window/n apart.
	smooth bool
	// slots: this process may only send in its own slots (Share).
	slots *slotPlan
	// sent holds the admitted requests that are still in the window (and
	// the turns not yet sent), as the time they left.
	sent []*Turn
	// blocked: no request before this time (a 429's Retry-After).
	blocked time.Time
}

// slotPlan is a series of slots a process owns: starts at first + k·period
// (k ≥ 0), one request each, sent no later than tol after the start.
type slotPlan struct {
	first  time.Time
	period time.Duration
	tol    time.Duration
}

// NewPacer returns a Pacer. It fails on a negative limit, naming the
// operation, and on a Share that does not add up.
func NewPacer(cfg PacerConfig) (*Pacer, error) {
	p := &Pacer{
		clk:    cfg.Clock,
		limits: DefaultLimits(),
		margin: cfg.Margin,
		lanes:  map[paceKey]*lane{},
	}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	switch {
	case cfg.Margin == 0:
		p.margin = DefaultPaceMargin
	case cfg.Margin < 0:
		p.margin = 0
	case cfg.Margin > time.Minute:
		return nil, fmt.Errorf("PacerConfig.Margin %s is out of range: use a fraction of a second such as %s", cfg.Margin, DefaultPaceMargin)
	}
	for op, n := range cfg.Limits {
		if n < 0 {
			return nil, fmt.Errorf("PacerConfig.Limits[%s] is %d: use a per-minute count, or 0 to turn pacing off", op, n)
		}
		p.limits[op] = n
	}
	if cfg.Share != nil {
		minLimit := 0
		for op, n := range p.limits {
			if op != OpTestTool && n > 0 && (minLimit == 0 || n < minLimit) {
				minLimit = n
			}
		}
		if err := cfg.Share.Check(p.margin, minLimit); err != nil {
			return nil, fmt.Errorf("PacerConfig.Share: %w", err)
		}
		sh := *cfg.Share
		p.share = &sh
	}
	return p, nil
}

// Interval is the mean spacing the Pacer keeps between requests of op by
// the same user on the same server when the budget is used up (a minute
// plus the margin, over the limit); 0 when op is not paced.
func (p *Pacer) Interval(op Op) time.Duration {
	n := p.limits[op]
	if n <= 0 {
		return 0
	}
	return (time.Minute + p.margin) / time.Duration(n)
}

// Turn is one request admitted by the Pacer: it counts against its
// endpoint's limit from the moment it was admitted (Sent moves that to the
// moment it left). Release gives it back when the request was not sent;
// Refused records the server's 429.
type Turn struct {
	p    *Pacer
	key  paceKey
	at   time.Time
	done bool // released or refused: no longer counted
	used bool // a call has gone out on it (WithTurn): never twice
}

// claim marks the turn as used by a call; false when a call already used
// it or it was given back.
func (t *Turn) claim() bool {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if t.used || t.done {
		return false
	}
	t.used = true
	return true
}

// Sent records that the request left at t (later than it was admitted:
// a connection had to be opened first), so the window counts it from then.
func (t *Turn) Sent(at time.Time) {
	if t == nil || t.p == nil {
		return
	}
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if at.After(t.at) {
		t.at = at
	}
}

// Release gives the turn back: the request never left. It is a no-op
// once a call has taken the turn (WithTurn: the call gives it back itself
// if it does not send), after Refused, and the second time.
func (t *Turn) Release() {
	if t == nil || t.p == nil {
		return
	}
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if !t.used {
		t.drop()
	}
}

// unsent gives back a turn whose request never left, whoever holds it.
func (t *Turn) unsent() {
	if t == nil || t.p == nil {
		return
	}
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	t.drop()
}

// Refused records a 429: the server did not count the request and admits
// none of this endpoint before retryAfter from now. The endpoint is spaced
// evenly from then on (the server is stricter than the documented burst,
// or other clients share the credentials).
func (t *Turn) Refused(retryAfter time.Duration) {
	if t == nil || t.p == nil {
		return
	}
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	t.drop()
	ln := p.lanes[t.key]
	if ln == nil {
		return
	}
	ln.smooth = true
	if until := p.clk.Now().Add(retryAfter); until.After(ln.blocked) {
		ln.blocked = until
	}
}

// drop removes the turn from its lane's window; p.mu is held.
func (t *Turn) drop() {
	if t.done {
		return
	}
	t.done = true
	if ln := t.p.lanes[t.key]; ln != nil {
		ln.sent = slices.DeleteFunc(ln.sent, func(x *Turn) bool { return x == t })
	}
}

// Acquire blocks (on the Pacer's clock) until a request of op to server by
// user may be sent, and admits it. It returns nil (no turn: not paced) when
// op has no limit, and ctx.Err() if ctx ends first.
func (p *Pacer) Acquire(ctx context.Context, server, user string, op Op) (*Turn, error) {
	k := paceKey{server, user, op}
	for {
		p.mu.Lock()
		ln := p.lane(k)
		if ln == nil {
			p.mu.Unlock()
			return nil, ctx.Err()
		}
		now := p.clk.Now()
		at := ln.next(now)
		if !at.After(now) {
			t := &Turn{p: p, key: k, at: now}
			ln.sent = append(ln.sent, t)
			p.mu.Unlock()
			return t, ctx.Err()
		}
		p.mu.Unlock()
		if err := p.clk.Sleep(ctx, at.Sub(now)); err != nil {
			return nil, err
		}
	}
}

// Wait blocks until a request of op to server by user may be sent, counts
// it as sent now, and returns how long it waited. It returns ctx.Err() if
// ctx ends first (nothing is counted then).
func (p *Pacer) Wait(ctx context.Context, server, user string, op Op) (time.Duration, error) {
	start := p.clk.Now()
	if _, err := p.Acquire(ctx, server, user, op); err != nil {
		return 0, err
	}
	return p.clk.Now().Sub(start), nil
}

// NextAt is the earliest time a request of op to server by user could be
// admitted, as things stand (now when it could go at once).
func (p *Pacer) NextAt(server, user string, op Op) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	ln := p.lane(paceKey{server, user, op})
	if ln == nil {
		return now
	}
	return ln.next(now)
}

// lane returns the lane of k, made on first use; nil when k's operation is
// not paced. p.mu is held.
func (p *Pacer) lane(k paceKey) *lane {
	if ln, ok := p.lanes[k]; ok {
		return ln
	}
	n := p.limits[k.op]
	if n <= 0 {
		p.lanes[k] = nil
		return nil
	}
	ln := &lane{n: n, window: time.Minute + p.margin}
	if sh := p.share; sh != nil {
		ln.blocked = sh.From
		if k.op == OpTestTool {
			ln.n = 1
			ln.slots = &slotPlan{first: sh.TestAt, period: sh.Period, tol: p.margin / 2}
		} else {
			ln.n = max(1, n/sh.Jobs)
		}
	}
	p.lanes[k] = ln
	return ln
}

// next is the earliest time from now on at which the lane admits a
// request. p.mu is held.
func (ln *lane) next(now time.Time) time.Time {
	at := now
	if ln.blocked.After(at) {
		at = ln.blocked
	}
	// Forget what has left the window for good.
	ln.sent = slices.DeleteFunc(ln.sent, func(t *Turn) bool { return !t.at.After(now.Add(-ln.window)) })
	if ln.slots != nil {
		return ln.slots.next(at, ln.sent)
	}
	for {
		times := make([]time.Time, 0, len(ln.sent))
		for _, t := range ln.sent {
			if t.at.After(at.Add(-ln.window)) {
				times = append(times, t.at)
			}
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		later := at
		if len(times) >= ln.n {
			// The oldest requests must leave the window first.
			later = times[len(times)-ln.n].Add(ln.window)
		}
		if ln.smooth && len(times) > 0 {
			if t := times[len(times)-1].Add(ln.window / time.Duration(ln.n)); t.After(later) {
				later = t
			}
		}
		if !later.After(at) {
			return at
		}
		at = later
	}
}

// next is the start of the first slot at or after at (or the current one,
// while within its tolerance) that no request has used yet.
func (sp *slotPlan) next(at time.Time, sent []*Turn) time.Time {
	k := int64(0)
	if at.After(sp.first) {
		k = int64(at.Sub(sp.first) / sp.period)
		if at.Sub(sp.first.Add(time.Duration(k)*sp.period)) > sp.tol {
			k++
		}
	}
	for {
		start := sp.first.Add(time.Duration(k) * sp.period)
		used := false
		for _, t := range sent {
			if !t.at.Before(start) && t.at.Before(start.Add(sp.period)) {
				used = true
			}
		}
		if !used {
			if start.Before(at) {
				return at // within the slot's tolerance
			}
			return start
		}
		k++
	}
}

type turnKey struct{}

// WithTurn returns a context whose next call of the turn's operation on
// the client that took it (Client.TakeTurn) goes out on that turn instead
// of waiting for another. A call of another operation, or on another
// client, gives the turn back and waits for its own.
func WithTurn(ctx context.Context, t *Turn) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, turnKey{}, t)
}

func turnFrom(ctx context.Context) *Turn {
	t, _ := ctx.Value(turnKey{}).(*Turn)
	return t
}

// TakeTurn waits until a request of op may be sent to this client's server
// as its user and admits it, so that the caller can choose what to send at
// the last moment (the test queue picks the most urgent tool when its turn
// comes). Send it with WithTurn; Release the turn if nothing is sent. A nil
// turn means op is not paced.
func (c *Client) TakeTurn(ctx context.Context, op Op) (*Turn, error) {
	if c.pacer == nil {
		return nil, ctx.Err()
	}
	return c.pacer.Acquire(ctx, c.base, c.identity, op)
}

// NextTurnAt is the earliest time a request of op could go out on this
// client, as things stand.
func (c *Client) NextTurnAt(op Op) time.Time {
	if c.pacer == nil {
		return c.clk.Now()
	}
	return c.pacer.NextAt(c.base, c.identity, op)
}
