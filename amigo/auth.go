package amigo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// RefreshBefore is how long before expires_at a cached token is replaced
// (as the official Python SDK does). For tokens that live less than twice
// as long, half their lifetime is used instead.
const RefreshBefore = 5 * time.Minute

// auth holds the credentials and the cached token. Sign-ins are
// deduplicated: however many goroutines need a token at once, one request
// is sent and all of them share its result.
type auth struct {
	static                   string
	apiKey, apiKeyID, userID string

	mu       sync.Mutex
	token    string
	expires  time.Time
	refresh  time.Time // when to sign in again
	inflight *signInCall
}

type signInCall struct {
	done chan struct{}
	resp SignInResponse
	err  error
}

func (a *auth) canSignIn() bool { return a.static == "" }

// invalidate drops the cached token if it is still the one that was
// rejected (another goroutine may already have replaced it).
func (a *auth) invalidate(rejected string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == rejected {
		a.token = ""
		a.expires = time.Time{}
		a.refresh = time.Time{}
	}
}

// bearer returns a valid token, signing in when none is cached or the
// cached one is due for refresh.
func (c *Client) bearer(ctx context.Context) (string, error) {
	a := c.auth
	if a.static != "" {
		return a.static, nil
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", OpSignIn, err)
	}
	now := c.clk.Now()
	a.mu.Lock()
	if a.token != "" && now.Before(a.refresh) {
		tok := a.token
		a.mu.Unlock()
		return tok, nil
	}
	old, oldExpires := a.token, a.expires
	call := c.startSignIn(ctx)
	a.mu.Unlock()

	resp, err := c.waitSignIn(ctx, call)
	if err != nil {
		// A token in its refresh window is still good until it expires.
		if old != "" && c.clk.Now().Before(oldExpires) && ctx.Err() == nil {
			return old, nil
		}
		return "", err
	}
	return resp.IDToken, nil
}

// ErrStaticToken is returned by SignIn on a Client with a static
// Config.Token, which cannot sign in.
var ErrStaticToken = errors.New("this Client uses a static Config.Token; set APIKey, APIKeyID and UserID to sign in")

// SignIn signs in with the API key now (even if a token is cached), caches
// the token and returns it. Concurrent sign-ins share one request. With a
// static Config.Token it returns an error matching ErrStaticToken.
func (c *Client) SignIn(ctx context.Context) (SignInResponse, error) {
	if !c.auth.canSignIn() {
		return SignInResponse{}, fmt.Errorf("%s: %w", OpSignIn, ErrStaticToken)
	}
	c.auth.mu.Lock()
	call := c.startSignIn(ctx)
	c.auth.mu.Unlock()
	return c.waitSignIn(ctx, call)
}

// startSignIn returns the sign-in in flight or starts one. a.mu is held.
// The sign-in runs detached from ctx's cancellation so that one caller
// giving up does not fail the others waiting for it.
func (c *Client) startSignIn(ctx context.Context) *signInCall {
	a := c.auth
	if a.inflight != nil {
		return a.inflight
	}
	call := &signInCall{done: make(chan struct{})}
	a.inflight = call
	sctx := context.WithoutCancel(ctx)
	go func() {
		resp, err := c.signIn(sctx)
		now := c.clk.Now()
		a.mu.Lock()
		if err == nil {
			a.token = resp.IDToken
			a.expires = resp.ExpiresAt
			margin := RefreshBefore
			if life := resp.ExpiresAt.Sub(now); life < 2*margin {
				margin = life / 2
			}
			a.refresh = resp.ExpiresAt.Add(-margin)
		}
		a.inflight = nil
		a.mu.Unlock()
		call.resp, call.err = resp, err
		c.emit(Event{Kind: EventSignIn, Op: OpSignIn, Method: http.MethodPost, Path: c.fullPath(&request{path: "/user/signin_with_api_key"}), Attempt: 1, Err: err})
		close(call.done)
	}()
	return call
}

func (c *Client) waitSignIn(ctx context.Context, call *signInCall) (SignInResponse, error) {
	select {
	case <-call.done:
		return call.resp, call.err
	case <-ctx.Done():
		return SignInResponse{}, fmt.Errorf("%s: waiting for sign-in: %w", OpSignIn, ctx.Err())
	}
}

// signIn sends POST /v1/{org}/user/signin_with_api_key.
func (c *Client) signIn(ctx context.Context) (SignInResponse, error) {
	var out struct {
		IDToken   string          `json:"id_token"`
		ExpiresAt json.RawMessage `json:"expires_at"`
	}
	h := http.Header{}
	h.Set("x-api-key", c.auth.apiKey)
	h.Set("x-api-key-id", c.auth.apiKeyID)
	h.Set("x-user-id", c.auth.userID)
	err := c.do(ctx, &request{
		op:     OpSignIn,
		method: http.MethodPost,
		path:   "/user/signin_with_api_key",
		out:    &out,
		class:  idempotent,
		noAuth: true,
		header: h,
	})
	if err != nil {
		return SignInResponse{}, err
	}
	if out.IDToken == "" {
		return SignInResponse{}, fmt.Errorf("%s: the server returned an empty id_token", OpSignIn)
	}
	exp, err := parseExpiry(out.ExpiresAt)
	if err != nil {
		return SignInResponse{}, fmt.Errorf("%s: %w", OpSignIn, err)
	}
	return SignInResponse{IDToken: out.IDToken, ExpiresAt: exp}, nil
}

// parseExpiry reads expires_at leniently (see Timestamp); it is required.
func parseExpiry(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, fmt.Errorf("expires_at is missing or null")
	}
	t, err := parseTime(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("expires_at %w", err)
	}
	return t, nil
}
