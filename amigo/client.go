package amigo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/words"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout         = 60 * time.Second
	DefaultPublishTimeout  = 6 * time.Minute
	DefaultUserAgent       = "amigo-release"
	DefaultRetryMaxElapsed = 5 * time.Minute
	DefaultRetryInitial    = 500 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	// FirstContactAttempts bounds the tries of a client whose server has
	// never answered when the connection cannot even be opened (refused,
	// unknown host): see UnreachableError.
	FirstContactAttempts = 3
)

// Config configures a Client. Org, a server (BaseURL or Region) and
// credentials (APIKey+APIKeyID+UserID, or Token) are required.
type Config struct {
	// BaseURL is the server, e.g. "https://api.amigo.ai" or an emulator's
	// URL (AMIGO_BASE_URL). A path prefix is kept.
	BaseURL string
	// Region is a short server name from Regions ("us", "eu-central-1",
	// ...), used when BaseURL is empty.
	Region string
	// Org is the organization id in every path (AMIGO_ORGANIZATION_ID).
	Org string

	// APIKey, APIKeyID and UserID sign in with an API key
	// (AMIGO_API_KEY, AMIGO_API_KEY_ID, AMIGO_USER_ID).
	APIKey   string
	APIKeyID string
	UserID   string
	// Token is a static bearer token, used instead of an API key. It is
	// never refreshed.
	Token string
	// OrgHeader, when set, is sent as X-ORG-ID: the organization that issued
	// the token, for requests into another organization.
	OrgHeader string

	// HTTPClient sends the requests; default a new http.Client with no
	// overall timeout (Timeout and PublishTimeout bound each request).
	HTTPClient *http.Client
	// Clock drives token expiry, pacing and retry waits; default
	// clock.Real{}.
	Clock clock.Clock
	// Timeout bounds each HTTP exchange (default 60s). PublishTimeout bounds
	// each exchange of PublishVersion and TestTool, which build the tool and
	// take minutes (default 6m). Both are wall-clock durations: they guard
	// against hangs and are not scaled by Clock.
	Timeout        time.Duration
	PublishTimeout time.Duration
	// UserAgent is sent as User-Agent; default "amigo-release".
	UserAgent string

	// Pacer, when set, is shared with other Clients (see NewPacer); Limits
	// and PaceMargin must then be set on the Pacer instead.
	Pacer *Pacer
	// Limits overrides DefaultLimits (requests per minute) for this
	// Client's own Pacer.
	Limits map[Op]int
	// PaceMargin lengthens the pacer's minute (see PacerConfig.Margin).
	PaceMargin time.Duration
	// NoPacing turns client-side pacing off (429s are still retried).
	NoPacing bool

	// Retry tunes the jittered exponential backoff of retries.
	Retry RetryConfig

	// OnEvent, when set, is called synchronously for every retry, 429,
	// pacing wait, sign-in and unknown outcome. It must be quick and safe
	// for concurrent use. Events never carry credentials.
	OnEvent func(ClientEvent)

	// Sources says where the caller took the credentials and the
	// organization from, so that the hints of errors name what the user
	// set. Empty fields keep the hints generic: they never guess a
	// variable name.
	Sources Sources
}

// Sources names, for error hints, where a Client's settings came from.
type Sources struct {
	// Credentials names the credentials as the user knows them, e.g.
	// "AMIGO_EU_API_KEY / AMIGO_EU_API_KEY_ID / AMIGO_EU_USER_ID" or "the
	// bearer token in AMIGO_CA_TOKEN".
	Credentials string
	// Org names where the organization id is set, e.g. "the organization
	// of stage eu (stages[].organization or defaults.organization)".
	Org string
}

// RetryConfig tunes retries. Zero fields take the defaults.
type RetryConfig struct {
	// MaxElapsed bounds the time spent retrying one call (default 5m). A
	// Retry-After beyond it ends the retries.
	MaxElapsed time.Duration
	// InitialInterval is the first backoff (default 500ms).
	InitialInterval time.Duration
	// MaxInterval caps one backoff (default 30s).
	MaxInterval time.Duration
	// Disable turns all retries off (401 re-sign-in still happens).
	Disable bool
}

// ClientEventKind says what a ClientEvent reports.
type ClientEventKind string

// ClientEvent kinds.
const (
	EventRetry          ClientEventKind = "retry"           // a request is retried after Wait
	EventRateLimited    ClientEventKind = "rate-limited"    // the server answered 429
	EventPaceWait       ClientEventKind = "pace-wait"       // the pacer held a request for Wait
	EventSignIn         ClientEventKind = "sign-in"         // a sign-in succeeded (or failed: Err)
	EventReauth         ClientEventKind = "reauth"          // a 401 dropped the cached token
	EventUnknownOutcome ClientEventKind = "unknown-outcome" // a mutating call lost its answer
)

// ClientEvent is one observable thing the client did.
type ClientEvent struct {
	Kind       ClientEventKind
	Op         Op
	Method     string
	Path       string
	Attempt    int           // 1 for the first request of a call
	StatusCode int           // the status that caused it, if any
	Wait       time.Duration // how long the client waits or waited
	Err        error         // the error that caused it, if any
}

// Client is a typed client of the Amigo Tool API for one server and one
// organization. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix] without trailing slash
	basePath  string // the escaped [/prefix] of base
	org       string
	http      *http.Client
	clk       clock.Clock
	timeout   time.Duration
	pubTO     time.Duration
	userAgent string
	orgHeader string
	pacer     *Pacer
	identity  string // pacing identity: the user id or a token fingerprint
	retry     RetryConfig
	onEvent   func(ClientEvent)
	auth      *auth
	answered  atomic.Bool // some request got an HTTP response
	sources   Sources
}

// CheckOrganization is the one rule for an organization id, which goes
// into every request's path: it may not hold '/', '?' or '#'. The plan's
// parser (promote) and New both apply it, so validate refuses what a run
// would.
func CheckOrganization(org string) error {
	if strings.ContainsAny(org, "/?#") {
		return errors.New("contains '/', '?' or '#'")
	}
	return nil
}

// New checks cfg and returns a Client. Errors name the Config field and the
// fix. New sends no request: the first call signs in.
func New(cfg Config) (*Client, error) {
	base, err := resolveBase(cfg.BaseURL, cfg.Region)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Org) == "" {
		return nil, errors.New("Config.Org is empty: set it to your organization id (AMIGO_ORGANIZATION_ID)")
	}
	if err := CheckOrganization(cfg.Org); err != nil {
		return nil, fmt.Errorf("Config.Org %q %v: set it to the bare organization id", cfg.Org, err)
	}
	for _, f := range []struct{ name, value string }{{"APIKey", cfg.APIKey}, {"APIKeyID", cfg.APIKeyID}, {"UserID", cfg.UserID}, {"Token", cfg.Token}, {"OrgHeader", cfg.OrgHeader}} {
		if what := Unsendable(f.value); what != "" {
			// Go's HTTP client would refuse to send it, on every retry.
			return nil, fmt.Errorf("the value of Config.%s holds %s, which no HTTP header can carry: remove it (a trailing newline is the usual cause); the value is never shown", f.name, what)
		}
	}
	keySet := cfg.APIKey != "" || cfg.APIKeyID != "" || cfg.UserID != ""
	switch {
	case cfg.Token != "" && keySet:
		return nil, errors.New("both Config.Token and API key fields are set: use either a static Token or APIKey+APIKeyID+UserID")
	case cfg.Token == "" && !keySet:
		return nil, errors.New("no credentials: set Config.APIKey, Config.APIKeyID and Config.UserID (AMIGO_API_KEY, AMIGO_API_KEY_ID, AMIGO_USER_ID) or Config.Token")
	case keySet:
		var missing []string
		if cfg.APIKey == "" {
			missing = append(missing, "Config.APIKey (AMIGO_API_KEY)")
		}
		if cfg.APIKeyID == "" {
			missing = append(missing, "Config.APIKeyID (AMIGO_API_KEY_ID)")
		}
		if cfg.UserID == "" {
			missing = append(missing, "Config.UserID (AMIGO_USER_ID)")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("API key sign-in needs all three of APIKey, APIKeyID and UserID: set %s", strings.Join(missing, " and "))
		}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("Config.Timeout is %s: use a positive duration, or 0 for the default %s", cfg.Timeout, DefaultTimeout)
	}
	if cfg.PublishTimeout < 0 {
		return nil, fmt.Errorf("Config.PublishTimeout is %s: use a positive duration, or 0 for the default %s", cfg.PublishTimeout, DefaultPublishTimeout)
	}
	r := cfg.Retry
	if r.MaxElapsed < 0 || r.InitialInterval < 0 || r.MaxInterval < 0 {
		return nil, errors.New("Config.Retry has a negative duration: use positive durations, or 0 for the defaults")
	}
	if r.MaxElapsed == 0 {
		r.MaxElapsed = DefaultRetryMaxElapsed
	}
	if r.InitialInterval == 0 {
		r.InitialInterval = DefaultRetryInitial
	}
	if r.MaxInterval == 0 {
		r.MaxInterval = DefaultRetryMax
	}
	if r.MaxInterval < r.InitialInterval {
		return nil, fmt.Errorf("Config.Retry.MaxInterval %s is below InitialInterval %s: raise MaxInterval", r.MaxInterval, r.InitialInterval)
	}

	bu, _ := url.Parse(base)
	c := &Client{
		base:      base,
		basePath:  bu.EscapedPath(),
		org:       cfg.Org,
		http:      cfg.HTTPClient,
		clk:       cfg.Clock,
		timeout:   cfg.Timeout,
		pubTO:     cfg.PublishTimeout,
		userAgent: cfg.UserAgent,
		orgHeader: cfg.OrgHeader,
		retry:     r,
		onEvent:   cfg.OnEvent,
		sources:   cfg.Sources,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.clk == nil {
		c.clk = clock.Real{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.pubTO == 0 {
		c.pubTO = DefaultPublishTimeout
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if cfg.Token != "" {
		sum := sha256.Sum256([]byte(cfg.Token))
		c.identity = "token:" + hex.EncodeToString(sum[:6])
	} else {
		c.identity = "user:" + cfg.UserID
	}
	c.auth = &auth{
		static:   cfg.Token,
		apiKey:   cfg.APIKey,
		apiKeyID: cfg.APIKeyID,
		userID:   cfg.UserID,
	}
	switch {
	case cfg.NoPacing:
		if cfg.Pacer != nil {
			return nil, errors.New("Config.NoPacing and Config.Pacer are both set: drop one")
		}
	case cfg.Pacer != nil:
		if cfg.Limits != nil || cfg.PaceMargin != 0 {
			return nil, errors.New("Config.Limits or Config.PaceMargin set together with a shared Config.Pacer: set them in PacerConfig when calling NewPacer")
		}
		c.pacer = cfg.Pacer
	default:
		p, err := NewPacer(PacerConfig{Clock: c.clk, Limits: cfg.Limits, Margin: cfg.PaceMargin})
		if err != nil {
			return nil, fmt.Errorf("Config.Limits/PaceMargin: %w", err)
		}
		c.pacer = p
	}
	return c, nil
}

func resolveBase(baseURL, region string) (string, error) {
	names := make([]string, len(Regions))
	for i, r := range Regions {
		names[i] = r.Name
	}
	switch {
	case baseURL != "" && region != "":
		return "", fmt.Errorf("both Config.BaseURL (%s) and Config.Region (%s) are set: set only one", baseURL, region)
	case baseURL == "" && region == "":
		return "", fmt.Errorf("no server: set Config.BaseURL (AMIGO_BASE_URL) or Config.Region (one of %s)", strings.Join(names, ", "))
	case region != "":
		u, ok := RegionURL(region)
		if !ok {
			return "", fmt.Errorf("Config.Region %q is unknown: use one of %s, or set Config.BaseURL", region, strings.Join(names, ", "))
		}
		return u, nil
	}
	u, err := url.Parse(baseURL)
	if err == nil && u.User != nil {
		return "", errors.New("Config.BaseURL contains user info: put credentials in APIKey/APIKeyID/UserID or Token instead")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("Config.BaseURL %q is not an http(s) URL: use e.g. https://api.amigo.ai", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("Config.BaseURL %q has a query or fragment: drop everything after the path", baseURL)
	}
	return strings.TrimRight(strings.ToLower(u.Scheme+"://"+u.Host)+u.EscapedPath(), "/"), nil
}

// BaseURL returns the server the Client talks to.
func (c *Client) BaseURL() string { return c.base }

// Org returns the organization of the Client.
func (c *Client) Org() string { return c.org }

// Pacer returns the Pacer in use, or nil when pacing is off.
func (c *Client) Pacer() *Pacer { return c.pacer }

// retryClass says what a failed request may be retried on.
type retryClass int

const (
	// mutating: POSTs and deletes that are not exact: retried only on 429
	// and on connection failures before the request was sent.
	mutating retryClass = iota
	// idempotent: GETs, exact deletes, sign-in: also retried on 503, other
	// 5xx and network errors.
	idempotent
)

// request describes one API call.
type request struct {
	op     Op
	method string
	path   string // escaped, after /v1/{org}
	query  url.Values
	body   any // JSON-encoded when non-nil
	out    any // JSON-decoded from a 2xx body when non-nil
	sink   io.Writer
	class  retryClass
	long   bool // use PublishTimeout
	noAuth bool // sign-in itself
	header http.Header
}

// fullPath is the request path without host: /prefix/v1/{org}/...
func (c *Client) fullPath(r *request) string {
	return c.basePath + "/v1/" + url.PathEscape(c.org) + r.path
}

func (c *Client) emit(e ClientEvent) {
	if c.onEvent != nil {
		c.onEvent(e)
	}
}

// do runs a call: pacing, auth, the request, retries, error mapping.
func (c *Client) do(ctx context.Context, r *request) error {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("%s: encoding request: %w", r.op, err)
		}
	}
	path := c.fullPath(r)
	target := c.base + "/v1/" + url.PathEscape(c.org) + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}

	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.retry.InitialInterval),
		backoff.WithMaxInterval(c.retry.MaxInterval),
		backoff.WithMaxElapsedTime(c.retry.MaxElapsed),
		backoff.WithClockProvider(c.clk),
	)
	reauthed := false
	// turn is this attempt's admission by the pacer. After a connection
	// that never opened, the server did not see the request and the turn
	// is still ours to use.
	var turn *Turn
	if t := turnFrom(ctx); t != nil && t.p != nil {
		if t.p == c.pacer && t.key == (paceKey{c.base, c.identity, r.op}) {
			if t.claim() {
				turn = t // taken by the caller (TakeTurn) for this call
			}
		} else if t.claim() {
			t.unsent() // another operation or client: not this call's
		}
	}
	defer func() { turn.unsent() }() // not sent after all (nil once it went out)
	unsent := false
	for attempt := 1; ; attempt++ {
		// Sign in first, then pace: the slot is taken right before the
		// request leaves, so a slow sign-in cannot bunch requests up.
		token := ""
		if !r.noAuth {
			var err error
			if token, err = c.bearer(ctx); err != nil {
				return err
			}
		}
		if c.pacer != nil && !unsent && (turn == nil || attempt > 1) {
			start := c.clk.Now()
			t, err := c.pacer.Acquire(ctx, c.base, c.identity, r.op)
			if err != nil {
				return fmt.Errorf("%s %s %s: waiting for the rate limit: %w", r.op, r.method, path, err)
			}
			turn = t
			if waited := c.clk.Now().Sub(start); waited > 0 {
				c.emit(ClientEvent{Kind: EventPaceWait, Op: r.op, Method: r.method, Path: path, Attempt: attempt, Wait: waited})
			}
		}
		if err := ctx.Err(); err != nil { // nothing has left yet
			return fmt.Errorf("%s %s %s: %w", r.op, r.method, path, err)
		}
		resp, err := c.send(ctx, r, target, body, token, turn)
		unsent = false
		if err != nil {
			err = stripURL(err)
			unsent = !maybeSent(err)
			if !unsent {
				turn = nil // it may have arrived: it counts
			}
			switch {
			case r.class == mutating && !unsent:
				uerr := &UnknownOutcomeError{Op: r.op, Method: r.method, Path: path, Err: err}
				c.emit(ClientEvent{Kind: EventUnknownOutcome, Op: r.op, Method: r.method, Path: path, Attempt: attempt, Err: uerr})
				return uerr
			case ctx.Err() != nil || c.retry.Disable:
				return fmt.Errorf("%s %s %s: %w", r.op, r.method, path, err)
			case unsent && !c.answered.Load() && attempt >= FirstContactAttempts:
				return &UnreachableError{Op: r.op, Method: r.method, Path: path, Base: c.base, Attempts: attempt, Err: err}
			}
			// An idempotent request, or one whose connection never opened.
			wait := b.NextBackOff()
			if wait == backoff.Stop {
				return fmt.Errorf("%s %s %s: giving up after %d attempts: %w", r.op, r.method, path, attempt, err)
			}
			c.emit(ClientEvent{Kind: EventRetry, Op: r.op, Method: r.method, Path: path, Attempt: attempt, Wait: wait, Err: err})
			if err := c.clk.Sleep(ctx, wait); err != nil {
				return fmt.Errorf("%s %s %s: %w", r.op, r.method, path, err)
			}
			continue
		}
		c.answered.Store(true)
		sent := turn
		turn = nil // it arrived: it counts, unless refused below

		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return c.finish(r, resp, path)
		}
		apiErr := c.apiError(r, resp, path)

		if apiErr.StatusCode == http.StatusUnauthorized && !r.noAuth && c.auth.canSignIn() && !reauthed {
			reauthed = true
			c.auth.invalidate(token)
			c.emit(ClientEvent{Kind: EventReauth, Op: r.op, Method: r.method, Path: path, Attempt: attempt, StatusCode: 401})
			continue
		}
		retryable := apiErr.StatusCode == http.StatusTooManyRequests ||
			(r.class == idempotent && apiErr.StatusCode >= 500)
		if apiErr.StatusCode == http.StatusTooManyRequests {
			c.emit(ClientEvent{Kind: EventRateLimited, Op: r.op, Method: r.method, Path: path, Attempt: attempt, StatusCode: 429, Wait: apiErr.RetryAfter, Err: apiErr})
			if apiErr.RetryAfter > 0 {
				// Whether or not this call retries, the server said when
				// the endpoint takes requests again.
				sent.Refused(apiErr.RetryAfter)
			}
		}
		if !retryable || c.retry.Disable {
			return apiErr
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return apiErr
		}
		if apiErr.RetryAfter > 0 {
			if apiErr.StatusCode == http.StatusTooManyRequests || apiErr.RetryAfter > wait {
				wait = apiErr.RetryAfter
			}
			if b.GetElapsedTime()+wait > c.retry.MaxElapsed {
				return apiErr
			}
		}
		if apiErr.StatusCode == http.StatusTooManyRequests {
			// Not counted by the server; nothing of this endpoint goes out
			// before the wait is over, and the retry goes out right then.
			sent.Refused(wait)
		}
		c.emit(ClientEvent{Kind: EventRetry, Op: r.op, Method: r.method, Path: path, Attempt: attempt, StatusCode: apiErr.StatusCode, Wait: wait, Err: apiErr})
		if err := c.clk.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (stopped retrying: %v)", apiErr, err)
		}
	}
}

// send performs one HTTP exchange. On success the caller owns resp.Body,
// which stays readable until the per-request timeout (the cancel runs on
// Close).
func (c *Client) send(ctx context.Context, r *request, target string, body []byte, token string, turn *Turn) (*http.Response, error) {
	to := c.timeout
	if r.long {
		to = c.pubTO
	}
	actx, cancel := context.WithTimeout(ctx, to)
	if turn != nil {
		// The pacer counts the request from when it left, which is later
		// than its turn when a connection had to be opened first.
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { turn.Sent(c.clk.Now()) }})
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, target, rd)
	if err != nil {
		cancel()
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.sink == nil {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		if c.orgHeader != "" {
			req.Header.Set("X-ORG-ID", c.orgHeader)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		if ctx.Err() == nil && actx.Err() != nil {
			return nil, fmt.Errorf("no answer within %s: %w", to, err)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// finish decodes a 2xx answer.
func (c *Client) finish(r *request, resp *http.Response, path string) error {
	defer resp.Body.Close()
	switch {
	case r.sink != nil:
		if _, err := io.Copy(r.sink, resp.Body); err != nil {
			return fmt.Errorf("%s %s %s: reading the download: %w", r.op, r.method, path, stripURL(err))
		}
		return nil
	case r.out != nil:
		data, err := bounds.ReadAll(resp.Body, bounds.MaxResponseSize, "the answer")
		if err != nil {
			// A mutating call whose answer broke off may have happened.
			if r.class == mutating {
				return &UnknownOutcomeError{Op: r.op, Method: r.method, Path: path, Err: stripURL(err)}
			}
			return fmt.Errorf("%s %s %s: reading the answer: %w", r.op, r.method, path, stripURL(err))
		}
		if err := json.Unmarshal(data, r.out); err != nil {
			if r.class == mutating {
				// The server says it did the work but its answer is
				// unreadable: the caller must look at the state.
				return &UnknownOutcomeError{Op: r.op, Method: r.method, Path: path,
					Err: fmt.Errorf("%d answer is not the documented JSON: %w", resp.StatusCode, err)}
			}
			return fmt.Errorf("%s %s %s: %d answer is not the documented JSON: %w (body: %s)", r.op, r.method, path, resp.StatusCode, err, words.Clip(oneLine(string(data)), maxBodyInError))
		}
		return nil
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
}

// apiError reads a non-2xx answer into an *APIError.
func (c *Client) apiError(r *request, resp *http.Response, path string) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	e := &APIError{
		Op:         r.op,
		Method:     r.method,
		Path:       path,
		StatusCode: resp.StatusCode,
		Message:    errorMessage(data),
		Body:       words.Clip(strings.TrimSpace(string(data)), maxBodyInError),
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.clk.Now()); ok {
		e.RetryAfter = d
	}
	e.Hint = c.hint(r, e)
	return e
}

// hint says what the user can do about an error.
func (c *Client) hint(r *request, e *APIError) string {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		if c.auth.static != "" {
			return fmt.Sprintf("the bearer token was rejected by %s for org %s: it may have expired; issue a new one or sign in with an API key", c.base, c.org)
		}
		if c.sources.Credentials != "" {
			return fmt.Sprintf("check %s for org %s on %s", c.sources.Credentials, c.org, c.base)
		}
		return fmt.Sprintf("check the API key, its key id and the user id for org %s on %s", c.org, c.base)
	case http.StatusForbidden:
		return fmt.Sprintf("the user lacks the permission for %s in org %s; ask an org admin to grant it", r.op, c.org)
	case http.StatusNotFound:
		if r.op == OpSignIn {
			org, user := "the organization id", "the user id"
			if c.sources.Org != "" {
				org = c.sources.Org
			}
			if c.sources.Credentials != "" {
				user = "the user id (" + c.sources.Credentials + ")"
			}
			return fmt.Sprintf("org %s or user was not found on %s: check %s, %s and that this is the org's server (region)", c.org, c.base, org, user)
		}
		return fmt.Sprintf("not found in org %s on %s: check the org, the region and the id", c.org, c.base)
	case http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
		}
		return "rate limited: retry later"
	case http.StatusServiceUnavailable:
		return "the service is in temporary maintenance: retry later"
	case http.StatusUnprocessableEntity:
		return "the server rejected the request's fields"
	case http.StatusConflict:
		switch r.op {
		case OpCreateTool:
			return "a non-deprecated tool with this name already exists"
		case OpPublishVersion, OpDeprecateTool:
			return "another operation on this tool is in progress: retry when it has finished"
		case OpModifyEnvvars:
			return "an inserted envvar already exists: update it instead"
		}
	}
	return ""
}

// maybeSent reports whether a transport error may have happened after the
// request reached the server. Only failures to connect are known not to:
// to the server, or to the proxy in between (HTTPS_PROXY).
func maybeSent(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*net.OpError); ok && (op.Op == "dial" || op.Op == "proxyconnect") {
			return false
		}
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}

// Unsendable says what in a header value (a credential) keeps Go's HTTP
// client from ever sending it: "a line break" or "a control character"; ""
// when nothing does. Callers name the setting, never the value.
func Unsendable(v string) string {
	for _, r := range v {
		switch {
		case r == '\n' || r == '\r':
			return "a line break"
		case r < 0x20 && r != '\t' || r == 0x7f:
			return "a control character"
		}
	}
	return ""
}

// stripURL drops the *url.Error wrapper (whose text repeats the URL, query
// included) and keeps the cause.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
