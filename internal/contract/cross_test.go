package contract_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/contract"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// The cross contract tests drive the real amigo client against the real
// emulator over HTTP. Every request the client sends and every response it
// receives goes through contract.Transport; every request the emulator
// receives and every response it writes goes through contract.Middleware.
// Any off-contract message on either side fails the test.

const (
	org     = "acme"
	apiKey  = "key-1"
	keyID   = "kid-1"
	userID  = "u-1"
	weather = "tools/weather"
	// viewer signs in with viewerKey and may only read.
	viewer    = "viewer"
	viewerKey = "key-2"
	broken    = "tools/broken"
)

// makeRepo creates a tools repository with two projects on branch main:
// tools/weather (one required envvar, one secret, an input schema) and
// tools/broken (a declared build error).
func makeRepo(t *testing.T) string {
	t.Helper()
	files := map[string]string{
		weather + "/pyproject.toml": `[project]
name = "weather"

[tool.amigo]
required_envvars = ["WEATHER_API_BASE"]
required_secret_envvars = ["WEATHER_API_KEY"]
input_schema = { type = "object", required = ["city"], properties = { city = { type = "string" } } }
`,
		broken + "/pyproject.toml": `[project]
name = "broken"

[tool.amigo]
build_error = "mypy: 3 errors"
`,
	}
	r := testkit.NewRepo(t)
	r.Commit("feat: tools", files)
	return r.Dir
}

// env is one emulator behind contract.Middleware, with the coverage of the
// server side and of the client side.
type env struct {
	t         *testing.T
	v         *contract.Validator
	clk       *clock.Scaled
	gate      *gateClock // the emulator's clock
	emu       *amigotest.Server
	url       string
	serverCov *contract.Coverage
	clientCov *contract.Coverage
	raw       *http.Client // checked by Transport too: for on-contract requests the client will not send
	bare      *http.Client // not checked client-side: for deliberately off-contract requests
}

func newEnv(t *testing.T, factor float64, opts amigotest.Options) *env {
	t.Helper()
	e := &env{
		t:         t,
		v:         contract.MustLoad(t),
		clk:       clock.NewScaled(factor),
		serverCov: contract.NewCoverage(),
		clientCov: contract.NewCoverage(),
	}
	e.gate = &gateClock{Scaled: e.clk}
	opts.Clock = e.gate
	e.emu = amigotest.New(opts)
	srv := httptest.NewServer(contract.Middleware(t, e.emu, contract.WithCoverage(e.serverCov)))
	// Close the emulator first: that ends work it still sleeps on (a held
	// publish), so that closing the HTTP server does not wait for it.
	t.Cleanup(func() { e.emu.Close(); srv.Close() })
	e.url = srv.URL
	e.raw = &http.Client{Transport: contract.Transport(t, nil, contract.WithCoverage(e.clientCov))}
	e.bare = &http.Client{}
	return e
}

// client returns an amigo client whose HTTP goes through contract.Transport.
// Retries are off so that every status reaches the test.
func (e *env) client(edit func(*amigo.Config)) *amigo.Client {
	e.t.Helper()
	cfg := amigo.Config{
		BaseURL:    e.url,
		Org:        org,
		APIKey:     apiKey,
		APIKeyID:   keyID,
		UserID:     userID,
		HTTPClient: &http.Client{Transport: contract.Transport(e.t, nil, contract.WithCoverage(e.clientCov))},
		Clock:      e.clk,
		Retry:      amigo.RetryConfig{Disable: true},
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := amigo.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// send makes a raw request and returns the status (the body is drained).
func (e *env) send(c *http.Client, method, path, token, body string, header map[string]string) int {
	e.t.Helper()
	resp, err := c.Do(mustRequest(e.t, e.url, method, path, token, body, header))
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// wantStatus checks that err is an *amigo.APIError with status.
func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	var ae *amigo.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: want HTTP %d, got %v", what, status, err)
		return
	}
	if ae.StatusCode != status {
		t.Errorf("%s: want HTTP %d, got %d (%v)", what, status, ae.StatusCode, err)
	}
}

func str(s string) *string { return &s }

func input(params map[string]any) amigo.Input {
	return amigo.Input{
		InputParameters:           params,
		InvocationMode:            amigo.InvocationModeRegular,
		NonsensitiveUserVariables: map[string]string{"user_name": "ada"},
		SensitiveUserVariables:    map[string]string{},
	}
}

func testRequest(project string) amigo.TestToolRequest {
	return amigo.TestToolRequest{
		Inputs:                []amigo.Input{input(map[string]any{"city": "Paris"}), input(map[string]any{"city": "Oslo", "raise": "KeyError: city not found"})},
		CommitBranch:          "main",
		ProjectPath:           project,
		RequiredEnvvars:       map[string]string{"WEATHER_API_BASE": "https://example.com"},
		RequiredSecretEnvvars: map[string]string{"WEATHER_API_KEY": "secret"},
	}
}

// publishLatency is the emulator's publish latency in the cross tests, a
// value no other sleep uses, so that gateClock can hold exactly publishes.
const publishLatency = 2*time.Minute + 345*time.Millisecond

// gateClock is the emulator's clock: scaled time, except that while the
// gate is armed a sleep of publishLatency (a publish at work) waits until
// the test releases it. That makes "a second operation while a publish
// runs" deterministic instead of a race against the latency.
type gateClock struct {
	*clock.Scaled
	mu   sync.Mutex
	gate chan struct{}
}

// hold arms the gate and returns the function that releases it.
func (g *gateClock) hold() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.gate = ch
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.gate = nil
			g.mu.Unlock()
			close(ch)
		})
	}
}

// Sleep implements clock.Clock.
func (g *gateClock) Sleep(ctx context.Context, d time.Duration) error {
	g.mu.Lock()
	ch := g.gate
	g.mu.Unlock()
	if ch != nil && d == publishLatency {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Scaled.Sleep(ctx, d)
}

// fixture is what the success path creates, for the error cases to use.
type fixture struct {
	toolID    string // the tool with version 1.0.0 (deprecated at the end)
	missingID string // a well-formed id of no tool
}

// call runs operation op with arguments that succeed on a healthy server
// in state f, using c. It returns the client's error.
func call(ctx context.Context, c *amigo.Client, f fixture, op string) error {
	switch op {
	case amigotest.OpSignIn:
		_, err := c.SignIn(ctx)
		return err
	case amigotest.OpListTools:
		_, err := c.ListTools(ctx, amigo.ListToolsOptions{Limit: 5})
		return err
	case amigotest.OpCreateTool:
		_, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "probe_tool", Description: "Probe.", Tags: map[string]*string{}})
		return err
	case amigotest.OpModifyTool:
		return c.ModifyTool(ctx, f.toolID, amigo.ModifyToolRequest{Description: str("Probe.")})
	case amigotest.OpDeprecateTool:
		return c.DeprecateTool(ctx, f.toolID)
	case amigotest.OpModifyEnvvars:
		return c.ModifyEnvvars(ctx, f.toolID, amigo.ModifyEnvvarsRequest{Updates: []amigo.EnvvarUpdate{{Name: "WEATHER_API_BASE", Value: "x"}}})
	case amigotest.OpTestTool:
		_, err := c.TestTool(ctx, testRequest(weather))
		return err
	case amigotest.OpPublishVersion:
		_, err := c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpPatch})
		return err
	case amigotest.OpListVersions:
		_, err := c.ListVersions(ctx, f.toolID, amigo.ListVersionsOptions{})
		return err
	case amigotest.OpDeprecateVersions:
		return c.DeprecateVersions(ctx, f.toolID, "==9.9.9")
	case amigotest.OpInvokeVersion:
		_, err := c.Invoke(ctx, f.toolID, "1.0.0", amigo.InvokeRequest{Inputs: []amigo.Input{input(map[string]any{"city": "Rome"})}})
		return err
	case amigotest.OpListInvocations:
		_, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{})
		return err
	case amigotest.OpSearchInvocations:
		_, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "Rome"})
		return err
	case amigotest.OpGetScaffold:
		return c.DownloadScaffold(ctx, io.Discard)
	}
	return fmt.Errorf("no call for operation %q", op)
}

// TestCrossContract covers every operation of the contract with the real
// client and emulator: each success, and each documented error status the
// emulator can produce, then asserts the coverage.
func TestCrossContract(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 60000, amigotest.Options{ // a simulated minute takes a millisecond
		RepoPath:          makeRepo(t),
		Orgs:              []string{org},
		APIKeys:           []amigotest.APIKey{{Key: apiKey, KeyID: keyID, UserID: userID}, {Key: viewerKey, KeyID: keyID, UserID: viewer}},
		ReadOnlyUsers:     []string{viewer},
		PublishLatency:    amigotest.Fixed(publishLatency),
		TestLatency:       amigotest.Fixed(10 * time.Second),
		DisableRateLimits: true, // 429 is injected below, and checked for real in TestCrossContractRateLimit
		// Tokens issued by IssueToken must not expire while the test runs
		// (the default hour is 60ms of real time here).
		TokenTTL: 100000 * time.Hour,
	})
	c := e.client(nil)
	var f fixture
	f.missingID = "0000000000000000000000ff"

	t.Run("success and semantic errors", func(t *testing.T) {
		// sign-in-with-api-key 200
		if _, err := c.SignIn(ctx); err != nil {
			t.Fatal(err)
		}
		// create-tool 201, 409 (same name), 400 (name too long)
		created, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather", Description: "Weather lookups.",
			Tags: map[string]*string{"team": str("core"), "beta": nil}})
		if err != nil {
			t.Fatal(err)
		}
		f.toolID = created.ID
		_, err = c.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather", Description: "Again.", Tags: map[string]*string{}})
		wantStatus(t, "create-tool duplicate name", err, 409)
		_, err = c.CreateTool(ctx, amigo.CreateToolRequest{Name: strings.Repeat("a", 65), Description: "Long.", Tags: map[string]*string{}})
		wantStatus(t, "create-tool long name", err, 400)

		// get-tools 200 (with the null tag value and filter values)
		page, err := c.ListTools(ctx, amigo.ListToolsOptions{Limit: 20})
		if err != nil || len(page.Tools) != 1 {
			t.Fatalf("list tools: %v %+v", err, page)
		}
		if _, err := c.FindToolByName(ctx, "weather"); err != nil {
			t.Fatal(err)
		}

		// modify-tool 204, 404
		if err := c.ModifyTool(ctx, f.toolID, amigo.ModifyToolRequest{Description: str("Weather, now better."), Tags: &map[string]*string{"team": str("platform")}}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "modify-tool unknown", c.ModifyTool(ctx, f.missingID, amigo.ModifyToolRequest{Description: str("x")}), 404)

		// publish-tool-version 400 before the envvars exist (first must be
		// major is checked too, below)
		_, err = c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpMajor})
		wantStatus(t, "publish without envvars", err, 400)

		// modify-tool-envvars 204, 409 (insert existing), 400 (delete missing), 404
		err = c.ModifyEnvvars(ctx, f.toolID, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{
			{Name: "WEATHER_API_BASE", Value: "https://example.com", IsSecret: false},
			{Name: "WEATHER_API_KEY", Value: "secret", IsSecret: true},
		}})
		if err != nil {
			t.Fatal(err)
		}
		err = c.ModifyEnvvars(ctx, f.toolID, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "WEATHER_API_BASE", Value: "x"}}})
		wantStatus(t, "envvars insert existing", err, 409)
		err = c.ModifyEnvvars(ctx, f.toolID, amigo.ModifyEnvvarsRequest{Deletes: []amigo.EnvvarDelete{{Name: "NOT_THERE"}}})
		wantStatus(t, "envvars delete missing", err, 400)
		err = c.ModifyEnvvars(ctx, f.missingID, amigo.ModifyEnvvarsRequest{Updates: []amigo.EnvvarUpdate{{Name: "A", Value: "b"}}})
		wantStatus(t, "envvars unknown tool", err, 404)

		// test-tool 200 with both result variants, 400 (build error), 404 (no project)
		res, err := c.TestTool(ctx, testRequest(weather))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.InvocationResults) != 2 || !res.InvocationResults[0].Succeeded || res.InvocationResults[1].Succeeded {
			t.Errorf("test-tool results: %+v", res.InvocationResults)
		}
		_, err = c.TestTool(ctx, testRequest(broken))
		wantStatus(t, "test-tool build error", err, 400)
		_, err = c.TestTool(ctx, testRequest("tools/missing"))
		wantStatus(t, "test-tool missing project", err, 404)

		// publish-tool-version 400 (first not major), 201, 404 (no project / no tool)
		_, err = c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpMinor})
		wantStatus(t, "publish first minor", err, 400)
		pub, err := c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpMajor})
		if err != nil || pub.NewVersion != "1.0.0" {
			t.Fatalf("publish: %v %+v", err, pub)
		}
		_, err = c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: "tools/missing", BumpType: amigo.BumpPatch})
		wantStatus(t, "publish missing project", err, 404)
		_, err = c.PublishVersion(ctx, f.missingID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpMajor})
		wantStatus(t, "publish unknown tool", err, 404)

		// publish-tool-version 409 and deprecate-tool 409 while a publish runs.
		release := e.gate.hold()
		defer release()
		var slowErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, slowErr = c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpPatch})
		}()
		for !e.emu.Busy(org, f.toolID) {
			select {
			case <-done:
				t.Fatalf("the held publish ended before the tool was busy: %v", slowErr)
			default:
				e.clk.Sleep(ctx, time.Second) // poll every simulated second
			}
		}
		_, err = c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpPatch})
		wantStatus(t, "publish while publishing", err, 409)
		wantStatus(t, "deprecate tool while publishing", c.DeprecateTool(ctx, f.toolID), 409)
		release()
		<-done
		if slowErr != nil {
			t.Fatalf("held publish: %v", slowErr)
		}

		// get-tool-versions 200, 404
		vs, err := c.ListVersions(ctx, f.toolID, amigo.ListVersionsOptions{SortBy: []string{"-created_at"}, Limit: 50})
		if err != nil || len(vs.ToolVersions) != 2 {
			t.Fatalf("versions: %v %+v", err, vs)
		}
		_, err = c.ListVersions(ctx, f.missingID, amigo.ListVersionsOptions{})
		wantStatus(t, "versions unknown tool", err, 404)

		// invoke-tool-version 200 with both variants, 400 (schema), 404 (version)
		inv, err := c.Invoke(ctx, f.toolID, "1.0.0", amigo.InvokeRequest{Inputs: []amigo.Input{
			input(map[string]any{"city": "Rome"}), input(map[string]any{"city": "Lima", "raise": "ValueError: no weather"}),
		}})
		if err != nil || len(inv.InvocationResults) != 2 {
			t.Fatalf("invoke: %v %+v", err, inv)
		}
		_, err = c.Invoke(ctx, f.toolID, "1.0.0", amigo.InvokeRequest{Inputs: []amigo.Input{input(map[string]any{"town": "Rome"})}})
		wantStatus(t, "invoke non-conforming input", err, 400)
		_, err = c.Invoke(ctx, f.toolID, "9.9.9", amigo.InvokeRequest{Inputs: []amigo.Input{input(map[string]any{"city": "Rome"})}})
		wantStatus(t, "invoke missing version", err, 404)

		// get-tool-invocations 200 with both source variants, 400 (tool_id
		// and version of different lengths: the client refuses to send it,
		// so a raw on-contract request)
		run := 2
		e.emu.AddInvocation(org, amigo.Invocation{
			InvocationStatus: amigo.InvocationStatus{Succeeded: true, Output: "sunny"},
			InvocationSource: amigo.InvocationSource{
				Type: amigo.SourceSimulationConversation, UnitTestID: str("ut1"), RunIndex: &run,
				InvocationMetadata: amigo.InvocationMetadata{Type: amigo.MetadataEngageUser,
					CurrentStateMachineAndVersion: amigo.StateMachineVersion{Name: "sm", Version: 3}, ToolCallRoundIndex: &run},
			},
			DurationMS: 9, ToolID: f.toolID, ToolVersion: amigo.Version{Major: 1}, Inputs: map[string]any{"city": "Bern"},
		})
		invs, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{f.toolID}}, Versions: []string{">=1.0.0"}})
		if err != nil || len(invs.ToolInvocations) != 3 {
			t.Fatalf("invocations: %v %+v", err, invs)
		}
		tok := e.emu.IssueToken(org, userID)
		if st := e.send(e.raw, "GET", "/v1/"+org+"/tool/invocation?tool_id="+f.toolID+"&tool_id="+f.missingID+"&version=%3E%3D1.0.0", tok, "", nil); st != 400 {
			t.Errorf("invocations with unpaired versions: %d, want 400", st)
		}

		// search-tool-invocations 200
		found, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "no weather", QueryAgainst: []string{amigo.SearchExceptionMessage}})
		if err != nil || len(found.ToolInvocations) != 1 {
			t.Fatalf("search: %v %+v", err, found)
		}

		// get-tool-scaffold-release 200
		var scaffold bytes.Buffer
		if err := c.DownloadScaffold(ctx, &scaffold); err != nil || scaffold.Len() == 0 {
			t.Fatalf("scaffold: %v (%d bytes)", err, scaffold.Len())
		}

		// deprecate-tool-version 204, 404
		if err := c.DeprecateVersions(ctx, f.toolID, "==1.0.1"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "deprecate versions unknown tool", c.DeprecateVersions(ctx, f.missingID, "==1.0.0"), 404)

		// deprecate-tool 404 (unknown); 204 comes last, in "deprecate".
		wantStatus(t, "deprecate unknown tool", c.DeprecateTool(ctx, f.missingID), 404)
	})
	if f.toolID == "" {
		t.Fatal("no tool: the success path failed")
	}

	t.Run("pagination walks continuation tokens", func(t *testing.T) {
		for i := range 25 {
			if _, err := e.emu.AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("seeded_%02d", i), Tags: map[string]string{"n": fmt.Sprint(i)}, TagsNull: []string{"empty"}}); err != nil {
				t.Fatal(err)
			}
		}
		before := e.serverCov.Count(amigotest.OpListTools, 200)
		tools, err := c.AllTools(ctx, amigo.ListToolsOptions{})
		if err != nil || len(tools) != 26 {
			t.Fatalf("all tools: %d, %v", len(tools), err)
		}
		if pages := e.serverCov.Count(amigotest.OpListTools, 200) - before; pages != 2 {
			t.Errorf("26 tools in %d pages, want 2 of at most 20", pages)
		}
		vs, err := c.AllVersions(ctx, f.toolID, amigo.ListVersionsOptions{Limit: 1})
		if err != nil || len(vs) != 2 {
			t.Fatalf("all versions: %d, %v", len(vs), err)
		}
		invs, err := c.AllInvocations(ctx, amigo.ListInvocationsOptions{Limit: 2})
		if err != nil || len(invs) != 3 {
			t.Fatalf("all invocations: %d, %v", len(invs), err)
		}
	})

	t.Run("401", func(t *testing.T) {
		bad := e.client(func(cfg *amigo.Config) { cfg.APIKey = "wrong" })
		_, err := bad.SignIn(ctx)
		wantStatus(t, "sign-in wrong key", err, 401)
		static := e.client(func(cfg *amigo.Config) { cfg.APIKey, cfg.APIKeyID, cfg.UserID, cfg.Token = "", "", "", "not-a-token" })
		for _, op := range amigotest.Operations {
			if op == amigotest.OpSignIn {
				continue
			}
			wantStatus(t, op, call(ctx, static, f, op), 401)
		}
	})

	t.Run("404 unknown organization", func(t *testing.T) {
		other := e.client(func(cfg *amigo.Config) { cfg.Org = "globex" })
		_, err := other.SignIn(ctx)
		wantStatus(t, "sign-in", err, 404)
		static := e.client(func(cfg *amigo.Config) {
			cfg.Org = "globex"
			cfg.APIKey, cfg.APIKeyID, cfg.UserID, cfg.Token = "", "", "", e.emu.IssueToken(org, userID)
		})
		for _, op := range amigotest.Operations {
			if op != amigotest.OpSignIn {
				wantStatus(t, op, call(ctx, static, f, op), 404)
			}
		}
	})

	t.Run("403 read-only user", func(t *testing.T) {
		// The emulator models one permission: a read-only user may read but
		// not write (every operation needing a write permission is 403).
		ro := e.client(func(cfg *amigo.Config) { cfg.APIKey, cfg.UserID = viewerKey, viewer })
		for _, op := range amigotest.Operations {
			err := call(ctx, ro, f, op)
			if readOps[op] || op == amigotest.OpSignIn {
				if err != nil {
					t.Errorf("%s as a read-only user: %v, want success", op, err)
				}
				continue
			}
			wantStatus(t, op+" as a read-only user", err, 403)
		}
	})

	t.Run("403 injected on reads", func(t *testing.T) {
		// Only write permissions are modelled, so a read's documented 403
		// comes from FailNext. Transport and Middleware validate each 403
		// response against the contract on both sides (and record it for
		// assertCoverage); the body is FastAPI's {"detail": ...} with the
		// contract's description of the status.
		for _, op := range amigotest.Operations {
			if !readOps[op] {
				continue
			}
			before := e.serverCov.Count(op, 403)
			e.emu.FailNext(op, 1, http.StatusForbidden, "")
			err := call(ctx, c, f, op)
			wantStatus(t, op+" with an injected 403", err, 403)
			var ae *amigo.APIError
			if errors.As(err, &ae) && (!strings.Contains(ae.Message, "Missing required permissions") || !strings.Contains(ae.Hint, "permission")) {
				t.Errorf("%s: 403 message %q, hint %q", op, ae.Message, ae.Hint)
			}
			if got := e.serverCov.Count(op, 403); got != before+1 {
				t.Errorf("%s: server-side 403 count %d -> %d, want one more", op, before, got)
			}
		}
	})

	t.Run("Basic credentials and X-ORG-ID", func(t *testing.T) {
		// The contract's other security schemes: Basic with username
		// {org_id}_{user_id} and the token as password, and X-ORG-ID. Both
		// sides check these exchanges (e.raw goes through Transport).
		tok := e.emu.IssueToken(org, userID)
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(org+"_"+userID+":"+tok))
		if st := e.send(e.raw, "GET", "/v1/"+org+"/tool/?limit=1", "", "", map[string]string{"Authorization": basic}); st != 200 {
			t.Errorf("get-tools with Basic credentials: %d, want 200", st)
		}
		if st := e.send(e.raw, "GET", "/v1/"+org+"/tool/"+f.toolID+"/version", "", "", map[string]string{"Authorization": basic, "X-ORG-ID": org}); st != 200 {
			t.Errorf("get-tool-versions with Basic credentials and X-ORG-ID: %d, want 200", st)
		}
		wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(org+"_someone:"+tok))
		if st := e.send(e.raw, "GET", "/v1/"+org+"/tool/", "", "", map[string]string{"Authorization": wrong}); st != 401 {
			t.Errorf("get-tools with a Basic username of another user: %d, want 401", st)
		}
	})

	t.Run("429 injected", func(t *testing.T) {
		for _, op := range amigotest.Operations {
			e.emu.FailNext(op, 1, http.StatusTooManyRequests, "")
			wantStatus(t, op, call(ctx, c, f, op), 429)
		}
	})

	t.Run("503 maintenance", func(t *testing.T) {
		e.emu.SetMaintenance(true)
		defer e.emu.SetMaintenance(false)
		fresh := e.client(nil) // has no token yet: its sign-in gets the 503
		wantStatus(t, "sign-in", call(ctx, fresh, f, amigotest.OpSignIn), 503)
		for _, op := range amigotest.Operations {
			if op != amigotest.OpSignIn {
				wantStatus(t, op, call(ctx, c, f, op), 503)
			}
		}
	})

	t.Run("422 off-contract requests are refused", func(t *testing.T) {
		// The client validates before sending, so these go out raw and
		// unchecked client-side; Middleware still validates them and
		// requires the server to refuse them.
		tok := e.emu.IssueToken(org, userID)
		id := f.toolID
		cases := []struct {
			name, method, path, body string
			header                   map[string]string
		}{
			{name: "sign-in without x-api-key", method: "POST", path: "/v1/" + org + "/user/signin_with_api_key", header: map[string]string{"x-api-key-id": keyID, "x-user-id": userID}},
			{name: "get-tools limit 21", method: "GET", path: "/v1/" + org + "/tool/?limit=21"},
			{name: "create-tool bad name", method: "POST", path: "/v1/" + org + "/tool/", body: `{"name":"Bad Name","description":"d","tags":{}}`},
			{name: "modify-tool bad id", method: "POST", path: "/v1/" + org + "/tool/xyz", body: `{"description":"d"}`},
			{name: "deprecate-tool bad id", method: "DELETE", path: "/v1/" + org + "/tool/xyz"},
			{name: "envvars bad name", method: "POST", path: "/v1/" + org + "/tool/" + id + "/envvar", body: `{"inserts":[{"name":"lower","value":"v","is_secret":false}]}`},
			{name: "test-tool no inputs", method: "POST", path: "/v1/" + org + "/tool/test", body: `{"inputs":[],"commit_branch":"main","project_path":"tools/weather","required_envvars":{},"required_secret_envvars":{}}`},
			{name: "publish bad bump", method: "POST", path: "/v1/" + org + "/tool/" + id + "/version", body: `{"project_path":"tools/weather","bump_type":"huge"}`},
			{name: "versions limit 51", method: "GET", path: "/v1/" + org + "/tool/" + id + "/version?limit=51"},
			{name: "deprecate versions bad id", method: "DELETE", path: "/v1/" + org + "/tool/xyz/version/%3D%3D1.0.0"},
			{name: "invoke no inputs", method: "POST", path: "/v1/" + org + "/tool/" + id + "/version/1.0.0/invoke", body: `{"inputs":[]}`},
			{name: "invocations limit 101", method: "GET", path: "/v1/" + org + "/tool/invocation?limit=101"},
			{name: "search without query", method: "GET", path: "/v1/" + org + "/tool/invocation/search?query_against=invocation_status.output"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				token := tok
				if strings.Contains(tc.path, "signin") {
					token = ""
				}
				if err := e.v.ValidateRequest(mustRequest(t, e.url, tc.method, tc.path, token, tc.body, tc.header), []byte(tc.body)); err == nil {
					t.Fatalf("the request is on-contract; this case tests refusal of an off-contract one")
				}
				if st := e.send(e.bare, tc.method, tc.path, token, tc.body, tc.header); st != 422 {
					t.Errorf("status %d, want 422", st)
				}
			})
		}
	})

	t.Run("requests built from zero values stay on-contract", func(t *testing.T) {
		// nil maps and slices must not go out as JSON null where the
		// contract wants an object or an array; Transport checks each one.
		cr, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "zero", Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ModifyTool(ctx, cr.ID, amigo.ModifyToolRequest{}); err != nil {
			t.Fatal(err)
		}
		if err := c.ModifyEnvvars(ctx, cr.ID, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "WEATHER_API_BASE", Value: "v"}}}); err != nil {
			t.Fatal(err)
		}
		bare := []amigo.Input{{InputParameters: map[string]any{"city": "x"}, InvocationMode: amigo.InvocationModeRegular}}
		_, err = c.TestTool(ctx, amigo.TestToolRequest{Inputs: bare, CommitBranch: "main", ProjectPath: weather})
		wantStatus(t, "test-tool without envvar declarations", err, 400)
		if _, err := c.Invoke(ctx, f.toolID, ">=1.0", amigo.InvokeRequest{Inputs: bare}); err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := c.ListTools(ctx, amigo.ListToolsOptions{Deprecated: &yes, Tags: []string{"team:*"}, SortBy: []string{"-name"}, IDs: []string{cr.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListVersions(ctx, f.toolID, amigo.ListVersionsOptions{Deprecated: &yes, Versions: ">=1", Creators: []string{org + "," + userID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{Succeeded: &yes,
			SourceTypes: []amigo.InvocationSourceType{amigo.SourceRegularConversation, amigo.SourceSimulationConversation}}, SortBy: []string{"-created_at"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeprecateTool(ctx, cr.ID); err != nil {
			t.Fatal(err)
		}
		withOrg := e.client(func(cfg *amigo.Config) { cfg.OrgHeader = org })
		if _, err := withOrg.ListTools(ctx, amigo.ListToolsOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("dropped connection after a publish", func(t *testing.T) {
		// The emulator hijacks and closes the connection after the work:
		// Middleware must let the hijack through and validate nothing.
		e.emu.DropAfterWork(amigotest.OpPublishVersion, 1)
		before := e.serverCov.Count(amigotest.OpPublishVersion, 201)
		_, err := c.PublishVersion(ctx, f.toolID, amigo.PublishRequest{ProjectPath: weather, BumpType: amigo.BumpMinor})
		if !errors.Is(err, amigo.ErrUnknownOutcome) {
			t.Fatalf("want an unknown outcome, got %v", err)
		}
		if got := e.serverCov.Count(amigotest.OpPublishVersion, 201); got != before {
			t.Errorf("a dropped response was recorded as 201 (%d -> %d)", before, got)
		}
		vs, err := c.ListVersions(ctx, f.toolID, amigo.ListVersionsOptions{Versions: "==1.1.0"})
		if err != nil || len(vs.ToolVersions) != 1 {
			t.Errorf("the dropped publish did its work: want 1.1.0 listed, got %v %+v", err, vs)
		}
	})

	t.Run("deprecate", func(t *testing.T) {
		if err := c.DeprecateTool(ctx, f.toolID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "modify deprecated tool", c.ModifyTool(ctx, f.toolID, amigo.ModifyToolRequest{Description: str("x")}), 404)
	})

	assertCoverage(t, e)
}

// mustRequest makes a request with body (JSON when not empty), the token
// as its bearer and the extra headers.
func mustRequest(t testing.TB, base, method, path, token, body string, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// notProducible are documented statuses the emulator cannot produce, with
// the reason. Every other documented status must be covered, by the
// emulator's own behaviour or by an injected fault (FailNext).
var notProducible = map[string]map[int]string{
	amigotest.OpGetScaffold: {
		422: "the only parameter, organization, is any string",
	},
}

// readOps are the operations a read-only user may call: only write
// permissions are modelled (Options.ReadOnlyUsers), so their 403 is
// injected with FailNext ("403 injected on reads").
var readOps = map[string]bool{
	amigotest.OpGetScaffold:       true,
	amigotest.OpListTools:         true,
	amigotest.OpListVersions:      true,
	amigotest.OpListInvocations:   true,
	amigotest.OpSearchInvocations: true,
}

func assertCoverage(t *testing.T, e *env) {
	t.Helper()
	t.Log("server-side coverage (operation: status(count)):\n" + e.serverCov.Table(e.v))
	for _, op := range e.v.Operations() {
		if e.clientCov.Count(op.ID, op.Success) == 0 || e.serverCov.Count(op.ID, op.Success) == 0 {
			t.Errorf("%s: success %d not exercised (client %d, server %d)", op.ID, op.Success,
				e.clientCov.Count(op.ID, op.Success), e.serverCov.Count(op.ID, op.Success))
		}
	}
	for opID, missing := range e.serverCov.Missing(e.v) {
		for _, st := range missing {
			if _, ok := notProducible["*"][st]; ok {
				continue
			}
			if _, ok := notProducible[opID][st]; ok {
				continue
			}
			t.Errorf("%s: documented status %d not exercised", opID, st)
		}
	}
	for opID, reasons := range notProducible {
		for st := range reasons {
			if opID != "*" && e.serverCov.Count(opID, st) > 0 {
				t.Errorf("%s: status %d is listed as not producible but was seen: update notProducible", opID, st)
			}
		}
	}
	for _, op := range e.v.Operations() {
		for _, st := range e.serverCov.Statuses(op.ID) {
			if !slices.Contains(op.Statuses, st) {
				t.Errorf("%s: undocumented status %d seen", op.ID, st)
			}
		}
	}
}

// TestCrossContractRateLimit checks the emulator's own rate limiting (not an
// injected fault) against the contract: test-tool allows one call a minute,
// so a second call right after the first is refused with 429. The clock runs
// at real speed here, so "right after" is well within the minute.
func TestCrossContractRateLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1, amigotest.Options{RepoPath: makeRepo(t), TestLatency: amigotest.Fixed(0)})
	c := e.client(func(cfg *amigo.Config) { cfg.NoPacing = true })
	if _, err := c.TestTool(ctx, testRequest(weather)); err != nil {
		t.Fatal(err)
	}
	_, err := c.TestTool(ctx, testRequest(weather))
	wantStatus(t, "second test-tool within a minute", err, 429)
	if e.serverCov.Count(amigotest.OpTestTool, 429) != 1 || e.clientCov.Count(amigotest.OpTestTool, 429) != 1 {
		t.Error("429 not recorded once on each side")
	}
}

// TestCrossContractDetectsDeviations shows that the checks in the cross
// tests bite: a response altered between the emulator and the client (as
// a server bug would) is reported by Transport with operation and field.
func TestCrossContractDetectsDeviations(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 60000, amigotest.Options{DisableRateLimits: true})
	spy := &contract.SpyTB{TB: t}
	c := e.client(func(cfg *amigo.Config) {
		cfg.HTTPClient = &http.Client{Transport: contract.Transport(spy, testkit.EditResponses{Edit: func(_ *http.Request, b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(`"has_more":`), []byte(`"more":`))
		}})}
	})
	if _, err := c.ListTools(ctx, amigo.ListToolsOptions{}); err != nil {
		t.Fatal(err)
	}
	if errs := spy.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "get-tools response") || !strings.Contains(errs[0], "has_more") {
		t.Errorf("want one get-tools violation naming has_more, got %q", errs)
	}
}
