package fakeci

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// server is what both fakes share: the httptest.Server, closed through
// t.Cleanup, that records every call and wants a bearer token on it, and
// the mutex that guards each fake's state.
type server struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string // "METHOD /path"
	auth  []string // Authorization headers, one a call
}

// start serves h and fails the test on a call without "Bearer "+token;
// what names the token in the message.
func (s *server) start(t testing.TB, token, what string, h http.Handler) {
	s.t = t
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		s.auth = append(s.auth, got)
		s.mu.Unlock()
		if got != "Bearer "+token {
			t.Errorf("%s %s: Authorization %q, want the bearer %s", r.Method, r.URL.Path, got, what)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
}

// URL is the server's root.
func (s *server) URL() string { return s.srv.URL }

// Client is an HTTP client for the server.
func (s *server) Client() *http.Client { return s.srv.Client() }

// Calls is the calls so far, "METHOD /path" each.
func (s *server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Authorizations is the Authorization header of each call so far.
func (s *server) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auth)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
