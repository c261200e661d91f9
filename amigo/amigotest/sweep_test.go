package amigotest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

// sample is a well-formed request of one operation.
type sample struct {
	op, method, path string
	body             any
}

func samples(toolID string) []sample {
	in := []any{input(map[string]any{"city": "Oslo"})}
	return []sample{
		{OpGetScaffold, "GET", "tool/amigo_tool_scaffold.tar.gz", nil},
		{OpListTools, "GET", "tool/?limit=5", nil},
		{OpCreateTool, "POST", "tool/", map[string]any{"name": "sweep", "description": "d", "tags": map[string]any{}}},
		{OpModifyTool, "POST", "tool/" + toolID, map[string]any{"description": "new"}},
		{OpModifyEnvvars, "POST", "tool/" + toolID + "/envvar", map[string]any{"inserts": []any{}}},
		{OpTestTool, "POST", "tool/test", map[string]any{"inputs": in, "commit_branch": "main", "project_path": "tools/weather",
			"required_envvars": map[string]any{"WEATHER_API_BASE": "b"}, "required_secret_envvars": map[string]any{"WEATHER_API_KEY": "k"}}},
		{OpPublishVersion, "POST", "tool/" + toolID + "/version", map[string]any{"project_path": "tools/weather", "bump_type": "minor"}},
		{OpListVersions, "GET", "tool/" + toolID + "/version", nil},
		{OpInvokeVersion, "POST", "tool/" + toolID + "/version/1.0.0/invoke", map[string]any{"inputs": in}},
		{OpListInvocations, "GET", "tool/invocation", nil},
		{OpSearchInvocations, "GET", "tool/invocation/search?query=Oslo&query_against=invocation_status.output", nil},
		{OpDeprecateVersions, "DELETE", "tool/" + toolID + "/version/==0.0.1", nil},
		{OpDeprecateTool, "DELETE", "tool/" + toolID, nil},
	}
}

// TestEveryOperationAndGenericStatus drives every operation through success
// and the statuses every operation documents (401, 403, 404 org, 429, 503),
// all checked against the contract.
func TestEveryOperationAndGenericStatus(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	f := newFixture(t, func(o *Options) {
		o.Orgs = []string{"acme"}
		o.ReadOnlyUsers = []string{"viewer"}
		o.DisableRateLimits = true
		o.Logf = func(format string, args ...any) {
			mu.Lock()
			lines = append(lines, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
	})
	id := f.createTool("weather")
	f.addWeatherEnvvars(id)
	f.want(f.publish(id, "tools/weather", "major"), 201)
	viewer := f.signIn("viewer")

	seen := map[string]bool{OpSignIn: true}
	for _, sm := range samples(id) {
		seen[sm.op] = true
		t.Run(sm.op, func(t *testing.T) {
			f.t = t
			defer func() { f.t = nil }()
			f.want(f.doAs("", sm.method, sm.path, sm.body), 401)
			f.want(f.doAs("expired-or-unknown", sm.method, sm.path, sm.body), 401)
			f.want(f.do(sm.method, "/v1/unknown_org/"+sm.path, sm.body), 404)
			f.s.FailNext(sm.op, 1, 429, "")
			f.want(f.do(sm.method, sm.path, sm.body), 429)
			f.s.FailNext(sm.op, 1, 503, "")
			f.want(f.do(sm.method, sm.path, sm.body), 503)
			r := f.doAs(viewer, sm.method, sm.path, sm.body)
			if mutatingOps[sm.op] || sm.op == OpTestTool {
				f.want(r, 403)
			} else if r.status >= 300 {
				t.Fatalf("read-only user got %d on %s: %s", r.status, sm.op, r.body)
			}
			r = f.do(sm.method, sm.path, sm.body)
			if r.status >= 300 {
				t.Fatalf("%s: %d %s", sm.op, r.status, r.body)
			}
		})
	}
	f.t = t
	for _, op := range Operations {
		if !seen[op] {
			t.Errorf("operation %s has no sample", op)
		}
	}
	// The log lines name operation, status and user and never a token.
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "POST /v1/acme/tool/ create-tool -> 201 user=alice") || strings.Contains(joined, f.tok) {
		t.Fatalf("log lines:\n%s", joined)
	}
}

func TestModifyTool(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.want(f.do("POST", "tool/"+id, map[string]any{"description": "  better  ", "tags": map[string]any{"team": "core", "beta": nil}}), 204)
	tl := f.s.Tools("acme")[0]
	if tl.Description != "better" || len(tl.Tags) != 2 || tl.Tags[0].Key != "beta" || tl.Tags[0].Value != nil || *tl.Tags[1].Value != "core" {
		t.Fatalf("modified tool %+v", tl)
	}
	// Null fields leave the value unchanged.
	f.want(f.do("POST", "tool/"+id, map[string]any{"description": nil}), 204)
	f.want(f.do("POST", "tool/"+id, map[string]any{}), 204)
	if tl2 := f.s.Tools("acme")[0]; tl2.Description != "better" || len(tl2.Tags) != 2 {
		t.Fatalf("null fields changed the tool: %+v", tl2)
	}
	f.want(f.do("POST", "tool/0123456789abcdef01234567", map[string]any{"description": "x"}), 404)
	long := strings.Repeat("a", 65)
	if r := f.want(f.do("POST", "tool/", map[string]any{"name": long, "description": "d", "tags": map[string]any{}}), 400); !strings.Contains(r.detail(), "too long") {
		t.Errorf("long name detail %q", r.detail())
	}
	var page amigo.ListToolsResponse
	f.want(f.do("GET", "tool/?id="+id, nil), 200).json(t, &page)
	if page.Tools[0].UpdatedBy.UserID != "alice" || page.Tools[0].UpdatedAt == nil || page.Tools[0].CreatedAt == nil {
		t.Fatalf("tool %+v", page.Tools[0])
	}
}
