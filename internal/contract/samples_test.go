package contract

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"strings"
	"testing"
)

const (
	toolID  = "0123456789abcdef01234567"
	toolID2 = "abcdefabcdefabcdefabcdef"
)

// sample is one exchange of an operation that the contract accepts.
type sample struct {
	op      string
	method  string
	path    string // with query
	headers map[string]string
	body    string // request body ("" for none)
	status  int
	ctype   string // response Content-Type
	resp    string // response body
}

func gz(t testing.TB, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const (
	sampleTool = `{"id":"` + toolID + `","org_id":"org","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05.123+01:00",
		"name":"weather_tool","description":"Weather.","deprecated":false,"envvars":["CITY"],"secret_envvars":[],
		"tags":[{"key":"team","value":"core"},{"key":"beta","value":null}],
		"creator":{"org_id":"org","user_id":"u1"},"updated_by":{"org_id":"org","user_id":"u1"}}`
	sampleVersion = `{"id":"v1","org_id":"org","created_at":"2026-01-02T03:04:05Z","tool_id":"` + toolID + `",
		"version":{"major":1,"minor":2,"patch":3},"required_envvars":["CITY"],"required_secret_envvars":["KEY"],
		"input_schema":{"type":"object"},"tool_commit_hash":"abc123","amigo_scaffold_commit_hash":"def456",
		"project_directory":"tools/weather","lambda_version":4,
		"creator":{"user_id":"u1","user_org_id":"org"},"updated_by":{"user_id":"u1","user_org_id":"org"},"deprecated":false}`
	metaStateTransition = `{"type":"state-transition","current_state_machine_and_version":["sm",3],"state_name":"s","state_transition_index":1,"tool_call_round_index":0}`
	metaEngageUser      = `{"type":"engage-user","current_state_machine_and_version":["sm",3],"tool_call_round_index":2}`
	metaToolCallState   = `{"type":"tool-call-state","current_state_machine_and_version":["sm",3],"state_name":"s"}`
	sourceRegular       = `{"type":"regular-conversation","user_id":"u1","conversation_id":"c1","interaction_id":null,"invocation_metadata":` + metaEngageUser + `}`
	sourceSimulation    = `{"type":"simulation-conversation","simulation_unit_test_set_run_id":null,"unit_test_id":"t1","run_index":null,"invocation_metadata":` + metaToolCallState + `}`
	statusSucceeded     = `{"succeeded":true,"output":"sunny"}`
	statusFailed        = `{"succeeded":false,"exception_message":"boom","exception_type":"ValueError","exception_stack_trace":["line 1"]}`
	resultSucceeded     = `{"succeeded":true,"output":"sunny","duration_ms":12}`
	resultFailed        = `{"succeeded":false,"exception_message":"boom","exception_type":"ValueError","exception_stack_trace":[],"duration_ms":7}`
	sampleInput         = `{"input_parameters":{"city":"Paris"},"invocation_mode":"regular","nonsensitive_user_variables":{"user_name":"x"},"sensitive_user_variables":{}}`
)

func invocation(status, source string) string {
	return `{"id":"i1","org_id":"org","created_at":"2026-01-02T03:04:05Z","invocation_status":` + status +
		`,"invocation_source":` + source + `,"duration_ms":5,"tool_id":"` + toolID +
		`","tool_version":{"major":1,"minor":0,"patch":0},"inputs":{"city":"Paris"}}`
}

// samples returns one accepted exchange for each of the 14 operations.
func samples(t testing.TB) []sample {
	js := "application/json"
	return []sample{
		{op: "get-tools", method: "GET", path: "/v1/org/tool/?limit=20&continuation_token=0&deprecated=false&id=" + toolID + "&id=" + toolID2 + "&sort_by=-name&tag=team:core",
			status: 200, ctype: js, resp: `{"tools":[` + sampleTool + `],"has_more":true,"continuation_token":20,"filter_values":{"tags":["team:core"]}}`},
		{op: "create-tool", method: "POST", path: "/v1/org/tool/", body: `{"name":"weather_tool","description":"Weather.","tags":{"team":"core","beta":null}}`,
			status: 201, ctype: js, resp: `{"id":"` + toolID + `"}`},
		{op: "get-tool-scaffold-release", method: "GET", path: "/v1/org/tool/amigo_tool_scaffold.tar.gz",
			status: 200, ctype: "application/gzip", resp: gz(t, "scaffold")},
		{op: "get-tool-invocations", method: "GET", path: "/v1/org/tool/invocation?tool_id=" + toolID + "&version=%3E%3D1.0.0&succeeded=true&limit=100&invocation_source_type=regular-conversation&sort_by=-created_at",
			status: 200, ctype: js, resp: `{"tool_invocations":[` + invocation(statusSucceeded, sourceRegular) + `,` + invocation(statusFailed, sourceSimulation) + `],"has_more":false,"continuation_token":null}`},
		{op: "search-tool-invocations", method: "GET", path: "/v1/org/tool/invocation/search?query=boom&query_against=invocation_status.exception_message&query_against=invocation_status.output",
			status: 200, ctype: js, resp: `{"tool_invocations":[` + invocation(statusFailed, sourceRegular) + `]}`},
		{op: "test-tool", method: "POST", path: "/v1/org/tool/test",
			body:   `{"inputs":[` + sampleInput + `],"commit_branch":"main","project_path":"tools/weather","required_envvars":{"CITY":"Paris"},"required_secret_envvars":{}}`,
			status: 200, ctype: js, resp: `{"invocation_results":[` + resultSucceeded + `,` + resultFailed + `]}`},
		{op: "deprecate-tool", method: "DELETE", path: "/v1/org/tool/" + toolID, status: 204},
		{op: "modify-tool", method: "POST", path: "/v1/org/tool/" + toolID, body: `{"description":"New.","tags":{"team":null}}`, status: 204},
		{op: "modify-tool-envvars", method: "POST", path: "/v1/org/tool/" + toolID + "/envvar",
			body: `{"inserts":[{"name":"CITY","value":"Paris","is_secret":false}],"updates":[{"name":"KEY","value":"v"}],"deletes":[{"name":"OLD"}]}`, status: 204},
		{op: "get-tool-versions", method: "GET", path: "/v1/org/tool/" + toolID + "/version?deprecated=false&versions=%3E%3D1.0.0&limit=50&sort_by=-created_at",
			status: 200, ctype: js, resp: `{"tool_versions":[` + sampleVersion + `],"has_more":false,"continuation_token":null,"filter_values":{"creators":[{"user_id":"u1","user_org_id":"org"}]}}`},
		{op: "publish-tool-version", method: "POST", path: "/v1/org/tool/" + toolID + "/version", body: `{"project_path":"tools/weather","bump_type":"major"}`,
			status: 201, ctype: js, resp: `{"new_version":"1.0.0"}`},
		{op: "deprecate-tool-version", method: "DELETE", path: "/v1/org/tool/" + toolID + "/version/%3D%3D1.0.0", status: 204},
		{op: "invoke-tool-version", method: "POST", path: "/v1/org/tool/" + toolID + "/version/1.0.0/invoke", body: `{"inputs":[` + sampleInput + `,` + sampleInput + `]}`,
			status: 200, ctype: js, resp: `{"invocation_results":[` + resultFailed + `,` + resultSucceeded + `]}`},
		{op: "sign-in-with-api-key", method: "POST", path: "/v1/org/user/signin_with_api_key",
			headers: map[string]string{"x-api-key": "k", "x-api-key-id": "kid", "x-user-id": "u1", "Authorization": ""},
			status:  200, ctype: js, resp: `{"id_token":"jwt","expires_at":"2026-01-02T04:04:05Z"}`},
	}
}

func (s sample) request() (*http.Request, []byte) {
	r := reqFor(s.method, s.path, true)
	if s.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r, []byte(s.body)
}

func (s sample) header() http.Header {
	h := http.Header{}
	if s.ctype != "" {
		h.Set("Content-Type", s.ctype)
	}
	return h
}

func TestSamplesAcceptedForEveryOperation(t *testing.T) {
	v := MustLoad(t)
	seen := map[string]bool{}
	for _, s := range samples(t) {
		t.Run(s.op, func(t *testing.T) {
			r, body := s.request()
			op, err := v.FindOperation(r)
			if err != nil || op != s.op {
				t.Fatalf("routes to %q (%v), want %s", op, err, s.op)
			}
			seen[op] = true
			if err := v.ValidateRequest(r, body); err != nil {
				t.Errorf("request: %v", err)
			}
			if err := v.ValidateResponse(r, s.status, s.header(), []byte(s.resp)); err != nil {
				t.Errorf("response: %v", err)
			}
			// Every documented error status has no content in the contract:
			// empty and FastAPI-style bodies both pass.
			o, _ := v.Operation(op)
			for _, st := range o.Statuses {
				if st == o.Success {
					continue
				}
				if err := v.ValidateResponse(r, st, http.Header{}, nil); err != nil {
					t.Errorf("empty %d: %v", st, err)
				}
				h := http.Header{"Content-Type": {"application/json"}}
				if err := v.ValidateResponse(r, st, h, []byte(`{"detail":"no"}`)); err != nil {
					t.Errorf("detail %d: %v", st, err)
				}
			}
		})
	}
	for _, o := range v.Operations() {
		if !seen[o.ID] {
			t.Errorf("no sample for %s", o.ID)
		}
	}
}

// mutation derives a broken exchange from the sample of op.
type mutation struct {
	name     string
	op       string
	edit     func(s *sample)
	response bool   // the response is broken (else the request)
	field    string // expected Violation.Field prefix
	rule     string // expected Violation.Rule
}

func TestRejectsOffContractExchanges(t *testing.T) {
	v := MustLoad(t)
	byOp := map[string]sample{}
	for _, s := range samples(t) {
		byOp[s.op] = s
	}
	req := func(old, new string) func(*sample) {
		return func(s *sample) {
			if !strings.Contains(s.body+s.path, old) {
				panic("sample lacks " + old)
			}
			s.body = strings.Replace(s.body, old, new, 1)
			s.path = strings.Replace(s.path, old, new, 1)
		}
	}
	resp := func(old, new string) func(*sample) {
		return func(s *sample) {
			if !strings.Contains(s.resp, old) {
				panic("sample response lacks " + old)
			}
			s.resp = strings.Replace(s.resp, old, new, 1)
		}
	}
	cases := []mutation{
		// Requests.
		{name: "missing required field", op: "create-tool", edit: req(`"description":"Weather.",`, ``), field: "body /", rule: "required"},
		{name: "bad name pattern", op: "create-tool", edit: req(`"weather_tool"`, `"Weather Tool"`), field: "body /name", rule: "pattern"},
		{name: "bad tag key (propertyNames)", op: "create-tool", edit: req(`"team":"core"`, `"team-x":"core"`), field: "body /tags", rule: "propertyNames/pattern"},
		{name: "tag value wrong type", op: "create-tool", edit: req(`"team":"core"`, `"team":3`), field: "body /tags/team", rule: "type"},
		{name: "null required string", op: "create-tool", edit: req(`"description":"Weather."`, `"description":null`), field: "body /description", rule: "type"},
		{name: "modify-tool null description is fine but number is not", op: "modify-tool", edit: req(`"New."`, `5`), field: "body /description", rule: "type"},
		{name: "too many inputs", op: "invoke-tool-version", edit: req(`"inputs":[`, `"inputs":[`+strings.Repeat(sampleInput+",", 9)), field: "body /inputs", rule: "maxItems"},
		{name: "no inputs", op: "test-tool", edit: req(`"inputs":[`+sampleInput+`]`, `"inputs":[]`), field: "body /inputs", rule: "minItems"},
		{name: "boolean as string", op: "modify-tool-envvars", edit: req(`"is_secret":false`, `"is_secret":"false"`), field: "body /inserts/0/is_secret", rule: "type"},
		{name: "bad bump type", op: "publish-tool-version", edit: req(`"major"`, `"huge"`), field: "body /bump_type", rule: "enum"},
		{name: "bad project path", op: "publish-tool-version", edit: req(`"tools/weather"`, `"tools/../x y"`), field: "body /project_path", rule: "pattern"},
		{name: "bad invocation mode", op: "test-tool", edit: req(`"regular"`, `"batch"`), field: "body /inputs/0/invocation_mode", rule: "enum"},
		{name: "user variable name", op: "test-tool", edit: req(`"user_name"`, `"UserName"`), field: "body /inputs/0/nonsensitive_user_variables", rule: "propertyNames/pattern"},
		{name: "limit above maximum", op: "get-tools", edit: req(`limit=20`, `limit=21`), field: "query limit", rule: "maximum"},
		{name: "limit zero (exclusiveMinimum)", op: "get-tools", edit: req(`limit=20`, `limit=0`), field: "query limit", rule: "exclusiveMinimum"},
		{name: "tool id pattern in query", op: "get-tools", edit: req(`id=`+toolID, `id=xyz`), field: "query id", rule: "pattern"},
		{name: "tool id pattern in path", op: "deprecate-tool", edit: req(toolID, "not-an-id"), field: "path tool_id", rule: "pattern"},
		{name: "missing required query", op: "search-tool-invocations", edit: req(`query=boom&`, ``), field: "query query", rule: "required"},
		{name: "enum in query array", op: "search-tool-invocations", edit: req(`invocation_status.output`, `everything`), field: "query query_against", rule: "enum"},
		{name: "boolean query", op: "get-tool-versions", edit: req(`deprecated=false`, `deprecated=nope`), field: "query deprecated", rule: "invalid"},
		{name: "body on a GET", op: "get-tools", edit: func(s *sample) { s.body = `{}` }, field: "body", rule: "body"},
		{name: "missing api key header", op: "sign-in-with-api-key", edit: func(s *sample) { s.headers["x-api-key"] = "" }, field: "header x-api-key", rule: "required"},
		{name: "no Authorization", op: "publish-tool-version", edit: func(s *sample) { s.headers = map[string]string{"Authorization": ""} }, field: "header Authorization", rule: "security"},
		{name: "empty bearer", op: "get-tools", edit: func(s *sample) { s.headers = map[string]string{"Authorization": "Bearer "} }, field: "header Authorization", rule: "security"},
		{name: "bad basic", op: "get-tools", edit: func(s *sample) { s.headers = map[string]string{"Authorization": "Basic !!!"} }, field: "header Authorization", rule: "security"},
		{name: "empty X-ORG-ID", op: "get-tools", edit: func(s *sample) { s.headers = map[string]string{"X-ORG-ID": " "} }, field: "header X-ORG-ID", rule: "security"},
		{name: "not JSON content type", op: "create-tool", edit: func(s *sample) { s.headers = map[string]string{"Content-Type": "text/plain"} }, field: "body", rule: ""},
		{name: "missing body", op: "create-tool", edit: func(s *sample) { s.body = "" }, field: "body", rule: ""},
		// Responses.
		{name: "undocumented status", op: "create-tool", edit: func(s *sample) { s.status = 200 }, response: true, field: "status", rule: "status"},
		{name: "undocumented 500", op: "get-tools", edit: func(s *sample) { s.status = 500 }, response: true, field: "status", rule: "status"},
		{name: "204 with a body", op: "deprecate-tool", edit: func(s *sample) { s.resp = `{}` }, response: true, field: "body", rule: "body"},
		{name: "error body labelled JSON but not JSON", op: "deprecate-tool", edit: func(s *sample) { s.status = 409; s.ctype = "application/json"; s.resp = `conflict` }, response: true, field: "body", rule: "body"},
		{name: "wrong content type", op: "create-tool", edit: func(s *sample) { s.ctype = "text/plain" }, response: true, field: "", rule: "content-type"},
		{name: "scaffold not gzip", op: "get-tool-scaffold-release", edit: func(s *sample) { s.resp = "plain" }, response: true, field: "body", rule: "body"},
		{name: "scaffold content type", op: "get-tool-scaffold-release", edit: func(s *sample) { s.ctype = "application/json" }, response: true, field: "", rule: ""},
		{name: "missing required response field", op: "publish-tool-version", edit: resp(`"new_version":"1.0.0"`, `"version":"1.0.0"`), response: true, field: "body /", rule: "required"},
		{name: "id wrong type", op: "create-tool", edit: resp(`"`+toolID+`"`, `42`), response: true, field: "body /id", rule: "type"},
		{name: "nullable array is not", op: "get-tools", edit: resp(`"envvars":["CITY"]`, `"envvars":null`), response: true, field: "body /tools/0/envvars", rule: ""},
		{name: "nullable tag value wrong type", op: "get-tools", edit: resp(`"value":"core"`, `"value":1`), response: true, field: "body /tools/0/tags/0/value", rule: ""},
		{name: "required nullable continuation token missing", op: "get-tool-versions", edit: resp(`,"continuation_token":null`, ``), response: true, field: "body /", rule: "required"},
		{name: "filter values wrong shape", op: "get-tools", edit: resp(`{"tags":["team:core"]}`, `["team:core"]`), response: true, field: "body /filter_values", rule: ""},
		{name: "bad date-time", op: "sign-in-with-api-key", edit: resp(`2026-01-02T04:04:05Z`, `tomorrow`), response: true, field: "body /expires_at", rule: "format"},
		{name: "succeeded result with exception fields only", op: "test-tool", edit: resp(resultSucceeded, `{"succeeded":true,"exception_message":"m","exception_type":"t","exception_stack_trace":[],"duration_ms":1}`), response: true, field: "body /invocation_results/0", rule: ""},
		{name: "failed result with output only", op: "invoke-tool-version", edit: resp(resultFailed, `{"succeeded":false,"output":"x","duration_ms":1}`), response: true, field: "body /invocation_results/0", rule: ""},
		{name: "result without discriminator", op: "invoke-tool-version", edit: resp(resultSucceeded, `{"output":"x","duration_ms":1}`), response: true, field: "body /invocation_results/1", rule: "required"},
		{name: "discriminator as string", op: "test-tool", edit: resp(resultSucceeded, `{"succeeded":"true","output":"x","duration_ms":1}`), response: true, field: "body /invocation_results/0", rule: ""},
		{name: "status variant mismatch", op: "search-tool-invocations", edit: resp(statusFailed, `{"succeeded":true,"exception_message":"boom","exception_type":"E","exception_stack_trace":[]}`), response: true, field: "body /tool_invocations/0/invocation_status", rule: ""},
		{name: "source type unknown", op: "get-tool-invocations", edit: resp(`"type":"regular-conversation"`, `"type":"phone-call"`), response: true, field: "body /tool_invocations/0/invocation_source", rule: ""},
		{name: "simulation source missing nullable field", op: "get-tool-invocations", edit: resp(`"run_index":null,`, ``), response: true, field: "body /tool_invocations/1/invocation_source", rule: "required"},
		{name: "regular source with simulation fields only", op: "search-tool-invocations", edit: resp(`"user_id":"u1","conversation_id":"c1","interaction_id":null,`, `"simulation_unit_test_set_run_id":null,"unit_test_id":null,"run_index":null,`), response: true, field: "body /tool_invocations/0/invocation_source", rule: ""},
		{name: "prefixItems order", op: "get-tool-invocations", edit: resp(`["sm",3],"tool_call_round_index":2`, `[3,"sm"],"tool_call_round_index":2`), response: true, field: "body /tool_invocations/0/invocation_source", rule: ""},
		{name: "prefixItems length", op: "get-tool-invocations", edit: resp(`["sm",3],"tool_call_round_index":2`, `["sm",3,4],"tool_call_round_index":2`), response: true, field: "body /tool_invocations/0/invocation_source", rule: ""},
		{name: "metadata variant missing field", op: "get-tool-invocations", edit: resp(`"type":"tool-call-state","current_state_machine_and_version":["sm",3],"state_name":"s"`, `"type":"tool-call-state","current_state_machine_and_version":["sm",3]`), response: true, field: "body /tool_invocations/1/invocation_source/invocation_metadata", rule: ""},
		{name: "version integer", op: "get-tool-versions", edit: resp(`"patch":3`, `"patch":3.5`), response: true, field: "body /tool_versions/0/version/patch", rule: "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := byOp[c.op]
			h := map[string]string{}
			for k, v := range s.headers {
				h[k] = v
			}
			s.headers = h
			c.edit(&s)
			r, body := s.request()
			var err error
			if c.response {
				if err := v.ValidateRequest(r, body); err != nil {
					t.Fatalf("request should still pass: %v", err)
				}
				err = v.ValidateResponse(r, s.status, s.header(), []byte(s.resp))
			} else {
				err = v.ValidateRequest(r, body)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("accepted (err = %v)", err)
			}
			if ce.OperationID != c.op {
				t.Errorf("operation %q, want %q", ce.OperationID, c.op)
			}
			if !ce.Has(c.field, c.rule) && !(c.rule == "" && ce.Has(c.field, ce.firstRule(c.field))) {
				t.Errorf("want a violation at %q rule %q, got: %v", c.field, c.rule, err)
			}
			t.Log(err)
		})
	}
}

// firstRule is the rule of the first violation at fieldPrefix ("" if none).
func (e *Error) firstRule(fieldPrefix string) string {
	for _, v := range e.Violations {
		if strings.HasPrefix(v.Field, fieldPrefix) {
			return v.Rule
		}
	}
	return "\x00none"
}

// TestNullableAndOptionalVariantsAccepted pins the 3.1 forms of "nullable"
// and "optional" that must pass: anyOf [X, {type: null}] with null, absent
// optional properties and parameters, and anyOf [{}, {type: null}].
func TestNullableAndOptionalVariantsAccepted(t *testing.T) {
	v := MustLoad(t)
	js := http.Header{"Content-Type": {"application/json"}}
	requests := []struct{ method, path, body string }{
		{"POST", "/v1/org/tool/" + toolID, `{"description":null,"tags":null}`},
		{"POST", "/v1/org/tool/" + toolID, `{}`},
		{"POST", "/v1/org/tool/" + toolID + "/envvar", `{}`},
		{"GET", "/v1/org/tool/", ""},
		{"GET", "/v1/org/tool/" + toolID + "/version", ""},
		{"GET", "/v1/org/tool/invocation", ""},
	}
	for _, rq := range requests {
		r := reqFor(rq.method, rq.path, true)
		if rq.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if err := v.ValidateRequest(r, []byte(rq.body)); err != nil {
			t.Errorf("%s %s %s: %v", rq.method, rq.path, rq.body, err)
		}
	}
	responses := []struct{ method, path, body string }{
		{"GET", "/v1/org/tool/", `{"tools":[],"has_more":false,"continuation_token":"opaque","filter_values":null}`},
		{"GET", "/v1/org/tool/", `{"tools":[],"has_more":true,"continuation_token":{"any":"thing"},"filter_values":{"tags":[]}}`},
		{"GET", "/v1/org/tool/invocation", `{"tool_invocations":[` + invocation(statusSucceeded,
			`{"type":"simulation-conversation","simulation_unit_test_set_run_id":"r","unit_test_id":null,"run_index":4,"invocation_metadata":`+metaStateTransition+`}`) +
			`],"has_more":false,"continuation_token":null}`},
	}
	for _, rs := range responses {
		if err := v.ValidateResponse(reqFor(rs.method, rs.path, true), 200, js, []byte(rs.body)); err != nil {
			t.Errorf("%s: %v", rs.body, err)
		}
	}
}
