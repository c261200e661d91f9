package platform

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/pipeline"
)

// strictEnv is a getenv that knows exactly the variables in vars (an empty
// value means "read but unset") and fails the test on any other key, so
// each test lists every variable the code reads (FerretDB's GetEnvFunc).
type strictEnv struct {
	t    *testing.T
	mu   sync.Mutex
	vars map[string]string
}

func newStrictEnv(t *testing.T, vars map[string]string) *strictEnv {
	t.Helper()
	return &strictEnv{t: t, vars: vars}
}

func (e *strictEnv) Getenv(key string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.vars[key]
	if !ok {
		e.t.Errorf("unexpected getenv(%q)", key)
	}
	return v
}

// fixedTokens returns "tok1", "tok2", … for heredoc delimiters and
// stop-commands tokens.
func fixedTokens() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return "tok" + string(rune('0'+n))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func eventPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lockedBuffer is a concurrency-safe strings.Builder.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

// sampleReport: weather_lookup released to two stages, geo_coder failed,
// docs_only had nothing to release; one commit subject is hostile.
func sampleReport() *pipeline.Report {
	return &pipeline.Report{
		Mode: "run", Repo: "acme/tools", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main",
		StartedAt: t0, FinishedAt: t0.Add(5 * time.Minute),
		Stages: []pipeline.StageInfo{{Name: "us", BaseURL: "https://api.amigo.ai"}, {Name: "eu-central-1", BaseURL: "https://api-eu-central-1.amigo.ai", Needs: []string{"us"}}},
		Tools: []pipeline.ToolReport{
			{Name: "weather_lookup", Path: "tools/weather_lookup", Bump: "minor", Reason: "feat: add wind speed", Status: pipeline.StatusReleased,
				Commits: []pipeline.CommitSummary{{SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Subject: "::set-output name=x::y"}},
				Stages: []pipeline.StageReport{
					{Stage: "us", Status: pipeline.StatusReleased, VersionBefore: "1.2.4", VersionAfter: "1.3.0", Attempts: 1, Duration: 2 * time.Minute},
					{Stage: "eu-central-1", Status: pipeline.StatusReleased, VersionBefore: "1.2.4", VersionAfter: "1.3.0", Attempts: 1, Duration: time.Minute},
				}},
			{Name: "geo_coder", Path: "tools/geo_coder", Bump: "patch", Reason: "fix: coords", Status: pipeline.StatusFailed,
				Stages: []pipeline.StageReport{
					{Stage: "us", Status: pipeline.StatusFailed, Error: "test gate failed", Duration: time.Minute},
					{Stage: "eu-central-1", Status: pipeline.StatusBlocked},
				}},
			{Name: "docs_only", Path: "tools/docs_only", Status: pipeline.StatusNoRelease, Reason: "only chore commits"},
		},
	}
}

// secretParts is what the exit masks of a secret: the value and, when it
// spans lines, each line (trimmed; shorter than 4 characters left out).
func secretParts(secret string) []string {
	secret = strings.TrimSpace(secret)
	var parts []string
	if len(secret) >= 4 {
		parts = append(parts, secret)
	}
	if strings.ContainsAny(secret, "\r\n") {
		for _, l := range strings.FieldsFunc(secret, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l = strings.TrimSpace(l); len(l) >= 4 && !slices.Contains(parts, l) {
				parts = append(parts, l)
			}
		}
	}
	return parts
}

// maskedLines is what the runner is told of a secret: each line of a
// multi-line one, or the value.
func maskedLines(secret string) []string {
	parts := secretParts(secret)
	if strings.ContainsAny(strings.TrimSpace(secret), "\r\n") && len(parts) > 0 && parts[0] == strings.TrimSpace(secret) {
		return parts[1:]
	}
	return parts
}

// detectAs detects the CI of the environment vars (every variable read must
// be in it), writing to the buffer it returns, and fails t unless the CI
// is the one named.
func detectAs(t *testing.T, vars map[string]string, name string) (Platform, *lockedBuffer) {
	t.Helper()
	var out lockedBuffer
	p := DetectCI(newStrictEnv(t, vars).Getenv, WithWriter(&out), WithTokenSource(fixedTokens()))
	if p.Name() != name {
		t.Fatalf("Detect = %s, want %s", p.Name(), name)
	}
	return p, &out
}
