package amigo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func okTools(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, amigo.ListToolsResponse{Tools: []amigo.Tool{}, FilterValues: &amigo.ToolFilterValues{Tags: []string{}}})
}

func TestSignInOnceAndTokenCached(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.ListTools(ctx, amigo.ListToolsOptions{}); err != nil {
			t.Fatalf("ListTools #%d: %v", i, err)
		}
	}
	f.wantSignIns(t, 1, "", "")
	for _, s := range f.calls() {
		if s.Auth != "Bearer "+issuedToken {
			t.Errorf("Authorization = %q, want the issued bearer token", s.Auth)
		}
	}
}

func TestTokenRefreshedFiveMinutesBeforeExpiry(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client()
	mustList(t, c) // signs in; token lives 1h
	f.clk.Advance(54*time.Minute + 59*time.Second)
	mustList(t, c)
	f.wantSignIns(t, 1, "5m01s before expiry", " (token still fresh)")
	f.clk.Advance(2 * time.Second) // 4m59s before expiry: inside the refresh window
	mustList(t, c)
	f.wantSignIns(t, 2, "4m59s before expiry", " (refreshed)")
	calls := f.calls()
	if last := calls[len(calls)-1].Auth; last != "Bearer "+issuedToken+"-a" {
		t.Errorf("after refresh Authorization = %q, want the new token", last)
	}
}

func TestShortLivedTokenRefreshedAtHalfLife(t *testing.T) {
	f := newFakeAPI(t)
	f.tokenTTL = 4 * time.Minute // shorter than the 5-minute margin
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client()
	for i := 0; i < 3; i++ {
		mustList(t, c)
	}
	f.wantSignIns(t, 1, "", ": a short-lived token must still be reused")
	f.clk.Advance(2*time.Minute + time.Second)
	mustList(t, c)
	f.wantSignIns(t, 2, "after half the lifetime", "")
}

func TestConcurrentCallersSignInOnce(t *testing.T) {
	f := newFakeAPI(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	f.signInHook = func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release // hold the sign-in until every caller is waiting for it
		return false
	}
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client(func(cfg *amigo.Config) { cfg.NoPacing = true })
	const n = 40
	listConcurrently(t, c, n, func() {
		<-arrived
		close(release)
	})
	if got := f.signIns.Load(); got != 1 {
		t.Errorf("sign-ins for %d concurrent callers = %d, want 1", n, got)
	}
	if got := len(f.calls()); got != n {
		t.Errorf("list calls = %d, want %d", got, n)
	}
}

func TestReauthOnceAfter401(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	var events []amigo.ClientEvent
	var mu sync.Mutex
	c := f.client(func(cfg *amigo.Config) {
		cfg.OnEvent = func(e amigo.ClientEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }
	})
	ctx := context.Background()
	mustList(t, c)
	f.revoke(issuedToken) // the server forgets the token before it expires
	if _, err := c.ListTools(ctx, amigo.ListToolsOptions{}); err != nil {
		t.Fatalf("after a revoked token: %v, want a transparent re-sign-in", err)
	}
	f.wantSignIns(t, 2, "", "")
	calls := f.calls()
	if len(calls) != 3 || calls[1].Auth != "Bearer "+issuedToken || calls[2].Auth != "Bearer "+issuedToken+"-a" {
		t.Errorf("calls = %+v, want ok, 401 with the old token, ok with the new one", calls)
	}
	mu.Lock()
	defer mu.Unlock()
	var reauth int
	for _, e := range events {
		if e.Kind == amigo.EventReauth {
			reauth++
		}
	}
	if reauth != 1 {
		t.Errorf("reauth events = %d, want 1", reauth)
	}
}

func TestPersistent401ReturnedAfterOneReauth(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Token revoked."})
	})
	c := f.client()
	_, err := c.PublishVersion(context.Background(), testToolID, amigo.PublishRequest{ProjectPath: "tools/a", BumpType: amigo.BumpMajor})
	if !amigo.IsUnauthorized(err) {
		t.Fatalf("err = %v, want a 401 APIError", err)
	}
	if got := len(f.calls()); got != 2 {
		t.Errorf("publish requests = %d, want 2 (one retry after re-sign-in)", got)
	}
	f.wantSignIns(t, 2, "", "")
}

func TestSignInRejectedMessage(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client(func(cfg *amigo.Config) {
		cfg.APIKey = "sk-wrong-secret"
		cfg.Sources.Credentials = "EU_KEY / EU_KEY_ID / EU_USER"
	})
	_, err := c.ListTools(context.Background(), amigo.ListToolsOptions{})
	if !amigo.IsUnauthorized(err) {
		t.Fatalf("err = %v, want 401", err)
	}
	msg := err.Error()
	// The hint names the variables the caller says it used, never guessed
	// ones.
	if strings.Contains(msg, "AMIGO_") {
		t.Errorf("error %q names variables the caller did not use", msg)
	}
	for _, want := range []string{"sign-in-with-api-key", "401", "Invalid API key.", "check EU_KEY / EU_KEY_ID / EU_USER for org acme"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "sk-wrong-secret") {
		t.Errorf("error %q contains the API key", msg)
	}
	if len(f.calls()) != 0 {
		t.Errorf("the list call was sent without a token")
	}
}

func TestSignInExplicit(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client()
	ctx := context.Background()
	resp, err := c.SignIn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.IDToken != issuedToken || !resp.ExpiresAt.Equal(f.clk.Now().Add(time.Hour)) {
		t.Errorf("SignIn = %+v", resp)
	}
	mustList(t, c)
	f.wantSignIns(t, 1, "", " (the explicit sign-in's token is cached)")
}

func TestStaticTokenAndOrgHeader(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/", okTools)
	c := f.client(func(cfg *amigo.Config) {
		cfg.APIKey, cfg.APIKeyID, cfg.UserID = "", "", ""
		cfg.Token = staticSecret
		cfg.OrgHeader = "parent-org"
	})
	if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.signIns.Load() != 0 {
		t.Errorf("a static token client signed in")
	}
	s := f.calls()[0]
	if s.Auth != "Bearer "+staticSecret || s.OrgHeader != "parent-org" {
		t.Errorf("Authorization %q, X-ORG-ID %q", s.Auth, s.OrgHeader)
	}
	if _, err := c.SignIn(context.Background()); err == nil {
		t.Errorf("SignIn with a static token: want an error")
	}

	// A rejected static token is not retried and says what to do.
	f.revoke(staticSecret)
	c2 := f.client(func(cfg *amigo.Config) {
		cfg.APIKey, cfg.APIKeyID, cfg.UserID = "", "", ""
		cfg.Token = "expired-static-secret"
	})
	_, err := c2.ListTools(context.Background(), amigo.ListToolsOptions{})
	if !amigo.IsUnauthorized(err) || !strings.Contains(err.Error(), "bearer token was rejected") || strings.Contains(err.Error(), "expired-static-secret") {
		t.Errorf("err = %v", err)
	}
}

func TestSignInWaitHonoursCallerContext(t *testing.T) {
	f := newFakeAPI(t)
	release := make(chan struct{})
	defer close(release)
	arrived := make(chan struct{})
	f.signInHook = func(w http.ResponseWriter, r *http.Request) bool { close(arrived); <-release; return false }
	c := f.client()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := c.ListTools(ctx, amigo.ListToolsOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestSignInExpiresAtFormats(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{`"2026-11-26T13:00:00Z"`, "2026-11-26T13:00:00Z"},
		{`"2026-11-26T14:00:00.123456+01:00"`, "2026-11-26T13:00:00.123456Z"},
		{`"2026-11-26T13:00:00.5"`, "2026-11-26T13:00:00.5Z"}, // naive: UTC
		{`1795698000`, "2026-11-26T13:00:00Z"},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			f := newFakeAPI(t)
			f.signInHook = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"id_token":"tok","expires_at":%s}`, tt.raw)
				return true
			}
			c := f.client(func(cfg *amigo.Config) { cfg.HTTPClient = nil }) // naive and numeric forms are off-contract
			resp, err := c.SignIn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.ExpiresAt.UTC().Format(time.RFC3339Nano); got != tt.want {
				t.Errorf("ExpiresAt = %s, want %s", got, tt.want)
			}
		})
	}
	f := newFakeAPI(t)
	f.signInHook = func(w http.ResponseWriter, r *http.Request) bool {
		fmt.Fprint(w, `{"id_token":"tok","expires_at":"tomorrow"}`)
		return true
	}
	_, err := f.client(func(cfg *amigo.Config) { cfg.HTTPClient = nil }).SignIn(context.Background())
	if err == nil || !strings.Contains(err.Error(), `expires_at "tomorrow" is not a date-time`) {
		t.Errorf("err = %v", err)
	}
}

// TestCredentialsThatCannotBeSent (issue 13, item 8): a credential holding
// a line break can never be sent (Go's HTTP client refuses the header), so
// New refuses it at once, naming the field and never the value, instead of
// a sign-in retried until the budget ends.
func TestCredentialsThatCannotBeSent(t *testing.T) {
	for _, tt := range []struct {
		field string
		cfg   amigo.Config
		what  string
	}{
		{"APIKey", amigo.Config{APIKey: "sk-secret-1\n", APIKeyID: "kid", UserID: "u"}, "a line break"},
		{"UserID", amigo.Config{APIKey: "sk-secret-1", APIKeyID: "kid", UserID: "u\r"}, "a line break"},
		{"Token", amigo.Config{Token: "tok\x00en"}, "a control character"},
	} {
		tt.cfg.BaseURL, tt.cfg.Org = "http://127.0.0.1:9", testOrg
		_, err := amigo.New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), "Config."+tt.field) || !strings.Contains(err.Error(), tt.what) {
			t.Errorf("%s: New = %v, want an error naming Config.%s and %s", tt.field, err, tt.field, tt.what)
			continue
		}
		if strings.Contains(err.Error(), "secret-1") || strings.Contains(err.Error(), "tok") {
			t.Errorf("%s: error %q shows the value", tt.field, err)
		}
	}
}

// TestSignInNotFoundHintNamesTheSources (issue 13, item 9): a 404 on sign-in
// (unknown organization) names where the caller set the organization and
// the user, and no variable the caller did not use.
func TestSignInNotFoundHintNamesTheSources(t *testing.T) {
	f := newFakeAPI(t)
	f.signInHook = func(w http.ResponseWriter, r *http.Request) bool {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Organization not found."})
		return true
	}
	c := f.client(func(cfg *amigo.Config) {
		cfg.Sources = amigo.Sources{Credentials: "EU_KEY / EU_KEY_ID / EU_USER", Org: "the organization of stage eu"}
	})
	_, err := c.SignIn(context.Background())
	if !amigo.IsNotFound(err) {
		t.Fatalf("err = %v, want 404", err)
	}
	for _, want := range []string{"the organization of stage eu", "EU_USER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "AMIGO_ORGANIZATION_ID") || strings.Contains(err.Error(), "AMIGO_USER_ID") {
		t.Errorf("error %q names variables nobody set", err)
	}
}

// mustList lists the tools through c and fails t on an error.
func mustList(t *testing.T, c *amigo.Client) {
	t.Helper()
	if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
		t.Fatal(err)
	}
}

// wantSignIns fails t unless f has had want sign-ins; when says at what
// point (or is empty), why follows the number wanted.
func (f *fakeAPI) wantSignIns(t *testing.T, want int32, when, why string) {
	t.Helper()
	if when != "" {
		when = " " + when
	}
	if got := f.signIns.Load(); got != want {
		t.Errorf("sign-ins%s = %d, want %d%s", when, got, want, why)
	}
}
