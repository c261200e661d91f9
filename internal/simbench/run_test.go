package simbench

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
)

// result is what one simulated release measured.
type result struct {
	OK        bool
	Makespan  time.Duration
	FirstTest time.Duration // from the run's start to the first test-tool call
	Tests     int
	// MeanGap is the mean time between two test-tool calls that passed,
	// 429s and retries included.
	MeanGap  time.Duration
	Order    []string // tools in the order their tests went out
	Calls    int      // every request to every server
	N429     int
	ByOp     map[string]int
	Report   []byte // the report JSON
	Failures string // why not OK
}

// release runs the pipeline once on the servers, in the bubble, and
// measures it. history, when set, is an earlier run's report JSON.
func release(t *testing.T, r *repo, s *servers, history []byte) result {
	t.Helper()
	var log bytes.Buffer
	ctx, cancel := ctxFor(t)
	defer cancel()
	before, before429, beforeOp := s.counts()
	testsBefore := len(s.testsOK())
	opts := pipeline.Options{
		Plan: parsePlan(t), RepoPath: r.dir, Clock: clock.Real{}, Getenv: getenv,
		Clients: pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, HTTPClient: s.HTTPClient()}),
		Logger:  pipeline.NewTextLogger(&log),
	}
	if history != nil {
		h, err := pipeline.ReadHistory("history.json", bytes.NewReader(history))
		if err != nil {
			t.Fatal(err)
		}
		opts.History = h
	}
	rep, err := pipeline.Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	res := result{OK: rep.OK(), Makespan: rep.FinishedAt.Sub(rep.StartedAt)}
	if !res.OK {
		res.Failures = log.String()
	}
	all, n429, byOp := s.counts()
	for op, n := range beforeOp {
		byOp[op] -= n
	}
	res.Calls, res.N429, res.ByOp = all-before, n429-before429, byOp
	tests := s.testsOK()[testsBefore:]
	res.Tests = len(tests)
	if len(tests) > 0 {
		res.FirstTest = tests[0].At.Sub(rep.StartedAt)
		if len(tests) > 1 {
			res.MeanGap = tests[len(tests)-1].At.Sub(tests[0].At) / time.Duration(len(tests)-1)
		}
	}
	for _, c := range tests {
		res.Order = append(res.Order, strings.TrimPrefix(c.Project, "tools/"))
	}
	res.Report, _ = rep.JSON()
	return res
}

// serialLoop is what a hand-written script does: one tool at a time, find
// it in each stage (paging through the tool list), test it in the first,
// publish, then the next stage; paced by the client, nothing else. It
// returns how long it took.
func serialLoop(t *testing.T, s *servers, tools []string) time.Duration {
	t.Helper()
	ctx, cancel := ctxFor(t)
	defer cancel()
	clients := map[string]*amigo.Client{}
	pacer, _ := amigo.NewPacer(amigo.PacerConfig{})
	for _, st := range stages {
		c, err := amigo.New(amigo.Config{BaseURL: URL(st), Org: org, APIKey: creds["AMIGO_API_KEY"], APIKeyID: creds["AMIGO_API_KEY_ID"],
			UserID: creds["AMIGO_USER_ID"], HTTPClient: s.HTTPClient(), Pacer: pacer, PublishTimeout: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		clients[st] = c
	}
	start := time.Now()
	for _, tool := range tools {
		for i, st := range stages {
			c := clients[st]
			tl, err := c.FindToolByName(ctx, tool)
			if err != nil || tl == nil {
				t.Fatalf("serial loop: find %s in %s: %v", tool, st, err)
			}
			if i == 0 {
				if _, err := c.TestTool(ctx, amigo.TestToolRequest{Inputs: []amigo.Input{{InputParameters: map[string]any{}}},
					CommitBranch: "main", ProjectPath: "tools/" + tool, RequiredEnvvars: map[string]string{}, RequiredSecretEnvvars: map[string]string{}}); err != nil {
					t.Fatalf("serial loop: test %s: %v", tool, err)
				}
			}
			if _, err := c.PublishVersion(ctx, tl.ID, amigo.PublishRequest{ProjectPath: "tools/" + tool, BumpType: amigo.BumpPatch}); err != nil {
				t.Fatalf("serial loop: publish %s in %s: %v", tool, st, err)
			}
		}
	}
	return time.Since(start)
}

// row is one line of the scaling table.
type row struct {
	Tools, Others int
	Limiter       amigotest.RateLimiter
	Plain         result // no history: today's test order
	WithHistory   result // the second release, ordered by the first one's durations
	Serial        time.Duration
	OwnBound      time.Duration // for Plain's test order
	HistOwnBound  time.Duration // for WithHistory's test order
	BestBound     time.Duration
}

// simulateRow runs the row's releases in one bubble: the first without
// history, the second (every tool changed again, the same build times)
// with the first one's report as history; then the serial loop on fresh
// servers.
func simulateRow(t *testing.T, tools, others int, limiter amigotest.RateLimiter, serial bool) row {
	w := newWork(tools, 42)
	r := newRepo(t, w.names())
	rw := row{Tools: tools, Others: others, Limiter: limiter, BestBound: w.bestBound()}
	synctestRun(t, func(t *testing.T) {
		s := newServers(t, clock.Real{}, r, w, others, limiter)
		rw.Plain = release(t, r, s, nil)
		r.moveTo(t, r.c2)
		rw.WithHistory = release(t, r, s, rw.Plain.Report)
		r.moveTo(t, r.c1)
	})
	rw.OwnBound = w.bound(rw.Plain.Order)
	rw.HistOwnBound = w.bound(rw.WithHistory.Order)
	if serial {
		synctestRun(t, func(t *testing.T) {
			s := newServers(t, clock.Real{}, r, w, others, limiter)
			names := w.names()
			sort.Strings(names)
			rw.Serial = serialLoop(t, s, names)
		})
	}
	return rw
}
