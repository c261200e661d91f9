package amigotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/contract"
)

// The tests of this file pin the rules where the contract is silent and the
// emulator answers as a FastAPI/pydantic server does (doc.go, "Where the
// contract is silent"), and the two switches where only the real server can
// settle it (CapRule, Lax). Every exchange goes through contract.Middleware.

// noRedirect sends requests without following redirects.
var noRedirect = &http.Client{Timeout: testHTTP.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// raw sends method path (relative to /v1/acme/ unless it starts with /)
// with the token tok ("" for none) and the raw JSON body ("" for none),
// without following redirects.
func (f *fixture) raw(tok, method, path, body string) res {
	f.t.Helper()
	var b any
	if body != "" {
		b = body
	}
	return f.send(noRedirect, tok, method, path, b)
}

func TestRedirectSlashes(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.want(f.publish(id, "tools/plain", "major"), 201)

	for _, c := range []struct{ method, path, body, location string }{
		// An empty constraint: Starlette strips the slash; nothing is deprecated.
		{"DELETE", "tool/" + id + "/version/", "", "/v1/acme/tool/" + id + "/version"},
		// Trailing slashes are all stripped.
		{"DELETE", "tool/" + id + "/version//", "", "/v1/acme/tool/" + id + "/version"},
		// The tools collection without its slash; the query is kept.
		{"GET", "tool?limit=5&sort_by=-name", "", "/v1/acme/tool/?limit=5&sort_by=-name"},
		{"POST", "tool", `{"name":"x","description":"d","tags":{}}`, "/v1/acme/tool/"},
		// An operation's path with a slash too many.
		{"GET", "tool/" + id + "/version/", "", "/v1/acme/tool/" + id + "/version"},
		{"POST", "user/signin_with_api_key/", "", "/v1/acme/user/signin_with_api_key"},
	} {
		// No token: the framework redirects before any dependency runs.
		r := f.raw("", c.method, c.path, c.body)
		if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != f.s.URL()+c.location || len(r.body) != 0 {
			t.Errorf("%s %s: %d Location %q body %q; want 307 to %s%s with no body", c.method, c.path, r.status, r.header.Get("Location"), r.body, f.s.URL(), c.location)
		}
	}
	if got := f.s.ActiveVersions("acme", id); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("active versions after DELETE .../version/ = %v, want [1.0.0]", got)
	}
	// Followed, the redirects land where a client expects: the empty
	// constraint on a path where DELETE is not allowed, the list and create.
	f.want(f.do("DELETE", "tool/"+id+"/version/", nil), http.StatusMethodNotAllowed)
	var list amigo.ListToolsResponse
	f.want(f.do("GET", "/v1/acme/tool?limit=5", nil), 200).json(t, &list)
	if len(list.Tools) != 1 {
		t.Errorf("followed list: %d tools", len(list.Tools))
	}
	f.want(f.do("POST", "/v1/acme/tool", map[string]any{"name": "followed", "description": "d", "tags": map[string]any{}}), 201)
	if _, ok := f.s.ToolByName("acme", "followed"); !ok {
		t.Errorf("the create that followed the redirect made no tool")
	}
	// No route with or without the slash: 404.
	for _, p := range []string{"nothing", "tool/" + id + "/nothing/", "/v1/acme", "/elsewhere/"} {
		if r := f.raw(f.tok, "GET", p, ""); r.status != 404 || r.detail() != "Not Found" {
			t.Errorf("GET %s: %d %s, want 404 Not Found", p, r.status, r.body)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	for _, c := range []struct{ method, path, allow string }{
		// Starlette names the methods of the first route that matches the
		// path: GET /tool/ comes before POST /tool/ in the contract.
		{"PUT", "tool/", "GET"},
		{"DELETE", "tool/", "GET"},
		// FastAPI's routes do not answer HEAD for GET.
		{"HEAD", "tool/", "GET"},
		{"HEAD", "tool/" + id + "/version", "GET"},
		{"GET", "tool/test", "POST"},
		{"PATCH", "tool/" + id, "POST"},
		{"GET", "tool/" + id, "POST"},
		{"PUT", "tool/" + id + "/version/==1.0.0", "DELETE"},
		{"GET", "tool/" + id + "/version/1.0.0/invoke", "POST"},
		{"GET", "user/signin_with_api_key", "POST"},
	} {
		r := f.raw("", c.method, c.path, "")
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.path, r.status, r.header.Get("Allow"), c.allow)
		}
		if c.method != "HEAD" && r.detail() != "Method Not Allowed" {
			t.Errorf("%s %s: body %s", c.method, c.path, r.body)
		}
	}
	for _, lr := range f.s.Requests() {
		if lr.Status == 405 && (lr.OperationID != "" || lr.User != "") {
			t.Errorf("405 logged as %+v: no operation ran", lr)
		}
	}
}

// TestRoutingTakesThePathAsSent: the emulator routes the path as Starlette
// does, not as net/http.ServeMux would by itself (route.go matches with
// ServeMux): no path is cleaned or redirected to its cleaned form, "." and
// ".." are parameter values, an empty segment matches nothing, escaped
// slashes stay in their segment, and 404/405 bodies are the framework's
// JSON.
func TestRoutingTakesThePathAsSent(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	for _, c := range []struct {
		method, path string
		status       int
		detail       string // a substring of the detail
		op           string // the operation logged, "" for none
	}{
		// A "." or ".." segment is the parameter's value (a bad tool_id).
		{"GET", "tool/./version", 422, "string_pattern_mismatch", OpListVersions},
		{"GET", "tool/../version", 422, "string_pattern_mismatch", OpListVersions},
		{"GET", "/v1/acme/tool/%2e%2e/version", 422, "string_pattern_mismatch", OpListVersions},
		{"DELETE", "tool/" + id + "/version/..", 422, "versions", OpDeprecateVersions},
		// An escaped slash stays in the tool_id.
		{"GET", "tool/a%2Fb/version", 422, "tool_id", OpListVersions},
		// Empty segments match nothing and are not cleaned away.
		{"GET", "/v1/acme//tool/", 404, "Not Found", ""},
		{"GET", "/v1//tool/", 404, "Not Found", ""},
		{"GET", "/v1/acme/tool//", 404, "Not Found", ""},
		{"GET", "/v1/acme/tool/invocation/../", 404, "Not Found", ""},
		{"GET", "/v1/acme/", 404, "Not Found", ""},
		{"GET", "/", 404, "Not Found", ""},
		// Another method on a concrete path.
		{"PUT", "tool/invocation", 405, "Method Not Allowed", ""},
		{"PUT", "tool/invocation/search", 405, "Method Not Allowed", ""},
		{"CONNECT", "/v1/acme/tool/", 405, "Method Not Allowed", ""},
		{"OPTIONS", "/v1/acme/tool/", 405, "Method Not Allowed", ""},
	} {
		f.s.ResetRequests()
		r := f.raw(f.tok, c.method, c.path, "")
		if r.status != c.status || !strings.Contains(string(r.body), c.detail) || r.header.Get("Location") != "" {
			t.Errorf("%s %s: %d Location %q %s; want %d with %q", c.method, c.path, r.status, r.header.Get("Location"), r.body, c.status, c.detail)
		}
		if lr := f.s.Requests(); len(lr) != 1 || lr[0].OperationID != c.op {
			t.Errorf("%s %s: logged %+v, want one request of operation %q", c.method, c.path, lr, c.op)
		}
	}
	// Slashes toggle into a route for any method, HEAD too, with the
	// emulator's absolute Location (ServeMux's own is relative, GET only).
	for _, c := range []struct{ method, path, location string }{
		{"POST", "/v1/acme/tool/" + id + "//", "/v1/acme/tool/" + id},
		{"GET", "/v1/acme/tool/invocation/", "/v1/acme/tool/invocation"},
		{"POST", "tool/test/", "/v1/acme/tool/test"},
		{"HEAD", "tool", "/v1/acme/tool/"},
		{"GET", "tool/" + id + "/version/1.0.0/invoke/", "/v1/acme/tool/" + id + "/version/1.0.0/invoke"},
	} {
		r := f.raw(f.tok, c.method, c.path, "")
		if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != f.s.URL()+c.location {
			t.Errorf("%s %s: %d Location %q, want 307 to %s%s", c.method, c.path, r.status, r.header.Get("Location"), f.s.URL(), c.location)
		}
	}
}

// TestRoutesAreTheContractsInOrder: the route table lists every operation
// of the contract with its method and path, in the contract's order (which
// decides the Allow header of a 405).
func TestRoutesAreTheContractsInOrder(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(contract.SpecJSON))
	var doc struct {
		Paths json.RawMessage `json:"paths"`
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	pd := json.NewDecoder(bytes.NewReader(doc.Paths))
	pd.Token()
	for pd.More() {
		tok, _ := pd.Token()
		path := tok.(string)
		var ops map[string]json.RawMessage
		// Methods in the order they appear under the path.
		var raw json.RawMessage
		if err := pd.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, &ops)
		md := json.NewDecoder(bytes.NewReader(raw))
		md.Token()
		for md.More() {
			mt, _ := md.Token()
			var op struct {
				OperationID string `json:"operationId"`
			}
			md.Decode(&op)
			want = append(want, fmt.Sprintf("%s %s %s", strings.ToUpper(mt.(string)), path, op.OperationID))
		}
	}
	var got []string
	for _, rt := range routes {
		got = append(got, fmt.Sprintf("%s /v1/{organization}%s %s", rt.method, rt.path, rt.op))
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\ncontract:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTagsKeepTheirOrder(t *testing.T) {
	f := newFixture(t, nil)
	tagKeys := func(id string) string {
		var out amigo.ListToolsResponse
		f.want(f.do("GET", "tool/?id="+id, nil), 200).json(t, &out)
		var keys []string
		for _, tg := range out.Tools[0].Tags {
			v := "null"
			if tg.Value != nil {
				v = *tg.Value
			}
			keys = append(keys, tg.Key+"="+v)
		}
		return strings.Join(keys, " ")
	}
	// Raw JSON, so that the order on the wire is the test's: a repeated key
	// keeps its first place and its last value, as a Python dict does; a
	// padded key is stripped.
	r := f.want(f.raw(f.tok, "POST", "tool/", `{"name":"ordered","description":"d","tags":{"zeta":"1","alpha":null," mid dle ":"x","zeta":"2"}}`), 201)
	var created amigo.CreateToolResponse
	r.json(t, &created)
	if got := tagKeys(created.ID); got != "zeta=2 alpha=null mid dle=x" {
		t.Errorf("tags after create: %s, want zeta=2 alpha=null mid dle=x", got)
	}
	f.want(f.raw(f.tok, "POST", "tool/"+created.ID, `{"tags":{"b":"1","a":"2","c":null}}`), 204)
	if got := tagKeys(created.ID); got != "b=1 a=2 c=null" {
		t.Errorf("tags after modify: %s, want b=1 a=2 c=null", got)
	}
}

func TestTagsAndProjectPathsAreUnicode(t *testing.T) {
	f := newFixture(t, nil)
	ok := map[string]any{"ünï": "wert", "e\u0301cole": "déjà vu", "東京": "x", "kind": "Ⅻ‿x", "with\u200djoiner": nil}
	f.want(f.do("POST", "tool/", map[string]any{"name": "unicode", "description": "d", "tags": ok}), 201)
	for _, bad := range []map[string]any{{"x²": "v"}, {"k": "a-b"}, {"k": "½"}, {"k": "emoji😀"}} {
		r := f.want(f.do("POST", "tool/", map[string]any{"name": "bad", "description": "d", "tags": bad}), 422)
		if ds := detailList(t, r); len(ds) == 0 || ds[0].Type != "string_pattern_mismatch" {
			t.Errorf("tags %v: %s", bad, r.body)
		}
	}
	// project_path's \w is Unicode too: "tools/wétter" passes validation
	// and is then looked up (no such directory: 404).
	id := f.createTool("plain")
	r := f.want(f.publish(id, "tools/wétter", "major"), 404)
	if !strings.Contains(r.detail(), "wétter") {
		t.Errorf("404 detail %q", r.detail())
	}
	f.want(f.publish(id, "tools/wé.tter", "major"), 422)
}

func TestVersionsFilterEmptyIsNoFilter(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if _, err := f.s.AddVersion("acme", id, SeedVersion{Version: v, Deprecated: v == "1.1.0"}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		var out amigo.ListVersionsResponse
		f.want(f.do("GET", "tool/"+id+"/version?"+q, nil), 200).json(t, &out)
		return len(out.ToolVersions)
	}
	for q, want := range map[string]int{"versions=": 3, "versions=%20": 3, "versions=%2C": 3, "versions=%3E%3D1.1%2C": 2, "versions=&deprecated=false": 2} {
		if got := count(q); got != want {
			t.Errorf("?%s: %d versions, want %d", q, got, want)
		}
	}
	// The same parser on the path: a constraint of commas matches every
	// version (packaging's SpecifierSet(",")), so it deprecates them all.
	f.want(f.do("DELETE", "tool/"+id+"/version/"+pathEscape(","), nil), 204)
	if got := f.s.ActiveVersions("acme", id); len(got) != 0 {
		t.Errorf("active after DELETE /version/, = %v, want none", got)
	}
}

func TestInvokeResolvesPEP440Equality(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DisableRateLimits = true })
	id := f.createTool("plain")
	f.want(f.publish(id, "tools/plain", "major"), 201)
	f.want(f.publish(id, "tools/plain", "minor"), 201)
	body := map[string]any{"inputs": []any{input(map[string]any{})}}
	for ref, want := range map[string]string{"1.0": "1.0.0", "1": "1.0.0", "1.0.0.0": "1.0.0", "v1.0": "1.0.0", "1.1": "1.1.0", "1.1.0": "1.1.0", ">=1.0": "1.1.0"} {
		var out amigo.InvokeResponse
		f.want(f.do("POST", "tool/"+id+"/version/"+pathEscape(ref)+"/invoke", body), 200).json(t, &out)
		if !strings.Contains(out.InvocationResults[0].Output, `"version":"`+want+`"`) {
			t.Errorf("invoke %s ran %s, want %s", ref, out.InvocationResults[0].Output, want)
		}
	}
	for _, ref := range []string{"1.0.1", "1.0.0.1", "2"} {
		r := f.want(f.do("POST", "tool/"+id+"/version/"+ref+"/invoke", body), 404)
		if !strings.Contains(r.detail(), "does not exist") {
			t.Errorf("invoke %s: %s", ref, r.detail())
		}
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
	if r := f.want(f.do("POST", "tool/"+id+"/version/1.0/invoke", body), 404); !strings.Contains(r.detail(), "deprecated") {
		t.Errorf("invoke of deprecated 1.0: %s", r.detail())
	}
}

func TestInvokeRecordsSimulations(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.want(f.publish(id, "tools/plain", "major"), 201)
	sim := input(map[string]any{"n": 2})
	sim["invocation_mode"] = "conversation-simulation"
	f.want(f.do("POST", "tool/"+id+"/version/1.0.0/invoke", map[string]any{"inputs": []any{input(map[string]any{"n": 1}), sim}}), 200)
	byType := func(q string) []amigo.Invocation {
		var out amigo.ListInvocationsResponse
		f.want(f.do("GET", "tool/invocation?"+q, nil), 200).json(t, &out)
		return out.ToolInvocations
	}
	all := byType("sort_by=created_at")
	if len(all) != 2 || all[0].InvocationSource.Type != amigo.SourceRegularConversation || all[0].InvocationSource.UserID != "alice" {
		t.Fatalf("invocations: %+v", all)
	}
	s := all[1].InvocationSource
	if s.Type != amigo.SourceSimulationConversation || s.SimulationUnitTestSetRunID != nil || s.UnitTestID != nil || s.RunIndex != nil {
		t.Errorf("simulated input recorded as %+v", s)
	}
	if got := byType("invocation_source_type=simulation-conversation"); len(got) != 1 || got[0].Inputs["n"] != json.Number("2") && fmt.Sprint(got[0].Inputs["n"]) != "2" {
		t.Errorf("simulation filter: %+v", got)
	}
}

func TestEnvvarNamePatternIsASearch(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	// [A-Z_]+ unanchored: any upper-case letter or underscore will do.
	for _, name := range []string{"X-Y", "my_var", "aB", "A1"} {
		f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"inserts": []any{map[string]any{"name": name, "value": "v", "is_secret": false}}}), 204)
	}
	for _, name := range []string{"abc", "x-y", "42"} {
		r := f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"inserts": []any{map[string]any{"name": name, "value": "v", "is_secret": false}}}), 422)
		if !hasDetail(detailList(t, r), `["body","inserts",0,"name"]`, "string_pattern_mismatch") {
			t.Errorf("%s: %s", name, r.body)
		}
	}
}

func TestRepeatedEnvvarNamesAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"inserts": []any{map[string]any{"name": "OLD", "value": "v", "is_secret": false}}}), 204)
	for _, body := range []map[string]any{
		{"inserts": []any{map[string]any{"name": "A", "value": "1", "is_secret": false}, map[string]any{"name": "A", "value": "2", "is_secret": true}}},
		{"inserts": []any{map[string]any{"name": "B", "value": "1", "is_secret": false}}, "deletes": []any{map[string]any{"name": " B "}}},
		{"updates": []any{map[string]any{"name": "OLD", "value": "2"}}, "deletes": []any{map[string]any{"name": "OLD"}}},
	} {
		r := f.want(f.do("POST", "tool/"+id+"/envvar", body), 400)
		if !strings.Contains(r.detail(), "appears twice") {
			t.Errorf("%v: %s", body, r.detail())
		}
	}
	if got := f.s.Envvars("acme", id); len(got) != 1 || got[0].Name != "OLD" || got[0].Value != "v" {
		t.Errorf("envvars after refused requests: %+v", got)
	}
}

func TestCapRules(t *testing.T) {
	for _, c := range []struct {
		rule      CapRule
		published []string // accepted publishes on a tool with 3 active versions
		detail    string
	}{
		{"", []string{"1.3.0"}, "More than 3 active versions of the tool exist (4 are not deprecated)"},
		{CapLiteral, []string{"1.3.0"}, "More than 3 active versions of the tool exist (4 are not deprecated)"},
		{CapStrict, nil, "Publishing would make more than 3 active versions of the tool (3 are not deprecated)"},
	} {
		t.Run(string(c.rule), func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.CapRule = c.rule })
			id := f.createTool("plain")
			for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
				if _, err := f.s.AddVersion("acme", id, SeedVersion{Version: v, Commit: f.tip}); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for {
				r := f.publish(id, "tools/plain", "minor")
				if r.status != 201 {
					f.want(r, 400)
					if r.detail() != c.detail+"; deprecate one before publishing." {
						t.Errorf("refusal %q, want %q", r.detail(), c.detail)
					}
					break
				}
				var out amigo.PublishResponse
				r.json(t, &out)
				got = append(got, out.NewVersion)
			}
			if !slices.Equal(got, c.published) {
				t.Errorf("published %v, want %v", got, c.published)
			}
			// Room made, the next publish goes through.
			f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
			f.want(f.publish(id, "tools/plain", "minor"), 201)
		})
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "unknown CapRule") {
			t.Errorf("New with a bad CapRule: recovered %v", r)
		}
	}()
	New(Options{CapRule: "loose"})
}

func TestLaxBooleans(t *testing.T) {
	insert := func(v any) map[string]any {
		return map[string]any{"inserts": []any{map[string]any{"name": "K", "value": "v", "is_secret": v}}}
	}
	strict := newFixture(t, nil)
	id := strict.createTool("plain")
	for _, v := range []any{"true", 1, "yes", nil} {
		r := strict.want(strict.do("POST", "tool/"+id+"/envvar", insert(v)), 422)
		if !hasDetail(detailList(t, r), `["body","inserts",0,"is_secret"]`, "bool_type") {
			t.Errorf("strict %v: %s", v, r.body)
		}
	}

	for _, c := range []struct {
		in     any
		secret bool
	}{{"true", true}, {"True", true}, {"yes", true}, {"on", true}, {"t", true}, {"Y", true}, {"1", true}, {1, true}, {1.0, true},
		{"false", false}, {"NO", false}, {"off", false}, {"f", false}, {"n", false}, {"0", false}, {0, false}, {true, true}, {false, false}} {
		lax := newFixture(t, func(o *Options) { o.Lax = true })
		id := lax.createTool("plain")
		lax.want(lax.do("POST", "tool/"+id+"/envvar", insert(c.in)), 204)
		if got := lax.s.Envvars("acme", id); len(got) != 1 || got[0].Secret != c.secret {
			t.Errorf("lax is_secret %#v: stored %+v, want secret %v", c.in, got, c.secret)
		}
	}
	lax := newFixture(t, func(o *Options) { o.Lax = true })
	id = lax.createTool("plain")
	for _, c := range []struct {
		in  any
		typ string
	}{{"maybe", "bool_parsing"}, {" true", "bool_parsing"}, {2, "bool_parsing"}, {0.5, "bool_parsing"}, {nil, "bool_type"}, {[]any{}, "bool_type"}} {
		r := lax.want(lax.do("POST", "tool/"+id+"/envvar", insert(c.in)), 422)
		if !hasDetail(detailList(t, r), `["body","inserts",0,"is_secret"]`, c.typ) {
			t.Errorf("lax %#v: %s, want %s", c.in, r.body, c.typ)
		}
	}
}

// TestOrderOfChecks: routing first (307/405/404), then a body that is not
// JSON (before authentication, as FastAPI parses the body before it solves
// any dependency), then authentication, then every parameter and body
// error in one 422 (path first), then the operation's own checks.
func TestOrderOfChecks(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Orgs = []string{"acme"} })
	id := f.createTool("plain")
	// Not JSON and no token: 422 json_invalid.
	r := f.want(f.raw("", "POST", "tool/"+id, `{"description":`), 422)
	if !hasDetail(detailList(t, r), `["body",15]`, "json_invalid") {
		t.Errorf("bad JSON without a token: %s", r.body)
	}
	// JSON, but invalid, and no token: 401.
	f.want(f.raw("", "POST", "tool/"+id, `{"description":5}`), 401)
	// An unknown organization comes before the body.
	f.want(f.raw(f.tok, "POST", "/v1/other/tool/"+id, `{"description":`), 404)
	// A bad tool id and a bad body: one 422, the path first.
	r = f.want(f.raw(f.tok, "POST", "tool/XYZ/envvar", `{"inserts":[{"name":"abc"}]}`), 422)
	ds := detailList(t, r)
	var locs []string
	for _, d := range ds {
		b, _ := json.Marshal(d.Loc)
		locs = append(locs, string(b))
	}
	if len(locs) != 4 || locs[0] != `["path","tool_id"]` || locs[1] != `["body","inserts",0,"name"]` {
		t.Errorf("422 locations %v, want path tool_id first, then the body's", locs)
	}
	r = f.want(f.raw(f.tok, "POST", "tool/XYZ/version/1.0.0/invoke", `{"inputs":[]}`), 422)
	if ds := detailList(t, r); len(ds) != 2 || !hasDetail(ds, `["path","tool_id"]`, "string_pattern_mismatch") || !hasDetail(ds, `["body","inputs"]`, "too_short") {
		t.Errorf("invoke with a bad id and no inputs: %s", r.body)
	}
	// A valid request for a tool that does not exist: 404 after validation.
	f.want(f.raw(f.tok, "POST", "tool/aaaaaaaaaaaaaaaaaaaaaaaa", `{"description":5}`), 422)
	f.want(f.raw(f.tok, "POST", "tool/aaaaaaaaaaaaaaaaaaaaaaaa", `{"description":"x"}`), 404)
}

// TestDeprecatedToolMutations: a deprecated tool is gone for the operations
// that change it or run it (404 "is deprecated"); deprecating it, or its
// versions, again is a no-op 204; its versions can still be listed.
func TestDeprecatedToolMutations(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.want(f.publish(id, "tools/plain", "major"), 201)
	f.want(f.do("DELETE", "tool/"+id, nil), 204)
	body := map[string]any{"inputs": []any{input(map[string]any{})}}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "tool/" + id, map[string]any{"description": "x"}},
		{"POST", "tool/" + id + "/envvar", map[string]any{"inserts": []any{}}},
		{"POST", "tool/" + id + "/version", map[string]any{"project_path": "tools/plain", "bump_type": "patch"}},
		{"POST", "tool/" + id + "/version/1.0.0/invoke", body},
	} {
		r := f.want(f.do(c.method, c.path, c.body), 404)
		if !strings.Contains(r.detail(), "is deprecated") {
			t.Errorf("%s %s: %s", c.method, c.path, r.detail())
		}
	}
	f.want(f.do("DELETE", "tool/"+id, nil), 204)
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
	var out amigo.ListVersionsResponse
	f.want(f.do("GET", "tool/"+id+"/version", nil), 200).json(t, &out)
	if len(out.ToolVersions) != 1 || !out.ToolVersions[0].Deprecated {
		t.Errorf("versions of the deprecated tool: %+v", out.ToolVersions)
	}
}
