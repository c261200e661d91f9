package amigo_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// admittedByBucket replays arrival times through the server's documented
// limiter (a token bucket of burst n refilled at n per minute, counted at
// arrival) and returns the index of the first request it would refuse, or
// -1.
func admittedByBucket(arrivals []time.Time, n int) int {
	tokens := float64(n)
	var last time.Time
	for i, at := range arrivals {
		if i > 0 {
			tokens += at.Sub(last).Minutes() * float64(n)
			if tokens > float64(n) {
				tokens = float64(n)
			}
		}
		last = at
		if tokens < 1-1e-9 {
			return i
		}
		tokens--
	}
	return -1
}

func arrivalsAt(f *fakeAPI, path string) []time.Time {
	var out []time.Time
	for _, s := range f.calls() {
		if s.Path == path {
			out = append(out, s.At)
		}
	}
	return out
}

// admittedByWindows reports the first request that some server counting n
// a minute in fixed clock minutes would refuse, whatever minute boundaries
// it keeps: no 60 s may hold more than n arrivals. -1 when none.
func admittedByWindows(arrivals []time.Time, n int) int {
	for i := range arrivals {
		in := 0
		for j := i; j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < time.Minute; j++ {
			if in++; in > n {
				return j
			}
		}
	}
	return -1
}

// checkPaced fails when a token bucket of burst perMinute, or fixed
// one-minute windows of perMinute (any alignment), would refuse one of the
// arrivals.
func checkPaced(t *testing.T, arrivals []time.Time, perMinute int) {
	t.Helper()
	if i := admittedByBucket(arrivals, perMinute); i >= 0 {
		t.Errorf("request %d would be refused by a %d/min bucket", i, perMinute)
	}
	if i := admittedByWindows(arrivals, perMinute); i >= 0 {
		t.Errorf("request %d would be refused by %d/min fixed windows: more than %d within a minute", i, perMinute, perMinute)
	}
}

// A loop of publishes goes out in bursts of the limit (10), one burst per
// minute and a half second: never more than 10 in any minute, so neither
// a token bucket nor fixed windows refuse one.
func TestPacingPublishLoopNeverExceedsRate(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", okPublish)
	c := f.client()
	ctx := context.Background()
	const n = 25
	for i := 0; i < n; i++ {
		if _, err := c.PublishVersion(ctx, testToolID, publishReq); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	arr := arrivalsAt(f, "/v1/acme/tool/"+testToolID+"/version")
	if len(arr) != n {
		t.Fatalf("arrivals = %d, want %d", len(arr), n)
	}
	checkPaced(t, arr, 10)
	window := time.Minute + amigo.DefaultPaceMargin
	for i, at := range arr {
		if want := arr[0].Add(time.Duration(i/10) * window); !at.Equal(want) {
			t.Errorf("publish %d at +%s, want +%s (bursts of 10 every %s)", i, at.Sub(arr[0]), want.Sub(arr[0]), window)
		}
	}
}

func TestPacingTestToolOnePerMinute(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/test", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.TestToolResponse{InvocationResults: []amigo.InvocationResult{{Succeeded: true, Output: "ok"}}})
	})
	var waits int
	c := f.client(func(cfg *amigo.Config) {
		cfg.OnEvent = func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventPaceWait && e.Op == amigo.OpTestTool {
				waits++
			}
		}
	})
	for i := 0; i < 5; i++ {
		if _, err := c.TestTool(context.Background(), amigo.TestToolRequest{Inputs: []amigo.Input{{}}, CommitBranch: "main", ProjectPath: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	arr := arrivalsAt(f, "/v1/acme/tool/test")
	checkPaced(t, arr, 1)
	for i := 1; i < len(arr); i++ {
		if gap := arr[i].Sub(arr[i-1]); gap != time.Minute+amigo.DefaultPaceMargin {
			t.Errorf("tests %d and %d %s apart, want a minute and the margin", i-1, i, gap)
		}
	}
	if waits != 4 {
		t.Errorf("pace-wait events = %d, want 4", waits)
	}
}

func TestSharedPacerAcrossClients(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", okPublish)
	pacer, err := amigo.NewPacer(amigo.PacerConfig{Clock: f.clk})
	if err != nil {
		t.Fatal(err)
	}
	a := f.client(func(cfg *amigo.Config) { cfg.Pacer = pacer })
	b := f.client(func(cfg *amigo.Config) { cfg.Pacer = pacer })
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		c := a
		if i%2 == 1 {
			c = b
		}
		if _, err := c.PublishVersion(ctx, testToolID, publishReq); err != nil {
			t.Fatal(err)
		}
	}
	arr := arrivalsAt(f, "/v1/acme/tool/"+testToolID+"/version")
	checkPaced(t, arr, 10)
	if gap := arr[10].Sub(arr[9]); gap != time.Minute+amigo.DefaultPaceMargin {
		t.Errorf("the 11th publish came %s after the 10th, want the two clients' shared window to hold it back a minute", gap)
	}
}

func TestPacerKeysByServerAndUser(t *testing.T) {
	clk := newFakeClock()
	p, err := amigo.NewPacer(amigo.PacerConfig{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wait := func(server, user string, op amigo.Op) time.Duration {
		d, err := p.Wait(ctx, server, user, op)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := wait("https://a", "u1", amigo.OpTestTool); d != 0 {
		t.Errorf("first wait = %s", d)
	}
	// Another user, another server, another endpoint: independent buckets.
	for _, k := range []struct {
		server, user string
		op           amigo.Op
	}{{"https://a", "u2", amigo.OpTestTool}, {"https://b", "u1", amigo.OpTestTool}, {"https://a", "u1", amigo.OpPublishVersion}} {
		if d := wait(k.server, k.user, k.op); d != 0 {
			t.Errorf("wait for %v = %s, want 0", k, d)
		}
	}
	if d := wait("https://a", "u1", amigo.OpTestTool); d != time.Minute+500*time.Millisecond {
		t.Errorf("second test-tool wait = %s, want 60.5s", d)
	}
}

func TestPacerCancelledWaitGivesSlotBack(t *testing.T) {
	clk := newFakeClock()
	p, err := amigo.NewPacer(amigo.PacerConfig{Clock: clk, Limits: map[amigo.Op]int{amigo.OpTestTool: 1}, Margin: -1})
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	if _, err := p.Wait(bg, "s", "u", amigo.OpTestTool); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := p.Wait(ctx, "s", "u", amigo.OpTestTool); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	// The cancelled reservation is returned: the next caller waits one
	// interval from the first request, not two.
	if d, _ := p.Wait(bg, "s", "u", amigo.OpTestTool); d != time.Minute {
		t.Errorf("wait after a cancelled reservation = %s, want 1m", d)
	}
}

func TestPacerLimitsOverride(t *testing.T) {
	p, err := amigo.NewPacer(amigo.PacerConfig{Limits: map[amigo.Op]int{amigo.OpPublishVersion: 30, amigo.OpListTools: 0}, Margin: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Interval(amigo.OpPublishVersion); got != 2*time.Second {
		t.Errorf("publish interval = %s, want 2s", got)
	}
	if got := p.Interval(amigo.OpListTools); got != 0 {
		t.Errorf("list interval = %s, want 0 (off)", got)
	}
	if got := p.Interval(amigo.OpSignIn); got != 12*time.Second {
		t.Errorf("sign-in interval = %s, want the documented 5/min", got)
	}
	if _, err := amigo.NewPacer(amigo.PacerConfig{Limits: map[amigo.Op]int{amigo.OpInvoke: -1}}); err == nil {
		t.Errorf("negative limit accepted")
	}
}

// A 429 is honoured exactly: the refused request is not counted, so the
// retry goes out the moment the Retry-After ends, even where the pacer's
// own minute would have held it back; and from then on the endpoint is
// spaced evenly (the server is stricter than a burst of the limit).
func TestPacer429RetryAfterExactlyThenEvenSpacing(t *testing.T) {
	f := newFakeAPI(t)
	var n atomic.Int32
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 3 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": "slow down"})
			return
		}
		okPublish(w, r)
	})
	c := f.client()
	for i := 0; i < 6; i++ {
		if _, err := c.PublishVersion(context.Background(), testToolID, publishReq); err != nil {
			t.Fatal(err)
		}
	}
	arr := arrivalsAt(f, "/v1/acme/tool/"+testToolID+"/version")
	if len(arr) != 7 {
		t.Fatalf("%d requests, want 6 publishes and one retry", len(arr))
	}
	if arr[1] != arr[0] || arr[2] != arr[0] {
		t.Errorf("the first three went out at +0, +%s, +%s, want a burst", arr[1].Sub(arr[0]), arr[2].Sub(arr[0]))
	}
	if gap := arr[3].Sub(arr[2]); gap != 7*time.Second {
		t.Errorf("retry %s after the 429, want exactly its Retry-After 7s", gap)
	}
	even := (time.Minute + amigo.DefaultPaceMargin) / 10
	for i := 4; i < len(arr); i++ {
		if gap := arr[i].Sub(arr[i-1]); gap != even {
			t.Errorf("request %d came %s after the one before, want the even spacing %s after a 429", i, gap, even)
		}
	}
}

// A test-tool call refused with 429 is retried after its Retry-After, not a
// pacing minute later: the refused call did not count.
func TestPacerRefusedTestRetriedAtRetryAfter(t *testing.T) {
	f := newFakeAPI(t)
	h, _ := failFirst(1, http.StatusTooManyRequests, "3", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.TestToolResponse{InvocationResults: []amigo.InvocationResult{{Succeeded: true}}})
	})
	f.handle("POST /v1/{org}/tool/test", h)
	c := f.client()
	if _, err := c.TestTool(context.Background(), amigo.TestToolRequest{Inputs: []amigo.Input{{}}, CommitBranch: "main", ProjectPath: "p"}); err != nil {
		t.Fatal(err)
	}
	arr := arrivalsAt(f, "/v1/acme/tool/test")
	if len(arr) != 2 || arr[1].Sub(arr[0]) != 3*time.Second {
		t.Fatalf("arrivals %v, want the retry 3s after the 429", arr)
	}
}

// TakeTurn admits a request ahead of the call: the call made with WithTurn
// goes out on it without waiting again, once; a turn of another operation
// is given back; Release gives an unused turn back.
func TestPacerTurns(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/test", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.TestToolResponse{InvocationResults: []amigo.InvocationResult{{Succeeded: true}}})
	})
	c := f.client()
	ctx := context.Background()
	req := amigo.TestToolRequest{Inputs: []amigo.Input{{}}, CommitBranch: "main", ProjectPath: "p"}
	start := f.clk.Now()
	turn, err := c.TakeTurn(ctx, amigo.OpTestTool)
	if err != nil || turn == nil {
		t.Fatalf("TakeTurn = %v, %v", turn, err)
	}
	if next := c.NextTurnAt(amigo.OpTestTool); next.Sub(start) != time.Minute+amigo.DefaultPaceMargin {
		t.Errorf("next turn at +%s, want a minute and the margin: the turn taken counts", next.Sub(start))
	}
	tctx := amigo.WithTurn(ctx, turn)
	if _, err := c.TestTool(tctx, req); err != nil {
		t.Fatal(err)
	}
	turn.Release()                                   // spent by the call: giving it back changes nothing
	if _, err := c.TestTool(tctx, req); err != nil { // the turn is spent: this one waits
		t.Fatal(err)
	}
	arr := arrivalsAt(f, "/v1/acme/tool/test")
	if !arr[0].Equal(start) || arr[1].Sub(start) != time.Minute+amigo.DefaultPaceMargin {
		t.Errorf("tests at +%s and +%s, want +0 (on the turn) and a minute and the margin later", arr[0].Sub(start), arr[1].Sub(start))
	}
	// A turn given back leaves the window as it was.
	at := c.NextTurnAt(amigo.OpTestTool)
	f.clk.Advance(at.Sub(f.clk.Now()))
	t2, _ := c.TakeTurn(ctx, amigo.OpTestTool)
	t2.Release()
	if next := c.NextTurnAt(amigo.OpTestTool); !next.Equal(f.clk.Now()) {
		t.Errorf("after Release the next turn is at +%s, want now", next.Sub(f.clk.Now()))
	}
	// A test-tool turn on a list call: given back, and the list does not wait.
	t3, _ := c.TakeTurn(ctx, amigo.OpTestTool)
	f.handle("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"tools": []any{}, "has_more": false, "continuation_token": nil, "filter_values": nil})
	})
	if _, err := c.ListTools(amigo.WithTurn(ctx, t3), amigo.ListToolsOptions{}); err != nil {
		t.Fatal(err)
	}
	if next := c.NextTurnAt(amigo.OpTestTool); !next.Equal(f.clk.Now()) {
		t.Errorf("a test-tool turn passed to a list call still counts")
	}
}

// Sent moves a request's place in the window to when it left, so that a
// request delayed after its turn (a connection opened first) does not let
// the next one arrive within a minute of it.
func TestPacerCountsFromWhenTheRequestLeft(t *testing.T) {
	clk := newFakeClock()
	p, _ := amigo.NewPacer(amigo.PacerConfig{Clock: clk})
	ctx := context.Background()
	turn, _ := p.Acquire(ctx, "s", "u", amigo.OpTestTool)
	turn.Sent(clk.Now().Add(2 * time.Second))
	if next := p.NextAt("s", "u", amigo.OpTestTool); next.Sub(clk.Now()) != time.Minute+amigo.DefaultPaceMargin+2*time.Second {
		t.Errorf("next at +%s, want a minute and the margin after the request left (+2s)", next.Sub(clk.Now()))
	}
}

// A Share divides the limits between the jobs of a fan-out: a limit by
// Jobs; test-tool into the entry's slots, a Period apart.
func TestPacerShare(t *testing.T) {
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	window := time.Minute + amigo.DefaultPaceMargin
	newShared := func(sh amigo.Share) (*amigo.Pacer, *fakeClock) {
		clk := newFakeClock()
		p, err := amigo.NewPacer(amigo.PacerConfig{Clock: clk, Share: &sh})
		if err != nil {
			t.Fatal(err)
		}
		return p, clk
	}
	ctx := context.Background()
	// 4 jobs: 50 list calls a minute are 12 each.
	p, clk := newShared(amigo.Share{Jobs: 4, Index: 1, Count: 6, TestAt: base.Add(5 * time.Minute), Period: 6 * 61 * time.Second})
	for i := 0; i < 13; i++ {
		if _, err := p.Acquire(ctx, "s", "u", amigo.OpListVersions); err != nil {
			t.Fatal(err)
		}
		if i == 11 && !clk.Now().Equal(base) {
			t.Errorf("12 list calls took %s, want a burst of 12 (50/4)", clk.Now().Sub(base))
		}
	}
	if got := clk.Now().Sub(base); got != window {
		t.Errorf("the 13th list call went out at +%s, want +%s", got, window)
	}
	// Test-tool: at the entry's slot, then every Period.
	var at []time.Duration
	for i := 0; i < 3; i++ {
		if _, err := p.Acquire(ctx, "s", "u", amigo.OpTestTool); err != nil {
			t.Fatal(err)
		}
		at = append(at, clk.Now().Sub(base))
	}
	if want := []time.Duration{5 * time.Minute, 5*time.Minute + 6*61*time.Second, 5*time.Minute + 12*61*time.Second}; !slices.Equal(at, want) {
		t.Errorf("tests at %v, want %v (its slot, then every 6 × 61s)", at, want)
	}
	// Sign-in, 5 a minute, with 5 jobs: one each.
	p, clk = newShared(amigo.Share{Jobs: 5, Index: 0, Count: 5, TestAt: base, Period: 6 * time.Minute})
	for i := 0; i < 2; i++ {
		if _, err := p.Acquire(ctx, "s", "u", amigo.OpSignIn); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.Now().Sub(base); got != window {
		t.Errorf("the second sign-in of a fifth of the limit went out at +%s, want +%s", got, window)
	}
	// Nothing goes out before From: the plan's own requests leave the
	// window first.
	p, clk = newShared(amigo.Share{Jobs: 2, Index: 0, Count: 2, TestAt: base.Add(2 * time.Minute), Period: 3 * time.Minute, From: base.Add(time.Minute)})
	if _, err := p.Acquire(ctx, "s", "u", amigo.OpListTools); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(base); got != time.Minute {
		t.Errorf("the first read went out at +%s, want at from=, +1m", got)
	}
	// A job that starts after its slot waits for its next one.
	p, clk = newShared(amigo.Share{Jobs: 2, Index: 0, Count: 3, TestAt: base.Add(-time.Second), Period: 6 * time.Minute})
	if _, err := p.Acquire(ctx, "s", "u", amigo.OpTestTool); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(base); got != 6*time.Minute-time.Second {
		t.Errorf("a late job tested at +%s, want its next slot, +5m59s", got)
	}
	for _, c := range []struct {
		share amigo.Share
		want  string
	}{
		{amigo.Share{Jobs: 0, Count: 2, TestAt: base, Period: time.Hour}, "jobs=0"},
		{amigo.Share{Jobs: 6, Index: 0, Count: 8, TestAt: base, Period: time.Hour}, "at most 5 jobs"},
		{amigo.Share{Jobs: 1, Index: 2, Count: 2, TestAt: base, Period: time.Hour}, "entry=2/2"},
		{amigo.Share{Jobs: 1, Index: 0, Count: 2, TestAt: base, Period: 2 * time.Minute}, "every=2m0s"},
		{amigo.Share{Jobs: 1, Index: 0, Count: 2, TestAt: base, Period: time.Hour, From: base.Add(time.Second)}, "from="},
	} {
		if _, err := amigo.NewPacer(amigo.PacerConfig{Share: &c.share}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("share %+v: %v, want an error about %s", c.share, err, c.want)
		}
	}
}

// A Share goes to each job as a string: ParseShare reads what String
// writes, and names what is wrong.
func TestParseShare(t *testing.T) {
	sh := &amigo.Share{Jobs: 4, Index: 3, Count: 12, TestAt: time.Date(2026, 6, 1, 12, 3, 0, 0, time.UTC), Period: 13 * time.Minute, From: time.Date(2026, 6, 1, 12, 1, 0, 0, time.UTC)}
	text := sh.String()
	if text != "test=2026-06-01T12:03:00Z,entry=3/12,every=13m0s,jobs=4,from=2026-06-01T12:01:00Z" {
		t.Errorf("String = %q", text)
	}
	back, err := amigo.ParseShare(text)
	if err != nil || *back != *sh {
		t.Errorf("ParseShare(String) = %+v, %v", back, err)
	}
	for in, want := range map[string]string{
		"test=noon,entry=1/2,every=3m,jobs=1":               "test=noon",
		"test=2026-06-01T12:03:00Z,entry=1,every=3m,jobs=1": "entry=1: want I/N",
		"test=2026-06-01T12:03:00Z,entry=1/2,jobs=1":        "no every=",
		"test=2026-06-01T12:03:00Z,entry=1/2,every=3m,x=1":  "x=1: unknown part",
		"banana": `"banana": want test=TIME`,
	} {
		if _, err := amigo.ParseShare(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseShare(%q) = %v, want an error about %s", in, err, want)
		}
	}
}
