package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// campaignScale compresses time in the campaign: a simulated minute takes
// 10 real milliseconds.
const campaignScale = 6000

// chaos is a seed's fault mix, per request and per region, drawn from rng:
// 409 (where documented) 10–60%, 429 5–20%, 503 5–20%, 30 s of latency
// 10–30%, connection dropped after the work 2–10%. Roughly half of all
// requests get a fault of some kind.
func chaos(rng *rand.Rand, seed int64) *amigotest.Chaos {
	between := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }
	return &amigotest.Chaos{Seed: seed, Conflict: between(0.1, 0.6), RateLimit: between(0.05, 0.2), Unavailable: between(0.05, 0.2),
		Latency: between(0.1, 0.3), Drop: between(0.02, 0.1), LatencyDuration: 30 * time.Second}
}

// campaignSeeds is how many seeds run: AMIGO_FAULT_SEEDS, else 5 under
// -short and 12 otherwise.
func campaignSeeds(t *testing.T) int {
	if s := os.Getenv("AMIGO_FAULT_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AMIGO_FAULT_SEEDS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 5
	}
	return 12
}

// tally adds up what every seed saw.
type tally struct {
	mu              sync.Mutex
	seeds           int
	faults          map[string]int
	clientEvents    map[amigo.EventKind]int
	publishAttempts int
	publishRetries  int
	reconciled      int
	capPrunes       int
	pruned          int
	toolsReleased   int // by the faulty run
	toolsFailed     int // by the faulty run, left for the rerun
	rerunsShort     int // seeds whose rerun did not complete
	violations      int
}

func (ta *tally) add(f func(*tally)) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	f(ta)
}

// TestFaultCampaign runs the whole pipeline (in-process, against four
// emulators over real HTTP) once per seed under a high rate of random
// faults, then checks invariants against the emulators' own state, not
// against the report:
//
//  1. no commit is published twice in a stage;
//  2. no deprecated version is among a stage's newest active_cap versions
//     or its pinned ones (except one the report names as pruned to make
//     room for a publish that then failed: the API forces that prune);
//  3. every tool stage the report calls released (or up to date) serves
//     the reported version, pinned to the head commit;
//  4. the report's failures are exactly what is not released: a stage not
//     reported released has no live version of the head commit, unless
//     it failed after publishing (verify, smoke) and the report names the
//     published version; a tool the report does not list is served
//     exactly as before the run;
//  5. a second run without faults completes the release (and 1–4 hold
//     again).
//
// Reproduce one seed (the seed must be within AMIGO_FAULT_SEEDS):
//
//	AMIGO_FAULT_SEEDS=17 go test ./e2e -run 'TestFaultCampaign/seeds/seed-17$' -v
func TestFaultCampaign(t *testing.T) {
	n := campaignSeeds(t)
	ta := &tally{faults: map[string]int{}, clientEvents: map[amigo.EventKind]int{}}
	start := time.Now()
	t.Run("seeds", func(t *testing.T) {
		for i := 1; i <= n; i++ {
			seed := int64(i)
			t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
				t.Parallel()
				runSeed(t, seed, ta)
			})
		}
	})
	wall := time.Since(start)
	var kinds []string
	for k := range ta.faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var fk []string
	total := 0
	for _, k := range kinds {
		fk = append(fk, fmt.Sprintf("%s=%d", k, ta.faults[k]))
		total += ta.faults[k]
	}
	t.Logf("fault campaign: seeds=%d wall=%s", ta.seeds, wall.Round(time.Millisecond))
	t.Logf("fault campaign: faults injected=%d (%s)", total, strings.Join(fk, " "))
	t.Logf("fault campaign: client retries=%d 429s-seen=%d unknown-outcomes=%d reauths=%d",
		ta.clientEvents[amigo.EventRetry], ta.clientEvents[amigo.EventRateLimited], ta.clientEvents[amigo.EventUnknownOutcome], ta.clientEvents[amigo.EventReauth])
	t.Logf("fault campaign: publish attempts=%d publish retries=%d reconciliations=%d cap-prunes=%d pruned=%d",
		ta.publishAttempts, ta.publishRetries, ta.reconciled, ta.capPrunes, ta.pruned)
	t.Logf("fault campaign: faulty runs released %d tools fully and left %d for the rerun; reruns that did not complete=%d; invariant violations=%d",
		ta.toolsReleased, ta.toolsFailed, ta.rerunsShort, ta.violations)
}

// campaignTool is one generated tool project.
type campaignTool struct {
	name, dir string
	seeded    []string // existing versions in every region, oldest first
	envvar    bool     // requires API_URL (value from the project's metadata)
}

// runSeed is one seed: a fresh repository and four fresh emulators.
func runSeed(t *testing.T, seed int64, ta *tally) {
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	clk := clock.NewScaled(campaignScale)
	cluster, err := demo.StartCluster(demo.ClusterOptions{Emulator: amigotest.Options{
		Clock:          clk,
		RepoPath:       dir,
		Seed:           seed,
		PublishLatency: amigotest.Uniform(time.Minute, 3*time.Minute),
		TestLatency:    amigotest.Fixed(10 * time.Second),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()

	// The repository: tools, four commits that the seeded versions stand
	// for, then random Conventional (and not) commits.
	repo, err := demo.InitRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	letters := "abcdefgh"
	var tools []campaignTool
	files := map[string]string{"README.md": "# seed " + fmt.Sprint(seed) + "\n"}
	for i := 0; i < 3+rng.Intn(3); i++ {
		ct := campaignTool{name: "tool_" + letters[i:i+1], dir: "tools/" + letters[i:i+1], envvar: rng.Intn(2) == 0}
		if rng.Intn(3) > 0 {
			// Up to four active versions: the API refuses a publish beyond
			// three, so four make the release prune one first (a state a
			// failed prune or a pin leaves behind).
			ct.seeded = []string{"1.0.0", "1.1.0", "2.0.0", "2.1.0"}[:1+rng.Intn(4)]
		}
		tools = append(tools, ct)
		toml := fmt.Sprintf("[project]\nname = %q\n\n[tool.amigo]\ninput_schema = { type = \"object\", required = [\"q\"], properties = { q = { type = \"string\" } } }\n", ct.name)
		if ct.envvar {
			toml += "required_envvars = [\"API_URL\"]\n"
		}
		toml += "\n[tool.amigo-release]\n"
		if ct.envvar {
			toml += "[[tool.amigo-release.envvars]]\nname = \"API_URL\"\nvalue = \"https://" + ct.name + ".example\"\n\n"
		}
		toml += "[[tool.amigo-release.test_inputs]]\ninput_parameters = { q = \"seed " + fmt.Sprint(seed) + "\" }\n"
		files[ct.dir+"/pyproject.toml"] = toml
		files[ct.dir+"/main.py"] = "def run(q):\n    return q\n"
	}
	var history []string
	commit := func(msg string, files map[string]string) {
		sha, err := repo.Commit(msg, files)
		if err != nil {
			t.Fatal(err)
		}
		history = append(history, sha)
	}
	commit("feat: import", files)
	commit("chore: second", map[string]string{"README.md": "# two\n"})
	commit("chore: third", map[string]string{"README.md": "# three\n"})
	commit("chore: fourth", map[string]string{"README.md": "# four\n"})
	const early = 4 // commits the seeded versions stand for
	messages := []string{"feat(%s): more", "fix(%s): less", "perf(%s): faster", "docs(%s): words", "feat(%s)!: break", "Tweak %s", "refactor(%s): tidy\n\nBREAKING CHANGE: gone"}
	for i := 0; i < 2+rng.Intn(4); i++ {
		ct := tools[rng.Intn(len(tools))]
		commit(fmt.Sprintf(messages[rng.Intn(len(messages))], ct.name), map[string]string{ct.dir + "/main.py": fmt.Sprintf("def run(q):\n    return q * %d\n", i+2)})
	}
	head := history[len(history)-1]

	// The plan: us (test gate) → eu → ap, ca; random caps and a pin.
	caps := map[string]int{}
	for _, s := range []string{"us", "eu", "ap", "ca"} {
		caps[s] = 2 + rng.Intn(2)
	}
	pins := map[string]map[string]string{} // stage → tool → version
	for _, ct := range tools {
		if len(ct.seeded) >= 2 && rng.Intn(2) == 0 {
			s := []string{"us", "eu", "ap", "ca"}[rng.Intn(4)]
			if pins[s] == nil {
				pins[s] = map[string]string{}
			}
			pins[s][ct.name] = ct.seeded[0]
		}
	}
	var pb strings.Builder
	pb.WriteString("version: 1\ndiscovery:\n  roots: [tools]\n")
	// A short publish retry budget in some seeds lets 409 storms win, so
	// that reruns have work to finish.
	fmt.Fprintf(&pb, "publish:\n  retry_budget: %s\n  initial_interval: 10s\n  max_interval: 1m\n", []string{"30s", "2m", "30m"}[rng.Intn(3)])
	pb.WriteString("defaults:\n  organization: " + org + "\n  branch: main\n  concurrency: 8\n")
	pb.WriteString("stages:\n")
	for _, s := range []string{"us", "eu", "ap", "ca"} {
		fmt.Fprintf(&pb, "  - name: %s\n    base_url: %s\n    active_cap: %d\n", s, cluster.URL(stageRegion[s]), caps[s])
		switch s {
		case "us":
			pb.WriteString("    test: true\n    smoke: true\n")
		case "eu":
			pb.WriteString("    soak: 1m\n")
		case "ca":
			pb.WriteString("    needs: [eu]\n")
		}
		if len(pins[s]) > 0 {
			pb.WriteString("    keep:\n")
			for tool, v := range pins[s] {
				fmt.Fprintf(&pb, "      %s: [%q]\n", tool, v)
			}
		}
	}
	plan, err := promote.Parse("release.yaml", []byte(pb.String()))
	if err != nil {
		t.Fatalf("plan:\n%s\n%v", pb.String(), err)
	}

	// Seed the existing versions in every region, each pinned to its own
	// early commit; the newest to the last one (the last release).
	for _, region := range cluster.Names {
		srv := cluster.Servers[region]
		for _, ct := range tools {
			if len(ct.seeded) == 0 {
				continue
			}
			st := amigotest.SeedTool{Name: ct.name}
			var req []string
			if ct.envvar {
				st.Envvars = []amigotest.Envvar{{Name: "API_URL", Value: "https://old.example"}}
				req = []string{"API_URL"}
			}
			id, err := srv.AddTool(org, st)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range ct.seeded {
				c := history[early-len(ct.seeded)+i] // the newest pins the last early commit
				if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: c, ProjectDirectory: ct.dir, RequiredEnvvars: req}); err != nil {
					t.Fatal(err)
				}
			}
		}
		srv.SetChaos(chaos(rng, seed*97+int64(len(region))))
	}
	// In a quarter of the seeds a region's build service also refuses the
	// next publishes (400, a permanent failure): work for the rerun.
	if rng.Intn(4) == 0 {
		region := cluster.Names[rng.Intn(len(cluster.Names))]
		cluster.Servers[region].FailNext(amigotest.OpPublishVersion, 1+rng.Intn(2), 400, `{"detail":"Tool build has failed: injected by the fault campaign"}`)
	}

	events := map[amigo.EventKind]int{}
	var evMu sync.Mutex
	var logBuf bytes.Buffer
	run := func() *pipeline.Report {
		getenv := func(k string) string { return creds[k] }
		opts := pipeline.Options{
			Plan: plan, RepoPath: dir, Clock: clk, Getenv: getenv,
			Logger: pipeline.NewTextLogger(&logBuf),
			Clients: pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, Clock: clk, OnEvent: func(_ string, e amigo.Event) {
				evMu.Lock()
				events[e.Kind]++
				evMu.Unlock()
			}}),
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		rep, err := pipeline.Run(ctx, opts)
		if err != nil {
			// A run may not start at all when faults hit its first reads:
			// that is a report of nothing released, which the invariants
			// check like any other.
			t.Logf("seed %d: run did not start: %v", seed, err)
			if rep == nil {
				rep = &pipeline.Report{Error: err.Error()}
			}
		}
		return rep
	}
	fail := func(format string, args ...any) {
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
		ta.add(func(ta *tally) { ta.violations++ })
	}
	check := func(label string, rep *pipeline.Report, before map[string]string) {
		checkInvariants(cluster, tools, caps, pins, head, rep, before, func(format string, args ...any) {
			fail(label+": "+format, args...)
		})
	}

	before := liveAtHead(cluster, tools, head)
	rep1 := run()
	for _, srv := range cluster.Servers {
		srv.ClearFaults()
	}
	check("faulty run", rep1, before)

	before = liveAtHead(cluster, tools, head)
	rep2 := run()
	check("rerun", rep2, before)
	if !rep2.OK() {
		fail("the rerun without faults did not complete: %s", statuses(rep2))
		ta.add(func(ta *tally) { ta.rerunsShort++ })
	}
	if t.Failed() {
		t.Logf("seed %d plan:\n%s\nhead %s\nstate:\n%s\nlog:\n%s", seed, pb.String(), short(head), stateDump(cluster, tools), logBuf.String())
	}

	released, failed := 0, 0
	for _, tr := range rep1.Tools {
		switch tr.Status {
		case pipeline.StatusReleased:
			released++
		case pipeline.StatusFailed, pipeline.StatusBlocked, pipeline.StatusPending:
			failed++
		}
	}
	ta.add(func(ta *tally) {
		ta.seeds++
		for k, v := range cluster.Injected() {
			ta.faults[k] += v
		}
		for k, v := range events {
			ta.clientEvents[k] += v
		}
		for _, r := range []*pipeline.Report{rep1, rep2} {
			ta.publishAttempts += r.Stats.PublishAttempts
			ta.publishRetries += r.Stats.PublishRetries
			ta.reconciled += r.Stats.Reconciled
			ta.capPrunes += r.Stats.CapPrunes
			ta.pruned += r.Stats.Pruned
		}
		ta.toolsReleased += released
		ta.toolsFailed += failed
	})
}

// liveAtHead maps "stage/tool" to the live version serving the head
// commit, if any.
func liveAtHead(c *demo.Cluster, tools []campaignTool, head string) map[string]string {
	out := map[string]string{}
	for _, stage := range []string{"us", "eu", "ap", "ca"} {
		srv := c.Servers[stageRegion[stage]]
		for _, ct := range tools {
			tl, ok := srv.ToolByName(org, ct.name)
			if !ok {
				continue
			}
			for _, v := range srv.Versions(org, tl.ID) {
				if !v.Deprecated && v.ToolCommitHash == head {
					out[stage+"/"+ct.name] = v.Version.String()
				}
			}
		}
	}
	return out
}

// checkInvariants checks 1–4 (see TestFaultCampaign) against the
// emulators' state; before is liveAtHead from before the run: a tool the
// report does not list (unchanged since its last release) must be served
// exactly as before.
func checkInvariants(c *demo.Cluster, tools []campaignTool, caps map[string]int, pins map[string]map[string]string, head string, rep *pipeline.Report, before map[string]string, fail func(string, ...any)) {
	reported := map[string]pipeline.ToolReport{}
	for _, tr := range rep.Tools {
		reported[tr.Name] = tr
	}
	for _, stage := range []string{"us", "eu", "ap", "ca"} {
		srv := c.Servers[stageRegion[stage]]
		for _, ct := range tools {
			tl, ok := srv.ToolByName(org, ct.name)
			var vs []amigo.ToolVersion
			if ok {
				vs = srv.Versions(org, tl.ID)
			}
			// 1. One version per commit.
			byCommit := map[string]string{}
			for _, v := range vs {
				if prev, dup := byCommit[v.ToolCommitHash]; dup {
					fail("%s in %s: commit %s published twice (%s and %s)", ct.name, stage, short(v.ToolCommitHash), prev, v.Version)
				}
				byCommit[v.ToolCommitHash] = v.Version.String()
			}
			tr, inReport := reported[ct.name]
			var sr *pipeline.StageReport
			for i := range tr.Stages {
				if tr.Stages[i].Stage == stage {
					sr = &tr.Stages[i]
				}
			}
			releasedHere := sr != nil && (sr.Status == pipeline.StatusReleased || sr.Status == pipeline.StatusUpToDate)
			// 2. The newest active_cap and the pinned versions are live.
			// One exception, forced by the API (which refuses a publish
			// while more than three versions are active): a publish refused
			// for the cap deprecates one version to make room; if that
			// publish then fails, the deprecated version may be among the
			// newest. The report must say so (the stage's Pruned).
			sort.Slice(vs, func(i, j int) bool { return vs[j].Version.Less(vs[i].Version) })
			for i, v := range vs {
				if !v.Deprecated {
					continue
				}
				madeRoom := sr != nil && !releasedHere && slices.Contains(sr.Pruned, v.Version.String())
				if i < caps[stage] && !madeRoom {
					fail("%s in %s: %s is deprecated but among the newest %d (%s)", ct.name, stage, v.Version, caps[stage], versionList(vs))
				}
				if pins[stage][ct.name] == v.Version.String() {
					fail("%s in %s: pinned %s is deprecated", ct.name, stage, v.Version)
				}
			}
			// 3 and 4: the report against what serves the head commit.
			var live *amigo.ToolVersion
			for i := range vs {
				if !vs[i].Deprecated && vs[i].ToolCommitHash == head {
					live = &vs[i]
				}
			}
			switch {
			case releasedHere && live == nil:
				fail("%s in %s: the report says %s %s, but no live version serves the head commit (%s)", ct.name, stage, sr.Status, sr.VersionAfter, versionList(vs))
			case releasedHere && live.Version.String() != sr.VersionAfter:
				fail("%s in %s: the report says %s, the server serves the head commit as %s", ct.name, stage, sr.VersionAfter, live.Version)
			case !inReport:
				now := ""
				if live != nil {
					now = live.Version.String()
				}
				if now != before[stage+"/"+ct.name] {
					fail("%s in %s: not in the report, but what serves the head commit changed from %q to %q", ct.name, stage, before[stage+"/"+ct.name], now)
				}
			case !releasedHere && live != nil && (sr == nil || sr.VersionAfter != live.Version.String()):
				// A stage may fail after its publish (verify, smoke): then
				// the report must name the version it published. What it
				// must never do is call a stage failed while hiding that
				// the commit is live.
				what := "no stage report"
				if sr != nil {
					what = fmt.Sprintf("%s (version after %q): %s", sr.Status, sr.VersionAfter, sr.Error)
				}
				fail("%s in %s: %s serves the head commit, but the report says %s", ct.name, stage, live.Version, what)
			}
		}
	}
	// The tool-level status agrees with its stages.
	for _, tr := range rep.Tools {
		if tr.Status != pipeline.StatusReleased {
			continue
		}
		for _, s := range tr.Stages {
			if s.Status != pipeline.StatusReleased && s.Status != pipeline.StatusUpToDate && s.Status != pipeline.StatusSkipped {
				fail("%s: released, but %s is %s", tr.Name, s.Stage, s.Status)
			}
		}
	}
}

// stateDump lists every tool's versions in every region, for a failing
// seed's log.
func stateDump(c *demo.Cluster, tools []campaignTool) string {
	var b strings.Builder
	for _, stage := range []string{"us", "eu", "ap", "ca"} {
		srv := c.Servers[stageRegion[stage]]
		for _, ct := range tools {
			if tl, ok := srv.ToolByName(org, ct.name); ok {
				vs := srv.Versions(org, tl.ID)
				sort.Slice(vs, func(i, j int) bool { return vs[j].Version.Less(vs[i].Version) })
				fmt.Fprintf(&b, "  %s %s: %s\n", stage, ct.name, versionList(vs))
			}
		}
	}
	b.WriteString("publishes and deprecations (region, simulated time, status, fault):\n")
	for _, stage := range []string{"us", "eu", "ap", "ca"} {
		for _, q := range c.Servers[stageRegion[stage]].Requests() {
			if q.OperationID == amigotest.OpPublishVersion || q.OperationID == amigotest.OpDeprecateVersions {
				fmt.Fprintf(&b, "  %s %s %s %s %d %s\n", stage, q.Time.Format("15:04:05.000"), q.Method, q.Path, q.Status, q.Fault)
			}
		}
	}
	return b.String()
}

func versionList(vs []amigo.ToolVersion) string {
	var out []string
	for _, v := range vs {
		s := v.Version.String() + "@" + short(v.ToolCommitHash)
		if v.Deprecated {
			s += "(deprecated)"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func statuses(rep *pipeline.Report) string {
	var out []string
	for _, tr := range rep.Tools {
		s := tr.Name + "=" + string(tr.Status)
		for _, st := range tr.Stages {
			if st.Error != "" {
				s += fmt.Sprintf(" [%s: %s]", st.Stage, st.Error)
			}
		}
		out = append(out, s)
	}
	if rep.Error != "" {
		out = append(out, "error: "+rep.Error)
	}
	return strings.Join(out, "; ")
}
