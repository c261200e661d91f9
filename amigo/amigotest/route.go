package amigotest

import (
	"net/http"
	"net/url"
	"strings"
)

// This file routes requests the way the real server's framework does
// (Starlette's Router under FastAPI), before any operation runs:
//
//   - A path and method of an operation: that operation.
//   - A path of the contract with another method: 405 {"detail": "Method
//     Not Allowed"} with an Allow header naming the methods of the first
//     route whose path matches. FastAPI registers one route per operation
//     and Starlette takes the first partial match, so PUT /tool/ gets
//     "Allow: GET" although POST is allowed too. FastAPI's routes do not add
//     HEAD to GET (Starlette's own Route does, FastAPI's APIRoute does not),
//     so HEAD is a 405 like any other method.
//   - No route, but one with the trailing slash toggled (Starlette's
//     redirect_slashes; a path ending in slashes loses all of them): 307
//     with an empty body and Location: the same URL, that path, the same
//     query. DELETE /tool/{id}/version/ (an empty constraint) goes to
//     /tool/{id}/version, where DELETE is then a 405; GET /v1/{org}/tool
//     goes to /v1/{org}/tool/.
//   - Otherwise 404 {"detail": "Not Found"}.
//
// Matching is net/http.ServeMux's: one "METHOD /v1/{org}/path" pattern per
// operation, and one pattern without a method per path, whose handler is
// the 405. Of two patterns that match, ServeMux takes the more specific, so
// POST /tool/test is test-tool, not modify-tool with tool_id "test"
// (OpenAPI matches concrete paths before templated ones too, and the
// contract's operations need it to be reachable at all); among the routes
// of one path the contract's order decides the Allow header.
//
// What ServeMux does by itself and Starlette does not is kept away from the
// client (see muxRequest and ServeHTTP): it cleans a path ("//", "." and
// ".." segments) and redirects to the clean one, redirects /tree to /tree/
// with a relative Location, lets GET patterns take HEAD, names every
// allowed method in Allow, and answers 404 and 405 in plain text.

// route is one operation of the contract.
type route struct {
	method string
	path   string // after /v1/{organization}, as in the contract
	op     string
	handle func(*Server, *call) reply
}

// routes are the operations in the contract's order.
var routes = []route{
	{http.MethodGet, "/tool/amigo_tool_scaffold.tar.gz", OpGetScaffold, (*Server).handleScaffold},
	{http.MethodGet, "/tool/", OpListTools, (*Server).handleListTools},
	{http.MethodPost, "/tool/", OpCreateTool, (*Server).handleCreateTool},
	{http.MethodDelete, "/tool/{tool_id}/version/{versions}", OpDeprecateVersions, (*Server).handleDeprecateVersions},
	{http.MethodPost, "/tool/{tool_id}", OpModifyTool, (*Server).handleModifyTool},
	{http.MethodDelete, "/tool/{tool_id}", OpDeprecateTool, (*Server).handleDeprecateTool},
	{http.MethodPost, "/tool/test", OpTestTool, (*Server).handleTestTool},
	{http.MethodPost, "/tool/{tool_id}/envvar", OpModifyEnvvars, (*Server).handleEnvvars},
	{http.MethodGet, "/tool/{tool_id}/version", OpListVersions, (*Server).handleListVersions},
	{http.MethodPost, "/tool/{tool_id}/version", OpPublishVersion, (*Server).handlePublish},
	{http.MethodGet, "/tool/invocation", OpListInvocations, (*Server).handleListInvocations},
	{http.MethodPost, "/tool/{tool_id}/version/{version}/invoke", OpInvokeVersion, (*Server).handleInvoke},
	{http.MethodGet, "/tool/invocation/search", OpSearchInvocations, (*Server).handleSearchInvocations},
	{http.MethodPost, "/user/signin_with_api_key", OpSignIn, (*Server).handleSignIn},
}

// muxPattern is the ServeMux path of a route's path: under /v1/{org}, and a
// trailing slash ends it ("{$}") instead of starting a subtree.
func muxPattern(path string) string {
	p := "/v1/{org}" + path
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	return p
}

// operation is the handler of a route on one Server.
type operation struct {
	s  *Server
	rt *route
}

func (o operation) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, op: o.rt.op, org: r.PathValue("org"), params: map[string]string{}}
	for _, seg := range strings.Split(o.rt.path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			c.params[name] = r.PathValue(name)
		}
	}
	o.s.respond(w, c, func(c *call) reply { return o.rt.handle(o.s, c) }, reply{})
}

// methodNotAllowed is the handler of a route's path, whatever the method:
// the 405 naming the method of the first route of that path.
type methodNotAllowed struct {
	s     *Server
	allow string
}

func (m methodNotAllowed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := detailReply(http.StatusMethodNotAllowed, "Method Not Allowed")
	rep.header.Set("Allow", m.allow)
	m.s.respond(w, &call{r: r, org: r.PathValue("org")}, nil, rep)
}

// newMuxes returns s's two ServeMuxes: ops, with a "METHOD path" pattern
// per operation, and paths, with a pattern per path (no method) whose
// handler is the 405. They are two because a pattern without a method
// would conflict with a more specific path of another method: "/tool/test"
// (any method) and "POST /tool/{tool_id}" both take POST /tool/test.
func (s *Server) newMuxes() (ops, paths *http.ServeMux) {
	ops, paths = http.NewServeMux(), http.NewServeMux()
	seen := map[string]bool{}
	for i := range routes {
		rt := &routes[i]
		ops.Handle(rt.method+" "+muxPattern(rt.path), operation{s, rt})
		if !seen[rt.path] {
			seen[rt.path] = true
			paths.Handle(muxPattern(rt.path), methodNotAllowed{s, rt.method})
		}
	}
	return ops, paths
}

// takes reports whether one of mux's patterns takes m: ServeMux's Handler
// also returns its own redirects and 404, which must never answer.
func takes(mux *http.ServeMux, m *http.Request) bool {
	switch h, _ := mux.Handler(m); h.(type) {
	case operation, methodNotAllowed:
		return true
	}
	return false
}

// serveRouted serves m with mux when mux takes it.
func serveRouted(mux *http.ServeMux, w http.ResponseWriter, m *http.Request) bool {
	if !takes(mux, m) {
		return false
	}
	mux.ServeHTTP(w, m)
	return true
}

// muxRequest returns r with the escaped path p, as ServeMux should see it,
// or false when p can be no route's. Starlette matches the path as sent,
// where an empty segment matches nothing (not even a parameter) and "."
// and ".." are a parameter's values, while ServeMux first cleans a path
// (and redirects to the cleaned one). So a path with an empty segment
// before its end is no route, and "." and ".." segments are escaped
// ("%2E"), which ServeMux leaves as they are and unescapes for
// PathValue.
func muxRequest(r *http.Request, p string) (*http.Request, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	segs := strings.Split(p[1:], "/")
	for i, sg := range segs {
		switch {
		case sg == "" && i < len(segs)-1:
			return nil, false
		case sg == "." || sg == "..":
			segs[i] = strings.Repeat("%2E", len(sg))
		}
	}
	raw := "/" + strings.Join(segs, "/")
	unescaped, err := url.PathUnescape(raw)
	if err != nil {
		return nil, false
	}
	m := new(http.Request)
	*m = *r
	u := *r.URL
	u.Path, u.RawPath = unescaped, raw
	m.URL = &u
	return m, true
}

// route serves r when a route's path takes it (an operation or a 405),
// else reports false. HEAD is never an operation: ServeMux gives it to a
// GET pattern, FastAPI does not.
func (s *Server) route(w http.ResponseWriter, r *http.Request) bool {
	m, ok := muxRequest(r, r.URL.EscapedPath())
	if !ok {
		return false
	}
	return r.Method != http.MethodHead && serveRouted(s.ops, w, m) || serveRouted(s.paths, w, m)
}

// unrouted is the framework's answer to r when no route's path takes it:
// a 307 to the path with its trailing slash toggled when that is a route's
// path, else a 404.
func (s *Server) unrouted(r *http.Request) reply {
	if loc, ok := s.slashRedirect(r); ok {
		rep := emptyReply(http.StatusTemporaryRedirect)
		rep.header.Set("Location", loc)
		return rep
	}
	return detailReply(http.StatusNotFound, "Not Found")
}

// slashRedirect is Starlette's redirect_slashes: when the path with its
// trailing slash toggled (all trailing slashes removed, or one added) is a
// route's path for any method, the Location of the 307. The path is taken
// from the request line, so a prefix stripped before the emulator (the
// regions of `amigo-release emulator`) stays in it.
func (s *Server) slashRedirect(r *http.Request) (string, bool) {
	raw := r.URL.EscapedPath()
	if raw == "/" {
		return "", false
	}
	toggle := func(p string) string {
		if strings.HasSuffix(p, "/") {
			return strings.TrimRight(p, "/")
		}
		return p + "/"
	}
	if m, ok := muxRequest(r, toggle(raw)); !ok || !takes(s.paths, m) {
		return "", false
	}
	full := raw
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasSuffix(u.EscapedPath(), raw) {
		full = u.EscapedPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := scheme + "://" + r.Host + toggle(full)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc, true
}

// orgOf is the organization of an escaped path under /v1/{organization}/,
// unescaped, for the request log ("" for another path).
func orgOf(p string) string {
	rest, ok := strings.CutPrefix(p, "/v1/")
	org, _, slash := strings.Cut(rest, "/")
	if !ok || !slash || org == "" {
		return ""
	}
	if u, err := url.PathUnescape(org); err == nil {
		return u
	}
	return org
}
