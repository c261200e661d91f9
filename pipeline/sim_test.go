package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// sim runs releases on simulated time: in a testing/synctest bubble the
// clock moves only when every goroutine waits, so timings are exact and do
// not depend on the machine's load. The emulators (one per stage, at
// http://<stage>.sim) are reached through an in-memory transport: a
// goroutine waiting on a socket would keep the bubble's clock still.
type sim struct {
	t       *testing.T
	h       *harness // the repository and environment (its servers are unused)
	servers map[string]*amigotest.Server
	// publish is how long a tool's publish takes in a stage (default 2
	// minutes; the emulators themselves publish at once).
	publish func(tool, stage string) time.Duration

	mu    sync.Mutex
	tests []simTest // test-tool calls, in arrival order
}

// simTest is one test-tool call as the server received it.
type simTest struct {
	at      time.Time
	project string
	status  int
}

// newSimRepo is a harness for a sim: its repository and environment, made
// outside the bubble (git runs as a process).
func newSimRepo(t *testing.T, stages ...string) *harness {
	repo := testkit.NewRepo(t)
	return &harness{t: t, repo: repo, dir: repo.Dir, stages: stages, log: &bytes.Buffer{},
		env: map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid-1", "AMIGO_USER_ID": "releaser"}}
}

// newSim starts the emulators; call it inside the bubble.
func newSim(t *testing.T, h *harness, emu amigotest.Options) *sim {
	s := &sim{t: t, h: h, servers: map[string]*amigotest.Server{}, publish: func(string, string) time.Duration { return 2 * time.Minute }}
	for i, st := range h.stages {
		o := emu
		o.Clock = clock.Real{}
		o.RepoPath = h.dir
		o.Seed = int64(i + 1)
		o.PublishLatency = amigotest.Fixed(0)
		if o.TestLatency.Func == nil && o.TestLatency.Max == 0 {
			o.TestLatency = amigotest.Fixed(10 * time.Second)
		}
		srv := amigotest.New(o)
		t.Cleanup(srv.Close)
		s.servers[st] = srv
	}
	return s
}

func simulate(t *testing.T, f func(t *testing.T)) { synctest.Test(t, f) }

// RoundTrip serves req on its stage's emulator. A connection the emulator
// drops after the work (DropAfterWork) is a transport error, as on a
// network.
func (s *sim) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
		}
	}()
	st := strings.TrimSuffix(req.URL.Host, ".sim")
	srv := s.servers[st]
	if srv == nil {
		return nil, fmt.Errorf("no stage at %s", req.URL.Host)
	}
	var project string
	isTest := req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/tool/test")
	if isTest {
		body, _ := io.ReadAll(req.Body)
		if i := bytes.Index(body, []byte(`"project_path":"`)); i >= 0 {
			rest := body[i+len(`"project_path":"`):]
			project = string(rest[:bytes.IndexByte(rest, '"')])
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	at := time.Now()
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/version") {
		parts := strings.Split(req.URL.Path, "/")
		if len(parts) == 6 {
			for _, tl := range srv.Tools(parts[2]) {
				if tl.ID == parts[4] {
					time.Sleep(s.publish(tl.Name, st))
				}
			}
		}
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if isTest {
		s.mu.Lock()
		s.tests = append(s.tests, simTest{at: at, project: project, status: rec.Code})
		s.mu.Unlock()
	}
	return rec.Result(), nil
}

// seed gives each tool a version 1.0.0 of commit on every server, as an
// earlier release would have.
func (s *sim) seed(commit string, tools ...string) {
	for _, srv := range s.servers {
		for _, n := range tools {
			testworld.Seed(s.t, srv, org, n, "tools/"+n, "1.0.0@"+commit)
		}
	}
}

// plan is a chain of the harness' stages at the sim's URLs, the first
// test-gated; extra goes under defaults.
func (s *sim) plan(extra string) *promote.Plan {
	var b strings.Builder
	b.WriteString("version: 1\ndiscovery:\n  roots: [tools]\ndefaults:\n  organization: " + org + "\n  concurrency: 16\n" + extra + "stages:\n")
	for i, st := range s.h.stages {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: http://%s.sim\n", st, st)
		if i == 0 {
			b.WriteString("    test: true\n")
		}
	}
	p, err := promote.Parse("release.yaml", []byte(b.String()))
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// run releases with the sim's emulators; mutate adjusts the options.
func (s *sim) run(plan *promote.Plan, mutate func(*pipeline.Options)) *pipeline.Report {
	s.t.Helper()
	rep, err := s.runErr(plan, mutate)
	if err != nil {
		s.t.Fatalf("Run: %v\nlog:\n%s", err, s.h.log)
	}
	return rep
}

// runErr is run for a run that may fail.
func (s *sim) runErr(plan *promote.Plan, mutate func(*pipeline.Options)) (*pipeline.Report, error) {
	s.t.Helper()
	getenv := func(k string) string { return s.h.env[k] }
	opts := pipeline.Options{
		Plan: plan, RepoPath: s.h.dir, Clock: clock.Real{}, Getenv: getenv,
		Clients: pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, HTTPClient: &http.Client{Transport: s}}),
		Logger:  pipeline.NewTextLogger(s.h.log),
	}
	if mutate != nil {
		mutate(&opts)
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), 24*time.Hour)
	defer cancel()
	return pipeline.Run(ctx, opts)
}

// testOrder is the projects whose test passed, in the order they were
// sent.
func (s *sim) testOrder() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.tests {
		if c.status == http.StatusOK {
			out = append(out, strings.TrimPrefix(c.project, "tools/"))
		}
	}
	return out
}

// requests counts the requests of op all servers saw (every status).
func (s *sim) requests(op string) int {
	n := 0
	for _, srv := range s.servers {
		for _, r := range srv.Requests() {
			if r.OperationID == op {
				n++
			}
		}
	}
	return n
}
