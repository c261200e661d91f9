package amigotest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestServingCountsARequestStillInItsLatency: a publish the client gave up
// on while it was still in an injected latency is taken up by the server
// after the client left (its body was never read, so the server cannot
// tell). Until then the tool is not Busy; Serving is what shows it. The
// fault campaign waits on both before a rerun starts: checked on Busy
// alone, the rerun listed the stages before this publish began, and the
// version it built of the moved tip landed after the rerun's stray check.
func TestServingCountsARequestStillInItsLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := newRepo(t, map[string]string{"tools/plain/pyproject.toml": plainPyproject})
		s := New(Options{RepoPath: g.dir, PublishLatency: Fixed(2 * time.Minute), TestLatency: Fixed(10 * time.Second)})
		id, err := s.AddTool("acme", SeedTool{Name: "plain"})
		if err != nil {
			t.Fatal(err)
		}
		n := NewPipeNet()
		defer n.Close()
		ln, err := n.Listen("amigo.test:80")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()
		defer func() { stop(); <-served }()

		req, _ := http.NewRequest("POST", "http://amigo.test:80/v1/acme/user/signin_with_api_key", nil)
		req.Header.Set("x-api-key", "k")
		req.Header.Set("x-api-key-id", "kid")
		req.Header.Set("x-user-id", "alice")
		resp, err := n.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			IDToken string `json:"id_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if s.Serving() != 0 {
			t.Fatalf("Serving %d after the sign-in was answered, want 0", s.Serving())
		}

		s.SetLatency(OpPublishVersion, 30*time.Second)
		start := time.Now()
		gaveUp, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ = http.NewRequestWithContext(gaveUp, "POST", "http://amigo.test:80/v1/acme/tool/"+id+"/version",
			strings.NewReader(`{"project_path":"tools/plain","bump_type":"major"}`))
		req.Header.Set("Authorization", "Bearer "+tok.IDToken)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := n.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("publish answered %d before the client gave up", resp.StatusCode)
		}
		synctest.Wait()
		// The client has given up; the request is still in its latency.
		if got := time.Since(start); got != 10*time.Second {
			t.Fatalf("client gave up after %v, want 10s", got)
		}
		if s.Busy("acme", id) {
			t.Fatal("tool busy while its publish is still in the latency before any work")
		}
		if got := s.Serving(); got != 1 {
			t.Fatalf("Serving = %d while a publish waits out its latency, want 1", got)
		}
		// The latency ends: the publish starts although nobody waits for it.
		time.Sleep(25 * time.Second)
		synctest.Wait()
		if !s.Busy("acme", id) || s.Serving() != 1 {
			t.Fatalf("35s in: busy %v, serving %d; want the abandoned publish building", s.Busy("acme", id), s.Serving())
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if s.Busy("acme", id) || s.Serving() != 0 {
			t.Fatalf("after the build: busy %v, serving %d; want idle", s.Busy("acme", id), s.Serving())
		}
		if vs := s.Versions("acme", id); len(vs) != 1 || vs[0].Version.String() != "1.0.0" {
			t.Fatalf("versions %+v, want the abandoned publish's 1.0.0", vs)
		}
		n.Client().CloseIdleConnections()
	})
}
