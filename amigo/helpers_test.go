package amigo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/contract"
)

// Test credentials. The tests assert that none of them ever shows up in an
// error or an event.
const (
	testOrg      = "acme"
	testKey      = "sk-secret-key-value"
	testKeyID    = "key-id-1"
	testUser     = "user-1"
	testToolID   = "0123456789abcdef01234567"
	testToolID2  = "fedcba9876543210fedcba98"
	issuedToken  = "tok-issued-1"
	staticSecret = "static-bearer-secret"
)

// fakeClock is a manual clock: Now moves only when a test advances it or
// when the code under test sleeps, so waits take no real time and every
// schedule is exact.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// Sleep advances the clock by d at once.
func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.now = f.now.Add(d)
	}
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// NewTimer fires at once, having advanced the clock.
func (f *fakeClock) NewTimer(d time.Duration) clock.Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.Start(d)
	return t
}

type fakeTimer struct {
	f *fakeClock
	c chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Start(d time.Duration) {
	_ = t.f.Sleep(context.Background(), d)
	select {
	case t.c <- t.f.Now():
	default:
	}
}
func (t *fakeTimer) Stop() {}

var _ clock.Clock = (*fakeClock)(nil)

// fakeAPI is an httptest server that answers sign-in itself (counting the
// sign-ins and checking the key headers), checks the bearer token on every
// other request, and routes the rest to handlers registered per pattern.
type fakeAPI struct {
	t       *testing.T
	srv     *httptest.Server
	mux     *http.ServeMux
	clk     *fakeClock
	signIns atomic.Int32
	// tokenTTL is how long issued tokens live (default 1h).
	tokenTTL time.Duration
	// signInHook, when set, runs inside the sign-in handler first.
	signInHook func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	valid    map[string]bool
	requests []seen
}

type seen struct {
	Method, Path, RawQuery, RequestURI string
	Auth, OrgHeader                    string
	At                                 time.Time
	Body                               []byte
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, mux: http.NewServeMux(), clk: newFakeClock(), tokenTTL: time.Hour, valid: map[string]bool{}}
	f.mux.HandleFunc("POST /v1/{org}/user/signin_with_api_key", func(w http.ResponseWriter, r *http.Request) {
		if f.signInHook != nil && f.signInHook(w, r) {
			return
		}
		if r.Header.Get("x-api-key") != testKey || r.Header.Get("x-api-key-id") != testKeyID || r.Header.Get("x-user-id") != testUser {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Invalid API key."})
			return
		}
		if r.Header.Get("Authorization") != "" {
			t.Errorf("sign-in carries an Authorization header")
		}
		n := f.signIns.Add(1)
		tok := issuedToken
		if n > 1 {
			tok = issuedToken + "-" + string(rune('a'+n-2))
		}
		f.mu.Lock()
		f.valid[tok] = true
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, amigo.SignInResponse{IDToken: tok, ExpiresAt: f.clk.Now().Add(f.tokenTTL)})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := readAll(r)
		f.mu.Lock()
		f.requests = append(f.requests, seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestURI: r.RequestURI,
			Auth: r.Header.Get("Authorization"), OrgHeader: r.Header.Get("X-ORG-ID"), At: f.clk.Now(), Body: body,
		})
		f.mu.Unlock()
		r.Body = http.NoBody
		if r.URL.Path != "/v1/"+testOrg+"/user/signin_with_api_key" {
			auth := r.Header.Get("Authorization")
			f.mu.Lock()
			ok := len(auth) > 7 && f.valid[auth[7:]] || auth == "Bearer "+staticSecret
			f.mu.Unlock()
			if !ok {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Invalid authorization credentials."})
				return
			}
		}
		r.Body = newBody(body)
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// handle registers a handler for a Go 1.22 mux pattern.
func (f *fakeAPI) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

// revoke makes the server reject a token it issued.
func (f *fakeAPI) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.valid, tok)
}

// seen returns the requests to paths other than sign-in.
func (f *fakeAPI) calls() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []seen
	for _, s := range f.requests {
		if s.Path != "/v1/"+testOrg+"/user/signin_with_api_key" {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeAPI) all() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

// config returns a Config for this server with fast retries.
func (f *fakeAPI) config() amigo.Config {
	return amigo.Config{
		BaseURL:  f.srv.URL,
		Org:      testOrg,
		APIKey:   testKey,
		APIKeyID: testKeyID,
		UserID:   testUser,
		Clock:    f.clk,
		// Every request the client sends and every answer it reads is
		// checked against the OpenAPI contract.
		HTTPClient: &http.Client{Transport: contract.Transport(f.t, nil)},
		Retry:      amigo.RetryConfig{InitialInterval: time.Second, MaxInterval: 10 * time.Second, MaxElapsed: 2 * time.Minute},
	}
}

func (f *fakeAPI) client(mod ...func(*amigo.Config)) *amigo.Client {
	f.t.Helper()
	cfg := f.config()
	for _, m := range mod {
		m(&cfg)
	}
	c, err := amigo.New(cfg)
	if err != nil {
		f.t.Fatalf("amigo.New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
func readAll(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	return b
}

func newBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// listConcurrently makes n ListTools calls on c at once, runs meanwhile (if
// not nil) while they are under way, and fails t if any call failed.
func listConcurrently(t *testing.T, c *amigo.Client, n int, meanwhile func()) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.ListTools(context.Background(), amigo.ListToolsOptions{})
			errs <- err
		}()
	}
	if meanwhile != nil {
		meanwhile()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
