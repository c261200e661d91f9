package contract

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Option configures Transport and Middleware.
type Option func(*config)

type config struct {
	cov *Coverage
	lax bool
}

// WithCoverage records responses into c (share one Coverage between a
// client's Transport and a server's Middleware, or between tests).
func WithCoverage(c *Coverage) Option { return func(cf *config) { cf.cov = c } }

// WithLaxRequests lets Middleware's server accept off-contract requests: a
// server validating in pydantic's lax mode (the emulator's Options.Lax)
// takes "true" for a boolean, which the contract's schema (generated the
// same whatever the models' mode) calls off-contract. Its responses are
// still checked.
func WithLaxRequests() Option { return func(cf *config) { cf.lax = true } }

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.cov == nil {
		c.cov = NewCoverage()
	}
	return c
}

// RoundTripper is the client-side checker Transport returns.
type RoundTripper struct {
	t    testing.TB
	base http.RoundTripper
	v    *Validator
	cov  *Coverage
}

// Transport wraps base (http.DefaultTransport when nil) so that every
// request a client sends and every response it receives is validated
// against the contract. A violation fails t with t.Errorf; the exchange
// itself goes on unchanged, so the client sees exactly what the server sent.
// A client sending an off-contract request is always a client defect.
// Responses are recorded in the Coverage.
func Transport(t testing.TB, base http.RoundTripper, opts ...Option) *RoundTripper {
	t.Helper()
	if base == nil {
		base = http.DefaultTransport
	}
	c := newConfig(opts)
	return &RoundTripper{t: t, base: base, v: MustLoad(t), cov: c.cov}
}

// Coverage returns the Coverage this transport records into.
func (rt *RoundTripper) Coverage() *Coverage { return rt.cov }

// RoundTrip implements http.RoundTripper.
func (rt *RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("contract: read request body: %w", err)
		}
	}
	out := req.Clone(req.Context())
	if req.Body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if err := rt.v.ValidateRequest(req, body); err != nil {
		rt.t.Errorf("client sent an off-contract request: %v", err)
	}
	resp, err := rt.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	rbody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rbody))
	resp.Request = req
	op, ferr := rt.v.FindOperation(req)
	if ferr != nil {
		return resp, nil // no operation to check against; the request was reported
	}
	rt.cov.Record(op, resp.StatusCode)
	if err := rt.v.ValidateResponse(req, resp.StatusCode, resp.Header, rbody); err != nil {
		rt.t.Errorf("client received an off-contract response: %v", err)
	}
	return resp, nil
}

// Handler is the server-side checker Middleware returns.
type Handler struct {
	t   testing.TB
	h   http.Handler
	v   *Validator
	cov *Coverage
	lax bool
}

// Middleware wraps a server's handler h so that every request it receives
// and every response it writes is validated against the contract; a
// violation fails t with t.Errorf. Responses are recorded in the Coverage.
//
// An off-contract request is not the server's fault, but the server must
// refuse it: answering one with a status below 400 is a violation. A
// response whose connection the handler hijacked (the emulator's "drop the
// connection" fault) is not validated or recorded.
func Middleware(t testing.TB, h http.Handler, opts ...Option) *Handler {
	t.Helper()
	c := newConfig(opts)
	return &Handler{t: t, h: h, v: MustLoad(t), cov: c.cov, lax: c.lax}
}

// Coverage returns the Coverage this middleware records into.
func (m *Handler) Coverage() *Coverage { return m.cov }

// ServeHTTP implements http.Handler.
func (m *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		if err != nil {
			m.t.Errorf("contract: read request body of %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	reqErr := m.v.ValidateRequest(r, body)
	op, routeErr := m.v.FindOperation(r)

	rec := &recorder{w: w}
	m.h.ServeHTTP(rec, r)
	if rec.hijacked {
		return
	}
	if !rec.wrote {
		rec.status = http.StatusOK
	}
	if routeErr != nil {
		if err := m.v.CheckUnrouted(r, rec.status, rec.header, rec.body.Bytes()); err != nil {
			m.t.Errorf("%v", err)
		}
		return
	}
	m.cov.Record(op, rec.status)
	if reqErr != nil && rec.status < 400 && !m.lax {
		m.t.Errorf("server accepted an off-contract request with status %d: %v", rec.status, reqErr)
	}
	if err := m.v.ValidateResponse(r, rec.status, rec.header, rec.body.Bytes()); err != nil {
		m.t.Errorf("server sent an off-contract response: %v", err)
	}
}

// recorder passes everything through to w and keeps a copy of the status,
// the header as sent and the body.
type recorder struct {
	w        http.ResponseWriter
	status   int
	header   http.Header
	body     bytes.Buffer
	wrote    bool
	hijacked bool
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		r.w.WriteHeader(status) // let net/http log the superfluous call
		return
	}
	if status >= 100 && status < 200 {
		r.w.WriteHeader(status)
		return
	}
	r.wrote = true
	r.status = status
	r.header = r.w.Header().Clone()
	r.w.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(p)
	return r.w.Write(p)
}

// Flush implements http.Flusher when the underlying writer does.
func (r *recorder) Flush() {
	if f, ok := r.w.(http.Flusher); ok {
		if !r.wrote {
			r.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

// Hijack implements http.Hijacker so that a handler can drop the connection.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.w.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("contract: the underlying ResponseWriter (%T) cannot hijack", r.w)
	}
	conn, rw, err := hj.Hijack()
	if err == nil {
		r.hijacked = true
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// methods are the HTTP methods CheckUnrouted tries on a URL.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Methods returns the methods for which r's URL is an operation of the
// contract (none when no path of the contract matches it).
func (v *Validator) Methods(r *http.Request) []string {
	var out []string
	for _, m := range methods {
		rr := r.Clone(r.Context())
		rr.Method = m
		if _, err := v.FindOperation(rr); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// CheckUnrouted checks the answer to a request that is no operation of the
// contract. The contract documents nothing for such requests, so the
// answers of the framework the contract was generated with (FastAPI on
// Starlette) are the standard, and each must be the right one:
//   - 405 Method Not Allowed when the URL is an operation for other methods,
//     with an Allow header naming only such methods (Starlette names those
//     of the first route that matches, which may be fewer than all);
//   - 307 Temporary Redirect when the URL is not an operation for any method
//     but is one with its trailing slash toggled (Starlette's
//     redirect_slashes), with an empty body and a Location that is the same
//     URL with that path (and the same query);
//   - 404 Not Found otherwise.
func (v *Validator) CheckUnrouted(r *http.Request, status int, h http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s", r.Method, r.URL.RequestURI())
	allowed := v.Methods(r)
	toggled := toggleSlash(r.URL.EscapedPath())
	var redirect []string
	if toggled != "" {
		rr := r.Clone(r.Context())
		u := *r.URL
		u.Path, u.RawPath = "", ""
		if p, err := url.PathUnescape(toggled); err == nil {
			u.Path, u.RawPath = p, toggled
		}
		rr.URL = &u
		redirect = v.Methods(rr)
	}
	switch {
	case len(allowed) > 0:
		if status != http.StatusMethodNotAllowed {
			return fmt.Errorf("server answered %d to %s: that URL is an operation for %v, so the answer is 405 Method Not Allowed", status, where, allowed)
		}
		allow := strings.Split(h.Get("Allow"), ",")
		for i := range allow {
			allow[i] = strings.TrimSpace(allow[i])
		}
		if h.Get("Allow") == "" || slices.ContainsFunc(allow, func(m string) bool { return !slices.Contains(allowed, m) }) {
			return fmt.Errorf("405 to %s has Allow %q: want a non-empty list of methods among %v", where, h.Get("Allow"), allowed)
		}
	case len(redirect) > 0:
		if status != http.StatusTemporaryRedirect {
			return fmt.Errorf("server answered %d to %s: %s is an operation for %v, so the answer is a 307 redirect there (Starlette's redirect_slashes)", status, where, toggled, redirect)
		}
		loc, err := url.Parse(h.Get("Location"))
		switch {
		case err != nil || !loc.IsAbs() || loc.Host != r.Host:
			return fmt.Errorf("307 to %s has Location %q: want an absolute URL on %s", where, h.Get("Location"), r.Host)
		case loc.EscapedPath() != toggled || loc.RawQuery != r.URL.RawQuery:
			return fmt.Errorf("307 to %s has Location %q: want path %s and query %q", where, h.Get("Location"), toggled, r.URL.RawQuery)
		case len(body) > 0:
			return fmt.Errorf("307 to %s has a %d-byte body, want none", where, len(body))
		}
	default:
		if status != http.StatusNotFound {
			return fmt.Errorf("server answered %d to %s, which is no operation of the contract, with or without a trailing slash (want 404)", status, where)
		}
	}
	return nil
}

// toggleSlash is Starlette's redirect_slashes rewrite of a path: all
// trailing slashes removed, or one added; "" for "/".
func toggleSlash(p string) string {
	switch {
	case p == "/" || p == "":
		return ""
	case strings.HasSuffix(p, "/"):
		return strings.TrimRight(p, "/")
	}
	return p + "/"
}
