package amigo_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func ptr[T any](v T) *T { return &v }

// jsonEqual compares a request body with the JSON want describes.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %s is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func lastCall(t *testing.T, f *fakeAPI) seen {
	t.Helper()
	calls := f.calls()
	if len(calls) == 0 {
		t.Fatal("no request reached the server")
	}
	return calls[len(calls)-1]
}

func TestClient_ListTools(t *testing.T) {
	f := newFakeAPI(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.handle("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.ListToolsResponse{
			Tools: []amigo.Tool{{
				ID: testToolID, OrgID: testOrg, CreatedAt: &amigo.Timestamp{Time: now}, UpdatedAt: &amigo.Timestamp{Time: now}, Name: "weather", Description: "d",
				Envvars: []string{"A"}, SecretEnvvars: []string{}, Tags: []amigo.Tag{{Key: "team", Value: ptr("core")}, {Key: "beta"}},
				Creator: amigo.UserInfo{OrgID: testOrg, UserID: testUser}, UpdatedBy: amigo.UserInfo{OrgID: testOrg, UserID: testUser},
			}},
			HasMore: true, ContinuationToken: ptr(20), FilterValues: &amigo.ToolFilterValues{Tags: []string{"team:core"}},
		})
	})
	c := f.client()
	page, err := c.ListTools(context.Background(), amigo.ListToolsOptions{
		IDs: []string{testToolID, testToolID2}, Deprecated: ptr(false), SortBy: []string{"+name", "-deprecated"},
		Tags: []string{"team:core", "beta:*"}, Limit: 20, ContinuationToken: 40,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tools) != 1 || page.Tools[0].Name != "weather" || *page.Tools[0].Tags[0].Value != "core" || page.Tools[0].Tags[1].Value != nil ||
		!page.HasMore || *page.ContinuationToken != 20 || page.FilterValues.Tags[0] != "team:core" {
		t.Errorf("page = %+v", page)
	}
	s := lastCall(t, f)
	q, _ := url.ParseQuery(s.RawQuery)
	want := url.Values{
		"id": {testToolID, testToolID2}, "deprecated": {"false"}, "sort_by": {"+name", "-deprecated"},
		"tag": {"team:core", "beta:*"}, "limit": {"20"}, "continuation_token": {"40"},
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
	if s.Path != "/v1/acme/tool/" {
		t.Errorf("path = %q", s.Path)
	}
}

func TestClient_CreateTool(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, amigo.CreateToolResponse{ID: testToolID})
	})
	c := f.client()
	resp, err := c.CreateTool(context.Background(), amigo.CreateToolRequest{Name: "weather", Description: "Looks up the weather.", Tags: map[string]*string{"team": ptr("core"), "beta": nil}})
	if err != nil || resp.ID != testToolID {
		t.Fatalf("CreateTool = %+v, %v", resp, err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"name":"weather","description":"Looks up the weather.","tags":{"team":"core","beta":null}}`)

	// No tags still sends the required object.
	if _, err := c.CreateTool(context.Background(), amigo.CreateToolRequest{Name: "bare", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"name":"bare","description":"d","tags":{}}`)
}

func TestClient_ModifyTool(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != testToolID {
			t.Errorf("tool id = %q", r.PathValue("id"))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.client()
	tags := map[string]*string{"team": ptr("core")}
	if err := c.ModifyTool(context.Background(), testToolID, amigo.ModifyToolRequest{Description: ptr("new"), Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"description":"new","tags":{"team":"core"}}`)
	if err := c.ModifyTool(context.Background(), testToolID, amigo.ModifyToolRequest{Description: ptr("only")}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"description":"only"}`)
}

func TestClient_DeprecateTool(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("DELETE /v1/{org}/tool/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := f.client()
	if err := c.DeprecateTool(context.Background(), testToolID); err != nil {
		t.Fatal(err)
	}
	if s := lastCall(t, f); s.Method != http.MethodDelete || s.Path != "/v1/acme/tool/"+testToolID {
		t.Errorf("request = %s %s", s.Method, s.Path)
	}
}

func TestClient_ModifyEnvvars(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/envvar", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := f.client()
	err := c.ModifyEnvvars(context.Background(), testToolID, amigo.ModifyEnvvarsRequest{
		Inserts: []amigo.EnvvarInsert{{Name: "API_KEY", Value: "v1", IsSecret: true}},
		Deletes: []amigo.EnvvarDelete{{Name: "OLD_VAR"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"inserts":[{"name":"API_KEY","value":"v1","is_secret":true}],"updates":[],"deletes":[{"name":"OLD_VAR"}]}`)
}

func TestClient_TestTool(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/test", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"invocation_results":[{"succeeded":true,"output":"sunny","duration_ms":12},{"succeeded":false,"exception_message":"boom","exception_type":"ValueError","exception_stack_trace":["line 1"],"duration_ms":3}]}`))
	})
	c := f.client()
	resp, err := c.TestTool(context.Background(), amigo.TestToolRequest{
		Inputs:       []amigo.Input{{InputParameters: map[string]any{"city": "Oslo"}, SensitiveUserVariables: map[string]string{"token": "x"}}, {}},
		CommitBranch: "main", ProjectPath: "tools/weather", RequiredEnvvars: map[string]string{"UNITS": "metric"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.InvocationResults
	if len(r) != 2 || !r[0].Succeeded || r[0].Output != "sunny" || r[1].Succeeded || r[1].ExceptionType != "ValueError" || r[1].DurationMS != 3 {
		t.Errorf("results = %+v", r)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"inputs":[
		{"input_parameters":{"city":"Oslo"},"invocation_mode":"regular","nonsensitive_user_variables":{},"sensitive_user_variables":{"token":"x"}},
		{"input_parameters":{},"invocation_mode":"regular","nonsensitive_user_variables":{},"sensitive_user_variables":{}}],
		"commit_branch":"main","project_path":"tools/weather","required_envvars":{"UNITS":"metric"},"required_secret_envvars":{}}`)
}

func TestClient_PublishVersion(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", okPublish)
	c := f.client()
	resp, err := c.PublishVersion(context.Background(), testToolID, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor})
	if err != nil || resp.NewVersion != "1.0.0" {
		t.Fatalf("PublishVersion = %+v, %v", resp, err)
	}
	s := lastCall(t, f)
	if s.Path != "/v1/acme/tool/"+testToolID+"/version" {
		t.Errorf("path = %q", s.Path)
	}
	jsonEqual(t, s.Body, `{"project_path":"tools/weather","bump_type":"minor"}`)
	// repo is sent only when configured.
	if _, err := c.PublishVersion(context.Background(), testToolID, amigo.PublishRequest{ProjectPath: "p", BumpType: amigo.BumpPatch, Repo: "tools-repo"}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"project_path":"p","bump_type":"patch","repo":"tools-repo"}`)
}

func TestClient_ListVersions(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.ListVersionsResponse{
			ToolVersions: []amigo.ToolVersion{{ID: "v1", OrgID: testOrg, ToolID: testToolID, Version: amigo.Version{Major: 1, Minor: 2, Patch: 3},
				RequiredEnvvars: []string{}, RequiredSecretEnvvars: []string{}, InputSchema: map[string]any{}, ToolCommitHash: "abc",
				AmigoScaffoldCommitHash: "def", ProjectDirectory: "tools/w", LambdaVersion: 4}},
			FilterValues: &amigo.VersionFilterValues{Creators: []amigo.VersionUserInfo{{UserID: testUser, UserOrgID: testOrg}}},
		})
	})
	c := f.client()
	page, err := c.ListVersions(context.Background(), testToolID, amigo.ListVersionsOptions{
		Deprecated: ptr(true), Versions: ">=1.0,<2", SortBy: []string{"-version.major", "-version.minor"}, Creators: []string{"acme,user-1"}, Limit: 50, ContinuationToken: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.ToolVersions) != 1 || page.ToolVersions[0].Version.String() != "1.2.3" || page.ToolVersions[0].ToolCommitHash != "abc" {
		t.Errorf("page = %+v", page)
	}
	q, _ := url.ParseQuery(lastCall(t, f).RawQuery)
	want := url.Values{"deprecated": {"true"}, "versions": {">=1.0,<2"}, "sort_by": {"-version.major", "-version.minor"}, "creator": {"acme,user-1"}, "limit": {"50"}, "continuation_token": {"50"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
}

func TestClient_DeprecateVersions_PathEscaped(t *testing.T) {
	f := newFakeAPI(t)
	var got []string
	f.handle("DELETE /v1/{org}/tool/{id}/version/{versions}", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.PathValue("versions"))
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.client()
	for _, con := range []string{amigo.ExactConstraint(amigo.Version{Major: 1, Minor: 2, Patch: 3}), ">=1.0,<2.0", "~=1.4", "<1.0.0 "} {
		if err := c.DeprecateVersions(context.Background(), testToolID, con); err != nil {
			t.Fatalf("DeprecateVersions(%q): %v", con, err)
		}
	}
	want := []string{"==1.2.3", ">=1.0,<2.0", "~=1.4", "<1.0.0 "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("server decoded constraints %q, want %q", got, want)
	}
	calls := f.calls()
	if uri := calls[1].RequestURI; uri != "/v1/acme/tool/"+testToolID+"/version/%3E=1.0%2C%3C2.0" {
		t.Errorf("request URI = %q, want the constraint escaped as one segment", uri)
	}
	if uri := calls[3].RequestURI; uri != "/v1/acme/tool/"+testToolID+"/version/%3C1.0.0%20" {
		t.Errorf("request URI = %q", uri)
	}
}

func TestClient_Invoke(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version/{v}/invoke", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("v") != "1.2.3" {
			t.Errorf("version = %q", r.PathValue("v"))
		}
		writeJSON(w, http.StatusOK, amigo.InvokeResponse{InvocationResults: []amigo.InvocationResult{{Succeeded: true, Output: "ok", DurationMS: 1}}})
	})
	c := f.client()
	resp, err := c.Invoke(context.Background(), testToolID, "1.2.3", amigo.InvokeRequest{Inputs: []amigo.Input{{InvocationMode: amigo.InvocationModeConversationSimulation}}})
	if err != nil || len(resp.InvocationResults) != 1 || resp.InvocationResults[0].Output != "ok" {
		t.Fatalf("Invoke = %+v, %v", resp, err)
	}
	jsonEqual(t, lastCall(t, f).Body, `{"inputs":[{"input_parameters":{},"invocation_mode":"conversation-simulation","nonsensitive_user_variables":{},"sensitive_user_variables":{}}]}`)
}

func sampleInvocation(i int) amigo.Invocation {
	return amigo.Invocation{
		ID: "inv" + string(rune('a'+i%26)), OrgID: testOrg, ToolID: testToolID, ToolVersion: amigo.Version{Major: 1},
		InvocationStatus: amigo.InvocationStatus{Succeeded: true, Output: "ok"},
		InvocationSource: amigo.InvocationSource{Type: amigo.SourceRegularConversation, UserID: testUser,
			InvocationMetadata: amigo.InvocationMetadata{Type: amigo.MetadataToolCallState, CurrentStateMachineAndVersion: amigo.StateMachineVersion{Name: "sm", Version: 2}, StateName: "start"}},
		Inputs: map[string]any{"i": i},
	}
}

func TestClient_ListInvocations(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/invocation", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.ListInvocationsResponse{ToolInvocations: []amigo.Invocation{sampleInvocation(0)}})
	})
	c := f.client()
	page, err := c.ListInvocations(context.Background(), amigo.ListInvocationsOptions{
		InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{testToolID}, SourceTypes: []amigo.InvocationSourceType{amigo.SourceSimulationConversation}, Succeeded: ptr(false)},
		Versions:         []string{"==1.0.0"}, SortBy: []string{"-created_at"}, Limit: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := page.ToolInvocations[0]
	if !inv.InvocationStatus.Succeeded || inv.InvocationSource.InvocationMetadata.CurrentStateMachineAndVersion.Version != 2 {
		t.Errorf("invocation = %+v", inv)
	}
	q, _ := url.ParseQuery(lastCall(t, f).RawQuery)
	want := url.Values{"tool_id": {testToolID}, "invocation_source_type": {"simulation-conversation"}, "succeeded": {"false"}, "version": {"==1.0.0"}, "sort_by": {"-created_at"}, "limit": {"100"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
}

func TestClient_SearchInvocations(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/invocation/search", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.SearchInvocationsResponse{ToolInvocations: []amigo.Invocation{sampleInvocation(1)}})
	})
	c := f.client()
	resp, err := c.SearchInvocations(context.Background(), amigo.SearchInvocationsOptions{Query: "Timeout error", InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{testToolID}}})
	if err != nil || len(resp.ToolInvocations) != 1 {
		t.Fatalf("SearchInvocations = %+v, %v", resp, err)
	}
	q, _ := url.ParseQuery(lastCall(t, f).RawQuery)
	want := url.Values{"query": {"Timeout error"}, "tool_id": {testToolID}, "query_against": {
		amigo.SearchExceptionMessage, amigo.SearchExceptionType, amigo.SearchExceptionStackTrace, amigo.SearchOutput}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
	if _, err := c.SearchInvocations(context.Background(), amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{amigo.SearchOutput}}); err != nil {
		t.Fatal(err)
	}
	q, _ = url.ParseQuery(lastCall(t, f).RawQuery)
	if !reflect.DeepEqual(q["query_against"], []string{amigo.SearchOutput}) {
		t.Errorf("query_against = %v", q["query_against"])
	}
}

func TestClient_DownloadScaffold(t *testing.T) {
	f := newFakeAPI(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("scaffold tar bytes"))
	zw.Close()
	archive := gz.Bytes()
	var n int
	f.handle("GET /v1/{org}/tool/amigo_tool_scaffold.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "maintenance"})
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(archive)
	})
	c := f.client()
	var buf bytes.Buffer
	if err := c.DownloadScaffold(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), archive) {
		t.Errorf("downloaded %q, want %q", buf.Bytes(), archive)
	}
	if n != 2 {
		t.Errorf("requests = %d, want 2 (the 503 is retried)", n)
	}
}

func TestClient_SignInRequest(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client()
	if _, err := c.SignIn(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := f.all()
	if len(all) != 1 || all[0].Method != http.MethodPost || all[0].Path != "/v1/acme/user/signin_with_api_key" || len(all[0].Body) != 0 {
		t.Errorf("sign-in request = %+v", all)
	}
}

func TestBaseURLPathPrefixKept(t *testing.T) {
	f := newFakeAPI(t)
	var got string
	f.handle("GET /prefix/v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		okTools(w, r)
	})
	c := f.client(func(cfg *amigo.Config) {
		cfg.BaseURL = f.srv.URL + "/prefix/"
		cfg.APIKey, cfg.APIKeyID, cfg.UserID, cfg.Token = "", "", "", staticSecret
		cfg.HTTPClient = nil // the contract knows no /prefix
	})
	if _, err := c.ListTools(context.Background(), amigo.ListToolsOptions{}); err != nil {
		t.Fatal(err)
	}
	if got != "/prefix/v1/acme/tool/" {
		t.Errorf("path = %q", got)
	}
}
