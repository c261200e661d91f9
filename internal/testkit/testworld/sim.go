package testworld

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
)

// Sim reaches emulators in memory, without sockets, for releases on
// simulated time in a testing/synctest bubble (a goroutine waiting on a
// socket would keep the bubble's clock still): stage s is served at
// SimURL(s) to a client whose transport is the Sim (HTTPClient). It holds
// each publish for its build time in the stage (Publish) before the
// emulator sees it, the emulators themselves publishing at once, and
// records every test-tool call with the time it was sent.
type Sim struct {
	// Servers are the stages' emulators.
	Servers map[string]*amigotest.Server
	// Publish, when set, is how long a publish of tool takes in stage
	// before its emulator sees it. A request cancelled meanwhile is not
	// served.
	Publish func(tool, stage string) time.Duration

	mu    sync.Mutex
	tests []TestCall
}

// TestCall is one test-tool call as a Sim's emulator received it.
type TestCall struct {
	At      time.Time // when it was sent
	Project string    // its project_path
	Status  int       // the emulator's answer
}

// SimURL is the base URL of stage in a Sim.
func SimURL(stage string) string { return "http://" + stage + ".sim" }

// HTTPClient is a client that reaches the Sim's emulators.
func (s *Sim) HTTPClient() *http.Client { return &http.Client{Transport: s} }

// RoundTrip serves req on its stage's emulator. A connection the emulator
// drops after the work (amigotest's DropAfterWork) is a transport error,
// as on a network.
func (s *Sim) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, fmt.Errorf("read response: %w", io.ErrUnexpectedEOF)
		}
	}()
	st := strings.TrimSuffix(req.URL.Host, ".sim")
	srv := s.Servers[st]
	if srv == nil {
		return nil, fmt.Errorf("no stage at %s", req.URL.Host)
	}
	var project string
	isTest := req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/tool/test")
	if isTest {
		body, _ := io.ReadAll(req.Body)
		var in struct {
			ProjectPath string `json:"project_path"`
		}
		_ = json.Unmarshal(body, &in)
		project = in.ProjectPath
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	at := time.Now()
	if err := s.build(req, srv, st); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if isTest {
		s.mu.Lock()
		s.tests = append(s.tests, TestCall{At: at, Project: project, Status: rec.Code})
		s.mu.Unlock()
	}
	return rec.Result(), nil
}

// build holds a publish (POST /v1/{org}/tool/{id}/version) for its build
// time in stage.
func (s *Sim) build(req *http.Request, srv *amigotest.Server, stage string) error {
	parts := strings.Split(req.URL.Path, "/")
	if s.Publish == nil || req.Method != http.MethodPost || len(parts) != 6 || parts[5] != "version" {
		return nil
	}
	for _, tl := range srv.Tools(parts[2]) {
		if tl.ID == parts[4] {
			select {
			case <-time.After(s.Publish(tl.Name, stage)):
			case <-req.Context().Done():
				return req.Context().Err()
			}
		}
	}
	return nil
}

// Tests are the test-tool calls so far, in the order they were sent.
func (s *Sim) Tests() []TestCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TestCall(nil), s.tests...)
}

// Count is how many requests of operation op every emulator logged (all
// statuses).
func (s *Sim) Count(op string) int {
	n := 0
	for _, srv := range s.Servers {
		for _, r := range srv.Requests() {
			if r.OperationID == op {
				n++
			}
		}
	}
	return n
}
