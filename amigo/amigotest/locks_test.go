package amigotest

import (
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newBareFixture is newFixture on a plain httptest server (no contract
// middleware, net/http's panic log discarded), for tests that make a
// handler panic on purpose: a panicking handler has no response to check.
func newBareFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	g, tip := newRepo(t, map[string]string{"tools/plain/pyproject.toml": plainPyproject})
	clk := newTestClock()
	opts := Options{Clock: clk, RepoPath: g.dir, PublishLatency: Fixed(2 * time.Minute), TestLatency: Fixed(10 * time.Second)}
	if mod != nil {
		mod(&opts)
	}
	s := New(opts)
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.Start()
	t.Cleanup(s.Close)
	f := &fixture{t: t, s: s, clk: clk, repo: g, tip: tip, org: "acme"}
	f.tok = f.signIn("alice")
	return f
}

// panicOnce is a Latency whose first draw panics (a stand-in for any bug
// reached while the server holds its mutex) and whose later draws are 0.
func panicOnce() Latency {
	var n atomic.Int32
	return Latency{Func: func(*rand.Rand) time.Duration {
		if n.Add(1) == 1 {
			panic("injected: latency draw failed")
		}
		return 0
	}}
}

// rawPost sends a request and returns only the transport error (a handler
// that panics gives the client a closed connection).
func (f *fixture) rawPost(path, body string) error {
	req, _ := http.NewRequest("POST", f.s.URL()+"/v1/acme/"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTP.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// mustBeUnlocked fails when the server mutex is still held after the
// request that panicked has ended (net/http recovered the panic, so nobody
// would ever unlock it and every later request would hang).
func mustBeUnlocked(t *testing.T, s *Server) {
	t.Helper()
	if !s.mu.TryLock() {
		t.Fatal("server mutex still held after a handler panicked: every later request would block forever")
	}
	s.mu.Unlock()
}

func TestPanicDuringPublishReleasesMutexAndBusy(t *testing.T) {
	f := newBareFixture(t, func(o *Options) { o.PublishLatency = panicOnce() })
	id := f.createTool("plain")
	if err := f.rawPost("tool/"+id+"/version", `{"project_path":"tools/plain","bump_type":"major"}`); err == nil {
		t.Fatal("publish whose handler panicked returned a response")
	}
	mustBeUnlocked(t, f.s)
	if f.s.Busy("acme", id) {
		t.Fatal("tool still busy after its publish panicked: every later publish and deprecate would get 409")
	}
	f.want(f.publish(id, "tools/plain", "major"), 201)
	f.want(f.do("DELETE", "tool/"+id, nil), 204)
}

func TestPanicDuringTestToolReleasesMutex(t *testing.T) {
	f := newBareFixture(t, func(o *Options) { o.TestLatency = panicOnce(); o.DisableRateLimits = true })
	body := `{"commit_branch":"main","project_path":"tools/plain","required_envvars":{},"required_secret_envvars":{},` +
		`"inputs":[{"input_parameters":{},"invocation_mode":"regular","nonsensitive_user_variables":{},"sensitive_user_variables":{}}]}`
	if err := f.rawPost("tool/test", body); err == nil {
		t.Fatal("test-tool whose handler panicked returned a response")
	}
	mustBeUnlocked(t, f.s)
	f.want(f.do("POST", "tool/test", body), 200)
}

// TestCloseCancelsPublishInLatency: Close must not wait for a publish that
// is sleeping its latency (on a clock that never advances by itself that
// would be forever); the publish is cancelled with 503, creates nothing and
// leaves the tool idle.
func TestCloseCancelsPublishInLatency(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	started, release := f.clk.hold()
	var once sync.Once
	t.Cleanup(func() { once.Do(release) }) // runs before the server's Close
	done := make(chan res, 1)
	go func() { done <- f.publish(id, "tools/plain", "major") }()
	awaitSleep(t, started, done)

	closed := make(chan struct{})
	go func() { f.s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Minute): // a deadlock watchdog, not a speed goal
		t.Fatal("Close blocked on a publish sleeping its latency")
	}
	if r := <-done; r.status != http.StatusServiceUnavailable {
		t.Fatalf("publish cut by Close: %d %s, want 503", r.status, r.body)
	}
	if f.s.Busy("acme", id) || len(f.s.Versions("acme", id)) != 0 {
		t.Fatalf("after a cancelled publish: busy=%v versions=%v", f.s.Busy("acme", id), f.s.Versions("acme", id))
	}
}

// awaitSleep waits until a held clock reports a sleeper, failing (instead
// of hanging) when the request it waits for ends without sleeping.
func awaitSleep(t *testing.T, started <-chan struct{}, done <-chan res) {
	t.Helper()
	select {
	case <-started:
	case r := <-done:
		t.Fatalf("request ended before its latency: %d %s", r.status, r.body)
	}
}
