package testkit_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/testkit"
)

// The caller reads the edited body, with a length that matches it, and
// the edit sees the request it answers.
func TestEditResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"has_more":true,"path":%q}`, r.URL.Path)
	}))
	defer srv.Close()
	var seen string
	c := &http.Client{Transport: testkit.EditResponses{Edit: func(r *http.Request, b []byte) []byte {
		seen = r.URL.Path
		return []byte(strings.Replace(string(b), `"has_more":true`, `"has_more":"yes, many"`, 1))
	}}}
	resp, err := c.Get(srv.URL + "/v1/acme/tool/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"has_more":"yes, many","path":"/v1/acme/tool/"}`
	if string(b) != want || resp.ContentLength != int64(len(want)) || seen != "/v1/acme/tool/" {
		t.Errorf("body %s (length %d), edit saw %q; want %s (length %d) for /v1/acme/tool/", b, resp.ContentLength, seen, want, len(want))
	}
}
