package contract

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Violation is one way a request or a response breaks the contract.
type Violation struct {
	// Field locates the offending part: "body /tags/0/value", "query limit",
	// "header Authorization", "status", "header Content-Type", "path".
	Field string
	// Rule is the rule that failed: a JSON Schema keyword ("required",
	// "pattern", "type", "const", "maximum", "format", ...; inside
	// propertyNames prefixed "propertyNames/") or one of "route",
	// "security", "status", "content-type", "body", "parse", "invalid"
	// (a parameter kin-openapi could not decode).
	Rule string
	// Message says what is wrong, in words.
	Message string
}

func (v Violation) String() string {
	if v.Field == v.Rule {
		return fmt.Sprintf("%s: %s", v.Field, v.Message)
	}
	return fmt.Sprintf("%s: %s: %s", v.Field, v.Rule, v.Message)
}

// Error is the error ValidateRequest and ValidateResponse return: every
// violation of one request or response, named by operation.
type Error struct {
	OperationID string // "" when no operation matches
	Kind        string // "request" or "response"
	Method      string
	Path        string // the request's URL path
	Status      int    // the response status (responses only)
	Violations  []Violation
}

func (e *Error) Error() string {
	var b strings.Builder
	op := e.OperationID
	if op == "" {
		op = "(no operation)"
	}
	fmt.Fprintf(&b, "contract: %s %s (%s %s)", op, e.Kind, e.Method, e.Path)
	if e.Kind == "response" {
		fmt.Fprintf(&b, " status %d", e.Status)
	}
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// Has reports whether some violation is of the given rule at a field that
// starts with fieldPrefix. Tests use it to check that a validator rejects a
// sample for the expected reason.
func (e *Error) Has(fieldPrefix, rule string) bool {
	for _, v := range e.Violations {
		if strings.HasPrefix(v.Field, fieldPrefix) && v.Rule == rule {
			return true
		}
	}
	return false
}

func (v *Validator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true, // an undocumented status is a violation
		MultiError:            true, // report every violation, not the first
		SkipSettingDefaults:   true, // never rewrite what is validated
		AuthenticationFunc:    authenticate,
	}
}

// ValidateRequest checks r, whose body is body (r.Body is not read), against
// the operation r routes to: path, query and header parameters, the
// Authorization header the operation's security needs, the Content-Type and
// the body schema. It returns nil or an *Error.
func (v *Validator) ValidateRequest(r *http.Request, body []byte) error {
	route, params, err := v.route(r)
	if err != nil {
		return err
	}
	e := &Error{OperationID: route.Operation.OperationID, Kind: "request", Method: r.Method, Path: r.URL.Path}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.options()}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		e.Violations = append(e.Violations, v.spell(flatten(err, "", body))...)
	}
	kept := e.Violations[:0]
	for _, vi := range e.Violations {
		name, isQuery := strings.CutPrefix(vi.Field, "query ")
		raw := r.URL.Query()[name]
		if isQuery && strings.Contains(vi.Message, "empty value is not allowed") && len(raw) > 0 {
			if raw[0] != "" {
				// kin-openapi says "empty value" of a query value that fits
				// no branch of an anyOf (e.g. deprecated=maybe): say what
				// was sent.
				vi.Message = fmt.Sprintf("%q matches none of the parameter's types", raw[0])
			} else if emptyFits(route.Operation, name) {
				// FastAPI takes "?name=" as the empty string and lets the
				// parameter's type judge it (see the package documentation).
				continue
			}
		}
		kept = append(kept, vi)
	}
	e.Violations = kept
	if route.Operation.RequestBody == nil && len(body) > 0 {
		e.Violations = append(e.Violations, Violation{Field: "body", Rule: "body",
			Message: fmt.Sprintf("the operation takes no request body, got %d bytes", len(body))})
	}
	if org, ok := r.Header[http.CanonicalHeaderKey("X-ORG-ID")]; ok && (len(org) != 1 || strings.TrimSpace(org[0]) == "") {
		e.Violations = append(e.Violations, Violation{Field: "header X-ORG-ID", Rule: "security",
			Message: "X-ORG-ID, when sent, must be one non-empty organization ID"})
	}
	if len(e.Violations) == 0 {
		return nil
	}
	return e
}

// ValidateResponse checks a response (status, header h, body) to request r
// against the operation r routes to: the status must be documented, a
// documented body must have the documented Content-Type and match its
// schema, and a 204 must have no body. A documented status without content
// in the contract (the error statuses) may carry any body, but a body
// labelled JSON must be JSON. It returns nil or an *Error.
func (v *Validator) ValidateResponse(r *http.Request, status int, h http.Header, body []byte) error {
	route, params, err := v.route(r)
	if err != nil {
		return err
	}
	e := &Error{OperationID: route.Operation.OperationID, Kind: "response", Method: r.Method, Path: r.URL.Path, Status: status}
	add := func(field, rule, format string, args ...any) {
		e.Violations = append(e.Violations, Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	resp := route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		add("status", "status", "%d is not documented for %s (documented: %v)",
			status, route.Operation.OperationID, v.ops[route.Operation.OperationID].Statuses)
		return e
	}
	ct := h.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(ct)
	switch {
	case status == http.StatusNoContent || len(resp.Value.Content) == 0:
		if status == http.StatusNoContent && len(body) > 0 {
			add("body", "body", "a 204 response has no body, got %d bytes", len(body))
		}
		if len(body) > 0 && isJSON(mediaType) && !json.Valid(body) {
			add("body", "body", "body is labelled %s but is not valid JSON", ct)
		}
		return e.orNil()
	case !isJSON(mediaType):
		// Binary content (the scaffold's application/gzip): kin-openapi has
		// no decoder for it, so check the media type and the encoding here.
		if resp.Value.Content.Get(ct) == nil {
			add("header Content-Type", "content-type", "got %q, documented: %v", ct, slices.Sorted(maps.Keys(resp.Value.Content)))
			return e
		}
		if mediaType == "application/gzip" {
			if err := checkGzip(body); err != nil {
				add("body", "body", "not a gzip stream: %v", err)
			}
		}
		return e.orNil()
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: v.options()}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 h,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                in.Options,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.Violations = append(e.Violations, v.spell(flatten(err, "", body))...)
	}
	return e.orNil()
}

// spell puts the contract's own spelling of each pattern back into the
// messages (adjustment 4 rewrote them into long Unicode classes).
func (v *Validator) spell(vs []Violation) []Violation {
	esc := strings.NewReplacer(`\`, `\\`)
	for i := range vs {
		for t, orig := range v.patterns {
			// Messages quote a pattern as written or with its backslashes
			// escaped.
			vs[i].Message = strings.ReplaceAll(vs[i].Message, t, orig)
			vs[i].Message = strings.ReplaceAll(vs[i].Message, esc.Replace(t), esc.Replace(orig))
		}
	}
	return vs
}

func (e *Error) orNil() error {
	if len(e.Violations) == 0 {
		return nil
	}
	return e
}

// emptyFits reports whether the empty string is a valid value of the query
// parameter name of op (for an array, a valid item).
func emptyFits(op *openapi3.Operation, name string) bool {
	p := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, name)
	if p == nil || p.Schema == nil || p.Schema.Value == nil {
		return false
	}
	s := p.Schema.Value
	if s.Type.Is(openapi3.TypeArray) && s.Items != nil && s.Items.Value != nil {
		s = s.Items.Value
	}
	return s.VisitJSON("") == nil
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

func checkGzip(body []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return err
	}
	return zr.Close()
}

// authenticate is the openapi3filter.AuthenticationFunc: it checks that the
// credentials a scheme needs are present and well-formed (it cannot know
// whether a token is valid; the server answers that with 401).
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	authz := h.Values("Authorization")
	one := func(prefix string) (string, error) {
		if len(authz) != 1 {
			return "", fmt.Errorf("want one Authorization header, got %d", len(authz))
		}
		scheme, cred, ok := strings.Cut(authz[0], " ")
		if !ok || !strings.EqualFold(scheme, prefix) {
			return "", fmt.Errorf("Authorization header is not %q credentials", prefix)
		}
		if strings.TrimSpace(cred) == "" {
			return "", fmt.Errorf("Authorization header has an empty %s credential", prefix)
		}
		return cred, nil
	}
	switch in.SecuritySchemeName {
	case schemeBearer:
		_, err := one("Bearer")
		return err
	case schemeBasic:
		cred, err := one("Basic")
		if err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return fmt.Errorf("basic credentials are not base64: %v", err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok || user == "" || pass == "" {
			return errors.New("basic credentials must be {org_id}_{user_id}:{token}")
		}
		return nil
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

// flatten turns kin-openapi's nested errors into violations, each naming the
// field and the rule that failed.
func flatten(err error, field string, body []byte) []Violation {
	var (
		me    openapi3.MultiError
		reqE  *openapi3filter.RequestError
		resE  *openapi3filter.ResponseError
		secE  *openapi3filter.SecurityRequirementsError
		schE  *openapi3.SchemaError
		parsE *openapi3filter.ParseError
	)
	switch {
	case isMulti(err, &me):
		var out []Violation
		for _, e := range me {
			out = append(out, flatten(e, field, body)...)
		}
		return out
	case errors.As(err, &secE):
		var msgs []string
		for _, e := range secE.Errors {
			msgs = append(msgs, e.Error())
		}
		return []Violation{{Field: "header Authorization", Rule: "security",
			Message: "needs Bearer or Basic credentials: " + strings.Join(msgs, "; ")}}
	case errors.As(err, &reqE):
		f := field
		switch {
		case reqE.Parameter != nil:
			f = reqE.Parameter.In + " " + reqE.Parameter.Name
		case reqE.RequestBody != nil:
			f = "body"
		}
		if reqE.Err == nil {
			return []Violation{{Field: orDefault(f, "request"), Rule: ruleOf(reqE.Reason), Message: reqE.Reason}}
		}
		vs := flatten(reqE.Err, f, body)
		if reqE.Reason != "" && len(vs) == 1 && vs[0].Rule == "parse" {
			vs[0].Message = reqE.Reason + ": " + vs[0].Message
		}
		return vs
	case errors.As(err, &resE):
		if resE.Err == nil {
			return []Violation{{Field: orDefault(field, "response"), Rule: ruleOf(resE.Reason), Message: resE.Reason}}
		}
		return flatten(resE.Err, "body", body)
	case errors.As(err, &schE):
		return schemaLeaves(schE, field, body)
	case errors.As(err, &parsE):
		return []Violation{{Field: orDefault(field, "request"), Rule: "parse", Message: parsE.Error()}}
	}
	return []Violation{{Field: orDefault(field, "request"), Rule: ruleOf(err.Error()), Message: err.Error()}}
}

// isMulti reports whether err itself is a MultiError (errors wrapping one
// are unwrapped by the other cases, which keep their context).
func isMulti(err error, me *openapi3.MultiError) bool {
	m, ok := err.(openapi3.MultiError)
	*me = m
	return ok
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func ruleOf(reason string) string {
	switch {
	case strings.Contains(reason, "status is not supported"):
		return "status"
	case strings.Contains(reason, "Content-Type"), strings.Contains(reason, "content type"):
		return "content-type"
	case strings.Contains(reason, "value is required but missing"), strings.Contains(reason, "must not be empty"):
		return "required"
	}
	return "invalid"
}

var (
	reErrorAt = regexp.MustCompile(`^(?i:error at "[^"]*": )`)
	reAt      = regexp.MustCompile(`^at '[^']*': `)
)

// schemaLeaves returns the innermost schema errors under e: those are the
// failing keywords. A oneOf/anyOf with no matching variant yields the
// reasons of every variant, so the message says why each was refused.
func schemaLeaves(e *openapi3.SchemaError, field string, body []byte) []Violation {
	return leaves(e, field, body, false)
}

var reQuoted = regexp.MustCompile(`^'((?:[^'\\]|\\.)*)'`)

func leaves(e *openapi3.SchemaError, field string, body []byte, inNames bool) []Violation {
	inNames = inNames || e.SchemaField == "propertyNames"
	if e.Origin != nil {
		var inner []Violation
		var me openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(e.Origin, &me):
			for _, sub := range me {
				if errors.As(sub, &se) {
					inner = append(inner, leaves(se, field, body, inNames)...)
				}
			}
		case errors.As(e.Origin, &se) && se != e:
			inner = leaves(se, field, body, inNames)
		}
		if len(inner) > 0 {
			return inner
		}
	}
	msg := e.Reason
	for {
		m := reAt.ReplaceAllString(reErrorAt.ReplaceAllString(msg, ""), "")
		if m == msg {
			break
		}
		msg = m
	}
	rule := e.SchemaField
	if rule == "" {
		rule = "schema"
	}
	msg = strings.TrimPrefix(msg, rule+": ")
	f := field
	if f == "" {
		f = "body"
	}
	path := "/" + strings.Join(e.JSONPointer(), "/")
	if inNames && rule != "propertyNames" {
		// The JSON Schema 2020-12 validator (santhosh-tekuri/jsonschema
		// v6.0.3, through kin-openapi v0.153) reports errors inside
		// propertyNames at a wrong instance location. Locate the object that
		// holds the offending name in the body instead.
		rule = "propertyNames/" + rule
		path = "(unknown object)"
		if m := reQuoted.FindStringSubmatch(msg); m != nil {
			if paths := objectsWithKey(body, m[1]); len(paths) > 0 {
				path = strings.Join(paths, " or ")
			}
		}
		msg = "property name " + msg
	}
	if path != "/" || strings.HasPrefix(f, "body") {
		f += " " + path
	}
	return []Violation{{Field: f, Rule: rule, Message: msg}}
}

// objectsWithKey returns the JSON pointers of the objects in the JSON
// document body that have the property key.
func objectsWithKey(body []byte, key string) []string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v[key]; ok {
				out = append(out, orDefault(ptr, "/"))
			}
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k], ptr+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", ptr, i))
			}
		}
	}
	walk(doc, "")
	return out
}
