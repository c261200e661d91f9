package cmd

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// startEmulator runs `amigo-release emulator` in-process on a free port and
// returns its base URL; the command stops (and must exit 0) at cleanup.
func startEmulator(t *testing.T, args ...string) (baseURL string, out *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	out = new(strings.Builder)
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...), Env{
			Getenv: mapEnv(nil), Stdout: out, Stderr: io.Discard,
			Ready: func(u string) { ready <- u },
		})
	}()
	select {
	case baseURL = <-ready:
	case code := <-done:
		t.Fatalf("emulator exited early with %d:\n%s", code, out)
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("emulator exit code after SIGINT-like cancel = %d, want 0", code)
		}
	})
	return baseURL, out
}

func TestEmulator_servesTheAPI(t *testing.T) {
	base, out := startEmulator(t, "--orgs", "acme")
	wantContains(t, "banner", out.String(), "listening on "+base, "curl -s -X POST "+base+"/v1/acme/user/signin_with_api_key", "Authorization: Bearer")

	c, err := amigo.New(amigo.Config{BaseURL: base, Org: "acme", APIKey: "k", APIKeyID: "kid", UserID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	created, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather_lookup", Description: "weather", Tags: map[string]*string{}})
	if err != nil {
		t.Fatalf("CreateTool through the emulator: %v", err)
	}
	tools, err := c.AllTools(ctx, amigo.ListToolsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tools) != 1 || tools[0].ID != created.ID || tools[0].Name != "weather_lookup" {
		t.Errorf("AllTools = %+v, want the one created tool %s", tools, created.ID)
	}

	// An org the emulator was not told about is unknown.
	other, err := amigo.New(amigo.Config{BaseURL: base, Org: "other", APIKey: "k", APIKeyID: "kid", UserID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AllTools(ctx, amigo.ListToolsOptions{}); err == nil {
		t.Error("listing tools of an org not in --orgs succeeded, want an error")
	}
}

func TestEmulator_regions(t *testing.T) {
	base, out := startEmulator(t, "--regions", "us,eu-central-1", "--token", "secret-token")
	wantContains(t, "banner", out.String(), "us: "+base+"/us", "eu-central-1: "+base+"/eu-central-1")
	ctx := t.Context()
	us, err := amigo.New(amigo.Config{BaseURL: base + "/us", Org: "demo", Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	eu, err := amigo.New(amigo.Config{BaseURL: base + "/eu-central-1", Org: "demo", Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.CreateTool(ctx, amigo.CreateToolRequest{Name: "only_in_us", Description: "us only", Tags: map[string]*string{}}); err != nil {
		t.Fatal(err)
	}
	usTools, err := us.AllTools(ctx, amigo.ListToolsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	euTools, err := eu.AllTools(ctx, amigo.ListToolsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(usTools) != 1 || len(euTools) != 0 {
		t.Errorf("regions share state: us has %d tools, eu %d; want 1 and 0", len(usTools), len(euTools))
	}
	resp := do(t, http.DefaultClient, "GET", base+"/ap-southeast-2/v1/demo/tool/", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown region path: status %d, want 404", resp.StatusCode)
	}
}

func TestEmulator_addressInUse(t *testing.T) {
	base, _ := startEmulator(t)
	addr := strings.TrimPrefix(base, "http://")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	r := runMainCtx(t, ctx, Env{Getenv: mapEnv(nil)}, "emulator", "--addr", addr)
	r.wantCode(t, ExitUnavailable)
	wantContains(t, "stderr", r.stderr, "listen on "+addr, "--addr 127.0.0.1:0")
}

// The banner's two commands run as printed: the first sets ID_TOKEN, the
// second uses it; the repository is shown as an absolute path.
func TestEmulator_bannerNamesTheRepoAndSetsTheToken(t *testing.T) {
	_, out := startEmulator(t, "--repo", ".")
	abs, _ := filepath.Abs(".")
	wantContains(t, "banner", out.String(), "repository "+abs+",", "ID_TOKEN=$(curl -s -X POST ", `sed 's/.*"id_token":"\([^"]*\)".*/\1/')`)
}

func TestEmulator_missingRepoIsAUsageError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	r := runMainEnv(t, nil, "emulator", "--addr", "127.0.0.1:0", "--repo", missing)
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "--repo "+missing+": not a directory; fix: pass the git repository")
}

// TestEmulator_capRuleAndLax: --cap-rule picks the reading of the active
// cap, --lax pydantic's lax booleans; the banner says which.
func TestEmulator_capRuleAndLax(t *testing.T) {
	repo := toolRepo(t)
	for _, c := range []struct {
		rule      string
		published int // publishes accepted in a row with --active-cap 1
	}{{"literal", 2}, {"strict", 1}} {
		t.Run(c.rule, func(t *testing.T) {
			args := []string{"--repo", repo, "--active-cap", "1", "--time-scale", "100000", "--token", "tok"}
			if c.rule != "literal" {
				args = append(args, "--cap-rule", c.rule, "--lax")
			}
			base, out := startEmulator(t, args...)
			validation := "strict validation"
			if c.rule != "literal" {
				validation = "lax validation"
			}
			wantContains(t, "banner", out.String(), "active cap 1 ("+c.rule+" rule), "+validation)
			cl, err := amigo.New(amigo.Config{BaseURL: base, Org: "acme", Token: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			tl, err := cl.CreateTool(ctx, amigo.CreateToolRequest{Name: "weather_lookup", Description: "d", Tags: map[string]*string{}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			bump := amigo.BumpMajor
			for ; n < 5; n++ {
				if _, err = cl.PublishVersion(ctx, tl.ID, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: bump}); err != nil {
					break
				}
				bump = amigo.BumpPatch
			}
			var ae *amigo.APIError
			if n != c.published || !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, "active versions") {
				t.Errorf("%d publishes accepted, then %v; want %d, then a 400 for the cap", n, err, c.published)
			}
			// A string for a boolean: 204 when lax, 422 when strict.
			req, _ := http.NewRequest("POST", base+"/v1/acme/tool/"+tl.ID+"/envvar", strings.NewReader(`{"inserts":[{"name":"K","value":"v","is_secret":"true"}]}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer tok")
			resp := doReq(t, http.DefaultClient, req)
			if want := map[string]int{"literal": 422, "strict": 204}[c.rule]; resp.StatusCode != want {
				t.Errorf(`is_secret "true": %d, want %d`, resp.StatusCode, want)
			}
		})
	}
	r := runMainEnv(t, nil, "emulator", "--addr", "127.0.0.1:0", "--cap-rule", "loose")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `--cap-rule "loose": want literal`, "or strict")
}

// TestEmulator_regionRedirectKeepsThePrefix: a trailing-slash redirect of a
// region's server points back into that region.
func TestEmulator_regionRedirectKeepsThePrefix(t *testing.T) {
	base, _ := startEmulator(t, "--regions", "us,eu-central-1", "--token", "tok")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp := do(t, noFollow, "GET", base+"/eu-central-1/v1/demo/tool?limit=2", nil)
	if want := base + "/eu-central-1/v1/demo/tool/?limit=2"; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
		t.Errorf("%d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The path reaches the emulator as sent (no path cleaning in front of
	// it): a doubled slash is the emulator's 404, not a 301 of net/http.
	resp = do(t, noFollow, "GET", base+"/us/v1/demo/tool//", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /us/v1/demo/tool//: %d, want 404", resp.StatusCode)
	}
}

// TestEmulator_rateLimitWindow: --rate-limit window counts the documented
// limits in fixed minutes of the clock: a refused test-tool call is told
// to come back at the next minute, and the banner says which limiter runs;
// a kind it does not know is a usage error.
func TestEmulator_rateLimitWindow(t *testing.T) {
	// In a bubble the emulator's clock is the bubble's: it starts on a
	// whole minute (2000-01-01 00:00:00 UTC) and does not move while the
	// calls go over loopback (nothing here sleeps), so Retry-After is
	// exact, whatever the machine's load.
	synctest.Test(t, func(t *testing.T) {
		base, out := startEmulator(t, "--repo", toolRepo(t), "--time-scale", "1", "--token", "tok", "--rate-limit", "window")
		wantContains(t, "banner", out.String(), "rate limits as a fixed one-minute window")
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		test := func() *http.Response {
			req, _ := http.NewRequest("POST", base+"/v1/acme/tool/test", strings.NewReader(`{"inputs":[{"input_parameters":{}}],"commit_branch":"main","project_path":"tools/none","required_envvars":{},"required_secret_envvars":{}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer tok")
			return doReq(t, client, req)
		}
		if !time.Now().Truncate(time.Minute).Equal(time.Now()) {
			t.Fatalf("the bubble's clock %s is not on a whole minute", time.Now())
		}
		if resp := test(); resp.StatusCode == 429 {
			t.Fatalf("first test-tool call refused: %d", resp.StatusCode)
		}
		resp := test()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
			t.Fatalf("second test-tool call in the same minute: %d, Retry-After %q; want 429, 60 (the whole minute left)", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	r := runMainEnv(t, nil, "emulator", "--addr", "127.0.0.1:0", "--rate-limit", "leaky")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `--rate-limit "leaky": want bucket`, "or window")
}

// do sends a request on c and returns the response, its body closed.
func do(t *testing.T, c *http.Client, method, url string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return doReq(t, c, req)
}

// doReq sends req on c and returns the response, its body closed.
func doReq(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
