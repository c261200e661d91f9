package amigotest

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
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
// Routes are matched in the contract's order (the order FastAPI generated
// it from, so the order the server registered its routes), except that a
// route with fewer path parameters wins when two match: POST /tool/test is
// test-tool, not modify-tool with tool_id "test". OpenAPI says concrete
// paths match before templated ones, and the contract's operations need it
// to be reachable at all.

type routeDef struct {
	method string
	path   []string // segments after /v1/{organization}/; "{x}" is a parameter
	op     string
	handle func(*Server, *call) reply
	params int
}

func newRoute(method, path, op string, h func(*Server, *call) reply) routeDef {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	n := 0
	for _, sg := range segs {
		if strings.HasPrefix(sg, "{") {
			n++
		}
	}
	return routeDef{method: method, path: segs, op: op, handle: h, params: n}
}

// routes are the operations in the contract's order.
var routes = []routeDef{
	newRoute(http.MethodGet, "/tool/amigo_tool_scaffold.tar.gz", OpGetScaffold, (*Server).handleScaffold),
	newRoute(http.MethodGet, "/tool/", OpListTools, (*Server).handleListTools),
	newRoute(http.MethodPost, "/tool/", OpCreateTool, (*Server).handleCreateTool),
	newRoute(http.MethodDelete, "/tool/{tool_id}/version/{versions}", OpDeprecateVersions, (*Server).handleDeprecateVersions),
	newRoute(http.MethodPost, "/tool/{tool_id}", OpModifyTool, (*Server).handleModifyTool),
	newRoute(http.MethodDelete, "/tool/{tool_id}", OpDeprecateTool, (*Server).handleDeprecateTool),
	newRoute(http.MethodPost, "/tool/test", OpTestTool, (*Server).handleTestTool),
	newRoute(http.MethodPost, "/tool/{tool_id}/envvar", OpModifyEnvvars, (*Server).handleEnvvars),
	newRoute(http.MethodGet, "/tool/{tool_id}/version", OpListVersions, (*Server).handleListVersions),
	newRoute(http.MethodPost, "/tool/{tool_id}/version", OpPublishVersion, (*Server).handlePublish),
	newRoute(http.MethodGet, "/tool/invocation", OpListInvocations, (*Server).handleListInvocations),
	newRoute(http.MethodPost, "/tool/{tool_id}/version/{version}/invoke", OpInvokeVersion, (*Server).handleInvoke),
	newRoute(http.MethodGet, "/tool/invocation/search", OpSearchInvocations, (*Server).handleSearchInvocations),
	newRoute(http.MethodPost, "/user/signin_with_api_key", OpSignIn, (*Server).handleSignIn),
}

// byPrecedence is routes with the most concrete first, in contract order
// among equals.
var byPrecedence = func() []routeDef {
	out := slices.Clone(routes)
	slices.SortStableFunc(out, func(a, b routeDef) int { return cmp.Compare(a.params, b.params) })
	return out
}()

// splitPath splits an escaped request path into the organization and the
// unescaped segments after /v1/{organization}/ ("/v1/o/tool/" gives "o",
// ["tool", ""]); ok is false for a path outside /v1/{organization}/.
// Segments are unescaped one by one, so an escaped "/" stays in its segment.
func splitPath(raw string) (org string, rest []string, ok bool) {
	segs := strings.Split(strings.TrimPrefix(raw, "/"), "/")
	if !strings.HasPrefix(raw, "/") || len(segs) < 3 || segs[0] != "v1" || segs[1] == "" {
		return "", nil, false
	}
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	return segs[1], segs[2:], true
}

// match reports whether segs fit rt's path, filling params when they do.
// A parameter takes one non-empty segment (Starlette's [^/]+).
func (rt routeDef) match(segs []string, params map[string]string) bool {
	if len(segs) != len(rt.path) {
		return false
	}
	for i, p := range rt.path {
		switch {
		case strings.HasPrefix(p, "{"):
			if segs[i] == "" {
				return false
			}
		case p != segs[i]:
			return false
		}
	}
	if params != nil {
		for i, p := range rt.path {
			if strings.HasPrefix(p, "{") {
				params[strings.Trim(p, "{}")] = segs[i]
			}
		}
	}
	return true
}

// route finds the operation for r, filling c.op, c.org and c.params. When
// no operation takes r it returns the framework's answer instead (405, 307
// or 404), which no fault, authentication or rate limit precedes.
func (s *Server) route(r *http.Request, c *call) (func(*call) reply, reply) {
	raw := r.URL.EscapedPath()
	org, segs, ok := splitPath(raw)
	if ok {
		c.org = org
		var partial *routeDef
		for i := range byPrecedence {
			rt := &byPrecedence[i]
			if !rt.match(segs, nil) {
				continue
			}
			if rt.method == r.Method {
				c.op = rt.op
				c.params = map[string]string{}
				rt.match(segs, c.params)
				return func(c *call) reply { return rt.handle(s, c) }, reply{}
			}
			if partial == nil {
				partial = rt
			}
		}
		if partial != nil {
			rep := detailReply(http.StatusMethodNotAllowed, "Method Not Allowed")
			rep.header.Set("Allow", partial.method)
			return nil, rep
		}
	}
	if loc, ok := slashRedirect(r, raw); ok {
		rep := emptyReply(http.StatusTemporaryRedirect)
		rep.header.Set("Location", loc)
		return nil, rep
	}
	return nil, detailReply(http.StatusNotFound, "Not Found")
}

// slashRedirect is Starlette's redirect_slashes: when the path with its
// trailing slash toggled (all trailing slashes removed, or one added) is a
// route's path for any method, the Location of the 307. The path is taken
// from the request line, so a prefix stripped before the emulator (the
// regions of `amigo-release emulator`) stays in it.
func slashRedirect(r *http.Request, raw string) (string, bool) {
	if raw == "/" {
		return "", false
	}
	toggle := func(p string) string {
		if strings.HasSuffix(p, "/") {
			return strings.TrimRight(p, "/")
		}
		return p + "/"
	}
	_, segs, ok := splitPath(toggle(raw))
	if !ok || !slices.ContainsFunc(routes, func(rt routeDef) bool { return rt.match(segs, nil) }) {
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
