package amigo_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/contract"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

const weatherProject = `[project]
name = "weather"

[tool.amigo]
required_envvars = ["WEATHER_API_BASE"]
required_secret_envvars = ["WEATHER_API_KEY"]
input_schema = { type = "object", required = ["city"], properties = { city = { type = "string" } } }
`

// toolsRepo makes a real git repository with one tool project on main and
// returns its directory and the tip commit.
func toolsRepo(t *testing.T) (string, string) {
	t.Helper()
	r := testkit.NewRepo(t)
	h := r.Commit("feat: weather tool", map[string]string{
		"tools/weather/pyproject.toml": weatherProject,
		"tools/weather/src/main.py":    "def run(city):\n    return city\n",
	})
	return r.Dir, h
}

// emulated is the emulator behind the contract-checking middleware, with a
// real client that goes through the contract-checking transport. Emulator
// and client share one manual clock: publish latency, token expiry, rate
// limits and the client's pacing all run in simulated time, instantly.
type emulated struct {
	emu *amigotest.Server
	srv *httptest.Server
	clk *fakeClock
	cfg amigo.Config
}

func newEmulated(t *testing.T, mod func(*amigotest.Options)) *emulated {
	t.Helper()
	repo, _ := toolsRepo(t)
	clk := newFakeClock()
	opts := amigotest.Options{
		Clock:          clk,
		RepoPath:       repo,
		APIKeys:        []amigotest.APIKey{{Key: testKey, KeyID: testKeyID, UserID: testUser}},
		PublishLatency: amigotest.Fixed(90 * time.Second),
		TestLatency:    amigotest.Fixed(10 * time.Second),
	}
	if mod != nil {
		mod(&opts)
	}
	emu := amigotest.New(opts)
	srv := httptest.NewServer(contract.Middleware(t, emu))
	t.Cleanup(func() { srv.Close(); emu.Close() })
	return &emulated{emu: emu, srv: srv, clk: clk, cfg: amigo.Config{
		BaseURL: srv.URL, Org: testOrg, APIKey: testKey, APIKeyID: testKeyID, UserID: testUser,
		Clock:      clk,
		HTTPClient: &http.Client{Transport: contract.Transport(t, nil)},
		Retry:      amigo.RetryConfig{InitialInterval: time.Second, MaxInterval: 20 * time.Second, MaxElapsed: 5 * time.Minute},
	}}
}

func (e *emulated) client(t *testing.T, mod ...func(*amigo.Config)) *amigo.Client {
	t.Helper()
	cfg := e.cfg
	for _, m := range mod {
		m(&cfg)
	}
	c, err := amigo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count returns how many requests of op ("" for any operation) the
// emulator answered with status (0 for any status).
func (e *emulated) count(op amigo.Op, status int) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if (op == "" || r.OperationID == string(op)) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// withWeather returns a client of e and the ID of the weather tool it set
// up (setUpWeather).
func (e *emulated) withWeather(t *testing.T) (*amigo.Client, string) {
	t.Helper()
	c := e.client(t)
	return c, setUpWeather(t, c)
}

// setUpWeather creates the tool with its envvars and returns its id.
func setUpWeather(t *testing.T, c *amigo.Client) string {
	t.Helper()
	ctx := context.Background()
	created, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather", Description: "Looks up the weather.", Tags: map[string]*string{"team": ptr("core")}})
	if err != nil {
		t.Fatalf("CreateTool: %v", err)
	}
	err = c.ModifyEnvvars(ctx, created.ID, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{
		{Name: "WEATHER_API_BASE", Value: "https://w.example", IsSecret: false},
		{Name: "WEATHER_API_KEY", Value: "s3cret", IsSecret: true},
	}})
	if err != nil {
		t.Fatalf("ModifyEnvvars: %v", err)
	}
	return created.ID
}

// TestEmulatorEveryOperation drives all 14 operations through the real
// client against the emulator, every exchange checked against the contract
// on both sides.
func TestEmulatorEveryOperation(t *testing.T) {
	e := newEmulated(t, nil)
	c := e.client(t)
	ctx := context.Background()

	if _, err := c.SignIn(ctx); err != nil { // sign-in-with-api-key
		t.Fatalf("SignIn: %v", err)
	}
	id := setUpWeather(t, c) // create-tool, modify-tool-envvars
	if err := c.ModifyTool(ctx, id, amigo.ModifyToolRequest{Description: ptr("Weather by city.")}); err != nil {
		t.Fatalf("ModifyTool: %v", err)
	}
	tool, err := c.FindToolByName(ctx, "weather") // get-tools
	if err != nil || tool == nil || tool.ID != id || tool.Description != "Weather by city." {
		t.Fatalf("FindToolByName = %+v, %v", tool, err)
	}
	if _, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather", Description: "again"}); !amigo.IsConflict(err) {
		t.Errorf("duplicate CreateTool err = %v, want 409", err)
	}

	in := []amigo.Input{{InputParameters: map[string]any{"city": "Oslo"}}, {InputParameters: map[string]any{"city": "x", "raise": "KeyError: city not found"}}}
	tested, err := c.TestTool(ctx, amigo.TestToolRequest{ // test-tool
		Inputs: in, CommitBranch: "main", ProjectPath: "tools/weather",
		RequiredEnvvars: map[string]string{"WEATHER_API_BASE": "https://w.example"}, RequiredSecretEnvvars: map[string]string{"WEATHER_API_KEY": "k"},
	})
	if err != nil {
		t.Fatalf("TestTool: %v", err)
	}
	if r := tested.InvocationResults; len(r) != 2 || !r[0].Succeeded || r[1].Succeeded || r[1].ExceptionType != "KeyError" {
		t.Errorf("test results = %+v", r)
	}

	pub, err := c.PublishVersion(ctx, id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMajor}) // publish-tool-version
	if err != nil || pub.NewVersion != "1.0.0" {
		t.Fatalf("PublishVersion = %+v, %v", pub, err)
	}
	if _, err := c.PublishVersion(ctx, id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor}); err != nil {
		t.Fatalf("second publish: %v", err)
	}
	versions, err := c.AllVersions(ctx, id, amigo.ListVersionsOptions{Deprecated: ptr(false)}) // get-tool-versions
	if err != nil || len(versions) != 2 {
		t.Fatalf("AllVersions = %d, %v", len(versions), err)
	}

	inv, err := c.Invoke(ctx, id, "1.1.0", amigo.InvokeRequest{Inputs: in[:1]}) // invoke-tool-version
	if err != nil || len(inv.InvocationResults) != 1 || !inv.InvocationResults[0].Succeeded {
		t.Fatalf("Invoke = %+v, %v", inv, err)
	}
	history, err := c.AllInvocations(ctx, amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id}}}) // get-tool-invocations
	if err != nil || len(history) != 1 || history[0].ToolVersion.String() != "1.1.0" {
		t.Fatalf("AllInvocations = %+v, %v", history, err)
	}
	found, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "oslo", QueryAgainst: []string{amigo.SearchOutput}}) // search-tool-invocations
	if err != nil || len(found.ToolInvocations) != 1 {
		t.Fatalf("SearchInvocations = %+v, %v", found, err)
	}

	if err := c.DeprecateVersions(ctx, id, amigo.ExactConstraint(amigo.Version{Major: 1})); err != nil { // deprecate-tool-version
		t.Fatalf("DeprecateVersions: %v", err)
	}
	if active := e.emu.ActiveVersions(testOrg, id); len(active) != 1 || active[0] != "1.1.0" {
		t.Errorf("active versions = %v, want [1.1.0]", active)
	}

	var archive bytes.Buffer
	if err := c.DownloadScaffold(ctx, &archive); err != nil { // get-tool-scaffold-release
		t.Fatalf("DownloadScaffold: %v", err)
	}
	if _, err := gzip.NewReader(&archive); err != nil {
		t.Errorf("scaffold is not gzip: %v", err)
	}

	if err := c.DeprecateTool(ctx, id); err != nil { // deprecate-tool
		t.Fatalf("DeprecateTool: %v", err)
	}
	if gone, err := c.FindToolByName(ctx, "weather"); err != nil || gone != nil {
		t.Errorf("after deprecation FindToolByName = %+v, %v; want nil", gone, err)
	}

	seen := map[string]bool{}
	for _, r := range e.emu.Requests() {
		seen[r.OperationID] = true
	}
	for _, op := range amigo.Ops {
		if !seen[string(op)] {
			t.Errorf("operation %s was not exercised", op)
		}
	}
	if n := e.count("", http.StatusTooManyRequests); n != 0 {
		t.Errorf("%d requests got 429", n)
	}
}

func TestEmulatorPublishNotRetriedAfterDroppedConnection(t *testing.T) {
	e := newEmulated(t, nil)
	c, id := e.withWeather(t)
	ctx := context.Background()
	e.emu.DropAfterWork(string(amigo.OpPublishVersion), 1)
	_, err := c.PublishVersion(ctx, id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMajor})
	if !errors.Is(err, amigo.ErrUnknownOutcome) {
		t.Fatalf("err = %v, want ErrUnknownOutcome", err)
	}
	if n := e.count(amigo.OpPublishVersion, 0); n != 1 {
		t.Errorf("publish requests at the emulator = %d, want exactly 1", n)
	}
	// Reconcile as the pipeline does: the work was done.
	vs, err := c.AllVersions(ctx, id, amigo.ListVersionsOptions{Versions: "==1.0.0"})
	if err != nil || len(vs) != 1 {
		t.Errorf("versions after the dropped publish = %+v, %v; want 1.0.0 to exist", vs, err)
	}
}

func TestEmulatorGetRetriedOn503(t *testing.T) {
	e := newEmulated(t, nil)
	c := e.client(t)
	e.emu.FailNext(string(amigo.OpListTools), 2, http.StatusServiceUnavailable, "")
	if _, err := c.AllTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
		t.Fatalf("AllTools: %v", err)
	}
	if n := e.count(amigo.OpListTools, 0); n != 3 {
		t.Errorf("list requests = %d, want 3", n)
	}
	e.emu.FailNext(string(amigo.OpCreateTool), 1, http.StatusServiceUnavailable, "")
	if _, err := c.CreateTool(context.Background(), amigo.CreateToolRequest{Name: "x", Description: "d"}); !amigo.IsMaintenance(err) {
		t.Errorf("create during maintenance err = %v, want 503 (not retried)", err)
	}
}

// TestEmulatorNo429WhenPaced calls the rate-limited endpoints in a loop:
// with pacing the emulator's buckets never run dry. Without pacing the same
// loop hits 429s, which the client waits out using Retry-After.
func TestEmulatorNo429WhenPaced(t *testing.T) {
	e := newEmulated(t, func(o *amigotest.Options) {
		o.PublishLatency = amigotest.Fixed(time.Second)
		o.TestLatency = amigotest.Fixed(time.Second)
		o.ActiveCap = 1000
	})
	c := e.client(t)
	ctx := context.Background()
	id := setUpWeather(t, c)
	testReq := amigo.TestToolRequest{Inputs: []amigo.Input{{InputParameters: map[string]any{"city": "Oslo"}}}, CommitBranch: "main", ProjectPath: "tools/weather",
		RequiredEnvvars: map[string]string{"WEATHER_API_BASE": "b"}, RequiredSecretEnvvars: map[string]string{"WEATHER_API_KEY": "k"}}
	for i := 0; i < 4; i++ {
		if _, err := c.TestTool(ctx, testReq); err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
	}
	bump := amigo.BumpMajor
	for i := 0; i < 15; i++ {
		if _, err := c.PublishVersion(ctx, id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: bump}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		bump = amigo.BumpPatch
	}
	if n := e.count("", http.StatusTooManyRequests); n != 0 {
		t.Errorf("paced loop got %d 429s", n)
	}

	// The same test-tool loop without pacing: 429s, each waited out.
	e.emu.ResetRequests()
	var limited int
	raw := e.client(t, func(cfg *amigo.Config) {
		cfg.NoPacing = true
		cfg.OnEvent = func(ev amigo.ClientEvent) {
			if ev.Kind == amigo.EventRateLimited {
				limited++
			}
		}
	})
	for i := 0; i < 3; i++ {
		if _, err := raw.TestTool(ctx, testReq); err != nil {
			t.Fatalf("unpaced test %d: %v", i, err)
		}
	}
	if n := e.count(amigo.OpTestTool, http.StatusTooManyRequests); n == 0 || n != limited {
		t.Errorf("unpaced loop: %d 429s at the emulator, %d rate-limited events; want some, equal", n, limited)
	}
}

func TestEmulatorTokenExpiryAndRefresh(t *testing.T) {
	e := newEmulated(t, func(o *amigotest.Options) { o.TokenTTL = 30 * time.Minute })
	c := e.client(t)
	ctx := context.Background()
	for _, step := range []time.Duration{0, 20 * time.Minute, 6 * time.Minute, 29 * time.Minute} {
		e.clk.Advance(step)
		if _, err := c.ListTools(ctx, amigo.ListToolsOptions{}); err != nil {
			t.Fatalf("after %s: %v", step, err)
		}
	}
	// 0: sign in (expires 30m); 20m: cached; 26m: in the 5-minute window,
	// refreshed (expires 56m); 55m: refreshed again.
	if n := e.count(amigo.OpSignIn, http.StatusOK); n != 3 {
		t.Errorf("sign-ins = %d, want 3", n)
	}
	if n := e.count(amigo.OpListTools, http.StatusUnauthorized); n != 0 {
		t.Errorf("%d calls went out with an expired token", n)
	}
}

func TestEmulatorBadKeyMessage(t *testing.T) {
	e := newEmulated(t, nil)
	c := e.client(t, func(cfg *amigo.Config) { cfg.APIKey = "sk-not-the-key" })
	_, err := c.ListTools(context.Background(), amigo.ListToolsOptions{})
	if !amigo.IsUnauthorized(err) || !strings.Contains(err.Error(), "check the API key, its key id and the user id for org acme") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(err.Error(), "sk-not-the-key") {
		t.Errorf("error leaks the key")
	}
}

// TestEmulatorConcurrentCallersPaced: many goroutines share one client;
// time is compressed (a simulated minute is 60ms), the emulator enforces its
// buckets, and the client's pacing keeps every call clear of 429.
func TestEmulatorConcurrentCallersPaced(t *testing.T) {
	clk := clock.NewScaled(1000)
	emu := amigotest.New(amigotest.Options{Clock: clk})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	c, err := amigo.New(amigo.Config{BaseURL: srv.URL, Org: testOrg, APIKey: testKey, APIKeyID: testKeyID, UserID: testUser, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60 // more than the 50/min burst of get-tools
	listConcurrently(t, c, n, nil)
	var lists, signIns, limited int
	for _, r := range emu.Requests() {
		switch {
		case r.Status == http.StatusTooManyRequests:
			limited++
		case r.OperationID == string(amigo.OpListTools):
			lists++
		case r.OperationID == string(amigo.OpSignIn):
			signIns++
		}
	}
	if lists != n || signIns != 1 || limited != 0 {
		t.Errorf("lists %d, sign-ins %d, 429s %d; want %d, 1, 0", lists, signIns, limited, n)
	}
}
