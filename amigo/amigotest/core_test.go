package amigotest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestAuthRequiresIssuedUnexpiredToken(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TokenTTL = 10 * time.Minute })
	f.want(f.doAs("", "GET", "tool/", nil), 401)
	f.want(f.doAs("not-a-token", "GET", "tool/", nil), 401)
	f.want(f.do("GET", "tool/", nil), 200)
	// A token is valid only in the org it was issued for.
	f.want(f.do("GET", "/v1/other/tool/", nil), 401)
	f.clk.Advance(10 * time.Minute)
	if r := f.want(f.do("GET", "tool/", nil), 401); !strings.Contains(r.detail(), "expired") {
		t.Errorf("expired token detail = %q", r.detail())
	}
	// A fresh sign-in works again.
	f.tok = f.signIn("alice")
	f.want(f.do("GET", "tool/", nil), 200)
}

// TestAuthBasicAndOrgHeader: the contract also allows Basic credentials
// (username {org_id}_{user_id}, password the token), and X-ORG-ID naming the
// organization that issued the token for requests into another one.
func TestAuthBasicAndOrgHeader(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.StaticTokens = map[string]string{"static-tok": "svc"} })
	get := func(org, authz string, header map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", f.s.URL()+"/v1/"+org+"/tool/", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tc := range []struct {
		name, org, authz string
		header           map[string]string
		want             int
	}{
		{"basic", "acme", basic("acme_alice", f.tok), nil, 200},
		{"basic lower-case scheme", "acme", "basic " + base64.StdEncoding.EncodeToString([]byte("acme_alice:"+f.tok)), nil, 200},
		{"basic wrong user", "acme", basic("acme_bob", f.tok), nil, 401},
		{"basic wrong org in username", "acme", basic("other_alice", f.tok), nil, 401},
		{"basic unknown token", "acme", basic("acme_alice", "nope"), nil, 401},
		{"basic without password", "acme", basic("acme_alice", ""), nil, 401},
		{"basic not base64", "acme", "Basic %%%", nil, 401},
		{"basic static token", "acme", basic("acme_svc", "static-tok"), nil, 200},
		{"bearer into another org", "other", "Bearer " + f.tok, nil, 401},
		{"bearer into another org with X-ORG-ID", "other", "Bearer " + f.tok, map[string]string{"X-ORG-ID": "acme"}, 200},
		{"basic into another org with X-ORG-ID", "other", basic("acme_alice", f.tok), map[string]string{"X-ORG-ID": "acme"}, 200},
		{"X-ORG-ID naming another issuer", "other", "Bearer " + f.tok, map[string]string{"X-ORG-ID": "other"}, 401},
		{"X-ORG-ID wrong in own org", "acme", "Bearer " + f.tok, map[string]string{"X-ORG-ID": "globex"}, 401},
		{"unknown scheme", "acme", "Token " + f.tok, nil, 401},
	} {
		if got := get(tc.org, tc.authz, tc.header); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// The request is attributed to the token's user.
	f.s.ResetRequests()
	get("acme", basic("acme_alice", f.tok), nil)
	if log := f.s.Requests(); len(log) != 1 || log[0].User != "alice" {
		t.Errorf("request log %+v, want one request by alice", log)
	}
}

func TestSignInResponseAndConfiguredKeys(t *testing.T) {
	clk := newTestClock()
	s := newContractServer(t, Options{Clock: clk, APIKeys: []APIKey{{Key: "sek", KeyID: "kid", UserID: "bob"}}, Orgs: []string{"acme"}})
	f := &fixture{t: t, s: s, clk: clk, org: "acme"}
	signIn := func(org, key, user string) res {
		req, _ := http.NewRequest("POST", s.URL()+"/v1/"+org+"/user/signin_with_api_key", nil)
		req.Header.Set("x-api-key", key)
		req.Header.Set("x-api-key-id", "kid")
		req.Header.Set("x-user-id", user)
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b [4096]byte
		n, _ := resp.Body.Read(b[:])
		return res{status: resp.StatusCode, body: b[:n]}
	}
	f.want(signIn("acme", "wrong", "bob"), 401)
	f.want(signIn("acme", "sek", "mallory"), 401)
	f.want(signIn("nope", "sek", "bob"), 404)
	r := f.want(signIn("acme", "sek", "bob"), 200)
	var out amigo.SignInResponse
	r.json(t, &out)
	if out.IDToken == "" || !out.ExpiresAt.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("sign in = %+v, want a token expiring at %v", out, clk.Now().Add(time.Hour))
	}
	f.tok = out.IDToken
	f.want(f.do("GET", "tool/", nil), 200)
	// Missing headers are a 422 naming the header.
	req, _ := http.NewRequest("POST", s.URL()+"/v1/acme/user/signin_with_api_key", nil)
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("sign in without headers: %d, want 422", resp.StatusCode)
	}
}

func TestToolNameUniqueAmongNonDeprecated(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("weather")
	r := f.want(f.do("POST", "tool/", map[string]any{"name": "weather", "description": "again", "tags": map[string]any{}}), 409)
	if !strings.Contains(r.detail(), id) {
		t.Errorf("409 detail %q does not name the existing tool", r.detail())
	}
	f.want(f.do("DELETE", "tool/"+id, nil), 204)
	id2 := f.createTool("weather")
	if id2 == id || !objectIDRe.MatchString(id2) {
		t.Fatalf("recreated tool id %q (old %q)", id2, id)
	}
	tools := f.s.Tools("acme")
	if len(tools) != 2 || !tools[0].Deprecated || tools[1].Deprecated {
		t.Fatalf("tools = %+v", tools)
	}
	// The deprecated tool is not usable.
	f.want(f.do("POST", "tool/"+id, map[string]any{"description": "x"}), 404)
}

func TestPublishVersionNumbering(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	r := f.want(f.publish(id, "tools/plain", "minor"), 400)
	if !strings.Contains(r.detail(), "major") {
		t.Errorf("first-minor detail %q", r.detail())
	}
	steps := []struct{ bump, want string }{
		{"major", "1.0.0"}, {"patch", "1.0.1"}, {"minor", "1.1.0"}, {"patch", "1.1.1"},
	}
	for _, st := range steps {
		var out amigo.PublishResponse
		f.want(f.publish(id, "tools/plain", st.bump), 201).json(t, &out)
		if out.NewVersion != st.want {
			t.Fatalf("bump %s gave %s, want %s", st.bump, out.NewVersion, st.want)
		}
		// Keep under the cap.
		f.want(f.do("DELETE", "tool/"+id+"/version/=="+st.want, nil), 204)
	}
	// Numbering continues from the highest version, deprecated ones included.
	var out amigo.PublishResponse
	f.want(f.publish(id, "tools/plain", "major"), 201).json(t, &out)
	if out.NewVersion != "2.0.0" {
		t.Fatalf("major after 1.1.1 = %s", out.NewVersion)
	}
	vs := f.s.Versions("acme", id)
	last := vs[len(vs)-1]
	if last.ToolCommitHash != f.tip || last.ProjectDirectory != "tools/plain" || last.AmigoScaffoldCommitHash != ScaffoldCommitHash || last.Creator.UserID != "alice" {
		t.Fatalf("pinned version = %+v, tip %s", last, f.tip)
	}
	// Publishing took the configured latency of clock time.
	if got := f.clk.Now().Sub(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); got != 5*2*time.Minute {
		t.Errorf("simulated time spent = %v, want 10m (5 publishes of 2m)", got)
	}
}

func TestPublishPinsProjectContract(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("weather")
	f.addWeatherEnvvars(id)
	f.want(f.publish(id, "/tools/weather/", "major"), 201)
	v := f.s.Versions("acme", id)[0]
	if fmt.Sprint(v.RequiredEnvvars) != "[WEATHER_API_BASE]" || fmt.Sprint(v.RequiredSecretEnvvars) != "[WEATHER_API_KEY]" {
		t.Fatalf("required envvars = %v / %v", v.RequiredEnvvars, v.RequiredSecretEnvvars)
	}
	if req, _ := v.InputSchema["required"].([]any); len(req) != 1 || req[0] != "city" {
		t.Fatalf("input schema = %v", v.InputSchema)
	}
	if v.ProjectDirectory != "tools/weather" {
		t.Fatalf("project directory %q", v.ProjectDirectory)
	}
}

func TestConcurrentPublishGets409(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	started, release := f.clk.hold()
	done := make(chan res, 1)
	go func() { done <- f.publish(id, "tools/plain", "major") }()
	awaitSleep(t, started, done) // the first publish is now inside its latency
	if !f.s.Busy("acme", id) {
		t.Fatal("tool not busy during publish")
	}
	r := f.want(f.publish(id, "tools/plain", "major"), 409)
	if !strings.Contains(r.detail(), "in progress") {
		t.Errorf("409 detail %q", r.detail())
	}
	f.want(f.do("DELETE", "tool/"+id, nil), 409)
	// Other tools are not blocked.
	other := f.createTool("other")
	release()
	first := <-done
	f.want(first, 201)
	f.want(f.publish(other, "tools/plain", "major"), 201)
	f.want(f.publish(id, "tools/plain", "patch"), 201)
	if got := f.s.ActiveVersions("acme", id); fmt.Sprint(got) != "[1.0.0 1.0.1]" {
		t.Fatalf("versions = %v", got)
	}
}

func TestPublishRefusedAboveActiveCap(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		if _, err := f.s.AddVersion("acme", id, SeedVersion{Version: v, Commit: f.tip}); err != nil {
			t.Fatal(err)
		}
	}
	// Exactly ActiveCap (3) active: allowed, making 4.
	f.want(f.publish(id, "tools/plain", "minor"), 201)
	// More than 3 active: refused.
	r := f.want(f.publish(id, "tools/plain", "minor"), 400)
	if !strings.Contains(r.detail(), "More than 3 active versions") {
		t.Errorf("cap detail %q", r.detail())
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
	var out amigo.PublishResponse
	f.want(f.publish(id, "tools/plain", "minor"), 201).json(t, &out)
	if out.NewVersion != "1.4.0" {
		t.Fatalf("new version %s, want 1.4.0", out.NewVersion)
	}

	// A configured cap.
	g := newFixture(t, func(o *Options) { o.ActiveCap = 1 })
	id = g.createTool("plain")
	g.want(g.publish(id, "tools/plain", "major"), 201)
	g.want(g.publish(id, "tools/plain", "major"), 201)
	g.want(g.publish(id, "tools/plain", "major"), 400)
}

func TestPublishRefusedWithoutRequiredEnvvars(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("weather")
	r := f.want(f.publish(id, "tools/weather", "major"), 400)
	if !strings.Contains(r.detail(), "WEATHER_API_BASE") || !strings.Contains(r.detail(), "WEATHER_API_KEY (secret)") {
		t.Errorf("detail %q does not name the missing envvars", r.detail())
	}
	// The secret one inserted as non-secret does not count.
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"inserts": []any{
		map[string]any{"name": "WEATHER_API_BASE", "value": "b", "is_secret": false},
		map[string]any{"name": "WEATHER_API_KEY", "value": "k", "is_secret": false},
	}}), 204)
	r = f.want(f.publish(id, "tools/weather", "major"), 400)
	if strings.Contains(r.detail(), "WEATHER_API_BASE") || !strings.Contains(r.detail(), "WEATHER_API_KEY") {
		t.Errorf("detail %q", r.detail())
	}
	if len(f.s.Versions("acme", id)) != 0 {
		t.Fatal("a refused publish created a version")
	}
}

func TestPublishProjectPathAndCommitChecks(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	r := f.want(f.publish(id, "tools/nope", "major"), 404)
	if !strings.Contains(r.detail(), "tools/nope") {
		t.Errorf("404 detail %q", r.detail())
	}
	f.want(f.publish("0123456789abcdef01234567", "tools/plain", "major"), 404)

	// A build error declared by the project fails after the build (400).
	f.repo.commit("break", map[string]string{"tools/plain/pyproject.toml": plainPyproject + "\n[tool.amigo]\nbuild_error = \"ruff: E501\"\n"})
	r = f.want(f.publish(id, "tools/plain", "major"), 400)
	if !strings.Contains(r.detail(), "ruff: E501") {
		t.Errorf("build failure detail %q", r.detail())
	}
	// Invalid TOML names the line.
	f.repo.commit("garbage", map[string]string{"tools/plain/pyproject.toml": "[project]\nname = \n"})
	r = f.want(f.publish(id, "tools/plain", "major"), 400)
	if !strings.Contains(r.detail(), "line 2") || !strings.Contains(r.detail(), "tools/plain/pyproject.toml") {
		t.Errorf("toml error detail %q", r.detail())
	}
	fixed := f.repo.commit("fix", map[string]string{"tools/plain/pyproject.toml": plainPyproject})
	f.want(f.publish(id, "tools/plain", "major"), 201)
	if v := f.s.Versions("acme", id)[0]; v.ToolCommitHash != fixed {
		t.Fatalf("pinned %s, want the branch tip %s", v.ToolCommitHash, fixed)
	}
	// Moving the branch back to an older commit: refused.
	f.repo.setBranch("main", f.tip)
	r = f.want(f.publish(id, "tools/plain", "patch"), 400)
	if !strings.Contains(r.detail(), "older than the last valid commit") {
		t.Errorf("older commit detail %q", r.detail())
	}
}

func TestDeprecateVersionsByConstraint(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"} {
		if _, err := f.s.AddVersion("acme", id, SeedVersion{Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/"+pathEscape(">=1.1,<2"), nil), 204)
	if got := fmt.Sprint(f.s.ActiveVersions("acme", id)); got != "[1.0.0 2.0.0 2.1.0]" {
		t.Fatalf("active after >=1.1,<2: %s", got)
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/"+pathEscape("~=2.0"), nil), 204)
	if got := fmt.Sprint(f.s.ActiveVersions("acme", id)); got != "[1.0.0]" {
		t.Fatalf("active after ~=2.0: %s", got)
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/==9.9.9", nil), 204) // matches nothing
	r := f.want(f.do("DELETE", "tool/"+id+"/version/"+pathEscape("1.0.0"), nil), 422)
	if !strings.Contains(r.detail(), `"path","versions"`) {
		t.Errorf("422 loc: %s", r.body)
	}
	f.want(f.do("DELETE", "tool/0123456789abcdef01234567/version/==1.0.0", nil), 404)
	f.want(f.do("DELETE", "tool/NOTANID/version/==1.0.0", nil), 422)

	// Listing with the same matcher.
	var page amigo.ListVersionsResponse
	f.want(f.do("GET", "tool/"+id+"/version?deprecated=true&versions="+queryEscape(">=1.2,!=2.1.0"), nil), 200).json(t, &page)
	var got []string
	for _, v := range page.ToolVersions {
		got = append(got, v.Version.String())
	}
	if fmt.Sprint(got) != "[1.2.0 2.0.0]" {
		t.Fatalf("listed %v", got)
	}
}

// TestConstraintMatcher: the emulator's Constraint is the client's parser
// (amigo.ParseConstraint, tested in full there), so the two agree on every
// constraint; a spot check of a match, a miss and a refusal.
func TestConstraintMatcher(t *testing.T) {
	v := amigo.Version{Major: 1, Minor: 4, Patch: 9}
	for spec, want := range map[string]bool{"~=1.4.2": true, ">=1.0,<1.4": false} {
		if got, err := Constraint(spec, v); err != nil || got != want {
			t.Errorf("Constraint(%q, 1.4.9) = %v, %v; want %v", spec, got, err, want)
		}
	}
	_, err := Constraint(">=1.*", v)
	_, cerr := amigo.ParseConstraint(">=1.*")
	if err == nil || cerr == nil {
		t.Errorf("Constraint(>=1.*) = %v, ParseConstraint = %v; both must refuse it", err, cerr)
	}
}

func TestEnvvarSemantics(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("weather")
	f.addWeatherEnvvars(id)
	ev := f.s.Envvars("acme", id)
	if len(ev) != 2 || ev[0].Name != "WEATHER_API_BASE" || ev[0].Secret || !ev[1].Secret || ev[1].Value != "s3cret" {
		t.Fatalf("envvars = %+v", ev)
	}
	var tools amigo.ListToolsResponse
	f.want(f.do("GET", "tool/", nil), 200).json(t, &tools)
	if tl := tools.Tools[0]; fmt.Sprint(tl.Envvars, tl.SecretEnvvars) != "[WEATHER_API_BASE] [WEATHER_API_KEY]" {
		t.Fatalf("tool lists envvars %v / %v", tl.Envvars, tl.SecretEnvvars)
	}
	ins := func(name string) map[string]any {
		return map[string]any{"inserts": []any{map[string]any{"name": name, "value": "v", "is_secret": false}}}
	}
	f.want(f.do("POST", "tool/"+id+"/envvar", ins("WEATHER_API_BASE")), 409)
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"updates": []any{map[string]any{"name": "NOPE", "value": "v"}}}), 400)
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"deletes": []any{map[string]any{"name": "NOPE"}}}), 400)
	f.want(f.do("POST", "tool/"+id+"/envvar", map[string]any{"updates": []any{map[string]any{"name": "WEATHER_API_BASE", "value": "new"}}}), 204)
	if f.s.Envvars("acme", id)[0].Value != "new" {
		t.Fatal("update not applied")
	}
	f.want(f.publish(id, "tools/weather", "major"), 201)
	del := map[string]any{"deletes": []any{map[string]any{"name": "WEATHER_API_KEY"}}}
	r := f.want(f.do("POST", "tool/"+id+"/envvar", del), 400)
	if !strings.Contains(r.detail(), "1.0.0") {
		t.Errorf("in-use detail %q does not name the version", r.detail())
	}
	// A request is all or nothing.
	mixed := map[string]any{"inserts": []any{map[string]any{"name": "EXTRA", "value": "v", "is_secret": false}}, "deletes": []any{map[string]any{"name": "WEATHER_API_KEY"}}}
	f.want(f.do("POST", "tool/"+id+"/envvar", mixed), 400)
	if len(f.s.Envvars("acme", id)) != 2 {
		t.Fatal("a refused request was partly applied")
	}
	f.want(f.do("DELETE", "tool/"+id+"/version/==1.0.0", nil), 204)
	f.want(f.do("POST", "tool/"+id+"/envvar", del), 204)
	// Recently deleted: 409 until the tombstone passes.
	f.want(f.do("POST", "tool/"+id+"/envvar", ins("WEATHER_API_KEY")), 409)
	f.clk.Advance(time.Minute)
	f.want(f.do("POST", "tool/"+id+"/envvar", ins("WEATHER_API_KEY")), 204)
	f.want(f.do("POST", "tool/0123456789abcdef01234567/envvar", ins("X")), 404)
}

func TestFaultFailNextAndMaintenance(t *testing.T) {
	f := newFixture(t, nil)
	f.s.FailNext(OpListTools, 2, 503, "")
	f.s.FailNext(OpListTools, 1, 429, `{"detail":"boom"}`)
	r := f.want(f.do("GET", "tool/", nil), 503)
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("503 Retry-After %q", r.header.Get("Retry-After"))
	}
	f.want(f.do("GET", "tool/", nil), 503)
	if r := f.want(f.do("GET", "tool/", nil), 429); r.detail() != "boom" || r.header.Get("Retry-After") != "1" {
		t.Errorf("custom 429: %s %v", r.body, r.header)
	}
	f.want(f.do("GET", "tool/", nil), 200)
	// Injected failures happen before any work.
	f.s.FailNext(OpCreateTool, 1, 409, "")
	f.want(f.do("POST", "tool/", map[string]any{"name": "x", "description": "d", "tags": map[string]any{}}), 409)
	if len(f.s.Tools("acme")) != 0 {
		t.Fatal("failed create made a tool")
	}
	f.s.SetMaintenance(true)
	f.want(f.do("GET", "tool/", nil), 503)
	f.want(f.doAs("", "POST", "user/signin_with_api_key", nil), 503)
	f.s.SetMaintenance(false)
	f.want(f.do("GET", "tool/", nil), 200)
	got := f.s.Injected()
	if got["503"] != 2 || got["429"] != 1 || got["409"] != 1 || got[KindMaintenance] != 2 {
		t.Fatalf("injected = %v", got)
	}

	// Undocumented statuses can be injected too (not contract-checked).
	raw := NewTestServer(t, Options{StaticTokens: map[string]string{"tok": "u"}})
	raw.FailNext(OpListTools, 1, 500, "")
	g := &fixture{t: t, s: raw, org: "acme", tok: "tok"}
	if r := g.want(g.do("GET", "tool/", nil), 500); !strings.Contains(r.detail(), "injected fault: 500") {
		t.Errorf("500 body %s", r.body)
	}
	g.want(g.do("GET", "tool/", nil), 200)
	if raw.Injected()["500"] != 1 {
		t.Errorf("injected %v", raw.Injected())
	}
}

func TestFaultDropAfterWorkPublishes(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.s.DropAfterWork(OpPublishVersion, 1)
	body := strings.NewReader(`{"project_path":"tools/plain","bump_type":"major"}`)
	req, _ := http.NewRequest("POST", f.s.URL()+"/v1/acme/tool/"+id+"/version", body)
	req.Header.Set("Authorization", "Bearer "+f.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := testHTTP.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped publish returned %d, want a connection error", resp.StatusCode)
	}
	// The work was done: the version exists.
	if got := fmt.Sprint(f.s.ActiveVersions("acme", id)); got != "[1.0.0]" {
		t.Fatalf("versions after dropped publish: %s", got)
	}
	log := f.s.Requests()
	last := log[len(log)-1]
	if last.OperationID != OpPublishVersion || last.Status != 201 || last.Fault != "drop" {
		t.Fatalf("log entry %+v", last)
	}
	if f.s.Injected()[KindDrop] != 1 {
		t.Fatalf("injected %v", f.s.Injected())
	}
	// The dropped connection left the tool idle: the next publish runs.
	if f.s.Busy("acme", id) {
		t.Fatal("tool still busy after its publish's connection was dropped")
	}
	f.want(f.publish(id, "tools/plain", "patch"), 201)
}

func TestFaultLatencyUsesClock(t *testing.T) {
	f := newFixture(t, nil)
	f.s.SetLatency(OpListTools, 3*time.Minute)
	before := f.clk.Now()
	f.want(f.do("GET", "tool/", nil), 200)
	if d := f.clk.Now().Sub(before); d != 3*time.Minute {
		t.Fatalf("latency advanced the clock by %v, want 3m", d)
	}
	f.s.SetLatency(OpListTools, 0)
	before = f.clk.Now()
	f.want(f.do("GET", "tool/", nil), 200)
	if d := f.clk.Now().Sub(before); d != 0 {
		t.Fatalf("latency not removed: %v", d)
	}
}

func TestRequestLogRecordsOperations(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	f.s.ResetRequests()
	f.want(f.do("GET", "tool/", nil), 200)
	f.want(f.do("GET", "tool/"+id+"/version", nil), 200)
	f.want(f.doAs("", "GET", "tool/", nil), 401)
	for _, r := range f.s.Requests() {
		if r.Mutating() {
			t.Fatalf("read-only calls logged as mutating: %+v", r)
		}
	}
	f.want(f.publish(id, "tools/plain", "major"), 201)
	log := f.s.Requests()
	if len(log) != 4 {
		t.Fatalf("log has %d entries: %+v", len(log), log)
	}
	want := []struct {
		op     string
		status int
		user   string
	}{{OpListTools, 200, "alice"}, {OpListVersions, 200, "alice"}, {OpListTools, 401, ""}, {OpPublishVersion, 201, "alice"}}
	for i, w := range want {
		if log[i].OperationID != w.op || log[i].Status != w.status || log[i].User != w.user || log[i].Org != "acme" {
			t.Errorf("log[%d] = %+v, want %+v", i, log[i], w)
		}
	}
	if !log[3].Mutating() || log[3].Time.IsZero() {
		t.Errorf("publish entry %+v", log[3])
	}
	f.want(f.do("GET", "/v1/acme/nothing", nil), 404)
}

// TestPublishLatencyDefaultAndConfigured: by default a publish takes a
// uniform 1–5 minutes of clock time (drawn per call); PublishLatency sets it.
func TestPublishLatencyDefaultAndConfigured(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PublishLatency = Latency{}; o.ActiveCap = 100 })
	id := f.createTool("plain")
	bump := "major"
	distinct := map[time.Duration]bool{}
	for i := 0; i < 12; i++ {
		start := f.clk.Now()
		f.want(f.publish(id, "tools/plain", bump), 201)
		took := f.clk.Now().Sub(start)
		if took < time.Minute || took > 5*time.Minute {
			t.Errorf("publish %d took %s of clock time, want 1–5 minutes", i, took)
		}
		distinct[took] = true
		bump = "patch"
	}
	if len(distinct) < 6 {
		t.Errorf("12 publishes took only %d distinct durations: the latency is not drawn per call", len(distinct))
	}

	g := newFixture(t, func(o *Options) { o.PublishLatency = Fixed(7 * time.Second) })
	id = g.createTool("plain")
	start := g.clk.Now()
	g.want(g.publish(id, "tools/plain", "major"), 201)
	if took := g.clk.Now().Sub(start); took != 7*time.Second {
		t.Errorf("configured publish latency: took %s, want 7s", took)
	}
}

// TestRefusedAddr: a connection to the address is refused at once (a
// region that is down), not left to time out.
func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("a connection to %s was accepted", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
}
