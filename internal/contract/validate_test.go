package contract

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// reqFor builds a request to the contract's API on a test host.
func reqFor(method, path string, auth bool) *http.Request {
	r, err := http.NewRequest(method, "http://127.0.0.1:8080"+path, nil)
	if err != nil {
		panic(err)
	}
	if auth {
		r.Header.Set("Authorization", "Bearer token")
	}
	return r
}

func TestLoadAndOperations(t *testing.T) {
	v := MustLoad(t)
	ops := v.Operations()
	if len(ops) != 14 {
		t.Fatalf("contract has %d operations, want 14", len(ops))
	}
	for _, o := range ops {
		if o.Success == 0 || !v.Documented(o.ID, o.Success) {
			t.Errorf("%s: no documented success status", o.ID)
		}
		if o.Authenticated == (o.ID == "sign-in-with-api-key") {
			t.Errorf("%s: Authenticated = %v", o.ID, o.Authenticated)
		}
	}
}

func TestValidateRequestNamesOperationFieldAndRule(t *testing.T) {
	v := MustLoad(t)
	r := reqFor("POST", "/v1/org/tool/", true)
	r.Header.Set("Content-Type", "application/json")
	err := v.ValidateRequest(r, []byte(`{"name":"Bad Name","description":"d","tags":{}}`))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	if ce.OperationID != "create-tool" || !ce.Has("body /name", "pattern") {
		t.Fatalf("want create-tool body /name pattern violation, got %v", err)
	}
	if !strings.Contains(err.Error(), "create-tool") || !strings.Contains(err.Error(), "/name") {
		t.Errorf("message does not name operation and field: %v", err)
	}
}
