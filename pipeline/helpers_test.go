package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// org is the organization every test stage releases to.
const org = testworld.Org

// testScale makes a simulated minute take 10 real milliseconds.
const testScale = 6000

// harness is a test world (testworld: a real git repository in a temp
// dir, one emulator per stage reading that repository) and the
// environment a run sees. dir, clk, servers, stages and net are the
// world's.
type harness struct {
	t       testing.TB
	w       *testworld.World // nil for a sim's harness (newSimRepo)
	repo    *testkit.Repo
	dir     string
	clk     clock.Clock
	servers map[string]*amigotest.Server
	stages  []string
	env     map[string]string
	log     *bytes.Buffer
	// net is the in-memory network of a harness in a synctest bubble
	// (newBubbleHarness), nil over TCP.
	net *amigotest.PipeNet
	// runTimeout bounds each run (in the bubble, of simulated time).
	runTimeout time.Duration
}

func newHarness(t testing.TB, emu amigotest.Options, stages ...string) *harness {
	t.Helper()
	return startHarness(t, testworld.Options{Stages: stages, Emulator: emu, Clock: clock.NewScaled(testScale)}, 2*time.Minute)
}

// newBubbleHarness is newHarness for a test that runs inside a
// testing/synctest bubble (synctest.Test): the emulators serve on an
// in-memory network (amigotest.PipeNet) and everything runs on
// clock.Real, which in the bubble is the bubble's fake clock: it moves only
// while every goroutine of the bubble waits. Simulated time then owes
// nothing to real time, so a retry budget or a window of simulated minutes
// means the same however loaded the machine is (on the scaled clock, 5
// simulated minutes are 50 ms of real time, which a loaded machine can
// spend between two lines of code). Runs made with h.run, h.runErr and
// h.runAsync use the in-memory network; a test that builds its own
// ClientFactory uses h.clientConfig.
func newBubbleHarness(t *testing.T, emu amigotest.Options, stages ...string) *harness {
	t.Helper()
	net := amigotest.NewPipeNet()
	t.Cleanup(net.Close)
	return startHarness(t, testworld.Options{Stages: stages, Emulator: emu, Clock: clock.Real{}, Net: net}, 24*time.Hour)
}

// startHarness starts the world of o with the harness' emulator defaults.
func startHarness(t testing.TB, o testworld.Options, runTimeout time.Duration) *harness {
	t.Helper()
	o.Emulator = emulatorDefaults(o.Emulator)
	w := testworld.New(t, o)
	return &harness{t: t, w: w, repo: w.Repo, dir: w.Dir, clk: w.Clock, servers: w.Servers, stages: w.Stages, net: w.Net,
		log: &bytes.Buffer{}, runTimeout: runTimeout,
		env: map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid-1", "AMIGO_USER_ID": "releaser"}}
}

// emulatorDefaults fills in the harness' defaults: publishes of 1–2
// minutes, tests of 10 seconds.
func emulatorDefaults(emu amigotest.Options) amigotest.Options {
	if emu.PublishLatency.Func == nil && emu.PublishLatency.Max == 0 {
		emu.PublishLatency = amigotest.Uniform(time.Minute, 2*time.Minute)
	}
	if emu.TestLatency.Func == nil && emu.TestLatency.Max == 0 {
		emu.TestLatency = amigotest.Fixed(10 * time.Second)
	}
	return emu
}

// clientConfig is the ClientConfig of a run's clients: the harness'
// environment and clock, and its in-memory network in a bubble.
func (h *harness) clientConfig() pipeline.ClientConfig {
	cfg := pipeline.ClientConfig{Getenv: func(k string) string { return h.env[k] }, Clock: h.clk}
	if h.net != nil {
		cfg.HTTPClient = h.net.Client()
	}
	return cfg
}

// git runs git in the repository with a fixed identity.
func (h *harness) git(args ...string) string {
	h.t.Helper()
	return h.repo.Git(args...)
}

// commit writes files (a "" content deletes) and commits them with msg.
func (h *harness) commit(msg string, files map[string]string) string {
	h.t.Helper()
	return h.repo.Commit(msg, files)
}

// seed leaves tool (project tools/<tool>) and its versions "X.Y.Z@commit"
// in stage as an earlier release would have, and returns its ID.
func (h *harness) seed(stage, tool string, versions ...string) string {
	h.t.Helper()
	return h.w.Seed(stage, tool, "tools/"+tool, versions...)
}

// weatherSecretKey is a plan's tools: section that gives the weather tool
// the secret WEATHER_API_KEY from the environment variable
// WEATHER_KEY_PROD.
const weatherSecretKey = `tools:
  weather:
    envvars:
      - name: WEATHER_API_KEY
        from_env: WEATHER_KEY_PROD
        secret: true
`

// stageSpec is one stage of a generated plan.
type stageSpec struct {
	name  string
	extra string // more YAML keys for the stage, each line indented by 4
}

// plan writes a plan whose stages point at the harness' emulators and
// parses it. Stage names must be harness stages. top is YAML placed before
// stages (e.g. a tools: section goes in tail).
func (h *harness) plan(top string, stages []stageSpec, tail string) *promote.Plan {
	h.t.Helper()
	return h.parse(h.planText(top, stages, tail))
}

// parse parses a plan's text.
func (h *harness) parse(text string) *promote.Plan {
	h.t.Helper()
	p, err := promote.Parse("release.yaml", []byte(text))
	if err != nil {
		h.t.Fatalf("plan:\n%s\n%v", text, err)
	}
	return p
}

// planText is the text of plan's plan file.
func (h *harness) planText(top string, stages []stageSpec, tail string) string {
	h.t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\ndiscovery:\n  roots: [tools]\n")
	b.WriteString("publish:\n  retry_budget: 6h\n  initial_interval: 10s\n  max_interval: 1m\n")
	b.WriteString("defaults:\n  organization: " + org + "\n  branch: main\n  concurrency: 16\n")
	b.WriteString(top)
	names, extra := make([]string, len(stages)), map[string]string{}
	for i, s := range stages {
		if h.servers[s.name] == nil {
			h.t.Fatalf("no emulator for stage %s", s.name)
		}
		names[i], extra[s.name] = s.name, s.extra
	}
	b.WriteString(h.w.StagesYAML(names, extra))
	b.WriteString(tail)
	return b.String()
}

// chain is a plan of every harness stage in order, the first test-gated.
func (h *harness) chain(tail string) *promote.Plan {
	specs := make([]stageSpec, len(h.stages))
	for i, n := range h.stages {
		specs[i] = stageSpec{name: n}
	}
	specs[0].extra = "test: true"
	return h.plan("", specs, tail)
}

// run runs the pipeline with the harness' environment; mutate adjusts the
// options.
func (h *harness) run(plan *promote.Plan, mutate func(*pipeline.Options)) *pipeline.Report {
	h.t.Helper()
	rep, err := h.runErr(plan, mutate)
	if err != nil {
		h.t.Fatalf("Run: %v\nlog:\n%s", err, h.log)
	}
	return rep
}

// runAsync starts Run in the background (no logger: h.log stays readable
// while it runs); its report arrives on the channel.
func (h *harness) runAsync(ctx context.Context, plan *promote.Plan) <-chan *pipeline.Report {
	done := make(chan *pipeline.Report, 1)
	opts := pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Getenv: func(k string) string { return h.env[k] }}
	if h.net != nil {
		opts.Clients = pipeline.DefaultClientFactory(h.clientConfig())
	}
	go func() {
		rep, _ := pipeline.Run(ctx, opts)
		done <- rep
	}()
	return done
}

// waitFor polls cond every millisecond for up to 30 s (of wall time; in a
// bubble, of the bubble's clock) and fails the test with what if it never
// holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatal(what)
		}
	}
}

// publishing is a waitFor condition: the test gate passed in stage and its
// emulator is building tool.
func (h *harness) publishing(stage, tool string) func() bool {
	return func() bool {
		return h.count(stage, amigotest.OpTestTool, 200) > 0 && h.servers[stage].Busy(org, toolID(h, stage, tool))
	}
}

// runErr is run returning Run's error.
func (h *harness) runErr(plan *promote.Plan, mutate func(*pipeline.Options)) (*pipeline.Report, error) {
	h.t.Helper()
	opts := pipeline.Options{
		Plan:     plan,
		RepoPath: h.dir,
		Clock:    h.clk,
		Getenv:   func(k string) string { return h.env[k] },
		Logger:   pipeline.NewTextLogger(h.log),
	}
	if h.net != nil {
		opts.Clients = pipeline.DefaultClientFactory(h.clientConfig())
	}
	if mutate != nil {
		mutate(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.runTimeout)
	defer cancel()
	return pipeline.Run(ctx, opts)
}

// versions returns tool's versions in stage (all, deprecated included),
// oldest first.
func (h *harness) versions(stage, tool string) []amigo.ToolVersion { return h.w.Versions(stage, tool) }

// active returns tool's non-deprecated version strings in stage.
func (h *harness) active(stage, tool string) []string { return h.w.Active(stage, tool) }

// count returns how many logged requests of op the stage's emulator saw,
// optionally only with status.
func (h *harness) count(stage, op string, status int) int { return h.w.Count(stage, op, status) }

// tool returns the report entry of name.
func tool(t testing.TB, rep *pipeline.Report, name string) pipeline.ToolReport {
	t.Helper()
	for _, tr := range rep.Tools {
		if tr.Name == name {
			return tr
		}
	}
	t.Fatalf("tool %s not in report (tools: %v)", name, toolNames(rep))
	return pipeline.ToolReport{}
}

func toolNames(rep *pipeline.Report) []string {
	var out []string
	for _, tr := range rep.Tools {
		out = append(out, tr.Name+"="+string(tr.Status))
	}
	return out
}

// stage returns the report of tool in stage.
func stage(t testing.TB, tr pipeline.ToolReport, name string) pipeline.StageReport {
	t.Helper()
	for _, s := range tr.Stages {
		if s.Stage == name {
			return s
		}
	}
	t.Fatalf("stage %s not in %s's report", name, tr.Name)
	return pipeline.StageReport{}
}

// sim runs releases on simulated time: in a testing/synctest bubble the
// clock moves only when every goroutine waits, so timings are exact and do
// not depend on the machine's load. The emulators (one per stage, at
// http://<stage>.sim) are reached through an in-memory transport: a
// goroutine waiting on a socket would keep the bubble's clock still.
type sim struct {
	*testworld.Sim
	t       *testing.T
	h       *harness // the repository and environment (its servers are unused)
	servers map[string]*amigotest.Server
}

// newSimRepo is a harness for a sim: its repository and environment, made
// outside the bubble (git runs as a process).
func newSimRepo(t *testing.T, stages ...string) *harness {
	repo := testkit.NewRepo(t)
	return &harness{t: t, repo: repo, dir: repo.Dir, stages: stages, log: &bytes.Buffer{},
		env: map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid-1", "AMIGO_USER_ID": "releaser"}}
}

// weatherFixed is a sim's repository (stages us and eu) where the weather
// tool was added (first) and fixed since (head).
func weatherFixed(t *testing.T) (h *harness, first, head string) {
	h = newSimRepo(t, "us", "eu")
	first = h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	head = h.commit("fix: weather", testkit.Touch("weather", "fixed"))
	return h, first, head
}

// seededRun starts a sim (inside the bubble) whose emulators serve names
// at 1.0.0 of first, and runs its plan, which must succeed.
func seededRun(t *testing.T, h *harness, first string, names ...string) (*sim, *pipeline.Report) {
	t.Helper()
	s := newSim(t, h, amigotest.Options{})
	s.seed(first, names...)
	rep := s.run(s.plan(""), nil)
	if !rep.OK() {
		t.Fatalf("not OK:\n%s", h.log)
	}
	return s, rep
}

// newSim starts the emulators; call it inside the bubble.
func newSim(t *testing.T, h *harness, emu amigotest.Options) *sim {
	s := &sim{Sim: &testworld.Sim{Servers: map[string]*amigotest.Server{}, Publish: func(string, string) time.Duration { return 2 * time.Minute }},
		t: t, h: h}
	s.servers = s.Servers
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
	var out []string
	for _, c := range s.Tests() {
		if c.Status == http.StatusOK {
			out = append(out, strings.TrimPrefix(c.Project, "tools/"))
		}
	}
	return out
}

// requests counts the requests of op all servers saw (every status).
func (s *sim) requests(op string) int { return s.Count(op) }

// toolID is the ID of tool name in stage ("" when there is none).
func toolID(h *harness, stage, name string) string {
	tl, _ := h.servers[stage].ToolByName(org, name)
	return tl.ID
}
