package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// The benchmark workload (issue 4, Performance): 12 changed tools, 4 stages
// in a chain (us → eu → ap → ca), a test gate on the first stage, the
// documented rate limits on every emulator (test-tool 1/min), and a publish
// that takes 1–5 simulated minutes. A publish's duration is a property of
// the tool and the stage (its build), drawn once from a seeded uniform
// distribution, so that every schedule faces the same work; the pipeline
// does not know them.
const (
	benchTools = 12
	// benchScale makes a simulated minute take one real second: the client
	// pacer's 5% margin on test-tool (3 simulated seconds) is then 50 real
	// ms, well above scheduling jitter, and a stall of the machine shows
	// as little simulated time. The serial run, which never comes near a
	// rate limit, runs ten times faster.
	benchScale       = 60
	benchSerialScale = 600
	benchTestTime    = 10 * time.Second
	benchSeed        = 42
	testInterval     = time.Minute // documented: test-tool 1 request per minute
)

var benchStages = []string{"us", "eu", "ap", "ca"}

// benchWork is the drawn publish durations: work[tool][stage].
type benchWork map[string]map[string]time.Duration

func newBenchWork(seed int64) benchWork {
	rng := rand.New(rand.NewSource(seed))
	w := benchWork{}
	for i := 1; i <= benchTools; i++ {
		name := fmt.Sprintf("tool_%02d", i)
		w[name] = map[string]time.Duration{}
		for _, st := range benchStages {
			w[name][st] = (time.Minute + time.Duration(rng.Int63n(int64(4*time.Minute)))).Round(time.Second)
		}
	}
	return w
}

// chain is a tool's total publish time over the stages.
func (w benchWork) chain(tool string) time.Duration {
	var d time.Duration
	for _, st := range benchStages {
		d += w[tool][st]
	}
	return d
}

// lowerBound is the critical path for tools tested in order: the k-th test
// (0-based) cannot start before k test intervals after the run starts (one
// test-tool a minute on the first stage's server: the emulator's bucket
// holds one call and refills one a minute), takes benchTestTime, and the
// tool's four publishes then run one after the other (each stage needs the
// one before; the us publish needs the test). The makespan of any schedule
// that tests in this order is at least the largest of these sums. The bound
// leaves out everything else a run does (analysis, ensure, list, verify,
// HTTP), so it is a true lower bound, not an estimate.
func (w benchWork) lowerBound(order []string) time.Duration {
	var lb time.Duration
	for k, tool := range order {
		if d := time.Duration(k)*testInterval + benchTestTime + w.chain(tool); d > lb {
			lb = d
		}
	}
	return lb
}

// strictBound is the lowest lowerBound over every test order: longest chain
// first (an exchange argument: swapping an adjacent pair out of that order
// never lowers the maximum). No schedule, even one that knew every build
// time in advance, can finish earlier.
func (w benchWork) strictBound() time.Duration {
	var names []string
	for n := range w {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return w.chain(names[i]) > w.chain(names[j]) })
	return w.lowerBound(names)
}

// serialTime is the work of a serial run: every test and every publish one
// after the other (tests are then far more than a minute apart).
func (w benchWork) serialTime() time.Duration {
	var d time.Duration
	for n := range w {
		d += benchTestTime + w.chain(n)
	}
	return d
}

// delayPublish holds each publish for its tool's build time in this stage
// before the emulator (configured with no publish latency of its own) does
// the work.
type delayPublish struct {
	srv   *amigotest.Server
	clk   clock.Clock
	stage string
	work  benchWork
}

func (d delayPublish) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/version") {
		parts := strings.Split(r.URL.Path, "/") // /v1/{org}/tool/{id}/version
		if len(parts) == 6 {
			for _, t := range d.srv.Tools(parts[2]) {
				if t.ID == parts[4] {
					_ = d.clk.Sleep(r.Context(), d.work[t.Name][d.stage])
				}
			}
		}
	}
	d.srv.ServeHTTP(w, r)
}

// benchEnv is a repository with the 12 tools and one emulator per stage.
type benchEnv struct {
	h    *harness
	plan *promote.Plan
}

// newBenchEnv builds the workload's repository and emulators; concurrency
// is every stage's concurrency (0: the plan default).
func newBenchEnv(b testing.TB, work benchWork, concurrency int, scale float64) *benchEnv {
	b.Helper()
	h := &harness{t: b, dir: b.TempDir(), stages: benchStages, log: &bytes.Buffer{},
		env: map[string]string{"AMIGO_API_KEY": "ak-bench", "AMIGO_API_KEY_ID": "kid", "AMIGO_USER_ID": "releaser"},
		clk: clock.NewScaled(scale), servers: map[string]*amigotest.Server{}}
	h.git("init", "-q", "-b", "main")
	files := map[string]string{}
	for name := range work {
		files = merge(files, project(name, ""))
	}
	h.commit("feat: twelve tools", files)
	urls := map[string]string{}
	for i, st := range benchStages {
		srv := amigotest.New(amigotest.Options{Clock: h.clk, RepoPath: h.dir, Seed: int64(i + 1),
			PublishLatency: amigotest.Fixed(0), TestLatency: amigotest.Fixed(benchTestTime)})
		hs := httptest.NewServer(delayPublish{srv: srv, clk: h.clk, stage: st, work: work})
		b.Cleanup(hs.Close)
		b.Cleanup(srv.Close)
		h.servers[st] = srv
		urls[st] = hs.URL
	}
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndiscovery:\n  roots: [tools]\ndefaults:\n  organization: %s\n", org)
	if concurrency > 0 {
		fmt.Fprintf(&y, "  concurrency: %d\n", concurrency)
	}
	y.WriteString("stages:\n")
	for i, st := range benchStages {
		fmt.Fprintf(&y, "  - name: %s\n    base_url: %s\n", st, urls[st])
		if i == 0 {
			y.WriteString("    test: true\n")
		}
	}
	plan, err := promote.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return &benchEnv{h: h, plan: plan}
}

func (e *benchEnv) run(b testing.TB, tools []string) *pipeline.Report {
	b.Helper()
	rep, err := pipeline.Run(context.Background(), pipeline.Options{
		Plan: e.plan, RepoPath: e.h.dir, Clock: e.h.clk, Tools: tools,
		Getenv: func(k string) string { return e.h.env[k] },
		Logger: pipeline.NewTextLogger(e.h.log),
	})
	if err != nil {
		b.Fatalf("run: %v\n%s", err, e.h.log)
	}
	return rep
}

// count429 counts the 429 answers every emulator gave and says which.
func (e *benchEnv) count429() (int, []string) {
	n := 0
	var which []string
	for name, srv := range e.h.servers {
		for _, r := range srv.Requests() {
			if r.Status == http.StatusTooManyRequests {
				n++
				which = append(which, fmt.Sprintf("%s %s %s at %s", name, r.OperationID, r.Path, r.Time.Format("15:04:05.000")))
			}
		}
	}
	return n, which
}

// testOrder is the order in which the run's tests went out: a tool's first
// stage starts right after its test result arrives.
func testOrder(rep *pipeline.Report) []string {
	type st struct {
		name string
		at   time.Time
	}
	var list []st
	for _, t := range rep.Tools {
		list = append(list, st{t.Name, t.Stages[0].StartedAt})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].at.Before(list[j].at) })
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.name
	}
	return out
}

// BenchmarkRun_12Tools4Stages measures the makespan (simulated time) of
// one run of the workload (concurrency 16 per stage, so that no stage slot
// is ever what a tool waits for) against the critical-path lower bounds,
// counts 429 answers, measures a serial run (one tool at a time, stage
// after stage, concurrency 1) of the same work for the speed-up, and the
// makespan with the plan's default concurrency (4 per stage).
func BenchmarkRun_12Tools4Stages(b *testing.B) {
	work := newBenchWork(benchSeed)
	for i := 0; i < b.N; i++ {
		env := newBenchEnv(b, work, 16, benchScale)
		rep := env.run(b, nil)
		if !rep.OK() || len(rep.Tools) != benchTools {
			b.Fatalf("run not OK: %d tools\n%s", len(rep.Tools), env.h.log)
		}
		makespan := rep.FinishedAt.Sub(rep.StartedAt)
		strict := work.strictBound()
		ordered := work.lowerBound(testOrder(rep))
		b.ReportMetric(makespan.Minutes(), "makespan-min")
		b.ReportMetric(strict.Minutes(), "bound-min")
		b.ReportMetric(makespan.Minutes()/strict.Minutes(), "x-bound")
		b.ReportMetric(ordered.Minutes(), "order-bound-min")
		b.ReportMetric(makespan.Minutes()/ordered.Minutes(), "x-order-bound")
		b.ReportMetric(blindOrderGap(1000), "blind-order-gap")
		n429, which := env.count429()
		b.ReportMetric(float64(n429), "429s")
		for _, w := range which {
			b.Logf("429: %s", w)
		}
		if testing.Short() {
			continue
		}
		serialEnv := newBenchEnv(b, work, 1, benchSerialScale)
		var serial time.Duration
		for _, tool := range testOrder(rep) {
			r := serialEnv.run(b, []string{tool})
			if !r.OK() {
				b.Fatalf("serial run of %s not OK\n%s", tool, serialEnv.h.log)
			}
			serial += r.FinishedAt.Sub(r.StartedAt)
		}
		b.ReportMetric(serial.Minutes(), "serial-min")
		b.ReportMetric(work.serialTime().Minutes(), "serial-work-min")
		b.ReportMetric(serial.Minutes()/makespan.Minutes(), "speedup")
		b.ReportMetric(work.serialTime().Minutes()/makespan.Minutes(), "speedup-work")

		defEnv := newBenchEnv(b, work, 0, benchScale)
		def := defEnv.run(b, nil)
		if !def.OK() {
			b.Fatalf("run with the default concurrency not OK\n%s", defEnv.h.log)
		}
		b.ReportMetric(def.FinishedAt.Sub(def.StartedAt).Minutes(), "default-conc-makespan-min")
		n429, _ = defEnv.count429()
		b.ReportMetric(float64(n429), "default-conc-429s")
	}
}

// blindOrderGap is the mean, over seeds workloads, of the order bound for
// tools tested in name order divided by the strict bound: what testing in
// an order chosen without knowing build times costs on average, whatever
// the scheduler does afterwards.
func blindOrderGap(seeds int) float64 {
	sum := 0.0
	for seed := 1; seed <= seeds; seed++ {
		w := newBenchWork(int64(seed))
		var names []string
		for n := range w {
			names = append(names, n)
		}
		sort.Strings(names)
		sum += w.lowerBound(names).Minutes() / w.strictBound().Minutes()
	}
	return sum / float64(seeds)
}
