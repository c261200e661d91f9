package contract

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPatternsArePydantics: the contract's patterns are judged as pydantic
// judges them (adjustment 4): Unicode \w in tags and project paths, and the
// envvar name pattern as a search.
func TestPatternsArePydantics(t *testing.T) {
	v := MustLoad(t)
	create := func(tags string) error {
		r, _ := http.NewRequest("POST", "http://x/v1/org/tool/", strings.NewReader(`{"name":"t","description":"d","tags":`+tags+`}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer tok")
		return v.ValidateRequest(r, []byte(`{"name":"t","description":"d","tags":`+tags+`}`))
	}
	for _, ok := range []string{`{"ünï":"wert"}`, `{"e\u0301cole":null}`, `{"東京":"Ⅻ‿"}`} {
		if err := create(ok); err != nil {
			t.Errorf("tags %s refused: %v", ok, err)
		}
	}
	err := create(`{"k":"x²"}`)
	if ce, _ := err.(*Error); ce == nil || !ce.Has("body /tags", "pattern") {
		t.Errorf("tags x² accepted or refused for another reason: %v", err)
	} else if msg := err.Error(); strings.Contains(msg, `\x{`) || !(strings.Contains(msg, `^[\w\s]+$`) || strings.Contains(msg, `^[\\w\\s]+$`)) {
		t.Errorf("the message does not show the contract's pattern: %v", err)
	}
	envvar := func(name string) error {
		body := `{"inserts":[{"name":"` + name + `","value":"v","is_secret":false}]}`
		r, _ := http.NewRequest("POST", "http://x/v1/org/tool/"+toolID+"/envvar", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer tok")
		return v.ValidateRequest(r, []byte(body))
	}
	if err := envvar("X-Y"); err != nil {
		t.Errorf("envvar X-Y: %v", err)
	}
	if err := envvar("x-y"); err == nil {
		t.Errorf("envvar x-y accepted")
	}
}

// TestEmptyQueryValues: "?name=" is on-contract when the empty string is a
// value of the parameter's type (FastAPI passes it on as ""), not otherwise.
func TestEmptyQueryValues(t *testing.T) {
	v := MustLoad(t)
	get := func(path string) error {
		r, _ := http.NewRequest("GET", "http://x/v1/org/tool/"+path, nil)
		r.Header.Set("Authorization", "Bearer tok")
		return v.ValidateRequest(r, nil)
	}
	for _, ok := range []string{toolID + "/version?versions=", "invocation?tool_id=" + toolID + "&version=", "?sort_by="} {
		if err := get(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"?limit=", toolID + "/version?deprecated=", "?id="} {
		if err := get(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestCheckUnrouted: the framework's answers to requests that are no
// operation, right and wrong.
func TestCheckUnrouted(t *testing.T) {
	v := MustLoad(t)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		method, url string
		status      int
		header      http.Header
		body        string
		wantErr     string // "" for none
	}{
		{"PUT", "http://h/v1/o/tool/", 405, h("Allow", "GET"), `{"detail":"Method Not Allowed"}`, ""},
		{"HEAD", "http://h/v1/o/tool/", 405, h("Allow", "GET, POST"), "", ""},
		{"PUT", "http://h/v1/o/tool/", 405, h("Allow", "PUT"), "", "Allow"},
		{"PUT", "http://h/v1/o/tool/", 405, nil, "", "Allow"},
		{"PUT", "http://h/v1/o/tool/", 404, nil, "", "405"},
		{"DELETE", "http://h/v1/o/tool/" + toolID + "/version/", 307, h("Location", "http://h/v1/o/tool/"+toolID+"/version"), "", ""},
		{"GET", "http://h/v1/o/tool?limit=5", 307, h("Location", "http://h/v1/o/tool/?limit=5"), "", ""},
		{"GET", "http://h/v1/o/tool?limit=5", 307, h("Location", "http://h/v1/o/tool/"), "", "query"},
		{"GET", "http://h/v1/o/tool", 307, h("Location", "/v1/o/tool/"), "", "absolute"},
		{"GET", "http://h/v1/o/tool", 307, h("Location", "http://h/v1/o/tool/"), "moved", "body"},
		{"GET", "http://h/v1/o/tool", 404, nil, "", "307"},
		{"GET", "http://h/v1/o/nothing", 404, nil, "", ""},
		{"GET", "http://h/v1/o/nothing", 405, h("Allow", "GET"), "", "want 404"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.url, nil)
		err := v.CheckUnrouted(r, c.status, c.header, []byte(c.body))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s %s → %d: %v", c.method, c.url, c.status, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s %s → %d: error %v, want one about %q", c.method, c.url, c.status, err, c.wantErr)
		}
	}
}
