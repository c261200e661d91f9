package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeAPI answers a few routes, correctly or not depending on the path.
func fakeAPI(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/org/tool/":
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"description"`) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"detail":"name missing"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"`+toolID+`"}`)
	case r.Method == "DELETE" && r.URL.Path == "/v1/org/tool/"+toolID:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == "DELETE" && r.URL.Path == "/v1/org/tool/"+toolID2:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"deleted":true}`) // 200 with a body: off-contract
	case r.Method == "POST" && r.URL.Path == "/v1/org/tool/"+toolID2+"/envvar":
		w.WriteHeader(http.StatusNoContent) // accepts anything: wrong for a bad body
	case r.URL.Path == "/v1/org/tool/"+toolID+"/drop":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		http.NotFound(w, r)
	}
}

func do(t *testing.T, c *http.Client, method, url, auth, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestTransportAndMiddleware(t *testing.T) {
	v := MustLoad(t)
	cov := NewCoverage()
	server := &SpyTB{TB: t}
	client := &SpyTB{TB: t}
	srv := httptest.NewServer(Middleware(server, http.HandlerFunc(fakeAPI), WithCoverage(cov)))
	defer srv.Close()
	rt := Transport(client, nil, WithCoverage(cov))
	c := &http.Client{Transport: rt}

	// A correct exchange: nothing reported, body still readable by the client.
	resp := do(t, c, "POST", srv.URL+"/v1/org/tool/", "Bearer tok", `{"name":"a","description":"d","tags":{}}`)
	if got, _ := io.ReadAll(resp.Body); resp.StatusCode != 201 || !strings.Contains(string(got), toolID) {
		t.Fatalf("client saw %d %s", resp.StatusCode, got)
	}
	do(t, c, "DELETE", srv.URL+"/v1/org/tool/"+toolID, "Bearer tok", "")
	if e := append(server.Errors(), client.Errors()...); len(e) != 0 {
		t.Fatalf("correct exchanges reported: %v", e)
	}

	// The client sends an off-contract request (no description), the server
	// refuses it: only the client is at fault.
	do(t, c, "POST", srv.URL+"/v1/org/tool/", "Bearer tok", `{"name":"a","tags":{}}`)
	if e := client.Errors(); len(e) != 1 || !strings.Contains(e[0], "off-contract request") || !strings.Contains(e[0], "create-tool") {
		t.Errorf("client errors: %v", e)
	}
	if e := server.Errors(); len(e) != 0 {
		t.Errorf("server refused correctly, yet: %v", e)
	}

	// The server answers 200 with a body where the contract says 204.
	do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/org/tool/"+toolID2, "Bearer tok", "")
	if e := server.Errors(); len(e) != 1 || !strings.Contains(e[0], "200 is not documented for deprecate-tool") {
		t.Errorf("server errors: %v", e)
	}

	// The server accepts an off-contract request.
	do(t, http.DefaultClient, "POST", srv.URL+"/v1/org/tool/"+toolID2+"/envvar", "Bearer tok", `{"inserts":[{"name":"X"}]}`)
	if e := server.Errors(); len(e) != 2 || !strings.Contains(e[1], "accepted an off-contract request with status 204") {
		t.Errorf("server errors: %v", e)
	}

	// A dropped connection is neither validated nor recorded.
	before := cov.Statuses("deprecate-tool")
	if resp := do(t, http.DefaultClient, "DELETE", srv.URL+"/v1/org/tool/"+toolID+"/drop", "Bearer tok", ""); resp != nil {
		t.Errorf("connection not dropped: %d", resp.StatusCode)
	}
	if len(server.Errors()) != 2 {
		t.Errorf("hijacked response reported: %v", server.Errors())
	}

	// Coverage: both sides recorded into one Coverage.
	if n := cov.Count("create-tool", 201); n != 2 {
		t.Errorf("create-tool 201 seen %d times, want 2 (client + server)", n)
	}
	if n := cov.Count("create-tool", 422); n != 2 {
		t.Errorf("create-tool 422 seen %d times, want 2", n)
	}
	if got := cov.Statuses("deprecate-tool"); len(got) != len(before) {
		t.Errorf("deprecate-tool statuses %v, before drop %v", got, before)
	}
	miss := cov.WithoutSuccess(v)
	if len(miss) != 11 || strings.Contains(strings.Join(miss, ","), "create-tool") || strings.Contains(strings.Join(miss, ","), "deprecate-tool,") {
		t.Errorf("WithoutSuccess = %v", miss)
	}
	table := cov.Table(v)
	if !strings.Contains(table, "200!(1)") || !strings.Contains(table, "create-tool") {
		t.Errorf("table does not show the undocumented 200:\n%s", table)
	}
	t.Log("\n" + table)
}

func TestCoverageMissing(t *testing.T) {
	v := MustLoad(t)
	c := NewCoverage()
	o, _ := v.Operation("deprecate-tool-version")
	for _, s := range o.Statuses {
		c.Record(o.ID, s)
	}
	c.Record("sign-in-with-api-key", 200)
	m := c.Missing(v)
	if _, ok := m["deprecate-tool-version"]; ok {
		t.Errorf("deprecate-tool-version fully covered, Missing says %v", m["deprecate-tool-version"])
	}
	if got := m["sign-in-with-api-key"]; len(got) != 5 {
		t.Errorf("sign-in missing %v, want the 5 error statuses", got)
	}
	if len(m) != 13 {
		t.Errorf("Missing has %d operations, want 13", len(m))
	}
}
