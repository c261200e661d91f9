package simbench

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/promote"
)

// The workload (issue 15): changed tools that already exist on every
// stage's server with a released version, four stages in a chain
// (us → eu → ap → ca), a test gate on the first, the documented rate
// limits, a test that takes 10 s and a publish that takes 1–5 minutes. A
// publish's duration is a property of the tool and the stage (its build),
// drawn once from a seeded uniform distribution, so that every schedule
// faces the same work; the pipeline does not know them (unless a history
// of an earlier run tells it).
const (
	org         = "acme"
	testTime    = 10 * time.Second
	testEvery   = time.Minute // documented: test-tool, 1 request a minute
	concurrency = 16          // per stage: no stage slot is what a tool waits for
)

var stages = []string{"us", "eu", "ap", "ca"}

// work is the drawn publish durations: work[tool][stage].
type work map[string]map[string]time.Duration

func toolName(i int) string { return fmt.Sprintf("tool_%03d", i) }

func newWork(tools int, seed int64) work {
	rng := rand.New(rand.NewSource(seed))
	w := work{}
	for i := 1; i <= tools; i++ {
		name := toolName(i)
		w[name] = map[string]time.Duration{}
		for _, st := range stages {
			w[name][st] = (time.Minute + time.Duration(rng.Int63n(int64(4*time.Minute)))).Round(time.Second)
		}
	}
	return w
}

func (w work) names() []string {
	var out []string
	for n := range w {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// chain is a tool's publish time over all stages, one after the other.
func (w work) chain(tool string) time.Duration {
	var d time.Duration
	for _, st := range stages {
		d += w[tool][st]
	}
	return d
}

// bound is the critical path for tools tested in order: the k-th test
// (from 0) cannot start before k minutes into the run (one test-tool call
// a minute on the first stage's server), takes testTime, and the tool's
// publishes then run one after the other. Any schedule that tests in this
// order takes at least the largest of these sums; everything else a run
// does (analysis, HTTP, the pacer's margin) is left out, so it is a true
// lower bound.
func (w work) bound(order []string) time.Duration {
	var lb time.Duration
	for k, tool := range order {
		if d := time.Duration(k)*testEvery + testTime + w.chain(tool); d > lb {
			lb = d
		}
	}
	return lb
}

// bestBound is the lowest bound over every test order: longest chain
// first (swapping an adjacent pair out of that order never lowers the
// maximum). No schedule, even one that knew every build time in advance,
// finishes earlier.
func (w work) bestBound() time.Duration {
	names := w.names()
	sort.SliceStable(names, func(i, j int) bool { return w.chain(names[i]) > w.chain(names[j]) })
	return w.bound(names)
}

// repo is a git repository holding the workload's tool projects, with
// three commits: the one the seeded versions pin, then two releases, each
// touching every tool.
type repo struct {
	dir             string
	seeded, c1, c2  string
	tools           []string
	planFile, token string
}

func newRepo(t testing.TB, tools []string) *repo {
	t.Helper()
	g := testkit.NewRepo(t)
	r := &repo{dir: g.Dir, tools: tools}
	write := func(msg, body string) string {
		files := map[string]string{}
		for _, n := range tools {
			maps.Copy(files, testkit.Project(n, n, ""))
			files["tools/"+n+"/main.py"] = "def run(**kw):\n    return " + body + "\n"
		}
		return g.Commit(msg, files)
	}
	r.seeded = write("feat: the tools", "kw")
	r.c1 = write("fix: first release of the run", "dict(kw)")
	r.c2 = write("fix: second release", "dict(kw, v=2)")
	r.moveTo(t, r.c1)
	return r
}

// moveTo points the team branch (and the work tree) at commit.
func (r *repo) moveTo(t testing.TB, commit string) {
	t.Helper()
	testkit.Git(t, r.dir, "update-ref", "refs/heads/main", commit)
	testkit.Git(t, r.dir, "checkout", "-q", commit)
}

// servers is one emulator per stage, reached in memory (testworld.Sim: no
// sockets, a goroutine waiting on a socket would keep a synctest bubble's
// clock from moving) at http://<stage>.sim, each publish held for the
// workload's build time of the tool in the stage.
type servers struct {
	*testworld.Sim
	byStage map[string]*amigotest.Server
	work    work
}

// seedServer leaves srv as the releases before the benchmark did: every
// tool of r at 1.0.0 of r.seeded, and others unrelated tools.
func seedServer(t testing.TB, srv *amigotest.Server, r *repo, others int) {
	t.Helper()
	for _, n := range r.tools {
		testworld.Seed(t, srv, org, n, "tools/"+n, "1.0.0@"+r.seeded)
	}
	for k := 0; k < others; k++ {
		if _, err := srv.AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("other_%03d", k)}); err != nil {
			t.Fatal(err)
		}
	}
}

// newServers makes the emulators on clk (clock.Real{} in a bubble: the
// bubble's fake time) and seeds them: every workload tool with version
// 1.0.0 of seeded, and others unrelated tools.
func newServers(t testing.TB, clk clock.Clock, r *repo, w work, others int, limiter amigotest.RateLimiter) *servers {
	t.Helper()
	s := &servers{Sim: &testworld.Sim{Servers: map[string]*amigotest.Server{},
		Publish: func(tool, stage string) time.Duration { return w[tool][stage] }}, work: w}
	s.byStage = s.Servers
	for i, st := range stages {
		srv := amigotest.New(amigotest.Options{Clock: clk, RepoPath: r.dir, Seed: int64(i + 1), RateLimiter: limiter,
			PublishLatency: amigotest.Fixed(0), TestLatency: amigotest.Fixed(testTime)})
		t.Cleanup(srv.Close)
		seedServer(t, srv, r, others)
		s.byStage[st] = srv
	}
	return s
}

// URL is the base URL of a stage.
func URL(stage string) string { return testworld.SimURL(stage) }

// counts sums the request logs: every request, the 429s among them, and
// the requests per operation.
func (s *servers) counts() (all, n429 int, byOp map[string]int) {
	byOp = map[string]int{}
	for _, srv := range s.byStage {
		for _, r := range srv.Requests() {
			all++
			byOp[r.OperationID]++
			if r.Status == http.StatusTooManyRequests {
				n429++
			}
		}
	}
	return all, n429, byOp
}

// testsOK is the test-tool calls that were answered 200, in order.
func (s *servers) testsOK() []testworld.TestCall {
	var out []testworld.TestCall
	for _, c := range s.Tests() {
		if c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// planYAML is the release plan of the workload.
func planYAML() string {
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndiscovery:\n  roots: [tools]\ndefaults:\n  organization: %s\n  concurrency: %d\nstages:\n", org, concurrency)
	for i, st := range stages {
		fmt.Fprintf(&y, "  - name: %s\n    base_url: %s\n", st, URL(st))
		if i == 0 {
			y.WriteString("    test: true\n")
		}
	}
	return y.String()
}

func parsePlan(t testing.TB) *promote.Plan {
	t.Helper()
	p, err := promote.Parse("release.yaml", []byte(planYAML()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var creds = map[string]string{"AMIGO_API_KEY": "ak-simbench-0123456789", "AMIGO_API_KEY_ID": "kid", "AMIGO_USER_ID": "releaser"}

func getenv(k string) string { return creds[k] }

// ctxFor is a context for one simulated run: generous, in simulated time.
func ctxFor(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), 48*time.Hour)
}
