package amigotest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// runInputs runs the emulated tool over inputs. It returns one result per
// input, or the messages of inputs that do not conform to the schema.
func runInputs(name, version, commit string, schema map[string]any, inputs []amigo.Input) ([]amigo.InvocationResult, []string) {
	var bad []string
	for i, in := range inputs {
		for _, msg := range validateInput(schema, in.InputParameters) {
			bad = append(bad, fmt.Sprintf("inputs[%d].input_parameters.%s", i, msg))
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	out := make([]amigo.InvocationResult, len(inputs))
	for i, in := range inputs {
		out[i] = runOne(name, version, commit, in)
	}
	return out, nil
}

// runOne is the emulated tool's deterministic behaviour (see the package
// documentation).
func runOne(name, version, commit string, in amigo.Input) amigo.InvocationResult {
	params := in.InputParameters
	if params == nil {
		params = map[string]any{}
	}
	enc, _ := json.Marshal(params)
	h := fnv.New32a()
	h.Write(enc)
	dur := int64(5 + h.Sum32()%95)
	if r, ok := params["raise"]; ok {
		typ, msg := "Exception", fmt.Sprint(r)
		if s, ok := r.(string); ok {
			if a, b, ok := strings.Cut(s, ":"); ok && strings.TrimSpace(a) != "" && !strings.ContainsAny(strings.TrimSpace(a), " \t") {
				typ, msg = strings.TrimSpace(a), strings.TrimSpace(b)
			}
		}
		return amigo.InvocationResult{
			Succeeded:        false,
			ExceptionType:    typ,
			ExceptionMessage: msg,
			ExceptionStackTrace: []string{
				"Traceback (most recent call last):",
				fmt.Sprintf("  File \"/var/task/%s/main.py\", line 12, in handler", name),
				"    return run(input_parameters)",
				fmt.Sprintf("  File \"/var/task/%s/main.py\", line 31, in run", name),
				fmt.Sprintf("    raise %s(%q)", typ, msg),
				fmt.Sprintf("%s: %s", typ, msg),
			},
			DurationMS: dur,
		}
	}
	var ver any
	if version != "" {
		ver = version
	}
	outBody, _ := json.Marshal(map[string]any{
		"tool":             name,
		"version":          ver,
		"commit":           commit,
		"invocation_mode":  in.InvocationMode,
		"input_parameters": params,
	})
	return amigo.InvocationResult{Succeeded: true, Output: string(outBody), DurationMS: dur}
}

func decodeInputs(body []byte) ([]amigo.Input, error) {
	var req struct {
		Inputs []amigo.Input `json:"inputs"`
	}
	err := json.Unmarshal(body, &req)
	return req.Inputs, err
}

func (s *Server) handleTestTool(c *call) reply {
	body, bad := decodeBody(c, testToolSchema, nil)
	if bad != nil {
		return *bad
	}
	var req amigo.TestToolRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return detailReply(http.StatusUnprocessableEntity, "%v", err)
	}
	inputs, err := decodeInputs(body)
	if err != nil {
		return detailReply(http.StatusUnprocessableEntity, "%v", err)
	}
	var both []string
	for _, k := range slices.Sorted(maps.Keys(req.RequiredEnvvars)) {
		if _, ok := req.RequiredSecretEnvvars[k]; ok {
			both = append(both, k)
		}
	}
	if len(both) > 0 {
		return detailReply(http.StatusBadRequest, "Environment variables specified as both secret and non-secret: %s.", strings.Join(both, ", "))
	}
	p, err := s.repo.read(req.CommitBranch, req.ProjectPath)
	if err != nil {
		return projectError(err)
	}
	if p.BuildError != "" {
		return detailReply(http.StatusBadRequest, "Tool build failed: %s", p.BuildError)
	}
	var missing []string
	for _, n := range p.RequiredEnvvars {
		if _, ok := req.RequiredEnvvars[n]; !ok {
			missing = append(missing, n)
		}
	}
	for _, n := range p.RequiredSecretEnvvars {
		if _, ok := req.RequiredSecretEnvvars[n]; !ok {
			missing = append(missing, n+" (secret)")
		}
	}
	if len(missing) > 0 {
		return detailReply(http.StatusBadRequest, "Required environment variables in the tool are not declared in the request: %s.", strings.Join(missing, ", "))
	}
	results, nonconforming := runInputs(p.Name, "", p.Commit, p.InputSchema, inputs)
	if len(nonconforming) > 0 {
		return detailReply(http.StatusBadRequest, "Input parameters do not conform to the tool's input schema: %s.", strings.Join(nonconforming, "; "))
	}
	delay := s.drawLatency(s.opts.TestLatency)
	if err := s.clk.Sleep(c.r.Context(), delay); err != nil {
		return detailReply(http.StatusServiceUnavailable, "request cancelled")
	}
	return jsonReply(http.StatusOK, amigo.TestToolResponse{InvocationResults: results})
}

// bareRelease matches a version written as a PEP 440 release: digits and
// dots, an optional leading v.
var bareRelease = regexp.MustCompile(`^\s*[vV]?[0-9]+(\.[0-9]+)*\s*$`)

// resolveVersion finds the version named by ref. A release such as 1.2.3
// names the version PEP 440 calls equal to it: releases are compared padded
// with zeros, so "1.0", "1" and "1.0.0.0" all name 1.0.0, as
// packaging.version.Version("1.0") == Version("1.0.0"). A deprecated version
// is not usable. Anything else is read as a PEP 440 constraint and resolved
// to the highest matching non-deprecated version (an emulator convenience:
// the contract only says "the version of the tool to invoke").
func resolveVersion(t *tool, ref string) (*amigo.ToolVersion, error) {
	if bareRelease.MatchString(ref) {
		eq, err := amigo.ParseConstraint("==" + strings.TrimSpace(ref))
		if err != nil {
			return nil, fmt.Errorf("version %q: %v", ref, err)
		}
		for _, tv := range t.versions {
			if eq.Match(tv.Version) {
				if tv.Deprecated {
					return nil, fmt.Errorf("version %s of tool %s is deprecated", tv.Version, t.t.ID)
				}
				return tv, nil
			}
		}
		return nil, fmt.Errorf("version %s of tool %s does not exist", strings.TrimSpace(ref), t.t.ID)
	}
	cons, err := amigo.ParseConstraint(ref)
	if err != nil {
		return nil, fmt.Errorf("version %q is neither X.Y.Z nor a version constraint: %v", ref, err)
	}
	var best *amigo.ToolVersion
	for _, tv := range t.versions {
		if !tv.Deprecated && cons.Match(tv.Version) && (best == nil || best.Version.Less(tv.Version)) {
			best = tv
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no non-deprecated version of tool %s matches %q", t.t.ID, ref)
	}
	return best, nil
}

func (s *Server) handleInvoke(c *call) reply {
	var e errs
	id := toolIDParam(c, &e)
	body, bad := decodeBody(c, invokeSchema, e)
	if bad != nil {
		return *bad
	}
	inputs, err := decodeInputs(body)
	if err != nil {
		return detailReply(http.StatusUnprocessableEntity, "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(c.org).find(id)
	if t == nil || t.t.Deprecated {
		return toolNotFound(id, t)
	}
	v, err := resolveVersion(t, c.params["version"])
	if err != nil {
		return detailReply(http.StatusNotFound, "The tool version does not exist: %v.", err)
	}
	results, nonconforming := runInputs(t.t.Name, v.Version.String(), v.ToolCommitHash, v.InputSchema, inputs)
	if len(nonconforming) > 0 {
		return detailReply(http.StatusBadRequest, "The input parameters do not conform to the tool's input schema: %s.", strings.Join(nonconforming, "; "))
	}
	o := s.org(c.org)
	for i, res := range results {
		now := s.now()
		st := amigo.InvocationStatus{Succeeded: res.Succeeded, Output: res.Output,
			ExceptionMessage: res.ExceptionMessage, ExceptionType: res.ExceptionType, ExceptionStackTrace: res.ExceptionStackTrace}
		params := inputs[i].InputParameters
		if params == nil {
			params = map[string]any{}
		}
		o.invocations = append(o.invocations, &amigo.Invocation{
			ID: s.newID(), OrgID: c.org, CreatedAt: now, UpdatedAt: now,
			InvocationStatus: st,
			InvocationSource: invocationSource(inputs[i].InvocationMode, c.user),
			DurationMS:       res.DurationMS, ToolID: t.t.ID, ToolVersion: v.Version, Inputs: params,
		})
	}
	return jsonReply(http.StatusOK, amigo.InvokeResponse{InvocationResults: results})
}

// invocationSource is where an invoked input is recorded as coming from:
// an input run in "conversation-simulation" mode is a simulation (source
// simulation-conversation, outside any unit test set run, so its run, unit
// test and run index are null); a "regular" one a regular conversation of
// the caller (without a conversation or interaction).
func invocationSource(mode amigo.InvocationMode, user string) amigo.InvocationSource {
	meta := amigo.InvocationMetadata{
		Type:                          amigo.MetadataToolCallState,
		CurrentStateMachineAndVersion: amigo.StateMachineVersion{Name: "direct-invoke", Version: 1},
		StateName:                     "direct-invoke",
	}
	if mode == amigo.InvocationModeConversationSimulation {
		return amigo.InvocationSource{Type: amigo.SourceSimulationConversation, InvocationMetadata: meta}
	}
	return amigo.InvocationSource{Type: amigo.SourceRegularConversation, UserID: user, InvocationMetadata: meta}
}

// invocationFilter is the filter set shared by list and search.
type invocationFilter struct {
	toolIDs, versions, sources, conversations, runs []string
	succeeded                                       *bool
	cons                                            []amigo.VersionConstraint
}

func readInvocationFilter(q query) invocationFilter {
	f := invocationFilter{
		toolIDs:       q.list("tool_id", amigo.PatternObjectID, true),
		sources:       q.list("invocation_source_type", "", true, string(amigo.SourceRegularConversation), string(amigo.SourceSimulationConversation)),
		conversations: q.list("conversation_id", amigo.PatternObjectID, true),
		runs:          q.list("simulation_unit_test_set_run_id", amigo.PatternObjectID, true),
		succeeded:     q.boolParam("succeeded"),
	}
	return f
}

func (f invocationFilter) match(inv *amigo.Invocation) bool {
	if len(f.toolIDs) > 0 {
		ok := false
		for i, id := range f.toolIDs {
			if inv.ToolID == id && (f.cons == nil || f.cons[i].Match(inv.ToolVersion)) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.sources) > 0 && !slices.Contains(f.sources, string(inv.InvocationSource.Type)) {
		return false
	}
	if len(f.conversations) > 0 && (inv.InvocationSource.Type != amigo.SourceRegularConversation ||
		inv.InvocationSource.ConversationID == nil || !slices.Contains(f.conversations, *inv.InvocationSource.ConversationID)) {
		return false
	}
	if len(f.runs) > 0 && (inv.InvocationSource.Type != amigo.SourceSimulationConversation ||
		inv.InvocationSource.SimulationUnitTestSetRunID == nil || !slices.Contains(f.runs, *inv.InvocationSource.SimulationUnitTestSetRunID)) {
		return false
	}
	if f.succeeded != nil && inv.InvocationStatus.Succeeded != *f.succeeded {
		return false
	}
	return true
}

func (s *Server) invocations(org string, f invocationFilter) []amigo.Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []amigo.Invocation
	for _, inv := range s.org(org).invocations {
		if f.match(inv) {
			out = append(out, *inv)
		}
	}
	return out
}

func (s *Server) handleListInvocations(c *call) reply {
	var e errs
	q := newQuery(c, &e)
	f := readInvocationFilter(q)
	f.versions = q.list("version", "", false)
	sorts := q.sortBy("created_at", "version.major", "version.minor", "version.patch", "tool_id", "invocation_source.type", "invocation_status.succeeded")
	limit := q.intParam("limit", 100, intp(0), intp(100), false)
	cont := q.intParam("continuation_token", 0, nil, nil, false)
	if len(e) > 0 {
		return e.reply()
	}
	if len(f.versions) > 0 && len(f.versions) != len(f.toolIDs) {
		return detailReply(http.StatusBadRequest, "The tool_id and version query parameters are not the same length (%d tool_id, %d version).", len(f.toolIDs), len(f.versions))
	}
	for i, raw := range f.versions {
		cons, err := amigo.ParseConstraint(raw)
		if err != nil {
			e.add(q.loc("version", i), "value_error", "Value error, "+err.Error(), raw)
			continue
		}
		f.cons = append(f.cons, cons)
	}
	if len(e) > 0 {
		return e.reply()
	}
	all := s.invocations(c.org, f)
	sortByKeys(all, sorts, func(a, b amigo.Invocation, field string) int {
		if cmp, ok := releaseCmp(a.ToolVersion, b.ToolVersion, a.CreatedAt, b.CreatedAt, field); ok {
			return cmp
		}
		switch field {
		case "tool_id":
			return strings.Compare(a.ToolID, b.ToolID)
		case "invocation_source.type":
			return strings.Compare(string(a.InvocationSource.Type), string(b.InvocationSource.Type))
		case "invocation_status.succeeded":
			return boolCmp(a.InvocationStatus.Succeeded, b.InvocationStatus.Succeeded)
		}
		return 0
	})
	page, more, next := paginate(all, cont, limit)
	return jsonReply(http.StatusOK, amigo.ListInvocationsResponse{ToolInvocations: page, HasMore: more, ContinuationToken: next})
}

var searchFields = []string{
	"invocation_status.exception_message", "invocation_status.exception_type",
	"invocation_status.exception_stack_trace", "invocation_status.output",
}

func (s *Server) handleSearchInvocations(c *call) reply {
	var e errs
	q := newQuery(c, &e)
	text, ok := q.str("query")
	if !ok {
		e.add(q.loc("query"), "missing", "Field required", nil)
	}
	against := q.list("query_against", "", true, searchFields...)
	if _, present := q.v["query_against"]; !present {
		e.add(q.loc("query_against"), "missing", "Field required", nil)
	}
	f := readInvocationFilter(q)
	if len(e) > 0 {
		return e.reply()
	}
	needle := strings.ToLower(text)
	var out []amigo.Invocation
	for _, inv := range s.invocations(c.org, f) {
		st := inv.InvocationStatus
		hit := false
		for _, field := range against {
			var hay string
			switch field {
			case "invocation_status.exception_message":
				hay = st.ExceptionMessage
			case "invocation_status.exception_type":
				hay = st.ExceptionType
			case "invocation_status.exception_stack_trace":
				hay = strings.Join(st.ExceptionStackTrace, "\n")
			case "invocation_status.output":
				hay = st.Output
			}
			if strings.Contains(strings.ToLower(hay), needle) {
				hit = true
			}
		}
		if hit {
			out = append(out, inv)
		}
	}
	return jsonReply(http.StatusOK, amigo.SearchInvocationsResponse{ToolInvocations: append([]amigo.Invocation{}, out...)})
}
