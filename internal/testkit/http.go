package testkit

import (
	"bytes"
	"io"
	"net/http"
)

// EditResponses is an http.RoundTripper that sends each request with Base
// (http.DefaultTransport when nil) and hands the body of the answer to
// Edit: the caller reads what Edit returns, as if the server had sent it.
// Tests use it to make a real server answer what it never would.
type EditResponses struct {
	Base http.RoundTripper
	Edit func(r *http.Request, body []byte) []byte
}

// RoundTrip implements http.RoundTripper.
func (e EditResponses) RoundTrip(r *http.Request) (*http.Response, error) {
	base := e.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = e.Edit(r, b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}
