package amigotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// Operation IDs, exactly as the OpenAPI file names them. Fault injection,
// rate limits and the request log are keyed by these.
const (
	OpGetScaffold       = "get-tool-scaffold-release"
	OpListTools         = "get-tools"
	OpCreateTool        = "create-tool"
	OpModifyTool        = "modify-tool"
	OpDeprecateTool     = "deprecate-tool"
	OpModifyEnvvars     = "modify-tool-envvars"
	OpTestTool          = "test-tool"
	OpPublishVersion    = "publish-tool-version"
	OpListVersions      = "get-tool-versions"
	OpDeprecateVersions = "deprecate-tool-version"
	OpInvokeVersion     = "invoke-tool-version"
	OpListInvocations   = "get-tool-invocations"
	OpSearchInvocations = "search-tool-invocations"
	OpSignIn            = "sign-in-with-api-key"
)

// Operations lists every operation ID the emulator serves.
var Operations = []string{
	OpGetScaffold, OpListTools, OpCreateTool, OpModifyTool, OpDeprecateTool,
	OpModifyEnvvars, OpTestTool, OpPublishVersion, OpListVersions,
	OpDeprecateVersions, OpInvokeVersion, OpListInvocations,
	OpSearchInvocations, OpSignIn,
}

// DefaultRateLimits are the documented per-user, per-endpoint limits in
// requests per minute.
var DefaultRateLimits = map[string]int{
	OpGetScaffold:       50,
	OpListTools:         50,
	OpCreateTool:        20,
	OpModifyTool:        20,
	OpDeprecateTool:     20,
	OpModifyEnvvars:     20,
	OpTestTool:          1,
	OpPublishVersion:    10,
	OpListVersions:      50,
	OpDeprecateVersions: 20,
	OpInvokeVersion:     10,
	OpListInvocations:   50,
	OpSearchInvocations: 50,
	OpSignIn:            5,
}

// conflictOps are the operations whose documented responses include 409.
var conflictOps = map[string]bool{
	OpCreateTool: true, OpDeprecateTool: true, OpModifyEnvvars: true, OpPublishVersion: true,
}

// mutatingOps change server state (tools, envvars, versions) or run a
// published tool.
var mutatingOps = map[string]bool{
	OpCreateTool: true, OpModifyTool: true, OpDeprecateTool: true, OpModifyEnvvars: true,
	OpPublishVersion: true, OpDeprecateVersions: true, OpInvokeVersion: true,
}

// Latency is a simulated duration drawn per call. The zero value means "use
// the default" of the option it sets; use Fixed(0) for no latency.
type Latency struct {
	// Min and Max bound a uniform draw (Max <= Min means exactly Min).
	Min, Max time.Duration
	// Func, when set, replaces the uniform draw.
	Func func(r *rand.Rand) time.Duration
	set  bool
}

// Fixed is a latency of exactly d simulated time.
func Fixed(d time.Duration) Latency { return Latency{Min: d, Max: d, set: true} }

// Uniform is a latency drawn uniformly from [min, max] simulated time.
func Uniform(min, max time.Duration) Latency { return Latency{Min: min, Max: max, set: true} }

func (l Latency) isZero() bool { return !l.set && l.Func == nil && l.Min == 0 && l.Max == 0 }

func (l Latency) draw(r *rand.Rand) time.Duration {
	if l.Func != nil {
		return l.Func(r)
	}
	if l.Max <= l.Min {
		return l.Min
	}
	return l.Min + time.Duration(r.Int63n(int64(l.Max-l.Min)+1))
}

// drawLatency draws one duration of l from the server's random source,
// which the server mutex guards (l.Func is the caller's code and may panic).
func (s *Server) drawLatency(l Latency) time.Duration {
	var d time.Duration
	s.locked(func() { d = l.draw(s.rng) })
	return d
}

// CapRule is a reading of the documented refusal of a publish when "more
// than 3 active versions of the tool exist" (3 being Options.ActiveCap).
type CapRule string

const (
	// CapLiteral refuses a publish when MORE than ActiveCap versions are
	// active before it, the contract's words: a publish may bring a tool to
	// ActiveCap+1 active versions, and the next one is refused.
	CapLiteral CapRule = "literal"
	// CapStrict refuses a publish when the new version would make more than
	// ActiveCap active (ActiveCap or more are active before it): a tool
	// never has more than ActiveCap.
	CapStrict CapRule = "strict"
)

// refuses reports whether a publish is refused with active versions active
// under a cap of limit.
func (r CapRule) refuses(active, limit int) bool {
	if r == CapStrict {
		return active >= limit
	}
	return active > limit
}

// RateLimiter is a way of counting a per-minute limit (Options.RateLimiter).
type RateLimiter string

// The two limiters: "N requests per minute" as a token bucket (burst N,
// refilled continuously at N a minute) or as fixed one-minute windows (N in
// each minute of the clock; the count starts again at the minute).
const (
	LimiterBucket RateLimiter = "bucket"
	LimiterWindow RateLimiter = "window"
)

// APIKey is one accepted sign-in credential triple.
type APIKey struct {
	Key, KeyID, UserID string
}

// Options configure a Server. The zero value is a working server on real
// time with no tools repository.
type Options struct {
	// Clock is the time source (default clock.Real{}). Publish and test
	// latency, token expiry, rate-limit refill and created_at use it.
	Clock clock.Clock
	// RepoPath is a local git repository (worktree or bare) whose Branch
	// tip publish builds and whose branches test-tool reads.
	RepoPath string
	// Branch is the team branch that publish builds (default "main").
	Branch string
	// PublishLatency is how long a publish takes (default uniform 1–5
	// simulated minutes).
	PublishLatency Latency
	// TestLatency is how long a test-tool call takes (default uniform 5–20
	// simulated seconds).
	TestLatency Latency
	// ActiveCap is the documented cap on active (non-deprecated) versions
	// (default 3); CapRule says how a publish is judged against it.
	ActiveCap int
	// CapRule is the reading of "more than 3 active versions of the tool
	// exist" that refuses a publish (400): CapLiteral (the default) or
	// CapStrict.
	CapRule CapRule
	// Lax validates request bodies in pydantic's default lax mode instead
	// of strict mode: a boolean field (the only kind in the contract's
	// bodies where the modes differ) then also takes "true"/"false",
	// "yes"/"no", "on"/"off", "t"/"f", "y"/"n" in any case, "1"/"0", the
	// numbers 1 and 0. Strict (the default) takes only true and false; the
	// real server's mode depends on its models, which the contract does not
	// show. The client always sends JSON booleans.
	Lax bool
	// RateLimits overrides per-operation limits in requests per minute;
	// operations not named keep DefaultRateLimits. A value <= 0 disables
	// the limit of that operation.
	RateLimits map[string]int
	// DisableRateLimits turns all rate limiting off.
	DisableRateLimits bool
	// RateLimiter says how a limit of N requests a minute is counted:
	// LimiterBucket (the default), a token bucket of burst N refilled N a
	// minute, or LimiterWindow, fixed one-minute windows aligned to the
	// clock's minutes, each admitting N. The contract says only "N requests
	// per minute"; both readings admit a burst of N, they differ in when
	// the next request is admitted. A client must keep to both.
	RateLimiter RateLimiter
	// APIKeys, when non-empty, are the only accepted sign-in triples (else
	// 401). When empty, any triple of non-empty headers is accepted.
	APIKeys []APIKey
	// StaticTokens are bearer tokens accepted without sign-in and without
	// expiry, mapped to the user ID they stand for (valid in every org).
	StaticTokens map[string]string
	// TokenTTL is the lifetime of issued id_tokens (default 1h).
	TokenTTL time.Duration
	// Orgs, when non-empty, are the only known organizations (others 404).
	Orgs []string
	// Seed seeds all randomness (IDs, tokens, latency draws); 0 means 1.
	Seed int64
	// EnvvarTombstone is how long a deleted envvar name cannot be
	// re-inserted (409, as documented; default 1 simulated minute; negative
	// disables).
	EnvvarTombstone time.Duration
	// ReadOnlyUsers get 403 "Missing required permissions." on every
	// operation that needs a write permission (create/modify/deprecate tool,
	// envvars, test, publish, deprecate versions, invoke).
	ReadOnlyUsers []string
	// Logf, when set, receives one line per request (method, path,
	// operation, status, user, fault; never headers or bodies, so no
	// secrets). The emulator CLI points it at its log.
	Logf func(format string, args ...any)
}

// LoggedRequest is one entry of the request log.
type LoggedRequest struct {
	Method      string
	Path        string
	OperationID string // "" for unknown routes
	Org         string
	User        string // "" when not authenticated
	Status      int    // status computed by the server (also when dropped)
	Time        time.Time
	Fault       string // injected fault kind, "" if none
}

// Mutating reports whether the request was an operation that changes state
// (create/modify/deprecate tool, envvars, publish, deprecate versions) or
// runs a published tool (invoke). Sign-in, test-tool and reads are not.
func (r LoggedRequest) Mutating() bool { return mutatingOps[r.OperationID] }

// Server is one emulated region. It is safe for concurrent use.
type Server struct {
	opts  Options
	clk   clock.Clock
	ctx   context.Context // lives until Close; long work runs on it
	stop  context.CancelFunc
	mu    sync.Mutex
	rng   *rand.Rand
	idSeq uint32
	orgs  map[string]*orgState
	known map[string]bool
	keys  []APIKey
	toks  map[string]token
	rates map[string]*bucket
	log   []LoggedRequest
	// serving counts the requests received and not yet answered (Serving).
	serving int
	flt     faults
	srv     *httptest.Server
	repo    *repoReader
	// ops and paths route requests (route.go).
	ops, paths *http.ServeMux
}

type token struct {
	user, org string
	expires   time.Time
}

// New returns a Server with opts applied.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.PublishLatency.isZero() {
		opts.PublishLatency = Uniform(time.Minute, 5*time.Minute)
	}
	if opts.TestLatency.isZero() {
		opts.TestLatency = Uniform(5*time.Second, 20*time.Second)
	}
	if opts.ActiveCap <= 0 {
		opts.ActiveCap = 3
	}
	switch opts.CapRule {
	case "":
		opts.CapRule = CapLiteral
	case CapLiteral, CapStrict:
	default:
		panic(fmt.Sprintf("amigotest.New: unknown CapRule %q (use CapLiteral or CapStrict)", opts.CapRule))
	}
	switch opts.RateLimiter {
	case "":
		opts.RateLimiter = LimiterBucket
	case LimiterBucket, LimiterWindow:
	default:
		panic(fmt.Sprintf("amigotest.New: unknown RateLimiter %q (use LimiterBucket or LimiterWindow)", opts.RateLimiter))
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.EnvvarTombstone == 0 {
		opts.EnvvarTombstone = time.Minute
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		opts:  opts,
		clk:   opts.Clock,
		ctx:   ctx,
		stop:  stop,
		rng:   rand.New(rand.NewSource(opts.Seed)),
		orgs:  map[string]*orgState{},
		keys:  append([]APIKey(nil), opts.APIKeys...),
		toks:  map[string]token{},
		rates: map[string]*bucket{},
	}
	if len(opts.Orgs) > 0 {
		s.known = map[string]bool{}
		for _, o := range opts.Orgs {
			s.known[o] = true
		}
	}
	for tok, user := range opts.StaticTokens {
		s.toks[tok] = token{user: user}
	}
	if opts.RepoPath != "" {
		s.repo = &repoReader{path: opts.RepoPath}
	}
	s.flt.init()
	s.ops, s.paths = s.newMuxes()
	return s
}

// NewTestServer starts s on an httptest server closed by t.Cleanup.
func NewTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// RefusedAddr returns a local host:port where nothing listens, so that a
// connection to it is refused: a region that is down, for a test. (The
// port was free when it returned; a test that starts servers afterwards
// may see one of them take it.)
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// NewRegions returns one Server per region name (for example "us",
// "eu-central-1"), each with its own state. Region servers differ in their
// seed so that their IDs differ. Serve each with ListenAndServe or mount
// its Handler.
func NewRegions(opts Options, names ...string) map[string]*Server {
	out := make(map[string]*Server, len(names))
	for i, n := range names {
		out[n] = New(regionOptions(opts, i))
	}
	return out
}

func regionOptions(opts Options, i int) Options {
	base := opts.Seed
	if base == 0 {
		base = 1
	}
	opts.Seed = base + int64(i)*7919
	return opts
}

// NewTestRegions starts one test server per region name (for example "us",
// "eu-central-1"), each with its own state, all with opts. Region servers
// differ in their seed so that their IDs differ.
func NewTestRegions(t testing.TB, opts Options, names ...string) map[string]*Server {
	t.Helper()
	out := make(map[string]*Server, len(names))
	for i, n := range names {
		out[n] = NewTestServer(t, regionOptions(opts, i))
	}
	return out
}

// URL is the base URL of a server started by NewTestServer ("" otherwise).
// API paths start with /v1/{organization}/.
func (s *Server) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// Close cancels running publishes (they answer 503) and then stops the
// test server (if any). The order matters: httptest's Close waits for every
// running request, and a publish sleeping its latency on the server's
// context would otherwise hold Close for that whole latency (forever on a
// clock that does not advance by itself).
func (s *Server) Close() {
	s.stop()
	if s.srv != nil {
		s.srv.Close()
	}
}

// locked runs f with the server mutex held and releases it however f ends,
// a panic included: net/http recovers handler panics, so a mutex left held
// would block every later request.
func (s *Server) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

// ListenAndServe serves the API on addr until ctx is done, then shuts down
// gracefully (waiting up to 5 seconds for running requests).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the API on ln until ctx is done (see ListenAndServe).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.stop()
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shut)
	s.stop()
	<-errc
	return err
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoggedRequest(nil), s.log...)
}

// ResetRequests clears the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// IssueToken returns a fresh id_token for user in org, as sign-in would,
// without counting against any rate limit.
func (s *Server) IssueToken(org, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.issueLocked(org, user)
	return tok
}

func (s *Server) issueLocked(org, user string) (string, time.Time) {
	b := make([]byte, 20)
	s.rng.Read(b)
	tok := fmt.Sprintf("emu.%x", b)
	exp := s.clk.Now().Add(s.opts.TokenTTL).UTC().Truncate(time.Millisecond)
	s.toks[tok] = token{user: user, org: org, expires: exp}
	return tok, exp
}

// ---- request handling ----

// reply is a response computed by a handler, written (or dropped) by ServeHTTP.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"detail": "emulator: encoding response: " + err.Error()})
		status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return reply{status: status, header: h, body: b}
}

func detailReply(status int, format string, args ...any) reply {
	return jsonReply(status, map[string]string{"detail": fmt.Sprintf(format, args...)})
}

func emptyReply(status int) reply { return reply{status: status, header: http.Header{}} }

// call is the context of one request.
type call struct {
	r      *http.Request
	op     string
	org    string
	params map[string]string // path parameters, unescaped
	user   string
	// The body, read and parsed once by parseBody (before authentication).
	parsed bool
	body   []byte
	value  any // the parsed JSON body (numbers as json.Number), or nil
}

// ServeHTTP routes r (route.go) and answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.route(w, r) {
		s.respond(w, &call{r: r, org: orgOf(r.URL.EscapedPath())}, nil, s.unrouted(r))
	}
}

// respond runs the operation op for c, or, when op is nil, answers with
// the framework's reply fw (which no fault, authentication or rate limit
// precedes); then it logs the request and writes the reply.
func (s *Server) respond(w http.ResponseWriter, c *call, op func(*call) reply, fw reply) {
	r := c.r
	entry := LoggedRequest{Method: r.Method, Path: r.URL.Path, OperationID: c.op, Org: c.org, Time: s.clk.Now()}
	rep, drop := fw, false
	if op != nil {
		s.locked(func() { s.serving++ })
		func() {
			defer s.locked(func() { s.serving-- }) // a handler that panics is answered too
			rep, drop = s.serve(c, op, &entry)
		}()
	}
	entry.User = c.user
	entry.Status = rep.status
	s.locked(func() { s.log = append(s.log, entry) })
	if s.opts.Logf != nil {
		op := entry.OperationID
		if op == "" {
			op = "-"
		}
		user := entry.User
		if user == "" {
			user = "-"
		}
		fault := ""
		if entry.Fault != "" {
			fault = " fault=" + entry.Fault
		}
		s.opts.Logf("%s %s %s -> %d user=%s%s", entry.Method, entry.Path, op, entry.Status, user, fault)
	}
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		// Cannot hijack (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rep.status)
	if len(rep.body) > 0 && r.Method != http.MethodHead {
		w.Write(rep.body)
	}
}

func (s *Server) serve(c *call, route func(*call) reply, entry *LoggedRequest) (reply, bool) {
	if s.flt.maintenanceOn() {
		entry.Fault = "maintenance"
		s.flt.count("maintenance")
		return detailReply(http.StatusServiceUnavailable, "The service is going through temporary maintenance."), false
	}
	pre := s.flt.before(c.op)
	if pre.latency > 0 {
		entry.Fault = "latency"
		if err := s.clk.Sleep(c.r.Context(), pre.latency); err != nil {
			return detailReply(http.StatusServiceUnavailable, "request cancelled"), false
		}
	}
	if pre.fail != nil {
		entry.Fault = pre.fail.kind
		return pre.fail.reply, false
	}
	if s.known != nil && !s.known[c.org] {
		return detailReply(http.StatusNotFound, "Organization %s is not found.", c.org), false
	}
	if bad := parseBody(c); bad != nil {
		return *bad, false
	}
	if c.op != OpSignIn {
		if rep, ok := s.authenticate(c); !ok {
			return rep, false
		}
		if (mutatingOps[c.op] || c.op == OpTestTool) && slices.Contains(s.opts.ReadOnlyUsers, c.user) {
			return detailReply(http.StatusForbidden, "Missing required permissions: user %s may not call %s.", c.user, c.op), false
		}
		if rep, ok := s.limit(c.user, c.op); !ok {
			return rep, false
		}
	}
	rep := route(c)
	if pre.drop {
		if entry.Fault == "" {
			entry.Fault = "drop"
		} else {
			entry.Fault += "+drop"
		}
	}
	return rep, pre.drop
}

// authenticate checks the credentials of c: "Authorization: Bearer
// <id_token>", or "Authorization: Basic base64({org_id}_{user_id}:<id_token>)"
// as the contract's Basic scheme describes, where org_id and user_id must be
// those the token was issued to. A token is valid in the organization it was
// issued for; with "X-ORG-ID: <that organization>" it is also valid for
// requests into another organization (the contract's
// Bearer-Authorization-Organization scheme). Static tokens are valid in
// every organization.
func (s *Server) authenticate(c *call) (reply, bool) {
	const prefix = "Invalid authorization credentials: "
	deny := func(format string, args ...any) (reply, bool) {
		return detailReply(http.StatusUnauthorized, prefix+format, args...), false
	}
	scheme, cred, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	var tok, basicUser string
	basic := false
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		tok = cred
	case strings.EqualFold(scheme, "Basic") && cred != "":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return deny("Basic credentials are not base64.")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" || pass == "" {
			return deny("Basic credentials must be {org_id}_{user_id}:{token}.")
		}
		tok, basicUser, basic = pass, user, true
	default:
		return deny("missing bearer token (or Basic credentials).")
	}
	var t token
	var found bool
	var now time.Time
	s.locked(func() {
		t, found = s.toks[tok]
		now = s.clk.Now()
	})
	xorg, hasXOrg := c.r.Header[http.CanonicalHeaderKey("X-ORG-ID")]
	issuer := t.org // the organization the token was issued for
	switch {
	case issuer != "":
	case hasXOrg && len(xorg) == 1: // a static token: the organization it names
		issuer = xorg[0]
	default:
		issuer = c.org
	}
	switch {
	case !found:
		return deny("unknown token.")
	case hasXOrg && (len(xorg) != 1 || (t.org != "" && xorg[0] != t.org)):
		return deny("X-ORG-ID does not name the organization the token was issued for.")
	case !hasXOrg && t.org != "" && t.org != c.org:
		return deny("token was issued for another organization (send X-ORG-ID: <that organization> to use it here).")
	case !t.expires.IsZero() && !now.Before(t.expires):
		return deny("token expired.")
	case basic && basicUser != issuer+"_"+t.user:
		return deny("the Basic username must be {org_id}_{user_id} of the token's organization and user.")
	}
	c.user = t.user
	return reply{}, true
}

// ---- rate limiting ----

// bucket is the state of one (user, operation) limit: a token bucket
// (burst n, refilled n per simulated minute) or, with LimiterWindow, the
// count of requests admitted in the current clock minute.
type bucket struct {
	tokens float64
	last   time.Time
	window time.Time // LimiterWindow: the start of the minute counted
	used   int       // LimiterWindow: requests admitted in it
}

func (s *Server) rateFor(op string) int {
	if s.opts.DisableRateLimits {
		return 0
	}
	if n, ok := s.opts.RateLimits[op]; ok {
		return n
	}
	return DefaultRateLimits[op]
}

// limit counts a request at arrival against (user, op) and refuses it with
// 429 and Retry-After (whole simulated seconds, rounded up) when the limit
// is used up: the bucket is empty, or (LimiterWindow) the current minute
// has admitted n already. A refused request is not counted.
func (s *Server) limit(user, op string) (reply, bool) {
	n := s.rateFor(op)
	if n <= 0 {
		return reply{}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	key := user + "\x00" + op
	b := s.rates[key]
	if b == nil {
		b = &bucket{tokens: float64(n), last: now}
		s.rates[key] = b
	}
	var wait float64 // seconds until the next request is admitted
	if s.opts.RateLimiter == LimiterWindow {
		if w := now.Truncate(time.Minute); !w.Equal(b.window) {
			b.window, b.used = w, 0
		}
		if b.used < n {
			b.used++
			return reply{}, true
		}
		wait = b.window.Add(time.Minute).Sub(now).Seconds()
	} else {
		if el := now.Sub(b.last); el > 0 {
			b.tokens = math.Min(float64(n), b.tokens+el.Minutes()*float64(n))
			b.last = now
		}
		if b.tokens >= 1 {
			b.tokens--
			return reply{}, true
		}
		wait = (1 - b.tokens) / float64(n) * 60
	}
	secs := int(math.Ceil(wait - 1e-9))
	if secs < 1 {
		secs = 1
	}
	rep := detailReply(http.StatusTooManyRequests,
		"The user has exceeded the rate limit of %d requests per minute for this endpoint.", n)
	rep.header.Set("Retry-After", fmt.Sprint(secs))
	return rep, false
}

// ---- fault injection ----

// FaultKind names what was injected, for counters: a status code ("409",
// "429", "503", "500", ...), "latency", "drop" or "maintenance".
type FaultKind = string

// Fault kinds that are not status codes.
const (
	KindLatency     FaultKind = "latency"
	KindDrop        FaultKind = "drop"
	KindMaintenance FaultKind = "maintenance"
)

// Chaos configures seeded random fault injection. Each rate is the
// probability (0..1) that a request gets that fault; they are drawn
// independently in the order latency, drop, 409, 429, 503 and at most one
// status fault is applied. 409 is only injected into operations whose
// documented responses include 409.
type Chaos struct {
	Seed        int64
	Conflict    float64 // 409 "A related operation is in progress."
	RateLimit   float64 // 429 with Retry-After
	Unavailable float64 // 503
	Latency     float64 // extra latency of LatencyDuration
	Drop        float64 // do the work, then drop the connection
	// LatencyDuration is the simulated extra latency (default 30s).
	LatencyDuration time.Duration
	// Ops restricts chaos to these operation IDs (default all).
	Ops []string
	// RetryAfter is the Retry-After seconds of injected 429s (default 1).
	RetryAfter int
}

type scripted struct {
	n     int
	kind  string
	reply reply
}

type faults struct {
	mu          sync.Mutex
	maintenance bool
	fail        map[string][]*scripted
	latency     map[string]time.Duration
	drop        map[string]int
	chaos       *Chaos
	chaosRng    *rand.Rand
	counts      map[string]int
}

func (f *faults) init() {
	f.fail = map[string][]*scripted{}
	f.latency = map[string]time.Duration{}
	f.drop = map[string]int{}
	f.counts = map[string]int{}
}

func (f *faults) maintenanceOn() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maintenance
}

func (f *faults) count(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[kind]++
}

type preFault struct {
	latency time.Duration
	fail    *scripted
	drop    bool
}

func (f *faults) before(op string) preFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p preFault
	if d := f.latency[op]; d > 0 {
		p.latency = d
		f.counts[KindLatency]++
	}
	if q := f.fail[op]; len(q) > 0 {
		head := q[0]
		head.n--
		if head.n <= 0 {
			f.fail[op] = q[1:]
		}
		p.fail = head
		f.counts[head.kind]++
		return p
	}
	if f.drop[op] > 0 {
		f.drop[op]--
		p.drop = true
		f.counts[KindDrop]++
		return p
	}
	if ch := f.chaos; ch != nil && (len(ch.Ops) == 0 || slices.Contains(ch.Ops, op)) {
		r := f.chaosRng
		if r.Float64() < ch.Latency {
			d := ch.LatencyDuration
			if d <= 0 {
				d = 30 * time.Second
			}
			p.latency += d
			f.counts[KindLatency]++
		}
		drop := r.Float64() < ch.Drop
		conflict := r.Float64() < ch.Conflict
		limited := r.Float64() < ch.RateLimit
		unavailable := r.Float64() < ch.Unavailable
		switch {
		case conflict && conflictOps[op]:
			p.fail = &scripted{kind: "409", reply: detailReply(http.StatusConflict, "A related operation is in progress.")}
		case limited:
			rep := detailReply(http.StatusTooManyRequests, "The user has exceeded the rate limit for this endpoint.")
			ra := ch.RetryAfter
			if ra <= 0 {
				ra = 1
			}
			rep.header.Set("Retry-After", fmt.Sprint(ra))
			p.fail = &scripted{kind: "429", reply: rep}
		case unavailable:
			p.fail = &scripted{kind: "503", reply: detailReply(http.StatusServiceUnavailable, "The service is going through temporary maintenance.")}
		case drop:
			p.drop = true
			f.counts[KindDrop]++
		}
		if p.fail != nil {
			f.counts[p.fail.kind]++
		}
	}
	return p
}

// FailNext makes the next n calls of operation op fail with status before
// any work is done. body is the JSON response body; "" gives a FastAPI-style
// {"detail": ...} with the documented description for common statuses.
// For 429 and 503 a Retry-After of 1 second is sent. Several FailNext calls
// on one operation queue up in order.
func (s *Server) FailNext(op string, n, status int, body string) {
	if n <= 0 {
		return
	}
	var rep reply
	if body == "" {
		rep = detailReply(status, "%s", defaultDetail(status))
	} else {
		rep = reply{status: status, header: http.Header{}, body: []byte(body)}
		rep.header.Set("Content-Type", "application/json")
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		rep.header.Set("Retry-After", "1")
	}
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.fail[op] = append(s.flt.fail[op], &scripted{n: n, kind: fmt.Sprint(status), reply: rep})
}

func defaultDetail(status int) string {
	switch status {
	case http.StatusConflict:
		return "A related operation is in progress."
	case http.StatusTooManyRequests:
		return "The user has exceeded the rate limit for this endpoint."
	case http.StatusServiceUnavailable:
		return "The service is going through temporary maintenance."
	case http.StatusUnauthorized:
		return "Invalid authorization credentials."
	case http.StatusForbidden:
		return "Missing required permissions."
	default:
		return fmt.Sprintf("injected fault: %d %s", status, http.StatusText(status))
	}
}

// SetLatency adds d of simulated latency before every call of op (0 removes it).
func (s *Server) SetLatency(op string, d time.Duration) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	if d <= 0 {
		delete(s.flt.latency, op)
		return
	}
	s.flt.latency[op] = d
}

// DropAfterWork makes the next n calls of op do their work completely (a
// publish creates its version) and then close the connection without a
// response: the client sees EOF, the unknown-outcome case.
func (s *Server) DropAfterWork(op string, n int) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.drop[op] += n
}

// SetMaintenance turns maintenance mode on or off: every request gets 503.
func (s *Server) SetMaintenance(on bool) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.maintenance = on
}

// SetChaos turns seeded random fault injection on (nil turns it off).
func (s *Server) SetChaos(c *Chaos) {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	if c == nil {
		s.flt.chaos = nil
		return
	}
	cc := *c
	cc.Ops = append([]string(nil), c.Ops...)
	s.flt.chaos = &cc
	s.flt.chaosRng = rand.New(rand.NewSource(c.Seed))
}

// ClearFaults removes scripted failures, latencies, drops, chaos and
// maintenance mode (counters are kept).
func (s *Server) ClearFaults() {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	s.flt.maintenance = false
	s.flt.chaos = nil
	s.flt.fail = map[string][]*scripted{}
	s.flt.latency = map[string]time.Duration{}
	s.flt.drop = map[string]int{}
}

// Injected returns how many faults were injected so far, by kind.
func (s *Server) Injected() map[FaultKind]int {
	s.flt.mu.Lock()
	defer s.flt.mu.Unlock()
	out := make(map[string]int, len(s.flt.counts))
	for k, v := range s.flt.counts {
		out[k] = v
	}
	return out
}

// ---- helpers ----

// readBody reads the request body (at most 1 MiB).
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("request body larger than 1 MiB")
		}
		return nil, err
	}
	return buf.Bytes(), nil
}
