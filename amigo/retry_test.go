package amigo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
)

// hangUp drops the connection after the request has been read: the server
// may have done the work, the client gets no answer.
func hangUp(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Fatal("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// publishFailingFirst publishes through a client of a fake API whose
// first n publish requests are answered with status (and Retry-After
// retryAfter, if not empty); it returns the request count and the error.
func publishFailingFirst(t *testing.T, n int32, status int, retryAfter string) (*atomic.Int32, error) {
	t.Helper()
	f := newFakeAPI(t)
	h, count := failFirst(n, status, retryAfter, okPublish)
	f.handle("POST /v1/{org}/tool/{id}/version", h)
	_, err := f.client().PublishVersion(context.Background(), testToolID, publishReq)
	return count, err
}

// failFirst answers the first n requests with status (and optional
// Retry-After), then with ok.
func failFirst(n int32, status int, retryAfter string, ok http.HandlerFunc) (http.HandlerFunc, *atomic.Int32) {
	var count atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			writeJSON(w, status, map[string]string{"detail": http.StatusText(status)})
			return
		}
		ok(w, r)
	}, &count
}

func okPublish(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusCreated, amigo.PublishResponse{NewVersion: "1.0.0"})
}

var publishReq = amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMajor}

func TestPublishNotRetriedAfterDroppedConnection(t *testing.T) {
	f := newFakeAPI(t)
	var n atomic.Int32
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		hangUp(t, w)
	})
	var unknown atomic.Int32
	c := f.client(func(cfg *amigo.Config) {
		cfg.OnEvent = func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventUnknownOutcome {
				unknown.Add(1)
			}
		}
	})
	_, err := c.PublishVersion(context.Background(), testToolID, publishReq)
	if !errors.Is(err, amigo.ErrUnknownOutcome) {
		t.Fatalf("err = %v, want ErrUnknownOutcome", err)
	}
	var uerr *amigo.UnknownOutcomeError
	if !errors.As(err, &uerr) || uerr.Op != amigo.OpPublishVersion || uerr.Method != http.MethodPost {
		t.Errorf("err = %#v, want an *UnknownOutcomeError for publish", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("publish requests seen = %d, want exactly 1", got)
	}
	if got := unknown.Load(); got != 1 {
		t.Errorf("unknown-outcome events = %d, want 1", got)
	}
	if !strings.Contains(err.Error(), "check the server's state") {
		t.Errorf("message %q does not say what to do", err)
	}
}

func TestMutatingCallsNotRetriedAfterDroppedConnection(t *testing.T) {
	f := newFakeAPI(t)
	var n atomic.Int32
	drop := func(w http.ResponseWriter, r *http.Request) { n.Add(1); hangUp(t, w) }
	f.handle("POST /v1/{org}/tool/", drop)
	f.handle("POST /v1/{org}/tool/{id}/envvar", drop)
	f.handle("POST /v1/{org}/tool/test", drop)
	f.handle("POST /v1/{org}/tool/{id}/version/{v}/invoke", drop)
	f.handle("DELETE /v1/{org}/tool/{id}", drop)
	f.handle("DELETE /v1/{org}/tool/{id}/version/{v}", drop)
	c := f.client()
	ctx := context.Background()
	in := []amigo.Input{{InputParameters: map[string]any{"q": 1}}}
	calls := map[string]func() error{
		"create": func() error {
			_, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "a", Description: "d"})
			return err
		},
		"envvars": func() error { return c.ModifyEnvvars(ctx, testToolID, amigo.ModifyEnvvarsRequest{}) },
		"test": func() error {
			_, err := c.TestTool(ctx, amigo.TestToolRequest{Inputs: in, CommitBranch: "main", ProjectPath: "p"})
			return err
		},
		"invoke": func() error {
			_, err := c.Invoke(ctx, testToolID, "1.0.0", amigo.InvokeRequest{Inputs: in})
			return err
		},
		"deprecate":  func() error { return c.DeprecateTool(ctx, testToolID) },
		"range-drop": func() error { return c.DeprecateVersions(ctx, testToolID, "<2.0.0") },
	}
	for name, call := range calls {
		n.Store(0)
		err := call()
		if !errors.Is(err, amigo.ErrUnknownOutcome) {
			t.Errorf("%s: err = %v, want ErrUnknownOutcome", name, err)
		}
		if got := n.Load(); got != 1 {
			t.Errorf("%s: requests = %d, want 1", name, got)
		}
	}
}

func TestPublishTimeoutIsUnknownOutcome(t *testing.T) {
	f := newFakeAPI(t)
	release := make(chan struct{})
	defer close(release)
	var n atomic.Int32
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select { // a build that outlives the client's patience
		case <-release:
		case <-r.Context().Done():
		}
	})
	// On a loaded machine the deadline can pass before the request has
	// reached the server; then the case proves nothing about retries, and
	// it runs again with twice the patience until the server has seen the
	// publish.
	for timeout := 20 * time.Millisecond; ; timeout *= 2 {
		n.Store(0)
		c := f.client(func(cfg *amigo.Config) { cfg.PublishTimeout = timeout })
		_, err := c.PublishVersion(context.Background(), testToolID, publishReq)
		if !errors.Is(err, amigo.ErrUnknownOutcome) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnknownOutcome wrapping DeadlineExceeded", err)
		}
		got := n.Load()
		if got == 0 && timeout < 10*time.Second {
			continue
		}
		if got != 1 {
			t.Errorf("publish requests = %d with a %v timeout, want 1", got, timeout)
		}
		return
	}
}

func TestPublishUsesLongTimeout(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // longer than Timeout, shorter than PublishTimeout
		okPublish(w, r)
	})
	c := f.client(func(cfg *amigo.Config) {
		cfg.Timeout = 150 * time.Millisecond
		cfg.PublishTimeout = 10 * time.Second
	})
	if _, err := c.PublishVersion(context.Background(), testToolID, publishReq); err != nil {
		t.Fatalf("publish slower than Timeout but within PublishTimeout: %v", err)
	}
}

func TestGetRetriedOnServerErrors(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusInternalServerError, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFakeAPI(t)
			h, count := failFirst(2, status, "", okTools)
			f.handle("GET /v1/{org}/tool/", h)
			var retries atomic.Int32
			c := f.client(func(cfg *amigo.Config) {
				if status != http.StatusServiceUnavailable {
					// 500, 502 and 504 come from proxies, not from the API:
					// they are off-contract by definition.
					cfg.HTTPClient = nil
				}
				cfg.OnEvent = func(e amigo.ClientEvent) {
					if e.Kind == amigo.EventRetry && e.StatusCode == status {
						retries.Add(1)
					}
				}
			})
			if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			if got := count.Load(); got != 3 {
				t.Errorf("requests = %d, want 3", got)
			}
			if got := retries.Load(); got != 2 {
				t.Errorf("retry events = %d, want 2", got)
			}
		})
	}
}

func TestGetRetriedOnNetworkError(t *testing.T) {
	f := newFakeAPI(t)
	var n atomic.Int32
	f.handle("GET /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			hangUp(t, w)
			return
		}
		writeJSON(w, http.StatusOK, amigo.ListVersionsResponse{ToolVersions: []amigo.ToolVersion{}})
	})
	c := f.client()
	if _, err := c.ListVersions(context.Background(), testToolID, amigo.ListVersionsOptions{}); err != nil {
		t.Fatalf("ListVersions after a dropped connection: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestExactVersionDeleteRetriedOn503(t *testing.T) {
	f := newFakeAPI(t)
	h, count := failFirst(1, http.StatusServiceUnavailable, "", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f.handle("DELETE /v1/{org}/tool/{id}/version/{v}", h)
	c := f.client()
	if err := c.DeprecateVersions(context.Background(), testToolID, "==1.2.3"); err != nil {
		t.Fatal(err)
	}
	if got := count.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	// A range is not idempotent in the client's book: a 503 comes back.
	count.Store(0)
	err := c.DeprecateVersions(context.Background(), testToolID, ">=1.0.0,<2.0.0")
	if !amigo.IsMaintenance(err) {
		t.Errorf("range delete err = %v, want the 503", err)
	}
	if got := count.Load(); got != 1 {
		t.Errorf("range delete requests = %d, want 1", got)
	}
}

func TestPost429RetriedHonouringRetryAfterSeconds(t *testing.T) {
	f := newFakeAPI(t)
	h, count := failFirst(1, http.StatusTooManyRequests, "7", okPublish)
	f.handle("POST /v1/{org}/tool/{id}/version", h)
	var limited atomic.Int32
	c := f.client(func(cfg *amigo.Config) {
		cfg.NoPacing = true
		cfg.OnEvent = func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventRateLimited && e.Wait == 7*time.Second {
				limited.Add(1)
			}
		}
	})
	resp, err := c.PublishVersion(context.Background(), testToolID, publishReq)
	if err != nil || resp.NewVersion != "1.0.0" {
		t.Fatalf("PublishVersion = %v, %v", resp, err)
	}
	if got := count.Load(); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
	calls := f.calls()
	if gap := calls[1].At.Sub(calls[0].At); gap != 7*time.Second {
		t.Errorf("retry came %s after the 429, want exactly Retry-After 7s", gap)
	}
	if limited.Load() != 1 {
		t.Errorf("rate-limited events with Wait 7s = %d, want 1", limited.Load())
	}
}

func TestPost429RetriedHonouringRetryAfterDate(t *testing.T) {
	f := newFakeAPI(t)
	var count atomic.Int32
	f.handle("POST /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) == 1 {
			w.Header().Set("Retry-After", f.clk.Now().Add(42*time.Second).Format(http.TimeFormat))
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"detail": "slow down"})
			return
		}
		writeJSON(w, http.StatusCreated, amigo.CreateToolResponse{ID: testToolID})
	})
	c := f.client(func(cfg *amigo.Config) { cfg.NoPacing = true })
	if _, err := c.CreateTool(context.Background(), amigo.CreateToolRequest{Name: "weather", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 2 {
		t.Fatalf("requests = %d, want 2", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap != 42*time.Second {
		t.Errorf("retry came %s after the 429, want the 42s of the Retry-After date", gap)
	}
}

func Test429BeyondMaxElapsedReturned(t *testing.T) {
	count, err := publishFailingFirst(t, 5, http.StatusTooManyRequests, "3600")
	if !amigo.IsRateLimited(err) {
		t.Fatalf("err = %v, want the 429", err)
	}
	var ae *amigo.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != time.Hour || !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Errorf("err = %v, want RetryAfter 1h in it", err)
	}
	if count.Load() != 1 {
		t.Errorf("requests = %d, want 1: a Retry-After past the retry budget is not waited out", count.Load())
	}
}

func TestConflictNotRetried(t *testing.T) {
	count, err := publishFailingFirst(t, 100, http.StatusConflict, "")
	if !amigo.IsConflict(err) {
		t.Fatalf("err = %v, want 409", err)
	}
	if count.Load() != 1 {
		t.Errorf("requests = %d, want 1 (409 retry is the pipeline's policy)", count.Load())
	}
	if !strings.Contains(err.Error(), "another operation on this tool is in progress") {
		t.Errorf("message %q lacks the hint", err)
	}
}

func TestPublish503NotRetried(t *testing.T) {
	count, err := publishFailingFirst(t, 100, http.StatusServiceUnavailable, "")
	if !amigo.IsMaintenance(err) || errors.Is(err, amigo.ErrUnknownOutcome) {
		t.Fatalf("err = %v, want a plain 503 APIError", err)
	}
	if count.Load() != 1 {
		t.Errorf("requests = %d, want 1", count.Load())
	}
}

func TestGetGivesUpAfterMaxElapsed(t *testing.T) {
	f := newFakeAPI(t)
	h, count := failFirst(1000, http.StatusServiceUnavailable, "", okTools)
	f.handle("GET /v1/{org}/tool/", h)
	c := f.client()
	start := f.clk.Now()
	_, err := c.ListTools(context.Background(), amigo.ListToolsOptions{})
	if !amigo.IsMaintenance(err) {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if n := count.Load(); n < 3 || n > 40 {
		t.Errorf("requests = %d, want a handful of backed-off retries", n)
	}
	// MaxElapsed is 2m in the test config; one more interval may pass it.
	if spent := f.clk.Now().Sub(start); spent > 2*time.Minute+15*time.Second {
		t.Errorf("spent %s retrying, want about 2m", spent)
	}
	// Jittered exponential: waits grow and vary.
	sleeps := f.clk.Sleeps()
	if len(sleeps) < 3 || sleeps[len(sleeps)-1] <= sleeps[0] {
		t.Errorf("sleeps %v do not grow", sleeps)
	}
}

func TestRetryDisabled(t *testing.T) {
	f := newFakeAPI(t)
	h, count := failFirst(1, http.StatusServiceUnavailable, "", okTools)
	f.handle("GET /v1/{org}/tool/", h)
	c := f.client(func(cfg *amigo.Config) { cfg.Retry.Disable = true })
	if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); !amigo.IsMaintenance(err) {
		t.Fatalf("err = %v, want 503", err)
	}
	if count.Load() != 1 {
		t.Errorf("requests = %d, want 1", count.Load())
	}
}

func TestConnectionRefusedPostRetriedNotUnknown(t *testing.T) {
	// A server that is not there: the request never left, so a POST may be
	// retried and the error is not an unknown outcome.
	addr := amigotest.RefusedAddr(t)
	clk := newFakeClock()
	var mu sync.Mutex
	var retries int
	c, err := amigo.New(amigo.Config{
		BaseURL: "http://" + addr, Org: testOrg, Token: staticSecret, Clock: clk,
		Retry: amigo.RetryConfig{InitialInterval: time.Second, MaxElapsed: 10 * time.Second},
		OnEvent: func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventRetry {
				mu.Lock()
				retries++
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PublishVersion(context.Background(), testToolID, publishReq)
	if err == nil || errors.Is(err, amigo.ErrUnknownOutcome) {
		t.Fatalf("err = %v, want a plain connection error", err)
	}
	if retries == 0 {
		t.Errorf("no retries of a request that never left")
	}
	if strings.Contains(err.Error(), staticSecret) {
		t.Errorf("error %q contains the token", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"Thu, 26 Nov 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Thursday, 26-Nov-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Thu Nov 26 12:00:05 2026", 5 * time.Second, true},     // ANSI C
		{"Thu, 26 Nov 2026 11:59:00 GMT", 0, true},              // in the past
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		got, ok := amigo.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestPublishUnreadableSuccessIsUnknownOutcome(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"new_version": 1.0`)) // cut short
	})
	c := f.client(func(cfg *amigo.Config) { cfg.HTTPClient = nil })
	_, err := c.PublishVersion(context.Background(), testToolID, publishReq)
	if !errors.Is(err, amigo.ErrUnknownOutcome) || !strings.Contains(err.Error(), "201 answer is not the documented JSON") {
		t.Errorf("err = %v, want an unknown outcome naming the bad answer", err)
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestCancelledBeforeSendIsNotUnknown(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", okPublish)
	c := f.client()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.PublishVersion(ctx, testToolID, publishReq)
	if !errors.Is(err, context.Canceled) || errors.Is(err, amigo.ErrUnknownOutcome) {
		t.Errorf("err = %v, want Canceled and not an unknown outcome", err)
	}
	if n := len(f.calls()); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestFirstContactRefusedGivesUpAfterThreeAttempts(t *testing.T) {
	// No server has ever answered at this URL: a wrong base_url does not fix
	// itself, so the client stops after FirstContactAttempts, not after the
	// whole 5-minute budget, and says where it looked.
	addr := amigotest.RefusedAddr(t)
	var attempts atomic.Int32
	c, err := amigo.New(amigo.Config{
		BaseURL: "http://" + addr, Org: testOrg, APIKey: "k", APIKeyID: "kid", UserID: "uid", Clock: newFakeClock(),
		OnEvent: func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventRetry {
				attempts.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTools(context.Background(), amigo.ListToolsOptions{})
	ue, ok := errors.AsType[*amigo.UnreachableError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *amigo.UnreachableError", err, err)
	}
	if ue.Attempts != amigo.FirstContactAttempts || attempts.Load() != amigo.FirstContactAttempts-1 {
		t.Errorf("attempts = %d (retry events %d), want %d", ue.Attempts, attempts.Load(), amigo.FirstContactAttempts)
	}
	for _, want := range []string{"no server answers at http://" + addr, "signin_with_api_key", "base_url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "kid") && strings.Contains(err.Error(), "x-api-key") {
		t.Errorf("error %q shows credentials", err)
	}
}

func TestRefusedAfterAnAnswerKeepsTheFullBudget(t *testing.T) {
	// The server answered once and then went away (a restart): that is
	// worth the whole retry budget, not the first-contact limit.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"tools":[],"has_more":false,"continuation_token":null}`))
	}))
	clk := newFakeClock()
	var retries atomic.Int32
	c, err := amigo.New(amigo.Config{
		BaseURL: srv.URL, Org: testOrg, Token: staticSecret, Clock: clk,
		Retry: amigo.RetryConfig{InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsed: 20 * time.Second},
		OnEvent: func(e amigo.ClientEvent) {
			if e.Kind == amigo.EventRetry {
				retries.Add(1)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	srv.Close()
	_, err = c.ListTools(context.Background(), amigo.ListToolsOptions{})
	if err == nil {
		t.Fatal("a call to a closed server succeeded")
	}
	if _, ok := errors.AsType[*amigo.UnreachableError](err); ok {
		t.Errorf("err = %v: a server that answered before is not 'unreachable'", err)
	}
	if n := retries.Load(); n < 5 {
		t.Errorf("retries = %d, want the 20s budget at 1s steps (>= 5)", n)
	}
}

// TestRegionRefusingThroughProxyIsAnOutage (issue 13, item 6): a documented
// regional address that nothing answers at (here: the HTTPS proxy in
// between refuses the connection, so the request never left) is
// unreachable, and the error says it is that region's server, not a wrong
// URL.
func TestRegionRefusingThroughProxyIsAnOutage(t *testing.T) {
	proxy, err := url.Parse("http://" + amigotest.RefusedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := amigo.New(amigo.Config{
		Region: "eu-central-1", Org: testOrg, APIKey: "k", APIKeyID: "kid", UserID: "uid", Clock: newFakeClock(),
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SignIn(context.Background())
	ue, ok := errors.AsType[*amigo.UnreachableError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *amigo.UnreachableError: a refused proxy connection never sent the request", err, err)
	}
	if r, ok := ue.Region(); !ok || r != "eu-central-1" {
		t.Errorf("Region() = %q, %v, want eu-central-1", r, ok)
	}
	for _, want := range []string{"region eu-central-1", "https://api-eu-central-1.amigo.ai", "an outage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, ok := (&amigo.UnreachableError{Base: "http://127.0.0.1:9"}).Region(); ok {
		t.Errorf("a custom base URL taken for a documented region")
	}
}
