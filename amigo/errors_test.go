package amigo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestAPIErrorMessages(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		header  map[string]string
		want    []string
		is      func(error) bool
		message string
	}{
		{
			name:    "FastAPI detail list",
			status:  http.StatusUnprocessableEntity,
			body:    `{"detail":[{"loc":["body","name"],"msg":"String should match pattern '^[a-z0-9_]+$'","type":"string_pattern_mismatch"},{"loc":["body","tags","a b",0],"msg":"Field required","type":"missing"}]}`,
			want:    []string{"create-tool POST /v1/acme/tool/: 422 Unprocessable Entity"},
			is:      amigo.IsValidation,
			message: "body.name: string should match pattern '^[a-z0-9_]+$'; body.tags.a b.0: field required",
		},
		{
			name: "detail string", status: http.StatusConflict, body: `{"detail":"A tool with the same name already exists."}`,
			want: []string{"409 Conflict", "a non-deprecated tool with this name already exists"}, is: amigo.IsConflict,
			message: "A tool with the same name already exists.",
		},
		{
			name: "message field", status: http.StatusNotFound, body: `{"message":"Organization not found"}`,
			want: []string{"404 Not Found", "check the org, the region and the id"}, is: amigo.IsNotFound,
			message: "Organization not found",
		},
		{
			name: "plain text", status: http.StatusServiceUnavailable, body: "down for\n maintenance",
			want: []string{"503 Service Unavailable", "temporary maintenance"}, is: amigo.IsMaintenance,
			message: "down for maintenance",
		},
		{
			name: "empty body 403", status: http.StatusForbidden, body: "",
			want: []string{"403 Forbidden", "lacks the permission for create-tool in org acme"}, is: func(err error) bool { return !amigo.IsConflict(err) },
		},
		{
			name: "400 with nested detail", status: http.StatusBadRequest, body: `{"detail":{"message":"build failed: missing pyproject.toml"}}`,
			want: []string{"400 Bad Request: build failed: missing pyproject.toml"}, is: amigo.IsBadRequest,
			message: "build failed: missing pyproject.toml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.handle("POST /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c := f.client(func(cfg *amigo.Config) { cfg.Retry.Disable = true })
			_, err := c.CreateTool(context.Background(), amigo.CreateToolRequest{Name: "w", Description: "d"})
			var ae *amigo.APIError
			if !errors.As(fmt.Errorf("wrapped: %w", err), &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Op != amigo.OpCreateTool || ae.StatusCode != tt.status || ae.Method != "POST" || ae.Path != "/v1/acme/tool/" {
				t.Errorf("APIError = %+v", ae)
			}
			if ae.Message != tt.message {
				t.Errorf("Message = %q, want %q", ae.Message, tt.message)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q, lacks %q", err, w)
				}
			}
			if !tt.is(err) {
				t.Errorf("helper does not classify %v", err)
			}
		})
	}
}

func TestErrorHelpersOnWrappedAndForeignErrors(t *testing.T) {
	e := fmt.Errorf("stage eu: %w", &amigo.APIError{StatusCode: 429, RetryAfter: time.Second})
	if !amigo.IsRateLimited(e) || amigo.IsConflict(e) || amigo.IsNotFound(e) || amigo.IsMaintenance(e) || amigo.IsUnauthorized(e) || amigo.IsValidation(e) {
		t.Errorf("helpers misclassify %v", e)
	}
	plain := errors.New("boom")
	for name, is := range map[string]func(error) bool{"conflict": amigo.IsConflict, "rate": amigo.IsRateLimited, "notfound": amigo.IsNotFound,
		"validation": amigo.IsValidation, "maintenance": amigo.IsMaintenance, "unauthorized": amigo.IsUnauthorized} {
		if is(plain) || is(nil) {
			t.Errorf("%s matches a foreign error", name)
		}
	}
	u := &amigo.UnknownOutcomeError{Op: amigo.OpPublishVersion, Method: "POST", Path: "/x", Err: context.DeadlineExceeded}
	if !errors.Is(fmt.Errorf("w: %w", u), amigo.ErrUnknownOutcome) || !errors.Is(u, context.DeadlineExceeded) {
		t.Errorf("UnknownOutcomeError does not match its sentinel and cause")
	}
}

func TestSecretsNeverInErrorsOrEvents(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/envvar", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusConflict, map[string]string{"detail": "Envvar API_TOKEN already exists."})
	})
	f.handle("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "maintenance"})
	})
	var mu sync.Mutex
	var texts []string
	c := f.client(func(cfg *amigo.Config) {
		cfg.Retry.MaxElapsed = 10 * time.Second
		cfg.OnEvent = func(e amigo.ClientEvent) {
			mu.Lock()
			defer mu.Unlock()
			texts = append(texts, fmt.Sprintf("%+v", e))
			if e.Err != nil {
				texts = append(texts, e.Err.Error())
			}
		}
	})
	ctx := context.Background()
	err1 := c.ModifyEnvvars(ctx, testToolID, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "API_TOKEN", Value: "envvar-secret-value", IsSecret: true}}})
	_, err2 := c.ListTools(ctx, amigo.ListToolsOptions{})
	mu.Lock()
	defer mu.Unlock()
	texts = append(texts, err1.Error(), err2.Error())
	for _, s := range texts {
		for _, secret := range []string{testKey, issuedToken, "envvar-secret-value"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %q", s, secret)
			}
		}
	}
	if !amigo.IsConflict(err1) || !strings.Contains(err1.Error(), "update it instead") {
		t.Errorf("err1 = %v", err1)
	}
}

func TestNewConfigErrors(t *testing.T) {
	good := amigo.Config{Region: "us", Org: "acme", APIKey: "k", APIKeyID: "i", UserID: "u"}
	tests := []struct {
		name string
		mod  func(*amigo.Config)
		want string
	}{
		{"no org", func(c *amigo.Config) { c.Org = "" }, "Config.Org is empty"},
		{"org with slash", func(c *amigo.Config) { c.Org = "a/b" }, "Config.Org"},
		{"no server", func(c *amigo.Config) { c.Region = "" }, "set Config.BaseURL (AMIGO_BASE_URL) or Config.Region (one of us, eu-central-1, ap-southeast-2, ca-central-1)"},
		{"both servers", func(c *amigo.Config) { c.BaseURL = "https://x" }, "set only one"},
		{"bad region", func(c *amigo.Config) { c.Region = "mars" }, `Config.Region "mars" is unknown`},
		{"bad url", func(c *amigo.Config) { c.Region, c.BaseURL = "", "api.amigo.ai" }, "not an http(s) URL"},
		{"url with query", func(c *amigo.Config) { c.Region, c.BaseURL = "", "https://api.amigo.ai/?x=1" }, "query or fragment"},
		{"url with user", func(c *amigo.Config) { c.Region, c.BaseURL = "", "https://me:pw@api.amigo.ai" }, "user info"},
		{"no credentials", func(c *amigo.Config) { c.APIKey, c.APIKeyID, c.UserID = "", "", "" }, "no credentials"},
		{"missing key id", func(c *amigo.Config) { c.APIKeyID = "" }, "set Config.APIKeyID (AMIGO_API_KEY_ID)"},
		{"token and key", func(c *amigo.Config) { c.Token = "t" }, "either a static Token or"},
		{"negative timeout", func(c *amigo.Config) { c.Timeout = -1 }, "Config.Timeout"},
		{"negative publish timeout", func(c *amigo.Config) { c.PublishTimeout = -time.Second }, "Config.PublishTimeout"},
		{"retry intervals", func(c *amigo.Config) { c.Retry.InitialInterval = time.Minute; c.Retry.MaxInterval = time.Second }, "MaxInterval"},
		{"shared pacer and limits", func(c *amigo.Config) {
			c.Pacer, _ = amigo.NewPacer(amigo.PacerConfig{})
			c.Limits = map[amigo.Op]int{amigo.OpInvoke: 5}
		}, "set them in PacerConfig"},
		{"negative limit", func(c *amigo.Config) { c.Limits = map[amigo.Op]int{amigo.OpInvoke: -5} }, "Limits[invoke-tool-version]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			_, err := amigo.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw@") {
				t.Errorf("error leaks the URL password")
			}
		})
	}
	c, err := amigo.New(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://api.amigo.ai" || c.Org() != "acme" || c.Pacer() == nil {
		t.Errorf("client = %s %s %v", c.BaseURL(), c.Org(), c.Pacer())
	}
	c, err = amigo.New(amigo.Config{BaseURL: "http://127.0.0.1:8080/", Org: "acme", Token: "t", NoPacing: true})
	if err != nil || c.BaseURL() != "http://127.0.0.1:8080" || c.Pacer() != nil {
		t.Errorf("custom base URL: %v, %v", c, err)
	}
}
