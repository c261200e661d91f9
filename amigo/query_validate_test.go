package amigo_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

// rawQuery is a request sent to the emulator without the client, so that
// what the client refuses to send can be put to the server.
type rawQuery struct {
	method string
	path   string // after /v1/{org}
	q      url.Values
}

// send makes r with a bearer token, bypassing the client (and its
// validation), and returns the status and body.
func (e *emulated) send(t *testing.T, tok string, r rawQuery) (int, string) {
	t.Helper()
	u := e.srv.URL + "/v1/" + testOrg + r.path
	if len(r.q) > 0 {
		u += "?" + r.q.Encode()
	}
	req, err := http.NewRequest(r.method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestQueryRulesAgreeWithEmulator covers the query and path rules of issue
// 2 that the client used to leave to the server: repeated values in list
// filters the contract marks uniqueItems, tag filters without ':', version
// constraints and sort_by fields. For each bad value the client refuses
// with a *ValidationError before any request (the emulator logs none), and
// the same value sent raw to the emulator gets 422 about the same
// parameter. Valid values still go through, against the emulator.
func TestQueryRulesAgreeWithEmulator(t *testing.T) {
	e := newEmulated(t, nil)
	c, id := e.withWeather(t)
	ctx := context.Background()
	tok := e.emu.IssueToken(testOrg, testUser)
	const conv = "aaaaaaaaaaaaaaaaaaaaaaaa"
	vals := func(kv ...string) url.Values {
		q := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			q.Add(kv[i], kv[i+1])
		}
		return q
	}
	listInv := func(o amigo.ListInvocationsOptions) func() error {
		return func() error { _, err := c.ListInvocations(ctx, o); return err }
	}
	search := func(o amigo.SearchInvocationsOptions) func() error {
		return func() error { _, err := c.SearchInvocations(ctx, o); return err }
	}
	listTools := func(o amigo.ListToolsOptions) func() error {
		return func() error { _, err := c.ListTools(ctx, o); return err }
	}
	listVersions := func(o amigo.ListVersionsOptions) func() error {
		return func() error { _, err := c.ListVersions(ctx, id, o); return err }
	}
	const searchAll = "invocation_status.output"
	sq := func(kv ...string) url.Values {
		return vals(append([]string{"query", "x", "query_against", searchAll}, kv...)...)
	}
	toolsPath, versionsPath, invPath, searchPath := "/tool/", "/tool/"+id+"/version", "/tool/invocation", "/tool/invocation/search"

	bad := []struct {
		name      string
		call      func() error
		wantField string
		wantRule  string
		raw       rawQuery
		wantLoc   string // the start of the emulator's 422 loc
	}{
		// 1. uniqueItems
		{"tools id repeated", listTools(amigo.ListToolsOptions{IDs: []string{id, testToolID2, id}}),
			"id[2]", "repeats id[0]", rawQuery{"GET", toolsPath, vals("id", id, "id", testToolID2, "id", id)}, `["query","id"`},
		{"versions creator repeated", listVersions(amigo.ListVersionsOptions{Creators: []string{"acme,u", "acme,u"}}),
			"creator[1]", "uniqueItems", rawQuery{"GET", versionsPath, vals("creator", "acme,u", "creator", "acme,u")}, `["query","creator"`},
		{"invocations tool_id repeated", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id, id}}}),
			"tool_id[1]", "repeats tool_id[0]", rawQuery{"GET", invPath, vals("tool_id", id, "tool_id", id)}, `["query","tool_id"`},
		{"invocations tool_id repeated with versions", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id, id}}, Versions: []string{"==1.*", "==2.*"}}),
			"tool_id[1]", "uniqueItems", rawQuery{"GET", invPath, vals("tool_id", id, "tool_id", id, "version", "==1.*", "version", "==2.*")}, `["query","tool_id"`},
		{"invocations conversation_id repeated", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ConversationIDs: []string{conv, conv}}}),
			"conversation_id[1]", "uniqueItems", rawQuery{"GET", invPath, vals("conversation_id", conv, "conversation_id", conv)}, `["query","conversation_id"`},
		{"invocations run id repeated", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{SimulationUnitTestSetRunIDs: []string{conv, conv}}}),
			"simulation_unit_test_set_run_id[1]", "uniqueItems", rawQuery{"GET", invPath, vals("simulation_unit_test_set_run_id", conv, "simulation_unit_test_set_run_id", conv)}, `["query","simulation_unit_test_set_run_id"`},
		{"invocations source type repeated", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{SourceTypes: []amigo.InvocationSourceType{amigo.SourceRegularConversation, amigo.SourceRegularConversation}}}),
			"invocation_source_type[1]", "uniqueItems", rawQuery{"GET", invPath, vals("invocation_source_type", "regular-conversation", "invocation_source_type", "regular-conversation")}, `["query","invocation_source_type"`},
		{"search tool_id repeated", search(amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{searchAll}, InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id, id}}}),
			"tool_id[1]", "uniqueItems", rawQuery{"GET", searchPath, sq("tool_id", id, "tool_id", id)}, `["query","tool_id"`},
		{"search conversation_id repeated", search(amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{searchAll}, InvocationFilter: amigo.InvocationFilter{ConversationIDs: []string{conv, conv}}}),
			"conversation_id[1]", "uniqueItems", rawQuery{"GET", searchPath, sq("conversation_id", conv, "conversation_id", conv)}, `["query","conversation_id"`},
		{"search run id repeated", search(amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{searchAll}, InvocationFilter: amigo.InvocationFilter{SimulationUnitTestSetRunIDs: []string{conv, conv}}}),
			"simulation_unit_test_set_run_id[1]", "uniqueItems", rawQuery{"GET", searchPath, sq("simulation_unit_test_set_run_id", conv, "simulation_unit_test_set_run_id", conv)}, `["query","simulation_unit_test_set_run_id"`},
		{"search source type repeated", search(amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{searchAll}, InvocationFilter: amigo.InvocationFilter{SourceTypes: []amigo.InvocationSourceType{amigo.SourceSimulationConversation, amigo.SourceSimulationConversation}}}),
			"invocation_source_type[1]", "uniqueItems", rawQuery{"GET", searchPath, sq("invocation_source_type", "simulation-conversation", "invocation_source_type", "simulation-conversation")}, `["query","invocation_source_type"`},

		// 2. tag filters
		{"tag without colon", listTools(amigo.ListToolsOptions{Tags: []string{"team"}}),
			"tag[0]", `"key:value"`, rawQuery{"GET", toolsPath, vals("tag", "team")}, `["query","tag",0]`},
		{"second tag without colon", listTools(amigo.ListToolsOptions{Tags: []string{"team:core", ""}}),
			"tag[1]", `"key:value"`, rawQuery{"GET", toolsPath, vals("tag", "team:core", "tag", "")}, `["query","tag",1]`},

		// 3. version constraints
		{"versions garbage", listVersions(amigo.ListVersionsOptions{Versions: "garbage"}),
			"versions", "has no operator", rawQuery{"GET", versionsPath, vals("versions", "garbage")}, `["query","versions"]`},
		{"versions bare release", listVersions(amigo.ListVersionsOptions{Versions: "1.2.3"}),
			"versions", "has no operator", rawQuery{"GET", versionsPath, vals("versions", "1.2.3")}, `["query","versions"]`},
		{"versions wildcard with >=", listVersions(amigo.ListVersionsOptions{Versions: ">=1.*"}),
			"versions", ".* wildcard", rawQuery{"GET", versionsPath, vals("versions", ">=1.*")}, `["query","versions"]`},
		{"versions ~= one component", listVersions(amigo.ListVersionsOptions{Versions: ">=1.0,~=1"}),
			"versions", "two components", rawQuery{"GET", versionsPath, vals("versions", ">=1.0,~=1")}, `["query","versions"]`},
		{"versions not a release", listVersions(amigo.ListVersionsOptions{Versions: "==1.0.0-beta"}),
			"versions", "not a release version", rawQuery{"GET", versionsPath, vals("versions", "==1.0.0-beta")}, `["query","versions"]`},
		{"invocations version garbage", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id, testToolID2}}, Versions: []string{">=1", "garbage"}}),
			"version[1]", "has no operator", rawQuery{"GET", invPath, vals("tool_id", id, "tool_id", testToolID2, "version", ">=1", "version", "garbage")}, `["query","version",1]`},
		{"deprecate versions garbage", func() error { return c.DeprecateVersions(ctx, id, "garbage") },
			"versions", "has no operator", rawQuery{"DELETE", "/tool/" + id + "/version/garbage", nil}, `["path","versions"]`},
		{"deprecate versions no version", func() error { return c.DeprecateVersions(ctx, id, "==") },
			"versions", "has no version", rawQuery{"DELETE", "/tool/" + id + "/version/" + url.PathEscape("=="), nil}, `["path","versions"]`},
		{"deprecate versions bad release", func() error { return c.DeprecateVersions(ctx, id, ">=x") },
			"versions", "not a release version", rawQuery{"DELETE", "/tool/" + id + "/version/" + url.PathEscape(">=x"), nil}, `["path","versions"]`},

		// 4. sort_by fields
		{"tools sort by created_at", listTools(amigo.ListToolsOptions{SortBy: []string{"-created_at"}}),
			"sort_by[0]", "name, deprecated", rawQuery{"GET", toolsPath, vals("sort_by", "-created_at")}, `["query","sort_by",0]`},
		{"tools sort by empty", listTools(amigo.ListToolsOptions{SortBy: []string{"name", ""}}),
			"sort_by[1]", "optional + (ascending) or - (descending) prefix", rawQuery{"GET", toolsPath, vals("sort_by", "name", "sort_by", "")}, `["query","sort_by",1]`},
		{"tools sort by two signs", listTools(amigo.ListToolsOptions{SortBy: []string{"+-name"}}),
			"sort_by[0]", "name, deprecated", rawQuery{"GET", toolsPath, vals("sort_by", "+-name")}, `["query","sort_by",0]`},
		{"versions sort by name", listVersions(amigo.ListVersionsOptions{SortBy: []string{"+name"}}),
			"sort_by[0]", "version.major", rawQuery{"GET", versionsPath, vals("sort_by", "+name")}, `["query","sort_by",0]`},
		{"versions sort by version", listVersions(amigo.ListVersionsOptions{SortBy: []string{"-version"}}),
			"sort_by[0]", "version.patch", rawQuery{"GET", versionsPath, vals("sort_by", "-version")}, `["query","sort_by",0]`},
		{"invocations sort by deprecated", listInv(amigo.ListInvocationsOptions{SortBy: []string{"-created_at", "deprecated"}}),
			"sort_by[1]", "invocation_status.succeeded", rawQuery{"GET", invPath, vals("sort_by", "-created_at", "sort_by", "deprecated")}, `["query","sort_by",1]`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.emu.Requests())
			err := tt.call()
			wantValidation(t, err, tt.wantField, tt.wantRule)
			if n := len(e.emu.Requests()) - before; n != 0 {
				t.Errorf("%d requests reached the emulator, want none", n)
			}
			// The server's side of the same rule.
			st, body := e.send(t, tok, tt.raw)
			if st != http.StatusUnprocessableEntity || !strings.Contains(body, `"loc":`+tt.wantLoc) {
				t.Errorf("emulator answered %s %s?%s with %d %s; want 422 at loc %s", tt.raw.method, tt.raw.path, tt.raw.q.Encode(), st, body, tt.wantLoc)
			}
		})
	}

	good := []struct {
		name string
		call func() error
	}{
		{"tools distinct ids", listTools(amigo.ListToolsOptions{IDs: []string{id, testToolID2}})},
		{"tools tag filters", listTools(amigo.ListToolsOptions{Tags: []string{"team:core", "team:*", "team:", ":", "a b:c:d"}})},
		{"tools every sort field", listTools(amigo.ListToolsOptions{SortBy: []string{"name", "+name", "-deprecated", "deprecated"}})},
		{"versions constraints", listVersions(amigo.ListVersionsOptions{Versions: " >= 1.0 , < 2 ,!=1.5.*,~=1.4, ==v1.*"})},
		{"versions arbitrary equality", listVersions(amigo.ListVersionsOptions{Versions: "===1.0.0"})},
		// A blank constraint is no filter (packaging's SpecifierSet("")).
		{"versions blank", listVersions(amigo.ListVersionsOptions{Versions: "  "})},
		{"invocations version empty", listInv(amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{ToolIDs: []string{id}}, Versions: []string{""}})},
		{"versions every sort field", listVersions(amigo.ListVersionsOptions{SortBy: []string{"created_at", "+version.major", "-version.minor", "version.patch", "-deprecated"}})},
		{"versions distinct creators", listVersions(amigo.ListVersionsOptions{Creators: []string{"acme,u", "acme,v"}})},
		{"invocations distinct filters", listInv(amigo.ListInvocationsOptions{
			InvocationFilter: amigo.InvocationFilter{
				ToolIDs: []string{id, testToolID2}, ConversationIDs: []string{conv, testToolID}, SimulationUnitTestSetRunIDs: []string{conv, testToolID},
				SourceTypes: []amigo.InvocationSourceType{amigo.SourceRegularConversation, amigo.SourceSimulationConversation},
			},
			Versions: []string{">=1", "~=2.1,!=2.1.3"},
		})},
		{"invocations every sort field", listInv(amigo.ListInvocationsOptions{SortBy: []string{"created_at", "version.major", "+version.minor", "-version.patch", "tool_id", "invocation_source.type", "-invocation_status.succeeded"}})},
		{"search distinct filters", search(amigo.SearchInvocationsOptions{Query: "x", InvocationFilter: amigo.InvocationFilter{
			ToolIDs: []string{id, testToolID2}, ConversationIDs: []string{conv, testToolID}, SimulationUnitTestSetRunIDs: []string{conv, testToolID},
			SourceTypes: []amigo.InvocationSourceType{amigo.SourceSimulationConversation, amigo.SourceRegularConversation},
		}})},
		{"deprecate exact version", func() error { return c.DeprecateVersions(ctx, id, "==9.9.9") }},
		{"deprecate range", func() error { return c.DeprecateVersions(ctx, id, ">=5,<6") }},
		{"deprecate wildcard", func() error { return c.DeprecateVersions(ctx, id, "==7.*") }},
	}
	for _, tt := range good {
		t.Run("valid/"+tt.name, func(t *testing.T) {
			before := len(e.emu.Requests())
			if err := tt.call(); err != nil {
				t.Fatalf("err = %v, want success", err)
			}
			if len(e.emu.Requests()) == before {
				t.Errorf("no request reached the emulator")
			}
		})
	}
}
