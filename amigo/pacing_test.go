package amigo_test

import (
	"context"
	"errors"
	"net/http"
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

func checkPaced(t *testing.T, arrivals []time.Time, perMinute int, minGap time.Duration) {
	t.Helper()
	for i := 1; i < len(arrivals); i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < minGap {
			t.Errorf("requests %d and %d arrived %s apart, want at least %s", i-1, i, gap, minGap)
		}
	}
	if i := admittedByBucket(arrivals, perMinute); i >= 0 {
		t.Errorf("request %d would be refused by a %d/min bucket", i, perMinute)
	}
	// No sliding minute holds more than the limit.
	for i := range arrivals {
		n := 0
		for j := i; j < len(arrivals) && arrivals[j].Sub(arrivals[i]) < time.Minute; j++ {
			n++
		}
		if n > perMinute+1 { // burst 1 + rate: at most limit+1 in any open minute
			t.Errorf("%d requests within a minute from request %d, limit %d", n, i, perMinute)
		}
	}
}

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
	checkPaced(t, arr, 10, 6*time.Second)
	// Evenly spaced at the limit plus the 5% margin: 6.3s.
	if total := arr[n-1].Sub(arr[0]); total != time.Duration(n-1)*6300*time.Millisecond {
		t.Errorf("%d publishes took %s of simulated time, want %s", n, total, time.Duration(n-1)*6300*time.Millisecond)
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
	checkPaced(t, arr, 1, time.Minute)
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
	checkPaced(t, arrivalsAt(f, "/v1/acme/tool/"+testToolID+"/version"), 10, 6*time.Second)
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
	if d := wait("https://a", "u1", amigo.OpTestTool); d != 63*time.Second {
		t.Errorf("second test-tool wait = %s, want 63s", d)
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
