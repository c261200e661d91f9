package amigotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/pattern"
)

// This file validates requests the way the real (FastAPI + pydantic) server
// does: bodies must be JSON objects, types are not coerced, and every
// violation is listed in a 422 body {"detail": [{"type", "loc", "msg",
// "input"}]}. The schemas are written out below from the OpenAPI file.

// Detail is one FastAPI validation error.
type Detail struct {
	Type  string `json:"type"`
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Input any    `json:"input"`
}

type errs []Detail

func (e *errs) add(loc []any, typ, msg string, input any) {
	*e = append(*e, Detail{Type: typ, Loc: append([]any(nil), loc...), Msg: msg, Input: input})
}

func (e errs) reply() reply {
	return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": e})
}

func at(loc []any, more ...any) []any {
	out := make([]any, 0, len(loc)+len(more))
	return append(append(out, loc...), more...)
}

// check validates v (decoded with UseNumber) at loc and returns the
// normalised value (stripped strings).
type check func(v any, loc []any, e *errs) any

// bodyOps are the operations with a request body.
var bodyOps = map[string]bool{
	OpCreateTool: true, OpModifyTool: true, OpModifyEnvvars: true,
	OpTestTool: true, OpPublishVersion: true, OpInvokeVersion: true,
}

// parseBody is FastAPI's first step for an operation with a body, taken
// before authentication and every other check: read the body and, when it
// is labelled JSON, parse it. A body that cannot be read or is not JSON is
// a 422 at once (FastAPI raises json_invalid before it solves any
// dependency, the security ones included); everything else about the body
// is checked with the parameters, after authentication (decodeBody).
func parseBody(c *call) *reply {
	if !bodyOps[c.op] || c.parsed {
		return nil
	}
	c.parsed = true
	var e errs
	body, err := readBody(c.r)
	if err != nil {
		e.add([]any{"body"}, "value_error", "Could not read the request body: "+err.Error(), nil)
		rep := e.reply()
		return &rep
	}
	c.body = body
	if len(bytes.TrimSpace(body)) == 0 || !jsonLabelled(c.r) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		// pos: the start of the value that failed; for a body that ends
		// too soon, its end (where Python's json module stops too).
		pos := int(dec.InputOffset())
		if errors.Is(err, io.ErrUnexpectedEOF) {
			pos = len(body)
		}
		msg := "JSON decode error"
		if err != nil {
			msg = "JSON decode error: " + err.Error()
		}
		e.add([]any{"body", pos}, "json_invalid", msg, map[string]any{})
		rep := e.reply()
		return &rep
	}
	c.value = v
	return nil
}

// jsonLabelled reports whether the request says its body is JSON. The
// contract documents only application/json request bodies, and FastAPI
// (strict_content_type, its default) reads no other body as JSON: a body
// with another Content-Type, or none, is not an object to validate.
func jsonLabelled(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	return ct != "" && err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// toolRequest validates the {tool_id} path parameter and the body of c
// together, as FastAPI does (one 422 lists the path errors, then the body
// errors), and decodes the body into a T.
func toolRequest[T any](c *call, schema check) (string, T, *reply) {
	var e errs
	id := toolIDParam(c, &e)
	req, bad := decodeInto[T](c, schema, e)
	return id, req, bad
}

// decodeInto is decodeBody followed by decoding into a T (422 when the
// validated body does not fit it).
func decodeInto[T any](c *call, schema check, e errs) (T, *reply) {
	var req T
	body, bad := decodeBody(c, schema, e)
	if bad != nil {
		return req, bad
	}
	if err := json.Unmarshal(body, &req); err != nil {
		rep := detailReply(http.StatusUnprocessableEntity, "%v", err)
		return req, &rep
	}
	return req, nil
}

// decodeBody validates the body of c (parsed by parseBody) against schema,
// after the errors e already found in the path and query. It returns the
// normalised value re-encoded as JSON for decoding into a wire type, or a
// 422 reply listing e and the body's errors.
func decodeBody(c *call, schema check, e errs) ([]byte, *reply) {
	fail := func() ([]byte, *reply) {
		rep := e.reply()
		return nil, &rep
	}
	if bad := parseBody(c); bad != nil {
		return nil, bad
	}
	switch {
	case len(bytes.TrimSpace(c.body)) == 0:
		e.add([]any{"body"}, "missing", "Field required", nil)
		return fail()
	case !jsonLabelled(c.r):
		e.add([]any{"body"}, "model_attributes_type",
			"Input should be a valid dictionary or object to extract fields from (send Content-Type: application/json)", string(c.body))
		return fail()
	}
	norm := schema(c.value, []any{"body"}, &e)
	if len(e) > 0 {
		return fail()
	}
	out, err := json.Marshal(norm)
	if err != nil {
		rep := detailReply(http.StatusInternalServerError, "emulator: re-encoding body: %v", err)
		return nil, &rep
	}
	return out, nil
}

type field struct {
	name     string
	required bool
	check    check
	def      any // used when absent and not required (nil: leave absent)
}

// object checks a JSON object with the given fields; extra fields are
// ignored, as pydantic does by default.
func object(fields ...field) check {
	return func(v any, loc []any, e *errs) any {
		m, ok := v.(map[string]any)
		if !ok {
			e.add(loc, "model_attributes_type", "Input should be a valid dictionary or object to extract fields from", v)
			return v
		}
		out := map[string]any{}
		for _, f := range fields {
			fv, present := m[f.name]
			if !present {
				if f.required {
					e.add(at(loc, f.name), "missing", "Field required", m)
				} else if f.def != nil {
					out[f.name] = f.def
				}
				continue
			}
			out[f.name] = f.check(fv, at(loc, f.name), e)
		}
		return out
	}
}

// str checks a string; strip trims whitespace first (pydantic
// StrippedNonemptyString); minLen and pattern apply after stripping. The
// pattern means what pydantic-core makes of it (internal/pattern): a search
// (unanchored unless the pattern says ^...$) with Unicode \w, \d and \s.
func str(strip bool, minLen int, pat string) check {
	var re *regexp.Regexp
	if pat != "" {
		re = pattern.MustCompile(pat)
	}
	return func(v any, loc []any, e *errs) any {
		s, ok := v.(string)
		if !ok {
			e.add(loc, "string_type", "Input should be a valid string", v)
			return v
		}
		if strip {
			s = strings.TrimSpace(s)
		}
		if len([]rune(s)) < minLen {
			e.add(loc, "string_too_short", fmt.Sprintf("String should have at least %d character", minLen), s)
			return s
		}
		if re != nil && !re.MatchString(s) {
			e.add(loc, "string_pattern_mismatch", fmt.Sprintf("String should match pattern '%s'", pat), s)
		}
		return s
	}
}

// boolean checks a boolean. Strict takes only JSON true and false; lax
// (pydantic's default mode) also the strings and numbers pydantic-core
// reads as booleans (src/input/shared.rs str_as_bool, int_as_bool), and
// returns the boolean they stand for.
func boolean(lax bool) check {
	return func(v any, loc []any, e *errs) any {
		switch x := v.(type) {
		case bool:
			return x
		case string:
			if lax {
				switch {
				case x == "0" || strings.EqualFold(x, "f") || strings.EqualFold(x, "n") || strings.EqualFold(x, "no") || strings.EqualFold(x, "off") || strings.EqualFold(x, "false"):
					return false
				case x == "1" || strings.EqualFold(x, "t") || strings.EqualFold(x, "y") || strings.EqualFold(x, "yes") || strings.EqualFold(x, "on") || strings.EqualFold(x, "true"):
					return true
				}
				e.add(loc, "bool_parsing", "Input should be a valid boolean, unable to interpret input", v)
				return v
			}
		case json.Number:
			if lax {
				if f, err := x.Float64(); err == nil && (f == 0 || f == 1) {
					return f == 1
				}
				e.add(loc, "bool_parsing", "Input should be a valid boolean, unable to interpret input", v)
				return v
			}
		}
		e.add(loc, "bool_type", "Input should be a valid boolean", v)
		return v
	}
}

func enum(values ...string) check {
	return func(v any, loc []any, e *errs) any {
		s, ok := v.(string)
		if !ok || !slices.Contains(values, s) {
			quoted := make([]string, len(values))
			for i, x := range values {
				quoted[i] = "'" + x + "'"
			}
			msg := "Input should be " + strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
			e.add(loc, "enum", msg, v)
		}
		return v
	}
}

func array(item check, minItems, maxItems int) check {
	return func(v any, loc []any, e *errs) any {
		a, ok := v.([]any)
		if !ok {
			e.add(loc, "list_type", "Input should be a valid list", v)
			return v
		}
		if len(a) < minItems {
			e.add(loc, "too_short", fmt.Sprintf("List should have at least %d item after validation, not %d", minItems, len(a)), a)
		}
		if maxItems > 0 && len(a) > maxItems {
			e.add(loc, "too_long", fmt.Sprintf("List should have at most %d items after validation, not %d", maxItems, len(a)), a)
		}
		out := make([]any, len(a))
		for i, x := range a {
			out[i] = item(x, at(loc, i), e)
		}
		return out
	}
}

// dict checks a JSON object used as a map: keys against key (may be nil),
// values against val (nil: anything), at most maxProps entries (0: any).
func dict(key, val check, maxProps int) check {
	return func(v any, loc []any, e *errs) any {
		m, ok := v.(map[string]any)
		if !ok {
			e.add(loc, "dict_type", "Input should be a valid dictionary", v)
			return v
		}
		if maxProps > 0 && len(m) > maxProps {
			e.add(loc, "too_long", fmt.Sprintf("Dictionary should have at most %d items after validation, not %d", maxProps, len(m)), m)
		}
		out := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			nk := k
			if key != nil {
				kl := at(loc, k, "[key]")
				if s, ok := key(k, kl, e).(string); ok {
					nk = s
				}
			}
			nv := m[k]
			if val != nil {
				nv = val(m[k], at(loc, k), e)
			}
			out[nk] = nv
		}
		return out
	}
}

// nullable accepts JSON null or what inner accepts.
func nullable(inner check) check {
	return func(v any, loc []any, e *errs) any {
		if v == nil {
			return nil
		}
		return inner(v, loc, e)
	}
}

// ---- schemas from the OpenAPI file ----

var (
	toolNameStr = str(true, 1, amigo.PatternToolName)
	nonEmptyStr = str(true, 1, "")
	tagStr      = str(true, 1, amigo.PatternTag)
	// The envvar name pattern [A-Z_]+ is not anchored, and pydantic
	// searches: "X-Y" and "my_var" pass (each holds an upper-case letter or
	// an underscore), "abc" does not. Kept as the server does it.
	envNameStr   = str(true, 1, amigo.PatternEnvvarName)
	userVarKey   = str(true, 1, amigo.PatternUserVariable)
	projectPath  = str(false, 0, amigo.PatternProjectPath)
	plainStr     = str(false, 0, "")
	tagsDict     = dict(tagStr, nullable(tagStr), 20)
	stringValues = dict(nil, plainStr, 0)

	inputSchema = object(
		field{name: "input_parameters", required: true, check: dict(nil, nil, 0)},
		field{name: "invocation_mode", required: true, check: enum("regular", "conversation-simulation")},
		field{name: "nonsensitive_user_variables", required: true, check: dict(userVarKey, plainStr, 20)},
		field{name: "sensitive_user_variables", required: true, check: dict(userVarKey, plainStr, 20)},
	)

	createToolSchema = object(
		field{name: "name", required: true, check: toolNameStr},
		field{name: "description", required: true, check: nonEmptyStr},
		field{name: "tags", required: true, check: tagsDict},
	)
	modifyToolSchema = object(
		field{name: "description", check: nullable(nonEmptyStr)},
		field{name: "tags", check: nullable(tagsDict)},
	)
	envvarsSchema    = envvarsBody(false)
	envvarsSchemaLax = envvarsBody(true)
	testToolSchema   = object(
		field{name: "inputs", required: true, check: array(inputSchema, 1, 10)},
		field{name: "commit_branch", required: true, check: plainStr},
		field{name: "project_path", required: true, check: projectPath},
		field{name: "required_envvars", required: true, check: stringValues},
		field{name: "required_secret_envvars", required: true, check: stringValues},
	)
	publishSchema = object(
		field{name: "project_path", required: true, check: projectPath},
		field{name: "bump_type", required: true, check: enum("major", "minor", "patch")},
	)
	invokeSchema = object(
		field{name: "inputs", required: true, check: array(inputSchema, 1, 10)},
	)
)

// envvarsBody is the ModifyToolEnvvarsRequest schema; lax selects the
// lax reading of is_secret (Options.Lax).
func envvarsBody(lax bool) check {
	return object(
		field{name: "inserts", check: array(object(
			field{name: "name", required: true, check: envNameStr},
			field{name: "value", required: true, check: plainStr},
			field{name: "is_secret", required: true, check: boolean(lax)},
		), 0, 0), def: []any{}},
		field{name: "updates", check: array(object(
			field{name: "name", required: true, check: envNameStr},
			field{name: "value", required: true, check: plainStr},
		), 0, 0), def: []any{}},
		field{name: "deletes", check: array(object(
			field{name: "name", required: true, check: envNameStr},
		), 0, 0), def: []any{}},
	)
}

// ---- path and query parameters ----

var objectIDRe = pattern.MustCompile(amigo.PatternObjectID)

// toolIDParam validates the tool_id path parameter.
func toolIDParam(c *call, e *errs) string {
	id := c.params["tool_id"]
	if !objectIDRe.MatchString(id) {
		e.add([]any{"path", "tool_id"}, "string_pattern_mismatch", "String should match pattern '^[a-f0-9]{24}$'", id)
	}
	return id
}

// query reads query parameters with FastAPI semantics.
type query struct {
	v url.Values
	e *errs
}

func newQuery(c *call, e *errs) query { return query{v: c.r.URL.Query(), e: e} }

func (q query) loc(name string, i ...any) []any { return at([]any{"query", name}, i...) }

// intParam reads an optional integer with bounds (nil bound: none).
func (q query) intParam(name string, def int, min, max *int, exclusiveMin bool) int {
	vals := q.v[name]
	if len(vals) == 0 {
		return def
	}
	s := vals[len(vals)-1]
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		q.e.add(q.loc(name), "int_parsing", "Input should be a valid integer, unable to parse string as an integer", s)
		return def
	}
	if min != nil {
		if exclusiveMin && n <= *min {
			q.e.add(q.loc(name), "greater_than", fmt.Sprintf("Input should be greater than %d", *min), s)
		} else if !exclusiveMin && n < *min {
			q.e.add(q.loc(name), "greater_than_equal", fmt.Sprintf("Input should be greater than or equal to %d", *min), s)
		}
	}
	if max != nil && n > *max {
		q.e.add(q.loc(name), "less_than_equal", fmt.Sprintf("Input should be less than or equal to %d", *max), s)
	}
	return n
}

// boolParam reads an optional nullable boolean the way pydantic parses
// query strings.
func (q query) boolParam(name string) *bool {
	vals := q.v[name]
	if len(vals) == 0 {
		return nil
	}
	s := strings.ToLower(strings.TrimSpace(vals[len(vals)-1]))
	switch s {
	case "true", "1", "yes", "on", "t", "y":
		t := true
		return &t
	case "false", "0", "no", "off", "f", "n":
		f := false
		return &f
	}
	q.e.add(q.loc(name), "bool_parsing", "Input should be a valid boolean, unable to interpret input", vals[len(vals)-1])
	return nil
}

// list reads a repeated parameter; pattern (if set) is checked per item,
// enum values (if any) too; unique requires distinct items.
func (q query) list(name, pat string, unique bool, enumVals ...string) []string {
	vals := q.v[name]
	var re *regexp.Regexp
	if pat != "" {
		re = pattern.MustCompile(pat)
	}
	seen := map[string]bool{}
	for i, s := range vals {
		if re != nil && !re.MatchString(s) {
			q.e.add(q.loc(name, i), "string_pattern_mismatch", fmt.Sprintf("String should match pattern '%s'", pat), s)
		}
		if len(enumVals) > 0 && !slices.Contains(enumVals, s) {
			q.e.add(q.loc(name, i), "enum", "Input should be "+quoteList(enumVals), s)
		}
		if unique && seen[s] {
			q.e.add(q.loc(name), "set_type", "Input should be a valid set: items must be unique", vals)
		}
		seen[s] = true
	}
	return vals
}

func (q query) str(name string) (string, bool) {
	vals := q.v[name]
	if len(vals) == 0 {
		return "", false
	}
	return vals[len(vals)-1], true
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'"
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// sortKeys validates sort_by values: an optional +/- prefix and a field
// from allowed.
type sortKey struct {
	field string
	desc  bool
}

func (q query) sortBy(allowed ...string) []sortKey {
	var out []sortKey
	for i, s := range q.v["sort_by"] {
		k := sortKey{field: s}
		switch {
		case strings.HasPrefix(s, "-"):
			k = sortKey{field: s[1:], desc: true}
		case strings.HasPrefix(s, "+"):
			k.field = s[1:]
		}
		if !slices.Contains(allowed, k.field) {
			q.e.add(q.loc("sort_by", i), "value_error",
				fmt.Sprintf("Value error, unsupported sort field %q: use one of %s with an optional + or - prefix", k.field, strings.Join(allowed, ", ")), s)
			continue
		}
		out = append(out, k)
	}
	return out
}

func intp(n int) *int { return &n }
