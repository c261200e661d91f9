package amigotest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// TestScaledClockDefaultLatency runs publishes with the default 1–5 minute
// latency on a clock where a simulated minute is a real millisecond, and
// checks the simulated time each one took.
func TestScaledClockDefaultLatency(t *testing.T) {
	g, _ := newRepo(t, map[string]string{"tools/plain/pyproject.toml": plainPyproject})
	clk := clock.NewScaled(60000)
	s := newContractServer(t, Options{Clock: clk, RepoPath: g.dir, TokenTTL: 10000 * time.Hour})
	f := &fixture{t: t, s: s, org: "acme"}
	f.tok = f.signIn("alice")
	id := f.createTool("plain")
	for i, bump := range []string{"major", "minor", "patch"} {
		start := clk.Now()
		f.want(f.publish(id, "tools/plain", bump), 201)
		if took := clk.Now().Sub(start); took < time.Minute {
			t.Errorf("publish %d took %v of simulated time, want at least the 1 minute minimum", i, took)
		}
	}
}

// TestConcurrentPublishesStayConsistent fires many publishes at two tools
// at once: each answer is 201 or 409, and the versions created are exactly
// the 201s, numbered without gaps or duplicates.
func TestConcurrentPublishesStayConsistent(t *testing.T) {
	g, _ := newRepo(t, map[string]string{"tools/plain/pyproject.toml": plainPyproject})
	s := newContractServer(t, Options{Clock: clock.NewScaled(60000), RepoPath: g.dir, DisableRateLimits: true,
		PublishLatency: Uniform(time.Second, time.Minute), ActiveCap: 1000, TokenTTL: 10000 * time.Hour})
	f := &fixture{t: t, s: s, org: "acme"}
	f.tok = f.signIn("alice")
	ids := []string{f.createTool("one"), f.createTool("two")}
	for _, id := range ids {
		f.want(f.publish(id, "tools/plain", "major"), 201)
	}
	var mu sync.Mutex
	created := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := ids[i%2]
			req, _ := http.NewRequest("POST", s.URL()+"/v1/acme/tool/"+id+"/version", strings.NewReader(`{"project_path":"tools/plain","bump_type":"patch"}`))
			req.Header.Set("Authorization", "Bearer "+f.tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := testHTTP.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 201:
				mu.Lock()
				created[id]++
				mu.Unlock()
			case 409:
			default:
				t.Errorf("concurrent publish got %d", resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		vs := s.ActiveVersions("acme", id)
		if len(vs) != created[id]+1 {
			t.Fatalf("tool %s: %d versions for %d successful publishes (+1.0.0): %v", id, len(vs), created[id], vs)
		}
		for j, v := range vs {
			if want := fmt.Sprintf("1.0.%d", j); v != want {
				t.Fatalf("tool %s: versions %v, want 1.0.0..1.0.%d in order", id, vs, created[id])
			}
		}
	}
}

// TestPublishCompletesAfterClientGivesUp: a client that times out during a
// publish does not stop it; the version appears (the unknown outcome).
func TestPublishCompletesAfterClientGivesUp(t *testing.T) {
	f := newFixture(t, nil)
	id := f.createTool("plain")
	started, release := f.clk.hold()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", f.s.URL()+"/v1/acme/tool/"+id+"/version", strings.NewReader(`{"project_path":"tools/plain","bump_type":"major"}`))
		req.Header.Set("Authorization", "Bearer "+f.tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testHTTP.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("publish ended before its latency: %v", err)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled publish returned a response")
	}
	release()
	for i := 0; i < 5000 && f.s.Busy("acme", id); i++ {
		time.Sleep(time.Millisecond)
	}
	if got := fmt.Sprint(f.s.ActiveVersions("acme", id)); got != "[1.0.0]" {
		t.Fatalf("versions after an abandoned publish: %s", got)
	}
}
