package amigotest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/contract"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// testClock is a manual clock: Now moves only by Advance and by Sleep
// (which advances instantly). When gate is set, Sleep first waits for a
// value on it (or ctx), so a test can hold a publish in flight.
type testClock struct {
	mu      sync.Mutex
	now     time.Time
	gate    chan struct{}
	waiting chan struct{} // receives when a Sleep starts waiting on gate
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *testClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	gate, waiting := c.gate, c.waiting
	c.mu.Unlock()
	if gate != nil {
		if waiting != nil {
			select {
			case waiting <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.Advance(d)
	return ctx.Err()
}

func (c *testClock) NewTimer(d time.Duration) clock.Timer { return clock.NewScaled(1e6).NewTimer(d) }

// hold makes every later Sleep block until release is called once per sleeper.
func (c *testClock) hold() (started <-chan struct{}, release func()) {
	gate := make(chan struct{})
	waiting := make(chan struct{}, 16)
	c.mu.Lock()
	c.gate, c.waiting = gate, waiting
	c.mu.Unlock()
	return waiting, func() {
		c.mu.Lock()
		c.gate, c.waiting = nil, nil
		c.mu.Unlock()
		close(gate)
	}
}

// gitRepo is a real git repository in a temp dir (testkit.Repo).
type gitRepo struct {
	*testkit.Repo
	dir string
}

func newRepo(t testing.TB, files map[string]string) (*gitRepo, string) {
	t.Helper()
	r := testkit.NewRepo(t)
	g := &gitRepo{Repo: r, dir: r.Dir}
	return g, g.commit("initial", files)
}

// commit writes files (an empty content deletes the file) and commits them
// on the current branch, returning the commit hash.
func (g *gitRepo) commit(msg string, files map[string]string) string { return g.Commit(msg, files) }

// branch creates branch name at the current HEAD (without switching).
func (g *gitRepo) branch(name string) { g.Git("branch", name) }

// setBranch points branch name at commit hash.
func (g *gitRepo) setBranch(name, hash string) { g.Git("update-ref", "refs/heads/"+name, hash) }

const weatherPyproject = `[project]
name = "weather"

[tool.amigo]
required_envvars = ["WEATHER_API_BASE"]
required_secret_envvars = ["WEATHER_API_KEY"]
input_schema = { type = "object", required = ["city"], properties = { city = { type = "string" }, days = { type = "integer" } } }
`

const plainPyproject = `[project]
name = "plain"
`

// fixture is an emulator over a repo with tools/weather and tools/plain.
type fixture struct {
	t    *testing.T
	s    *Server
	clk  *testClock
	repo *gitRepo
	tip  string
	org  string
	tok  string
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	g, tip := newRepo(t, map[string]string{
		"tools/weather/pyproject.toml": weatherPyproject,
		"tools/weather/src/main.py":    "print('hi')\n",
		"tools/plain/pyproject.toml":   plainPyproject,
	})
	clk := newTestClock()
	opts := Options{Clock: clk, RepoPath: g.dir, PublishLatency: Fixed(2 * time.Minute), TestLatency: Fixed(10 * time.Second)}
	if mod != nil {
		mod(&opts)
	}
	s := newContractServer(t, opts)
	f := &fixture{t: t, s: s, clk: clk, repo: g, tip: tip, org: "acme"}
	f.tok = f.signIn("alice")
	return f
}

func (f *fixture) signIn(user string) string {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.s.URL()+"/v1/"+f.org+"/user/signin_with_api_key", nil)
	req.Header.Set("x-api-key", "k")
	req.Header.Set("x-api-key-id", "kid")
	req.Header.Set("x-user-id", user)
	resp, err := testHTTP.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("sign in: %d %s", resp.StatusCode, b)
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return out.IDToken
}

// res is a decoded response.
type res struct {
	status int
	header http.Header
	body   []byte
}

func (r res) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r res) detail() string {
	var d struct {
		Detail any `json:"detail"`
	}
	json.Unmarshal(r.body, &d)
	if s, ok := d.Detail.(string); ok {
		return s
	}
	b, _ := json.Marshal(d.Detail)
	return string(b)
}

// do sends a request with f's token; body may be nil, a string (sent raw
// as JSON) or a value marshalled to JSON.
func (f *fixture) do(method, path string, body any) res {
	f.t.Helper()
	return f.doAs(f.tok, method, path, body)
}

func (f *fixture) doAs(tok, method, path string, body any) res {
	f.t.Helper()
	return f.send(testHTTP, tok, method, path, body)
}

// send is doAs with the HTTP client to use (noRedirect, to see a 307).
func (f *fixture) send(client *http.Client, tok, method, path string, body any) res {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	if !strings.HasPrefix(path, "/") {
		path = "/v1/" + f.org + "/" + path
	}
	req, err := http.NewRequest(method, f.s.URL()+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return res{status: resp.StatusCode, header: resp.Header, body: b}
}

func (f *fixture) want(r res, status int) res {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

func (f *fixture) createTool(name string) string {
	f.t.Helper()
	r := f.want(f.do("POST", "tool/", map[string]any{"name": name, "description": "d", "tags": map[string]any{}}), 201)
	var out struct{ ID string }
	r.json(f.t, &out)
	return out.ID
}

func (f *fixture) addWeatherEnvvars(id string) {
	f.t.Helper()
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"inserts": []any{
		map[string]any{"name": "WEATHER_API_BASE", "value": "https://w", "is_secret": false},
		map[string]any{"name": "WEATHER_API_KEY", "value": "s3cret", "is_secret": true},
	}}), 204)
}

func (f *fixture) publish(id, path, bump string) res {
	f.t.Helper()
	return f.do("POST", "tool/"+id+"/version", map[string]any{"project_path": path, "bump_type": bump})
}

func input(params map[string]any) map[string]any {
	return map[string]any{"input_parameters": params, "invocation_mode": "regular",
		"nonsensitive_user_variables": map[string]any{}, "sensitive_user_variables": map[string]any{}}
}

func pathEscape(s string) string  { return url.PathEscape(s) }
func queryEscape(s string) string { return url.QueryEscape(s) }

// testHTTP bounds every test request, so a server that wrongly blocks
// fails the test instead of hanging it.
var testHTTP = &http.Client{Timeout: 20 * time.Second}

// contractCoverage collects the (operation, status) pairs that the
// contract-checked test servers answered.
var contractCoverage = contract.NewCoverage()

// newContractServer is NewTestServer behind contract.Middleware: every
// request and response of the test is validated against the OpenAPI file,
// and a violation fails the test.
func newContractServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	copts := []contract.Option{contract.WithCoverage(contractCoverage)}
	if opts.Lax {
		copts = append(copts, contract.WithLaxRequests())
	}
	s.srv = httptest.NewServer(contract.Middleware(t, s, copts...))
	t.Cleanup(s.Close)
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		if v, err := contract.Load(); err == nil {
			os.Stdout.WriteString("contract coverage of the emulator tests:\n" + contractCoverage.Table(v) + "\n")
		}
	}
	os.Exit(code)
}
