package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// org is the organization every test stage releases to.
const org = "acme"

// testScale makes a simulated minute take 10 real milliseconds.
const testScale = 6000

// harness is a real git repository in a temp dir, one emulator per stage
// (each reading that repository) and the environment a run sees.
type harness struct {
	t       testing.TB
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
	if len(stages) == 0 {
		stages = []string{"us"}
	}
	h := &harness{t: t, dir: t.TempDir(), stages: stages, log: &bytes.Buffer{}, runTimeout: 2 * time.Minute,
		env: map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid-1", "AMIGO_USER_ID": "releaser"}}
	h.clk = clock.NewScaled(testScale)
	h.servers = amigotest.NewTestRegions(t, h.emulatorOptions(emu), stages...)
	h.git("init", "-q", "-b", "main")
	return h
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
	if len(stages) == 0 {
		stages = []string{"us"}
	}
	h := &harness{t: t, dir: t.TempDir(), stages: stages, log: &bytes.Buffer{}, runTimeout: 24 * time.Hour,
		env: map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid-1", "AMIGO_USER_ID": "releaser"}}
	h.clk = clock.Real{}
	h.net = amigotest.NewPipeNet()
	t.Cleanup(h.net.Close)
	h.servers = map[string]*amigotest.Server{}
	for i, name := range stages {
		o := h.emulatorOptions(emu)
		if o.Seed == 0 {
			o.Seed = 1
		}
		o.Seed += int64(i) * 7919 // as NewTestRegions: IDs differ per region
		h.servers[name] = amigotest.NewPipeTestServer(t, h.net, name+".amigo.test:80", o)
	}
	h.git("init", "-q", "-b", "main")
	return h
}

// emulatorOptions fills in the harness' defaults: its clock and repository,
// publishes of 1–2 minutes, tests of 10 seconds.
func (h *harness) emulatorOptions(emu amigotest.Options) amigotest.Options {
	emu.Clock = h.clk
	emu.RepoPath = h.dir
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
	return testkit.Git(h.t, h.dir, args...)
}

// commit writes files (a "" content deletes) and commits them with msg.
func (h *harness) commit(msg string, files map[string]string) string {
	h.t.Helper()
	return testkit.OpenRepo(h.t, h.dir).Commit(msg, files)
}

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
	b.WriteString("stages:\n")
	for _, s := range stages {
		srv := h.servers[s.name]
		if srv == nil {
			h.t.Fatalf("no emulator for stage %s", s.name)
		}
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n", s.name, srv.URL())
		for _, ln := range strings.Split(strings.TrimSpace(s.extra), "\n") {
			if ln != "" {
				b.WriteString("    " + ln + "\n")
			}
		}
	}
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
func (h *harness) versions(stage, tool string) []amigo.ToolVersion {
	h.t.Helper()
	srv := h.servers[stage]
	tl, ok := srv.ToolByName(org, tool)
	if !ok {
		return nil
	}
	vs := srv.Versions(org, tl.ID)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version.Less(vs[j].Version) })
	return vs
}

// active returns tool's non-deprecated version strings in stage.
func (h *harness) active(stage, tool string) []string {
	var out []string
	for _, v := range h.versions(stage, tool) {
		if !v.Deprecated {
			out = append(out, v.Version.String())
		}
	}
	return out
}

// count returns how many logged requests of op the stage's emulator saw,
// optionally only with status.
func (h *harness) count(stage, op string, status int) int {
	n := 0
	for _, r := range h.servers[stage].Requests() {
		if r.OperationID == op && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

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
