package contract

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/pattern"
)

// SpecJSON is the Amigo Tool API contract exactly as published (OpenAPI 3.1),
// byte for byte the file in testdata/. Load applies the adjustments listed in
// the package documentation to a parsed copy; SpecJSON itself is untouched.
//
//go:embed testdata/amigo-tool-api.openapi.json
var SpecJSON []byte

// Security scheme names of the contract.
const (
	schemeBearer = "Bearer-Authorization"
	schemeOrg    = "Bearer-Authorization-Organization"
	schemeBasic  = "Basic"
)

// Operation is one operation of the contract.
type Operation struct {
	ID     string // operationId, e.g. "create-tool"
	Method string // HTTP method, e.g. "POST"
	Path   string // path template, e.g. "/v1/{organization}/tool/"
	// Statuses are the documented response statuses, ascending.
	Statuses []int
	// Success is the documented 2xx status.
	Success int
	// Authenticated reports whether the operation needs the Authorization header.
	Authenticated bool
}

// Validator checks HTTP requests and responses against the contract. It is
// safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	ops    map[string]Operation
	order  []string // operation IDs sorted by path then method
	// patterns maps each rewritten pattern (adjustment 4) to the
	// contract's spelling, which violation messages show instead.
	patterns map[string]string
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Load parses the embedded contract, adjusts it as the package documentation
// describes, and returns a Validator. The result is built once and shared.
func Load() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = newValidator(SpecJSON) })
	return loaded, loadErr
}

// MustLoad is Load for tests: it stops the test on error.
func MustLoad(t interface {
	Helper()
	Fatalf(string, ...any)
}) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatalf("contract: %v", err)
	}
	return v
}

func newValidator(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("parse OpenAPI contract: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("contract is OpenAPI %s; this package relies on kin-openapi's OpenAPI 3.1 (JSON Schema 2020-12) validation", doc.OpenAPI)
	}
	patterns, err := adjust(doc)
	if err != nil {
		return nil, fmt.Errorf("adjust OpenAPI contract: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("adjusted OpenAPI contract is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	v := &Validator{doc: doc, router: router, ops: map[string]Operation{}, patterns: patterns}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := Operation{ID: op.OperationID, Method: method, Path: path, Authenticated: needsAuth(doc, op)}
			for code := range op.Responses.Map() {
				n, err := strconv.Atoi(code)
				if err != nil {
					return nil, fmt.Errorf("operation %s: response key %q is not a status code", op.OperationID, code)
				}
				o.Statuses = append(o.Statuses, n)
				if n >= 200 && n < 300 {
					if o.Success != 0 {
						return nil, fmt.Errorf("operation %s documents two success statuses (%d, %d)", op.OperationID, o.Success, n)
					}
					o.Success = n
				}
			}
			sort.Ints(o.Statuses)
			if o.ID == "" || o.Success == 0 {
				return nil, fmt.Errorf("%s %s: operation needs an operationId and one 2xx response", method, path)
			}
			if _, dup := v.ops[o.ID]; dup {
				return nil, fmt.Errorf("operationId %q is used twice", o.ID)
			}
			v.ops[o.ID] = o
			v.order = append(v.order, o.ID)
		}
	}
	sort.Slice(v.order, func(i, j int) bool {
		a, b := v.ops[v.order[i]], v.ops[v.order[j]]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	return v, nil
}

func needsAuth(doc *openapi3.T, op *openapi3.Operation) bool {
	sec := doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	return len(sec) > 0
}

// Operations lists the contract's operations, sorted by path then method.
func (v *Validator) Operations() []Operation {
	out := make([]Operation, 0, len(v.order))
	for _, id := range v.order {
		out = append(out, v.ops[id])
	}
	return out
}

// Operation returns the operation with the given operationId.
func (v *Validator) Operation(id string) (Operation, bool) {
	o, ok := v.ops[id]
	return o, ok
}

// Documented reports whether status is a documented response of operation id.
func (v *Validator) Documented(id string, status int) bool {
	return slices.Contains(v.ops[id].Statuses, status)
}

// FindOperation returns the operationId that r's method and path route to,
// whatever the scheme and host of its URL.
func (v *Validator) FindOperation(r *http.Request) (string, error) {
	route, _, err := v.route(r)
	if err != nil {
		return "", err
	}
	return route.Operation.OperationID, nil
}

func (v *Validator) route(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return nil, nil, &Error{Kind: "request", Method: r.Method, Path: r.URL.Path, Violations: []Violation{{
			Field: "path", Rule: "route",
			Message: fmt.Sprintf("no operation of the contract matches %s %s (%v)", r.Method, r.URL.Path, err),
		}}}
	}
	return route, params, nil
}

// adjust rewrites the parsed contract where kin-openapi v0.153 would
// otherwise misread it. Every change is listed, with its reason, in the
// package documentation; each one checks that the contract still has the
// shape it was written for and fails loudly if not, so that a new contract
// never passes through a stale adjustment.
func adjust(doc *openapi3.T) (map[string]string, error) {
	// 1. Route by path only: tests serve the API on http://127.0.0.1:PORT.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}

	// 2. Security: one requirement listing all three schemes means "all
	// three" in OpenAPI, which no request can meet (Bearer and Basic share
	// the Authorization header). The API means: Bearer or Basic, with the
	// X-ORG-ID header optional.
	want := []string{schemeBasic, schemeBearer, schemeOrg}
	fix := func(where string, sec openapi3.SecurityRequirements) (openapi3.SecurityRequirements, error) {
		if len(sec) == 0 {
			return sec, nil
		}
		if len(sec) != 1 || !slices.Equal(keys(sec[0]), want) {
			return nil, fmt.Errorf("%s: security is %v, expected one requirement of %v; revisit adjustment 2", where, sec, want)
		}
		return openapi3.SecurityRequirements{{schemeBearer: {}}, {schemeBasic: {}}}, nil
	}
	var err error
	if doc.Security, err = fix("document", doc.Security); err != nil {
		return nil, err
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security == nil {
				continue
			}
			s, err := fix(op.OperationID, *op.Security)
			if err != nil {
				return nil, err
			}
			op.Security = &s
		}
	}
	schemes := doc.Components.SecuritySchemes
	for name, check := range map[string]func(*openapi3.SecurityScheme) bool{
		schemeBearer: func(s *openapi3.SecurityScheme) bool {
			return s.Type == "http" && strings.EqualFold(s.Scheme, "bearer")
		},
		schemeBasic: func(s *openapi3.SecurityScheme) bool { return s.Type == "http" && strings.EqualFold(s.Scheme, "basic") },
		schemeOrg: func(s *openapi3.SecurityScheme) bool {
			return s.Type == "apiKey" && s.In == "header" && http.CanonicalHeaderKey(s.Name) == "X-Org-Id"
		},
	} {
		ref := schemes[name]
		if ref == nil || ref.Value == nil || !check(ref.Value) {
			return nil, fmt.Errorf("security scheme %q is missing or changed; revisit adjustment 2", name)
		}
	}

	// 3. Discriminators: fold each into its oneOf variants (the property is
	// required and const-valued in each), then drop it.
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
		ref := doc.Components.Schemas[name]
		if ref.Value == nil || ref.Value.Discriminator == nil {
			continue
		}
		if err := foldDiscriminator(name, ref.Value); err != nil {
			return nil, err
		}
	}

	// 4. Patterns mean what pydantic-core makes of them (Unicode \w, \d,
	// \s), not what ECMA-262 or Go's regexp would: rewrite each with
	// internal/pattern, as the client and the emulator compile them.
	return translatePatterns(doc)
}

// translatePatterns rewrites the pattern of every schema of doc (components,
// parameters, request and response bodies, and everything nested in them)
// with pattern.Translate. It returns the rewritten patterns, each mapped to
// the contract's own spelling (for error messages), and fails on a pattern
// the client and the emulator do not know: amigo's Pattern* constants are
// the contract's patterns, and a new one needs a look at what it means.
func translatePatterns(doc *openapi3.T) (map[string]string, error) {
	known := []string{amigo.PatternToolName, amigo.PatternTag, amigo.PatternEnvvarName,
		amigo.PatternProjectPath, amigo.PatternUserVariable, amigo.PatternObjectID}
	out := map[string]string{}
	seen := map[*openapi3.Schema]bool{}
	var firstErr error
	var walk func(where string, ref *openapi3.SchemaRef)
	walkAll := func(where string, refs ...*openapi3.SchemaRef) {
		for _, r := range refs {
			walk(where, r)
		}
	}
	walk = func(where string, ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if s.Pattern != "" {
			orig := s.Pattern
			if !slices.Contains(known, orig) && firstErr == nil {
				firstErr = fmt.Errorf("%s: pattern %q is not one of amigo's Pattern constants; add it there (and see what pydantic makes of it) and revisit adjustment 4", where, orig)
			}
			t, err := pattern.Translate(orig)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", where, err)
			}
			if err == nil {
				s.Pattern = t
				out[t] = orig
			}
		}
		walkAll(where, s.OneOf...)
		walkAll(where, s.AnyOf...)
		walkAll(where, s.AllOf...)
		walkAll(where, s.PrefixItems...)
		walkAll(where, s.Not, s.Items, s.AdditionalProperties.Schema, s.Contains, s.PropertyNames, s.If, s.Then, s.Else, s.ContentSchema)
		for _, m := range []openapi3.Schemas{s.Properties, s.PatternProperties, s.DependentSchemas, s.Defs} {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				walk(where+"."+k, m[k])
			}
		}
	}
	content := func(where string, c openapi3.Content) {
		for _, mt := range slices.Sorted(maps.Keys(c)) {
			walk(where+" "+mt, c[mt].Schema)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
		walk("schema "+name, doc.Components.Schemas[name])
	}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		item := doc.Paths.Value(path)
		params := item.Parameters
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, p := range append(slices.Clone(params), op.Parameters...) {
				if p.Value != nil {
					walk(where+" parameter "+p.Value.Name, p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(where+" body", op.RequestBody.Value.Content)
			}
			for code, r := range op.Responses.Map() {
				if r.Value != nil {
					content(where+" "+code, r.Value.Content)
				}
			}
		}
	}
	return out, firstErr
}

// foldDiscriminator makes each oneOf variant of s require the discriminator
// property with the const value its mapping key names, then removes the
// discriminator. Boolean discriminators are mapped by Python's spelling of
// the value ("True", "False"), which is how pydantic writes them.
func foldDiscriminator(name string, s *openapi3.Schema) error {
	d := s.Discriminator
	prop := d.PropertyName
	if len(s.OneOf) == 0 || len(s.AnyOf) != 0 || len(d.Mapping) != len(s.OneOf) {
		return fmt.Errorf("schema %s: discriminator %q needs a oneOf with one variant per mapping entry", name, prop)
	}
	byRef := map[string]string{}
	for key, target := range d.Mapping {
		byRef[target.Ref] = key
	}
	for _, variant := range s.OneOf {
		key, ok := byRef[variant.Ref]
		if !ok || variant.Value == nil {
			return fmt.Errorf("schema %s: oneOf variant %q has no discriminator mapping entry", name, variant.Ref)
		}
		pv := variant.Value.Properties[prop]
		if pv == nil || pv.Value == nil {
			return fmt.Errorf("schema %s: variant %s has no property %q", name, variant.Ref, prop)
		}
		p := pv.Value
		var want any = key
		if p.Type.Is(openapi3.TypeBoolean) {
			switch key {
			case "True":
				want = true
			case "False":
				want = false
			default:
				return fmt.Errorf("schema %s: boolean discriminator %q has mapping key %q (want True or False)", name, prop, key)
			}
		}
		switch {
		case p.Const != nil && p.Const != want:
			return fmt.Errorf("schema %s: variant %s has %s const %v but is mapped from %q", name, variant.Ref, prop, p.Const, key)
		case p.Const == nil:
			p.Const = want
		}
		if !slices.Contains(variant.Value.Required, prop) {
			variant.Value.Required = append(variant.Value.Required, prop)
		}
	}
	s.Discriminator = nil
	return nil
}

func keys(m openapi3.SecurityRequirement) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
