package amigotest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/clock"
)

// detailList decodes a 422 body.
func detailList(t *testing.T, r res) []Detail {
	t.Helper()
	var out struct {
		Detail []Detail `json:"detail"`
	}
	r.json(t, &out)
	if len(out.Detail) == 0 {
		t.Fatalf("422 body without detail list: %s", r.body)
	}
	return out.Detail
}

func hasDetail(ds []Detail, loc, typ string) bool {
	for _, d := range ds {
		b, _ := json.Marshal(d.Loc)
		if string(b) == loc && d.Type == typ {
			return true
		}
	}
	return false
}

func TestValidation422Bodies(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	cases := []struct {
		name, method, path string
		body               any
		ctype              string
		loc, typ           string
	}{
		{"not json", "POST", "tool/", "name=x", "", `["body",0]`, "json_invalid"},
		{"form content type", "POST", "tool/", `{"name":"x","description":"d","tags":{}}`, "application/x-www-form-urlencoded", `["body"]`, "model_attributes_type"},
		{"empty body", "POST", "tool/", "", "", `["body"]`, "missing"},
		{"no content type", "POST", "tool/", `{"name":"x","description":"d","tags":{}}`, "-", `["body"]`, "model_attributes_type"},
		{"array body", "POST", "tool/", `[]`, "", `["body"]`, "model_attributes_type"},
		{"missing name", "POST", "tool/", map[string]any{"description": "d", "tags": map[string]any{}}, "", `["body","name"]`, "missing"},
		{"bad name", "POST", "tool/", map[string]any{"name": "Bad-Name", "description": "d", "tags": map[string]any{}}, "", `["body","name"]`, "string_pattern_mismatch"},
		{"blank description", "POST", "tool/", map[string]any{"name": "x", "description": "   ", "tags": map[string]any{}}, "", `["body","description"]`, "string_too_short"},
		{"tags null", "POST", "tool/", map[string]any{"name": "x", "description": "d", "tags": nil}, "", `["body","tags"]`, "dict_type"},
		{"bad tag value", "POST", "tool/", map[string]any{"name": "x", "description": "d", "tags": map[string]any{"k": "a-b"}}, "", `["body","tags","k"]`, "string_pattern_mismatch"},
		{"string bool", "POST", "tool/" + id + "/envvar", map[string]any{"inserts": []any{map[string]any{"name": "A", "value": "v", "is_secret": "true"}}}, "", `["body","inserts",0,"is_secret"]`, "bool_type"},
		{"envvar lowercase", "POST", "tool/" + id + "/envvar", map[string]any{"deletes": []any{map[string]any{"name": "abc"}}}, "", `["body","deletes",0,"name"]`, "string_pattern_mismatch"},
		{"inserts null", "POST", "tool/" + id + "/envvar", map[string]any{"inserts": nil}, "", `["body","inserts"]`, "list_type"},
		{"bad bump", "POST", "tool/" + id + "/version", map[string]any{"project_path": "tools/plain", "bump_type": "huge"}, "", `["body","bump_type"]`, "enum"},
		{"bad project path", "POST", "tool/" + id + "/version", map[string]any{"project_path": "../etc", "bump_type": "major"}, "", `["body","project_path"]`, "string_pattern_mismatch"},
		{"bad tool id", "POST", "tool/XYZ/version", map[string]any{"project_path": "p", "bump_type": "major"}, "", `["path","tool_id"]`, "string_pattern_mismatch"},
		{"modify bad id", "POST", "tool/123", map[string]any{"description": "x"}, "", `["path","tool_id"]`, "string_pattern_mismatch"},
		{"deprecate bad id", "DELETE", "tool/ABCDEF0123456789abcdef01", nil, "", `["path","tool_id"]`, "string_pattern_mismatch"},
		{"modify wrong type", "POST", "tool/" + id, map[string]any{"description": 5}, "", `["body","description"]`, "string_type"},
		{"no inputs", "POST", "tool/" + id + "/version/1.0.0/invoke", map[string]any{"inputs": []any{}}, "", `["body","inputs"]`, "too_short"},
		{"eleven inputs", "POST", "tool/test", map[string]any{"inputs": make([]any, 11), "commit_branch": "main", "project_path": "p", "required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{}}, "", `["body","inputs"]`, "too_long"},
		{"input missing fields", "POST", "tool/" + id + "/version/1.0.0/invoke", map[string]any{"inputs": []any{map[string]any{"input_parameters": map[string]any{}}}}, "", `["body","inputs",0,"invocation_mode"]`, "missing"},
		{"bad user var key", "POST", "tool/" + id + "/version/1.0.0/invoke", map[string]any{"inputs": []any{map[string]any{"input_parameters": map[string]any{}, "invocation_mode": "regular", "nonsensitive_user_variables": map[string]any{"Bad": "x"}, "sensitive_user_variables": map[string]any{}}}}, "", `["body","inputs",0,"nonsensitive_user_variables","Bad","[key]"]`, "string_pattern_mismatch"},
		{"limit too big", "GET", "tool/?limit=21", nil, "", `["query","limit"]`, "less_than_equal"},
		{"limit zero", "GET", "tool/?limit=0", nil, "", `["query","limit"]`, "greater_than"},
		{"limit not int", "GET", "tool/?limit=ten", nil, "", `["query","limit"]`, "int_parsing"},
		{"bad deprecated", "GET", "tool/?deprecated=maybe", nil, "", `["query","deprecated"]`, "bool_parsing"},
		{"bad sort", "GET", "tool/?sort_by=-color", nil, "", `["query","sort_by",0]`, "value_error"},
		{"versions limit", "GET", "tool/" + id + "/version?limit=51", nil, "", `["query","limit"]`, "less_than_equal"},
		{"bad constraint", "GET", "tool/" + id + "/version?versions=latest", nil, "", `["query","versions"]`, "value_error"},
		{"invocations limit", "GET", "tool/invocation?limit=101", nil, "", `["query","limit"]`, "less_than_equal"},
		{"search without query", "GET", "tool/invocation/search?query_against=invocation_status.output", nil, "", `["query","query"]`, "missing"},
		{"search bad field", "GET", "tool/invocation/search?query=x&query_against=inputs", nil, "", `["query","query_against",0]`, "enum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd io.Reader
			switch b := c.body.(type) {
			case nil:
			case string:
				rd = strings.NewReader(b)
			default:
				enc, _ := json.Marshal(b)
				rd = strings.NewReader(string(enc))
			}
			req, _ := http.NewRequest(c.method, f.s.URL()+"/v1/acme/"+c.path, rd)
			req.Header.Set("Authorization", "Bearer "+f.tok)
			if c.ctype == "-" {
				req.Header.Del("Content-Type")
			} else if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			} else if rd != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := testHTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := res{status: resp.StatusCode, body: b}
			if r.status != 422 {
				t.Fatalf("status %d, want 422: %s", r.status, b)
			}
			if ds := detailList(t, r); !hasDetail(ds, c.loc, c.typ) {
				t.Fatalf("no detail at %s of type %s in %s", c.loc, c.typ, b)
			}
		})
	}
	// Nothing was created by any of them.
	if n := len(f.s.Tools("acme")); n != 1 {
		t.Fatalf("%d tools after invalid creates", n)
	}
}

func TestTestToolResults(t *testing.T) {
	f := newFixture(t, nil)
	f.repo.branch("feature")
	f.repo.commit("on main", map[string]string{"tools/weather/src/main.py": "print('v2')\n"})
	full := func(inputs ...any) map[string]any {
		return map[string]any{"inputs": inputs, "commit_branch": "feature", "project_path": "tools/weather",
			"required_envvars": map[string]any{"WEATHER_API_BASE": "b"}, "required_secret_envvars": map[string]any{"WEATHER_API_KEY": "k"}}
	}
	var out amigo.TestToolResponse
	f.want(f.do("POST", "tool/test", full(
		input(map[string]any{"city": "Oslo", "days": 3}),
		input(map[string]any{"city": "Nowhere", "raise": "KeyError: city not found"}),
	)), 200).json(t, &out)
	if len(out.InvocationResults) != 2 {
		t.Fatalf("results %+v", out)
	}
	ok, bad := out.InvocationResults[0], out.InvocationResults[1]
	var echo map[string]any
	if err := json.Unmarshal([]byte(ok.Output), &echo); err != nil || !ok.Succeeded {
		t.Fatalf("success result %+v: %v", ok, err)
	}
	if echo["tool"] != "weather" || echo["commit"] != f.tip || echo["version"] != nil || echo["input_parameters"].(map[string]any)["city"] != "Oslo" {
		t.Fatalf("echo %v (tip of feature is %s)", echo, f.tip)
	}
	if bad.Succeeded || bad.ExceptionType != "KeyError" || bad.ExceptionMessage != "city not found" || len(bad.ExceptionStackTrace) < 2 || bad.DurationMS <= 0 {
		t.Fatalf("failure result %+v", bad)
	}
	// The same input gives the same duration.
	f.clk.Advance(time.Minute) // test-tool is limited to 1/min
	var again amigo.TestToolResponse
	f.want(f.do("POST", "tool/test", full(input(map[string]any{"city": "Oslo", "days": 3}))), 200).json(t, &again)
	if again.InvocationResults[0].DurationMS != ok.DurationMS {
		t.Errorf("duration not deterministic: %d vs %d", again.InvocationResults[0].DurationMS, ok.DurationMS)
	}

	refusals := []struct {
		name   string
		body   map[string]any
		status int
		want   string
	}{
		{"schema", full(input(map[string]any{"days": "three"})), 400, "inputs[0].input_parameters.city: field required"},
		{"schema type", full(input(map[string]any{"city": "x", "days": 1.5})), 400, "days: want integer"},
		{"undeclared envvar", map[string]any{"inputs": []any{input(map[string]any{"city": "x"})}, "commit_branch": "feature", "project_path": "tools/weather",
			"required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{"WEATHER_API_KEY": "k"}}, 400, "WEATHER_API_BASE"},
		{"both secret and not", map[string]any{"inputs": []any{input(map[string]any{"city": "x"})}, "commit_branch": "feature", "project_path": "tools/weather",
			"required_envvars": map[string]any{"WEATHER_API_BASE": "b", "X": "1"}, "required_secret_envvars": map[string]any{"WEATHER_API_KEY": "k", "X": "2"}}, 400, "both secret and non-secret: X"},
		{"unknown branch", map[string]any{"inputs": []any{input(map[string]any{})}, "commit_branch": "nope", "project_path": "tools/plain",
			"required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{}}, 404, `branch "nope"`},
		{"unknown path", map[string]any{"inputs": []any{input(map[string]any{})}, "commit_branch": "main", "project_path": "tools/gone",
			"required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{}}, 404, "tools/gone"},
	}
	for _, c := range refusals {
		f.clk.Advance(time.Minute)
		r := f.do("POST", "tool/test", c.body)
		if r.status != c.status || !strings.Contains(r.detail(), c.want) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, r.status, r.detail(), c.status, c.want)
		}
	}
	f.clk.Advance(time.Minute)
	f.repo.commit("break", map[string]string{"tools/plain/pyproject.toml": plainPyproject + "[tool.amigo]\nbuild_error = \"pytest: 2 failed\"\n"})
	r := f.do("POST", "tool/test", map[string]any{"inputs": []any{input(map[string]any{})}, "commit_branch": "main", "project_path": "tools/plain",
		"required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{}})
	if r.status != 400 || !strings.Contains(r.detail(), "pytest: 2 failed") {
		t.Errorf("build error: %d %s", r.status, r.detail())
	}
}

func TestInvokeAndInvocationHistory(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DisableRateLimits = true })
	id := f.createTool("weather")
	f.addWeatherEnvvars(id)
	f.want(f.publish(id, "tools/weather", "major"), 201)
	f.want(f.publish(id, "tools/weather", "minor"), 201)
	var out amigo.InvokeResponse
	f.want(f.do("POST", "tool/"+id+"/version/1.0.0/invoke", map[string]any{"inputs": []any{
		input(map[string]any{"city": "Oslo"}),
		input(map[string]any{"city": "X", "raise": "ValueError: bad city"}),
	}}), 200).json(t, &out)
	if len(out.InvocationResults) != 2 || !out.InvocationResults[0].Succeeded || out.InvocationResults[1].ExceptionType != "ValueError" {
		t.Fatalf("invoke results %+v", out)
	}
	var echo map[string]any
	json.Unmarshal([]byte(out.InvocationResults[0].Output), &echo)
	if echo["version"] != "1.0.0" || echo["tool"] != "weather" {
		t.Fatalf("echo %v", echo)
	}
	// A constraint resolves to the highest matching active version.
	f.want(f.do("POST", "tool/"+id+"/version/"+pathEscape(">=1.0")+"/invoke", map[string]any{"inputs": []any{input(map[string]any{"city": "A"})}}), 200).json(t, &out)
	json.Unmarshal([]byte(out.InvocationResults[0].Output), &echo)
	if echo["version"] != "1.1.0" {
		t.Fatalf("constraint resolved to %v", echo["version"])
	}
	f.want(f.do("POST", "tool/"+id+"/version/3.0.0/invoke", map[string]any{"inputs": []any{input(map[string]any{"city": "A"})}}), 404)
	f.want(f.do("POST", "tool/"+id+"/version/1.0.0/invoke", map[string]any{"inputs": []any{input(map[string]any{"town": "A"})}}), 400)
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
	f.want(f.do("POST", "tool/"+id+"/version/1.0.0/invoke", map[string]any{"inputs": []any{input(map[string]any{"city": "A"})}}), 404)

	hist := f.s.Invocations("acme")
	if len(hist) != 3 || hist[1].InvocationStatus.Succeeded || hist[1].InvocationSource.UserID != "alice" || hist[2].ToolVersion.String() != "1.1.0" {
		t.Fatalf("history %+v", hist)
	}
	var page amigo.ListInvocationsResponse
	f.want(f.do("GET", "tool/invocation?succeeded=false", nil), 200).json(t, &page)
	if len(page.ToolInvocations) != 1 || page.ToolInvocations[0].InvocationStatus.ExceptionMessage != "bad city" {
		t.Fatalf("failed invocations %+v", page)
	}
	f.want(f.do("GET", "tool/invocation?tool_id="+id+"&version="+queryEscape("==1.1.0"), nil), 200).json(t, &page)
	if len(page.ToolInvocations) != 1 {
		t.Fatalf("by version: %d", len(page.ToolInvocations))
	}
	f.want(f.do("GET", "tool/invocation?version=1", nil), 400)
	f.want(f.do("GET", "tool/invocation?limit=2&sort_by=-created_at", nil), 200).json(t, &page)
	if !page.HasMore || page.ContinuationToken == nil || *page.ContinuationToken != 2 || len(page.ToolInvocations) != 2 {
		t.Fatalf("page 1 %+v", page)
	}
	f.want(f.do("GET", fmt.Sprintf("tool/invocation?limit=2&continuation_token=%d", *page.ContinuationToken), nil), 200).json(t, &page)
	if page.HasMore || page.ContinuationToken != nil || len(page.ToolInvocations) != 1 {
		t.Fatalf("page 2 %+v", page)
	}
	var found amigo.SearchInvocationsResponse
	f.want(f.do("GET", "tool/invocation/search?query=VALUEERROR&query_against=invocation_status.exception_type", nil), 200).json(t, &found)
	if len(found.ToolInvocations) != 1 {
		t.Fatalf("search found %d", len(found.ToolInvocations))
	}
	f.want(f.do("GET", "tool/invocation/search?query=Oslo&query_against=invocation_status.output&query_against=invocation_status.exception_message", nil), 200).json(t, &found)
	if len(found.ToolInvocations) != 1 || !found.ToolInvocations[0].InvocationStatus.Succeeded {
		t.Fatalf("search Oslo %+v", found)
	}
	// Seeded simulation invocations are filterable by source and run.
	run := "aaaaaaaaaaaaaaaaaaaaaaaa"
	f.s.AddInvocation("acme", amigo.Invocation{ToolID: id, ToolVersion: amigo.Version{Major: 1, Minor: 1},
		InvocationStatus: amigo.InvocationStatus{Succeeded: true, Output: "sim"},
		InvocationSource: amigo.InvocationSource{Type: amigo.SourceSimulationConversation, SimulationUnitTestSetRunID: &run,
			InvocationMetadata: amigo.InvocationMetadata{Type: amigo.MetadataEngageUser, ToolCallRoundIndex: new(int)}}})
	f.want(f.do("GET", "tool/invocation?invocation_source_type=simulation-conversation&simulation_unit_test_set_run_id="+run, nil), 200).json(t, &page)
	if len(page.ToolInvocations) != 1 || page.ToolInvocations[0].InvocationStatus.Output != "sim" {
		t.Fatalf("simulation filter %+v", page)
	}
	// Deprecated versions do not take part in constraint resolution.
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.1.0", nil), 204)
	f.want(f.do("POST", "tool/"+id+"/version/"+pathEscape(">=1.0")+"/invoke", map[string]any{"inputs": []any{input(map[string]any{"city": "A"})}}), 404)
}

func TestListToolsPaginationAndFilters(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 25; i++ {
		tags := map[string]string{"team": "a"}
		if i%5 == 0 {
			tags["team"] = "b"
		}
		var null []string
		if i == 7 {
			null = []string{"beta"}
		}
		if _, err := f.s.AddTool("acme", SeedTool{Name: fmt.Sprintf("tool_%02d", i), Tags: tags, TagsNull: null, Deprecated: i == 24}); err != nil {
			t.Fatal(err)
		}
	}
	var page amigo.ListToolsResponse
	f.want(f.do("GET", "tool/?limit=20&sort_by=-name", nil), 200).json(t, &page)
	if len(page.Tools) != 20 || !page.HasMore || *page.ContinuationToken != 20 || page.Tools[0].Name != "tool_24" || page.FilterValues == nil {
		t.Fatalf("page 1: %d tools, more %v, first %s", len(page.Tools), page.HasMore, page.Tools[0].Name)
	}
	if fmt.Sprint(page.FilterValues.Tags) != "[beta: team:a team:b]" {
		t.Fatalf("filter values %v", page.FilterValues.Tags)
	}
	f.want(f.do("GET", "tool/?limit=20&sort_by=-name&continuation_token=20", nil), 200).json(t, &page)
	if len(page.Tools) != 5 || page.HasMore || page.ContinuationToken != nil || page.FilterValues != nil || page.Tools[4].Name != "tool_00" {
		t.Fatalf("page 2 %+v", page)
	}
	f.want(f.do("GET", "tool/", nil), 200).json(t, &page)
	if len(page.Tools) != 10 {
		t.Fatalf("default limit gave %d", len(page.Tools))
	}
	count := func(q string) int {
		var p amigo.ListToolsResponse
		f.want(f.do("GET", "tool/?limit=20&"+q, nil), 200).json(t, &p)
		return len(p.Tools)
	}
	if n := count("tag=team:b"); n != 5 {
		t.Errorf("team:b → %d", n)
	}
	if n := count("tag=beta:"); n != 1 {
		t.Errorf("beta null → %d", n)
	}
	if n := count("tag=team:*&deprecated=true"); n != 1 {
		t.Errorf("deprecated → %d", n)
	}
	ids := f.s.Tools("acme")
	if n := count("id=" + ids[3].ID + "&id=" + ids[4].ID); n != 2 {
		t.Errorf("by id → %d", n)
	}
	// Versions paginate at up to 50.
	for i := 0; i < 55; i++ {
		f.s.AddVersion("acme", ids[0].ID, SeedVersion{Version: fmt.Sprintf("1.%d.0", i), Deprecated: true})
	}
	var vp amigo.ListVersionsResponse
	f.want(f.do("GET", "tool/"+ids[0].ID+"/version?sort_by=-version.minor", nil), 200).json(t, &vp)
	if len(vp.ToolVersions) != 50 || !vp.HasMore || *vp.ContinuationToken != 50 || vp.ToolVersions[0].Version.Minor != 54 || len(vp.FilterValues.Creators) != 1 {
		t.Fatalf("versions page 1: %d more=%v", len(vp.ToolVersions), vp.HasMore)
	}
	f.want(f.do("GET", "tool/"+ids[0].ID+"/version?sort_by=-version.minor&continuation_token=50", nil), 200).json(t, &vp)
	if len(vp.ToolVersions) != 5 || vp.HasMore || vp.FilterValues != nil {
		t.Fatalf("versions page 2: %+v", vp)
	}
	f.want(f.do("GET", "tool/"+ids[0].ID+"/version?creator="+queryEscape("acme,seed"), nil), 200).json(t, &vp)
	if len(vp.ToolVersions) != 50 {
		t.Fatalf("creator filter %d", len(vp.ToolVersions))
	}
	f.want(f.do("GET", "tool/"+ids[0].ID+"/version?creator="+queryEscape("acme,other"), nil), 200).json(t, &vp)
	if len(vp.ToolVersions) != 0 || vp.ToolVersions == nil {
		t.Fatalf("other creator %+v", vp.ToolVersions)
	}
	f.want(f.do("GET", "tool/0123456789abcdef01234567/version", nil), 404)
}

func TestRateLimit429WithRetryAfter(t *testing.T) {
	f := newFixture(t, nil)
	body := map[string]any{"inputs": []any{input(map[string]any{})}, "commit_branch": "main", "project_path": "tools/plain",
		"required_envvars": map[string]any{}, "required_secret_envvars": map[string]any{}}
	f.want(f.do("POST", "tool/test", body), 200) // takes 10 simulated seconds
	r := f.want(f.do("POST", "tool/test", body), 429)
	if got := r.header.Get("Retry-After"); got != "50" {
		t.Fatalf("Retry-After %q, want 50 (1/min, 10s elapsed)", got)
	}
	f.clk.Advance(500 * time.Millisecond)
	if got := f.want(f.do("POST", "tool/test", body), 429).header.Get("Retry-After"); got != "50" {
		t.Fatalf("Retry-After %q, want 50 (ceil of 49.5s)", got)
	}
	f.clk.Advance(49 * time.Second)
	if got := f.want(f.do("POST", "tool/test", body), 429).header.Get("Retry-After"); got != "1" {
		t.Fatalf("Retry-After %q, want 1 (ceil of 0.5s)", got)
	}
	f.clk.Advance(time.Second)
	f.want(f.do("POST", "tool/test", body), 200)
	// Limits are per user: bob has his own bucket.
	bob := f.signIn("bob")
	f.want(f.doAs(bob, "POST", "tool/test", body), 200)

	// Create-tool allows a burst of 20, then 429; 3 seconds refill one.
	for i := 0; i < 20; i++ {
		f.want(f.do("POST", "tool/", map[string]any{"name": fmt.Sprintf("t%d", i), "description": "d", "tags": map[string]any{}}), 201)
	}
	r = f.want(f.do("POST", "tool/", map[string]any{"name": "t20", "description": "d", "tags": map[string]any{}}), 429)
	if r.header.Get("Retry-After") != "3" {
		t.Fatalf("create Retry-After %q", r.header.Get("Retry-After"))
	}
	f.clk.Advance(3 * time.Second)
	f.want(f.do("POST", "tool/", map[string]any{"name": "t20", "description": "d", "tags": map[string]any{}}), 201)

	// Sign-in: 5 a minute per user.
	for i := 0; i < 5; i++ {
		f.signIn("carol")
	}
	req, _ := http.NewRequest("POST", f.s.URL()+"/v1/acme/user/signin_with_api_key", nil)
	req.Header.Set("x-api-key", "k")
	req.Header.Set("x-api-key-id", "kid")
	req.Header.Set("x-user-id", "carol")
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "12" {
		t.Fatalf("6th sign-in: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Configurable and disableable.
	g := newFixture(t, func(o *Options) { o.RateLimits = map[string]int{OpListTools: 2} })
	g.want(g.do("GET", "tool/", nil), 200)
	g.want(g.do("GET", "tool/", nil), 200)
	g.want(g.do("GET", "tool/", nil), 429)
	h := newFixture(t, func(o *Options) { o.DisableRateLimits = true })
	for i := 0; i < 3; i++ {
		h.want(h.do("POST", "tool/test", body), 200)
	}
}

func TestChaosIsSeededAndDocumented(t *testing.T) {
	run := func() (map[int]int, map[string]int) {
		f := newFixture(t, func(o *Options) { o.DisableRateLimits = true })
		f.s.SetChaos(&Chaos{Seed: 42, Conflict: 0.2, RateLimit: 0.1, Unavailable: 0.1, Latency: 0.2, Drop: 0.1})
		statuses := map[int]int{}
		for i := 0; i < 150; i++ {
			var r *http.Response
			var err error
			if i%2 == 0 {
				req, _ := http.NewRequest("GET", f.s.URL()+"/v1/acme/tool/", nil)
				req.Header.Set("Authorization", "Bearer "+f.tok)
				r, err = testHTTP.Do(req)
			} else {
				req, _ := http.NewRequest("POST", f.s.URL()+"/v1/acme/tool/", strings.NewReader(fmt.Sprintf(`{"name":"t%d","description":"d","tags":{}}`, i)))
				req.Header.Set("Authorization", "Bearer "+f.tok)
				req.Header.Set("Content-Type", "application/json")
				r, err = testHTTP.Do(req)
			}
			if err != nil {
				statuses[0]++ // dropped
				continue
			}
			r.Body.Close()
			statuses[r.StatusCode]++
			if r.StatusCode == 409 && i%2 == 0 {
				t.Fatalf("409 injected into get-tools, which does not document it")
			}
			if r.StatusCode == 429 && r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		inj := f.s.Injected()
		f.s.SetChaos(nil)
		f.want(f.do("GET", "tool/", nil), 200)
		return statuses, inj
	}
	s1, inj1 := run()
	s2, inj2 := run()
	if fmt.Sprint(s1) != fmt.Sprint(s2) || fmt.Sprint(inj1) != fmt.Sprint(inj2) {
		t.Fatalf("same seed, different runs: %v %v / %v %v", s1, inj1, s2, inj2)
	}
	for _, k := range []string{"409", "429", "503", KindLatency, KindDrop} {
		if inj1[k] == 0 {
			t.Errorf("no %s injected in 150 calls: %v", k, inj1)
		}
	}
	if s1[409] != inj1["409"] || s1[429] != inj1["429"] || s1[503] != inj1["503"] || s1[0] != inj1[KindDrop] {
		t.Errorf("observed %v does not match injected %v", s1, inj1)
	}
}

func TestScaffoldIsARealTarGz(t *testing.T) {
	f := newFixture(t, nil)
	r := f.want(f.do("GET", "tool/amigo_tool_scaffold.tar.gz", nil), 200)
	if r.header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("content type %q", r.header.Get("Content-Type"))
	}
	gz, err := gzip.NewReader(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if strings.HasSuffix(h.Name, "pyproject.toml") {
			b, _ := io.ReadAll(tr)
			p := &project{}
			if err := p.parse(string(b)); err != nil {
				t.Fatalf("scaffold pyproject does not satisfy the emulator's contract: %v", err)
			}
		}
	}
	if len(names) != len(scaffoldFiles) {
		t.Fatalf("archive has %v", names)
	}
}

func TestRegionsAndOrgsAreIsolated(t *testing.T) {
	g, _ := newRepo(t, map[string]string{"tools/plain/pyproject.toml": plainPyproject})
	regions := NewTestRegions(t, Options{RepoPath: g.dir, Clock: newTestClock(), PublishLatency: Fixed(0), Orgs: []string{"acme", "beta"}}, "us", "eu-central-1")
	us := &fixture{t: t, s: regions["us"], org: "acme"}
	us.tok = us.signIn("alice")
	eu := &fixture{t: t, s: regions["eu-central-1"], org: "acme"}
	eu.tok = eu.signIn("alice")
	idUS := us.createTool("plain")
	idEU := eu.createTool("plain") // same name, other region: no conflict
	if idUS == idEU {
		t.Fatal("regions produced the same tool id")
	}
	us.want(us.publish(idUS, "tools/plain", "major"), 201)
	if len(regions["eu-central-1"].Versions("acme", idEU)) != 0 {
		t.Fatal("publish leaked across regions")
	}
	// Another org in the same region sees nothing.
	beta := &fixture{t: t, s: regions["us"], org: "beta"}
	beta.tok = beta.signIn("alice")
	var page amigo.ListToolsResponse
	beta.want(beta.do("GET", "tool/", nil), 200).json(t, &page)
	if len(page.Tools) != 0 {
		t.Fatalf("org beta sees %d tools", len(page.Tools))
	}
	beta.want(beta.do("GET", "tool/"+idUS+"/version", nil), 404)
	// Unknown orgs are 404 when Orgs is set.
	beta.want(beta.do("GET", "/v1/gamma/tool/", nil), 404)
}

func TestStaticTokensAndIssueToken(t *testing.T) {
	s := newContractServer(t, Options{StaticTokens: map[string]string{"static-tok": "robot"}})
	f := &fixture{t: t, s: s, org: "any_org"}
	f.tok = "static-tok"
	f.createTool("a")
	if tl := s.Tools("any_org"); tl[0].Creator.UserID != "robot" {
		t.Fatalf("creator %+v", tl[0].Creator)
	}
	f.tok = s.IssueToken("any_org", "issued")
	f.createTool("b")
	f.want(f.do("GET", "/v1/other/tool/", nil), 401)
}

func TestListenAndServeShutsDownOnContext(t *testing.T) {
	s := New(Options{Clock: clock.NewScaled(60000), PublishLatency: Fixed(0)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/acme/tool/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated list: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after cancel", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/v1/acme/tool/"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
	// ListenAndServe reports a bad address.
	if err := s.ListenAndServe(context.Background(), "256.0.0.1:bad"); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestNewRegionsServeIndependentState(t *testing.T) {
	regions := NewRegions(Options{StaticTokens: map[string]string{"tok": "u"}}, "us", "ca-central-1")
	if len(regions) != 2 || regions["us"] == regions["ca-central-1"] {
		t.Fatalf("regions %v", regions)
	}
	var ids []string
	for _, name := range []string{"us", "ca-central-1"} {
		srv := regions[name]
		ts := httptest.NewServer(srv.Handler())
		srv.srv = ts
		t.Cleanup(srv.Close)
		f := &fixture{t: t, s: srv, org: "acme", tok: "tok"}
		ids = append(ids, f.createTool("same_name"))
		if n := len(srv.Tools("acme")); n != 1 {
			t.Fatalf("%s has %d tools", name, n)
		}
	}
	if ids[0] == ids[1] {
		t.Fatalf("two regions issued the same id %s", ids[0])
	}
}

// TestListsSortByEveryKeyInOrder: several sort_by keys apply in order
// (later keys break ties), "-" reverses one key, on versions and
// invocations alike.
func TestListsSortByEveryKeyInOrder(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	run := "bbbbbbbbbbbbbbbbbbbbbbbb"
	for _, v := range []string{"1.0.2", "2.0.1", "1.1.0", "2.0.0"} {
		if _, err := f.s.AddVersion("acme", id, SeedVersion{Version: v, Deprecated: v == "2.0.1"}); err != nil {
			t.Fatal(err)
		}
		ver, err := amigo.ParseVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		f.s.AddInvocation("acme", amigo.Invocation{ToolID: id, ToolVersion: ver,
			InvocationStatus: amigo.InvocationStatus{Succeeded: true, Output: "ok"},
			InvocationSource: amigo.InvocationSource{Type: amigo.SourceSimulationConversation, SimulationUnitTestSetRunID: &run,
				InvocationMetadata: amigo.InvocationMetadata{Type: amigo.MetadataEngageUser, ToolCallRoundIndex: new(int)}}})
	}
	versions := func(q string) string {
		var vp amigo.ListVersionsResponse
		f.want(f.do("GET", "tool/"+id+"/version?"+q, nil), 200).json(t, &vp)
		var out []string
		for _, v := range vp.ToolVersions {
			out = append(out, v.Version.String())
		}
		return strings.Join(out, " ")
	}
	invocations := func(q string) string {
		var ip amigo.ListInvocationsResponse
		f.want(f.do("GET", "tool/invocation?"+q, nil), 200).json(t, &ip)
		var out []string
		for _, inv := range ip.ToolInvocations {
			out = append(out, inv.ToolVersion.String())
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ list, query, want string }{
		{"versions", "sort_by=-version.major&sort_by=version.patch", "2.0.0 2.0.1 1.1.0 1.0.2"},
		{"versions", "sort_by=version.minor&sort_by=-version.patch", "1.0.2 2.0.1 2.0.0 1.1.0"},
		{"versions", "sort_by=-deprecated&sort_by=version.major&sort_by=version.minor", "2.0.1 1.0.2 1.1.0 2.0.0"},
		{"invocations", "sort_by=-version.major&sort_by=version.patch", "2.0.0 2.0.1 1.1.0 1.0.2"},
		{"invocations", "sort_by=version.minor&sort_by=-version.patch", "1.0.2 2.0.1 2.0.0 1.1.0"},
	} {
		get := versions
		if tc.list == "invocations" {
			get = invocations
		}
		if got := get(tc.query); got != tc.want {
			t.Errorf("%s ?%s: %s, want %s", tc.list, tc.query, got, tc.want)
		}
	}
}

// The fixed-window limiter (Options.RateLimiter = LimiterWindow) admits N
// requests in each minute of the clock, counted from the minute's start,
// and says in Retry-After when the next minute begins; a burst at the end
// of one minute and another at the start of the next both pass, where the
// token bucket refuses the second.
func TestRateLimitFixedWindow(t *testing.T) {
	for _, lim := range []RateLimiter{LimiterWindow, LimiterBucket} {
		t.Run(string(lim), func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.RateLimits = map[string]int{OpListTools: 3}; o.RateLimiter = lim })
			// The fixture's clock starts 5 s into a minute (03:04:05).
			for i := 0; i < 3; i++ {
				f.want(f.do("GET", "tool/", nil), 200)
			}
			r := f.want(f.do("GET", "tool/", nil), 429)
			want := map[RateLimiter]string{LimiterWindow: "55", LimiterBucket: "20"}[lim]
			if got := r.header.Get("Retry-After"); got != want {
				t.Fatalf("Retry-After %q, want %s", got, want)
			}
			// Refused requests are not counted: at 03:04:59 the window
			// still refuses, the bucket has refilled two.
			f.clk.Advance(54 * time.Second)
			if lim == LimiterWindow {
				f.want(f.do("GET", "tool/", nil), 429)
				f.clk.Advance(time.Second) // 03:05:00: a new minute
				for i := 0; i < 3; i++ {
					f.want(f.do("GET", "tool/", nil), 200)
				}
				f.want(f.do("GET", "tool/", nil), 429)
				// The last second of this minute and the first of the
				// next: six requests in two seconds, all admitted.
				f.clk.Advance(59 * time.Second)
				f.want(f.do("GET", "tool/", nil), 429) // 03:05:59, still this minute's three
				f.clk.Advance(time.Second)
				for i := 0; i < 3; i++ {
					f.want(f.do("GET", "tool/", nil), 200)
				}
				return
			}
			for i := 0; i < 2; i++ {
				f.want(f.do("GET", "tool/", nil), 200)
			}
			f.want(f.do("GET", "tool/", nil), 429)
		})
	}
}
