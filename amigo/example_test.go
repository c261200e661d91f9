package amigo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// exampleServer is a tiny stand-in for the API: sign-in, list tools and
// publish. Real tests use the emulator in amigo/amigotest.
func exampleServer() *httptest.Server {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /v1/{org}/user/signin_with_api_key", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, amigo.SignInResponse{IDToken: "jwt", ExpiresAt: time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, amigo.ListToolsResponse{Tools: []amigo.Tool{{ID: "0123456789abcdef01234567", Name: "weather"}}})
	})
	mux.HandleFunc("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, amigo.PublishResponse{NewVersion: "1.1.0"})
	})
	return httptest.NewServer(mux)
}

func Example() {
	srv := exampleServer()
	defer srv.Close()

	c, err := amigo.New(amigo.Config{
		BaseURL:  srv.URL, // or Region: "us"
		Org:      "acme",
		APIKey:   "key", // os.Getenv("AMIGO_API_KEY")
		APIKeyID: "key-id",
		UserID:   "user",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	tool, err := c.FindToolByName(ctx, "weather")
	if err != nil || tool == nil {
		fmt.Println("no tool:", err)
		return
	}
	res, err := c.PublishVersion(ctx, tool.ID, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMinor})
	switch {
	case errors.Is(err, amigo.ErrUnknownOutcome):
		fmt.Println("publish outcome unknown: list the versions before trying again")
	case amigo.IsConflict(err):
		fmt.Println("another operation is running on the tool: retry later")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println("published", tool.Name, res.NewVersion)
	}
	// Output: published weather 1.1.0
}

func ExampleNew_validation() {
	_, err := amigo.New(amigo.Config{Region: "mars", Org: "acme", Token: "t"})
	fmt.Println(err)
	// Output: Config.Region "mars" is unknown: use one of us, eu-central-1, ap-southeast-2, ca-central-1, or set Config.BaseURL
}
