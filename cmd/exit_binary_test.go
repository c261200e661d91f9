package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/cilog"
	"github.com/amigo-release/amigo-release/internal/egress"
)

// echoProxy serves target, except the requests answer takes over (it
// returns true when it wrote an answer): a server that echoes what it was
// sent in its error bodies.
func echoProxy(t *testing.T, target string, answer func(w http.ResponseWriter, r *http.Request, body []byte) bool) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !answer(w, r, body) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// leaks returns where any form of a secret shows in out (mask
// registrations aside): as it is, each line, JSON-escaped, URL-encoded,
// base64.
func leaks(out string, secrets ...string) []string {
	var found []string
	for _, line := range cilog.Lines(out) {
		if strings.HasPrefix(line, "::add-mask::") || strings.HasPrefix(line, "##vso[task.setsecret]") {
			continue
		}
		for _, s := range secrets {
			parts := []string{s}
			if strings.Contains(s, "\n") {
				parts = append(parts, strings.Split(s, "\n")...)
			}
			for _, p := range parts {
				q, _ := json.Marshal(p)
				for _, f := range []string{p, string(q[1 : len(q)-1]), url.QueryEscape(p), base64.StdEncoding.EncodeToString([]byte(p))[:4*(len(p)/3)]} {
					if len(f) >= 4 && strings.Contains(line, f) {
						found = append(found, fmt.Sprintf("%q in %q", f, line))
					}
				}
			}
		}
	}
	return found
}

// TestBinary_finalErrorLineIsDefused (issue 12, finding 2): text from the
// plan reaches the last error line on stderr, which the runners read for
// commands too; it runs none, on Azure (##vso[ anywhere) or GitHub (a
// line that starts with :: after a newline in a YAML key).
func TestBinary_finalErrorLineIsDefused(t *testing.T) {
	repo := toolRepo(t)
	for _, tc := range []struct {
		name string
		d    egress.Dialect
		env  []string
		plan string
	}{
		{"azure region", egress.Azure, []string{"TF_BUILD", "True"},
			"version: 1\nstages:\n  - name: us\n    organization: acme\n    region: \"##vso[task.setvariable variable=X]evil\"\n"},
		{"github quoted key", egress.GitHub, []string{"GITHUB_ACTIONS", "true"},
			"version: 1\nstages:\n  - name: us\n    organization: acme\n    region: us\n\"a\\n::warning::x\": 1\n"},
		{"github value on a line of its own", egress.GitHub, []string{"GITHUB_ACTIONS", "true"},
			"version: 1\nstages:\n  - name: us\n    organization: acme\n    region: \"\\r::error::evil\\n##vso[task.complete]\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := filepath.Join(t.TempDir(), "release.yaml")
			if err := os.WriteFile(plan, []byte(tc.plan), 0o644); err != nil {
				t.Fatal(err)
			}
			env := releaseEnv(append([]string{"AMIGO_CONFIG", plan, "AMIGO_REPO", repo}, tc.env...)...)
			r := runBinary(t, repo, env, "plan", "--offline")
			r.wantCode(t, ExitUsage)
			if !strings.Contains(r.stderr, "amigo-release plan: ") {
				t.Fatalf("no final error line:\n%s", r.stderr)
			}
			for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
				if cmds := cilog.Parse(d, r.stderr); len(cmds) != 0 {
					t.Errorf("stderr runs %q on the runner", cmds[0].Text)
				}
			}
			if bad := cilog.Injections(tc.d, r.stdout, cilog.Policy{Secrets: []string{testCreds["AMIGO_API_KEY"], testCreds["AMIGO_API_KEY_ID"], testCreds["AMIGO_USER_ID"]}}); len(bad) != 0 {
				t.Errorf("stdout runs %q", bad)
			}
		})
	}
}

// TestBinary_finalErrorLineIsMasked (issue 12, finding 3): a 401 whose
// body echoes the sign-in headers: neither the annotation nor the final
// error line shows the API key, its id or the user id, in a CI or on a
// terminal.
func TestBinary_finalErrorLineIsMasked(t *testing.T) {
	repo := toolRepo(t)
	us, _ := emulators(t, repo)
	proxy := echoProxy(t, us.URL(), func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if !strings.HasSuffix(r.URL.Path, "/user/signin_with_api_key") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		detail := fmt.Sprintf("invalid credentials: key=%s id=%s user=%s b64=%s", r.Header.Get("x-api-key"), r.Header.Get("x-api-key-id"), r.Header.Get("x-user-id"),
			base64.StdEncoding.EncodeToString([]byte(r.Header.Get("x-api-key")+":"+r.Header.Get("x-user-id"))))
		json.NewEncoder(w).Encode(map[string]string{"detail": detail})
		return true
	})
	plan := writePlan(t, t.TempDir(), proxy, proxy)
	for _, ci := range [][]string{nil, {"GITHUB_ACTIONS", "true"}, {"TF_BUILD", "True"}} {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			env := releaseEnv(append([]string{"AMIGO_CONFIG", plan, "AMIGO_REPO", repo}, ci...)...)
			r := runBinary(t, repo, env, "plan")
			r.wantCode(t, ExitUsage)
			wantContains(t, "stderr", r.stderr, "amigo-release plan: ", "401", "invalid credentials: key=***")
			if l := leaks(r.stdout+r.stderr, testCreds["AMIGO_API_KEY"], testCreds["AMIGO_API_KEY_ID"], testCreds["AMIGO_USER_ID"]); len(l) != 0 {
				t.Errorf("a credential leaks: %s\nstdout:\n%s\nstderr:\n%s", l, r.stdout, r.stderr)
			}
		})
	}
}

// TestBinary_reportJSONMasksMultilineSecret (issue 12, finding 4): a 500
// that echoes the envvar request carries a multi-line secret JSON-escaped
// ("LINE1\nLINE2"); the JSON report, the log and the summary show neither
// line.
func TestBinary_reportJSONMasksMultilineSecret(t *testing.T) {
	repo := toolRepo(t)
	us, eu := emulators(t, repo)
	echo := func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/envvar") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"detail":"could not store %s"}`, strconv.Quote(string(body))[1:len(strconv.Quote(string(body)))-1])
		return true
	}
	dir := t.TempDir()
	plan := writePlan(t, dir, echoProxy(t, us.URL(), echo), echoProxy(t, eu.URL(), echo))
	b, _ := os.ReadFile(plan)
	os.WriteFile(plan, append(b, []byte("tools:\n  weather_lookup:\n    envvars:\n      - name: WEATHER_KEY\n        from_env: WEATHER_KEY_PROD\n        secret: true\n")...), 0o644)
	secret := "LINE1-first-half-of-the-key\nLINE2-second-half-of-the-key"
	report, summary := filepath.Join(dir, "report.json"), filepath.Join(dir, "summary.md")
	env := releaseEnv("AMIGO_CONFIG", plan, "AMIGO_REPO", repo, "WEATHER_KEY_PROD", secret, "AMIGO_TIME_SCALE", strconv.Itoa(timeScale), "AMIGO_SUMMARY", summary)
	r := runBinary(t, repo, env, "run", "--report-json", report)
	r.wantCode(t, ExitFailed)
	rep := readFile(t, report)
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(rep), "could not store") || !json.Valid(rep) {
		t.Fatalf("the report does not carry the server's answer, or is not JSON:\n%s", rep)
	}
	for what, out := range map[string]string{"report": string(rep), "summary": string(sum), "log": r.stdout + r.stderr} {
		if l := leaks(out, secret); len(l) != 0 {
			t.Errorf("%s: the secret leaks: %s", what, l)
		}
	}
}

// TestMain_panicLineGoesThroughTheExit: the recovered panic's line is
// masked and defused like every other line.
func TestMain_panicLineGoesThroughTheExit(t *testing.T) {
	register(command{name: "test-panic-secret", order: 999, run: func(_ context.Context, env *Env, _ []string) error {
		panic("boom with " + env.Getenv("AMIGO_API_KEY") + "\n::error::injected\x1b[2J")
	}})
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "test-panic-secret")
		registryMu.Unlock()
	})
	r := runMainEnv(t, map[string]string{"AMIGO_API_KEY": "panic-secret-key", "GITHUB_ACTIONS": "true"}, "test-panic-secret")
	r.wantCode(t, ExitInternal)
	wantContains(t, "stderr", r.stderr, "internal error", "boom with ***")
	if strings.Contains(r.stderr, "panic-secret-key") || strings.Contains(r.stderr, "\x1b") || len(cilog.Parse(egress.GitHub, r.stderr)) != 0 {
		t.Errorf("the panic line is not safe:\n%q", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing (a command that writes no CI log tells the runner nothing)", r.stdout)
	}
}

// TestMain_dataOnStdoutStaysData: in a CI, a command whose standard output
// a step captures (version --json) writes only its data there: the
// credential variables are masked, but the runner is told about them only
// by the commands that write a CI log.
func TestMain_dataOnStdoutStaysData(t *testing.T) {
	r := runMainEnv(t, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_captured_token_123", "AMIGO_API_KEY": "captured-key-456"}, "version", "--json")
	r.wantCode(t, ExitOK)
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Errorf("stdout is not the JSON alone: %v\n%s", err, r.stdout)
	}
}
