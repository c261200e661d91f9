package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

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
	clientEvents    map[amigo.ClientEventKind]int
	publishAttempts int
	publishRetries  int
	reconciled      int
	capPrunes       int
	pruned          int
	toolsReleased   int // by the faulty run
	toolsFailed     int // by the faulty run, left for the rerun
	rerunsShort     int // seeds whose rerun did not complete
	violations      int

	// Issue 13's scenarios and invariants.
	offTipRefused   int // runs from a HEAD off the branch tip, refused before any call
	unsetRefused    int // runs with an unset from_env variable, refused before any call
	branchMoves     int // branches moved between a test and a publish
	interrupts      int // runs interrupted at a random point (then rerun)
	interruptsLate  int // ... of them, runs that had finished when the interrupt came
	leftInFlight    int // versions a publish in flight at the end of the grace built from an untested commit (the rerun withdraws them)
	late429s        int // 429s sent at the wire once the retry budget was spent
	lastChanceWaits int // of them (and others) waited out once more
	withdrawn       int // untested versions deprecated at once
	unknown         int // stages reported unknown (a publish in flight at an interrupt)
	pending         int // stages an interrupted run left pending
	untestedChecks  int // live versions beyond the first stage checked for a passed test
	untestedBad     int // ... of an untested commit
	needsChecks     int // live versions checked against the stages they need
	needsBad        int // ... not served by a stage it needs
}

func (ta *tally) add(f func(*tally)) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	f(ta)
}

// TestFaultCampaign runs the whole pipeline (in-process, against four
// emulators over real HTTP) once per seed under a high rate of random
// faults, then checks invariants against the emulators' own state, not
// against the report. Besides the faults, each seed may (issue 13): first
// run from a HEAD off the branch tip, and without a from_env variable,
// both of which must be refused before any call; move the branch between a
// test and a publish; interrupt the faulty run at a random point
// (Options.Stop, then its calls cancelled after a random grace); answer a
// project's first two tests with 429s whose Retry-After outlasts the retry
// budget; set publish.deprecate_untested. The invariants:
//
//  1. no commit has two live versions in a stage, and a second version of
//     a commit exists only beside one withdrawn as untested;
//  2. no deprecated version is among a stage's newest active_cap versions
//     or its pinned ones (except one the report names as pruned to make
//     room for a publish that then failed: the API forces that prune; or
//     one withdrawn as untested);
//  3. every tool stage the report calls released (or up to date) serves
//     the reported version, pinned to the run's head commit;
//  4. the report's failures are exactly what is not released: a stage not
//     reported released has no live version of the head commit, unless
//     it failed after publishing (verify, smoke) and the report names the
//     published version, or the report says the outcome is unknown (a
//     publish in flight at an interrupt); a tool the report does not list
//     is served exactly as before the run;
//  5. a second run without faults, from the branch tip, completes the
//     release (and 1–4, 6, 7 hold again);
//  6. no version of an untested commit serves beyond the first stage: each
//     live version a run made in eu, ap or ca pins a commit that passed a
//     test of its project in us (as the test-tool answers said);
//  7. no stage serves a version that a stage it needs does not.
//
// Reproduce one seed (the seed must be within AMIGO_FAULT_SEEDS; the
// interrupts and a moving branch depend on timing, so a seed may need a
// few runs):
//
//	AMIGO_FAULT_SEEDS=17 go test ./e2e -run 'TestFaultCampaign/seeds/seed-17$' -v
func TestFaultCampaign(t *testing.T) {
	n := campaignSeeds(t)
	ta := &tally{faults: map[string]int{}, clientEvents: map[amigo.ClientEventKind]int{}}
	start := time.Now()
	t.Run("seeds", func(t *testing.T) {
		for i := 1; i <= n; i++ {
			seed := int64(i)
			t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) { runSeed(t, seed, ta) })
			})
		}
	})
	wall := time.Since(start)
	total := 0
	for _, n := range ta.faults {
		total += n
	}
	fk := counted(ta.faults, "%s=%d")
	t.Logf("fault campaign: seeds=%d wall=%s", ta.seeds, wall.Round(time.Millisecond))
	t.Logf("fault campaign: faults injected=%d (%s)", total, strings.Join(fk, " "))
	t.Logf("fault campaign: client retries=%d 429s-seen=%d unknown-outcomes=%d reauths=%d",
		ta.clientEvents[amigo.EventRetry], ta.clientEvents[amigo.EventRateLimited], ta.clientEvents[amigo.EventUnknownOutcome], ta.clientEvents[amigo.EventReauth])
	t.Logf("fault campaign: publish attempts=%d publish retries=%d reconciliations=%d cap-prunes=%d pruned=%d",
		ta.publishAttempts, ta.publishRetries, ta.reconciled, ta.capPrunes, ta.pruned)
	t.Logf("fault campaign: faulty runs released %d tools fully and left %d for the rerun; reruns that did not complete=%d; invariant violations=%d",
		ta.toolsReleased, ta.toolsFailed, ta.rerunsShort, ta.violations)
	t.Logf("fault campaign: refused starts: HEAD off the branch tip=%d unset from_env=%d; branches moved between test and publish=%d; interrupted runs=%d (landed mid-run=%d, after the run had finished=%d; stages left pending=%d, unknown=%d); untested versions withdrawn=%d; versions of an untested commit a publish in flight at the end of the grace left for the rerun=%d",
		ta.offTipRefused, ta.unsetRefused, ta.branchMoves, ta.interrupts, ta.interrupts-ta.interruptsLate, ta.interruptsLate, ta.pending, ta.unknown, ta.withdrawn, ta.leftInFlight)
	t.Logf("fault campaign: test-tool 429s beyond the client's budget (Retry-After 400s)=%d; 429s at the end of a retry budget waited out once more=%d",
		ta.late429s, ta.lastChanceWaits)
	t.Logf("fault campaign: invariant 'no version of an untested commit serves beyond the first stage': %d versions checked, %d violations",
		ta.untestedChecks, ta.untestedBad)
	t.Logf("fault campaign: invariant 'no stage serves a version a stage it needs does not': %d versions checked, %d violations",
		ta.needsChecks, ta.needsBad)
}

// counted is each entry of m formatted with format (the key, then the
// count), sorted.
func counted[K comparable](m map[K]int, format string) []string {
	out := make([]string, 0, len(m))
	for k, n := range m {
		out = append(out, fmt.Sprintf(format, k, n))
	}
	sort.Strings(out)
	return out
}

// campaignTool is one generated tool project.
type campaignTool struct {
	name, dir string
	seeded    []string // existing versions in every region, oldest first
	envvar    bool     // requires API_URL (value from the project's metadata)
}

// runSeed is one seed: a fresh repository and four fresh emulators. It runs
// in a testing/synctest bubble: the emulators serve real HTTP on an
// in-memory network (amigotest.PipeNet) and everything reads clock.Real,
// which in the bubble is the bubble's clock. Simulated time moves only
// while every goroutine of the seed waits, so what happens in a seed never
// depends on how loaded the machine is. (On a clock scaled 6000 times, a
// 30 s retry budget was 5 ms of real time and a client's 5-minute budget
// 50 ms: at a high load average a descheduled goroutine spent them, and a
// fault-free rerun gave up on a 429 or a 409.)
func runSeed(t *testing.T, seed int64, ta *tally) {
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	var clk clock.Clock = clock.Real{}
	pipes := amigotest.NewPipeNet()
	defer pipes.Close()
	ln, err := pipes.Listen("amigo.campaign.test:80")
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := demo.StartCluster(demo.ClusterOptions{Listener: ln, Emulator: amigotest.Options{
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
	// Issue 13's scenarios, drawn per seed.
	sc := scenario{
		offTip:    rng.Intn(5) == 0,
		unsetEnv:  rng.Intn(5) == 0,
		move:      rng.Intn(3) == 0,
		moveStage: []string{"us", "us", "eu"}[rng.Intn(3)],
		moveAfter: rng.Intn(3),
		interrupt: rng.Intn(4) == 0,
		// Within the first 15 simulated minutes: a faulty run takes 10–30.
		stopAfter: time.Duration(rng.Intn(300)) * 3 * time.Second,
		// No grace at all (a SIGKILL-like stop), a little, or enough for
		// most publishes (1–3 minutes) to finish.
		grace:     time.Duration(rng.Intn(80)) * 6 * time.Second / time.Duration(1+rng.Intn(3)*20),
		late429:   rng.Intn(3) == 0,
		deprecate: rng.Intn(2) == 0,
	}
	// Half the interrupts come right as a publish goes out, so that a
	// publish is in flight for sure (the grace decides whether it
	// finishes); half of those in the stage where the branch moves, at the
	// publish that builds the moved tip or the next. The other half come at
	// stopAfter. (Drawn from their own source: the draws above and below
	// stay what they were.)
	if ev := rand.New(rand.NewSource(seed*131 + 7)); sc.interrupt && ev.Intn(2) == 0 {
		sc.stopOn, sc.stopOnN = []string{"us", "eu", "ap", "ca"}[ev.Intn(4)], ev.Intn(3)
		if sc.move && ev.Intn(2) == 0 {
			sc.stopOn, sc.stopOnN = sc.moveStage, sc.moveAfter+ev.Intn(2)
		}
	}
	var pb strings.Builder
	pb.WriteString("version: 1\ndiscovery:\n  roots: [tools]\n")
	// A short publish retry budget in some seeds lets 409 storms win, so
	// that reruns have work to finish.
	fmt.Fprintf(&pb, "publish:\n  retry_budget: %s\n  initial_interval: 10s\n  max_interval: 1m\n  deprecate_untested: %v\n", []string{"30s", "2m", "30m"}[rng.Intn(3)], sc.deprecate)
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
	if sc.unsetEnv {
		// Every tool takes a secret from the environment: a run without
		// it must not start at all.
		pb.WriteString("tools:\n")
		for _, ct := range tools {
			fmt.Fprintf(&pb, "  %s:\n    envvars:\n      - name: SEED_TOKEN\n        from_env: CAMPAIGN_SEED_TOKEN\n        secret: true\n", ct.name)
		}
	}
	plan, err := promote.Parse("release.yaml", []byte(pb.String()))
	if err != nil {
		t.Fatalf("plan:\n%s\n%v", pb.String(), err)
	}

	// Seed the existing versions in every region, each pinned to its own
	// early commit; the newest to the last one (the last release).
	seededCommits := map[string]bool{}
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
				seededCommits[c] = true
				if _, err := srv.AddVersion(org, id, amigotest.SeedVersion{Version: v, Commit: c, ProjectDirectory: ct.dir, RequiredEnvvars: req}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// In a quarter of the seeds a region's build service also refuses the
	// next publishes (400, a permanent failure): work for the rerun.
	failRegion := ""
	if rng.Intn(4) == 0 {
		failRegion = cluster.Names[rng.Intn(len(cluster.Names))]
	}
	chaosOf := map[string]*amigotest.Chaos{}
	for _, region := range cluster.Names {
		chaosOf[region] = chaos(rng, seed*97+int64(len(region)))
	}

	events := map[amigo.ClientEventKind]int{}
	var evMu sync.Mutex
	var logBuf bytes.Buffer
	env := map[string]string{}
	for k, v := range creds {
		env[k] = v
	}
	if sc.unsetEnv {
		env["CAMPAIGN_SEED_TOKEN"] = "seed-token-" + fmt.Sprint(seed) + "-secret"
	}
	// What the wire says: which commits passed a test, per project.
	w := &wire{tested: map[string]map[string]bool{}}
	type runCfg struct {
		head      string // --head ("" for HEAD)
		getenv    func(string) string
		faults    bool // the campaign's random faults at the wire (late 429s, a moving branch)
		interrupt bool
	}
	getenv := func(k string) string { return env[k] }
	transport := pipes.Client().Transport
	run := func(rc runCfg) (*pipeline.Report, error) {
		var stop chan struct{}
		var stopOnce sync.Once
		stopNow := func() { stopOnce.Do(func() { close(stop) }) }
		if rc.interrupt {
			stop = make(chan struct{})
		}
		hc := &http.Client{Transport: &wireFaults{w: w, late429: rc.faults && sc.late429, next: transport}}
		clients := pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: rc.getenv, Clock: clk, HTTPClient: hc, OnEvent: func(_ string, e amigo.ClientEvent) {
			evMu.Lock()
			events[e.Kind]++
			evMu.Unlock()
		}})
		opts := pipeline.Options{
			Plan: plan, RepoPath: dir, Head: rc.head, Clock: clk, Getenv: rc.getenv,
			Logger: pipeline.NewTextLogger(&logBuf),
			Clients: func(ctx context.Context, st promote.Stage) (pipeline.API, error) {
				api, err := clients(ctx, st)
				if err != nil {
					return nil, err
				}
				var out pipeline.API = &recordTests{API: api, w: w, stage: st.Name}
				if rc.faults && sc.move && st.Name == sc.moveStage {
					// Push a commit to the branch right before the stage's
					// publish number moveAfter+1 leaves: what the server
					// then builds is not what was tested.
					out = &atPublish{API: out, after: sc.moveAfter, do: func() {
						// The git CLI moves the branch atomically (a lock
						// file renamed into place), as a push does: the
						// emulator reading the tip meanwhile sees the old
						// commit or the new one, never none.
						sha, err := gitMove(dir, fmt.Sprintf("chore: pushed to main while the release ran (seed %d)", seed))
						if err != nil {
							t.Error(err)
							return
						}
						w.moved(sha)
					}}
				}
				if rc.interrupt && st.Name == sc.stopOn {
					// Interrupt the run as the stage's publish number
					// stopOnN+1 goes out: that publish is in flight at the
					// interrupt.
					out = &atPublish{API: out, after: sc.stopOnN, do: stopNow}
				}
				return out, nil
			},
		}
		// A day of simulated time: a run takes well under an hour.
		ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
		defer cancel()
		if rc.interrupt {
			opts.Stop = stop
			go func() {
				// Ends with the run (the deferred cancel) when the run
				// ends first. With stopOn, the interrupt comes as that
				// publish goes out, or at stopAfter when the stage has
				// not got that far by then.
				at := clk.NewTimer(sc.stopAfter)
				defer at.Stop()
				select {
				case <-stop:
				case <-at.C():
				case <-ctx.Done():
					return
				}
				stopNow()
				_ = clk.Sleep(ctx, sc.grace)
				cancel()
			}()
		}
		rep, err := pipeline.Run(ctx, opts)
		if rep == nil {
			rep = &pipeline.Report{Error: err.Error()}
		}
		return rep, err
	}
	fail := func(format string, args ...any) {
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
		ta.add(func(ta *tally) { ta.violations++ })
	}
	var reports []*pipeline.Report
	// check checks the invariants after a run. inFlight, for a run that
	// was stopped, exempts from 6 and 7 a version that the report says a
	// publish left building when the run's time ran out (unknown, or
	// pending with that version after it): nothing in a stopped process
	// can check or withdraw what the server builds after it, so the
	// version is counted and the next run must withdraw it (the rerun is
	// checked without exemption).
	check := func(label string, rep *pipeline.Report, before map[string]string, inFlight bool) {
		reports = append(reports, rep)
		checkInvariants(cluster, tools, caps, pins, rep, reports, before, func(format string, args ...any) {
			fail(label+": "+format, args...)
		})
		exempt := func(string, string, string) bool { return false }
		if inFlight {
			exempt = func(tool, stage, version string) bool { return leftBuilding(rep, tool, stage, version) }
		}
		u, ub, n, nb, left := checkPromotion(cluster, tools, seededCommits, w.testedCopy(), exempt, func(format string, args ...any) {
			fail(label+": "+format, args...)
		})
		ta.add(func(ta *tally) {
			ta.untestedChecks += u
			ta.untestedBad += ub
			ta.needsChecks += n
			ta.needsBad += nb
			ta.leftInFlight += left
		})
	}
	// refused runs a run that must not start, and checks that it made no
	// mutating call and no test.
	refused := func(label string, rc runCfg) {
		before := len(cluster.MutatingRequests())
		tests := 0
		for _, srv := range cluster.Servers {
			tests += countOp(srv, amigotest.OpTestTool)
		}
		rep, err := run(rc)
		if _, ok := errors.AsType[*pipeline.StartError](err); !ok {
			fail("%s: Run = %v, want a StartError (the run must not start): %s", label, err, statuses(rep))
		}
		after := 0
		for _, srv := range cluster.Servers {
			after += countOp(srv, amigotest.OpTestTool)
		}
		if m := cluster.MutatingRequests(); len(m) != before || after != tests {
			fail("%s: a run that must not start made %d mutating calls and %d tests", label, len(m)-before, after-tests)
		}
	}

	// A run from a HEAD off the branch tip, and one without a from_env
	// variable, are refused before any call (no faults yet: a refusal
	// must not depend on luck).
	if sc.offTip {
		refused("HEAD off the branch tip", runCfg{head: history[len(history)-2], getenv: getenv})
		ta.add(func(ta *tally) { ta.offTipRefused++ })
	}
	if sc.unsetEnv {
		refused("unset from_env", runCfg{getenv: func(k string) string {
			if k == "CAMPAIGN_SEED_TOKEN" {
				return ""
			}
			return env[k]
		}})
		ta.add(func(ta *tally) { ta.unsetRefused++ })
	}

	// The faulty run.
	for _, region := range cluster.Names {
		cluster.Servers[region].SetChaos(chaosOf[region])
	}
	if failRegion != "" {
		cluster.Servers[failRegion].FailNext(amigotest.OpPublishVersion, 1+rng.Intn(2), 400, `{"detail":"Tool build has failed: injected by the fault campaign"}`)
	}
	before := liveAtHead(cluster, tools, head)
	rep1, _ := run(runCfg{getenv: getenv, faults: true, interrupt: sc.interrupt})
	for _, srv := range cluster.Servers {
		srv.ClearFaults()
	}
	// An interrupted (or cancelled) run leaves the publishes it sent
	// building on the servers, as a killed CI job does. Let them end: the
	// checks then see what the run left for good, and the rerun starts as a
	// rerun would, later. (Checked at once, a version that appeared during
	// the rerun looked like the rerun's change to a tool it did not
	// release; and a rerun with a 30 s retry budget met the 409 of a
	// 3-minute build it could not outwait.)
	if err := settle(clk, cluster, tools); err != nil {
		fail("%v", err)
	}
	check("faulty run", rep1, before, sc.interrupt)
	if sc.interrupt && !rep1.Interrupted && rep1.Error == "" {
		// The run ended before the interrupt came: nothing to check.
		t.Logf("seed %d: the run finished before its interrupt (after %s; interrupt at %s, or at publish %d in %q)", seed, rep1.FinishedAt.Sub(rep1.StartedAt), sc.stopAfter, sc.stopOnN+1, sc.stopOn)
		ta.add(func(ta *tally) { ta.interruptsLate++ })
	}

	// The rerun, without faults, from the branch tip (moved or not).
	tip, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	before = liveAtHead(cluster, tools, tip)
	rep2, _ := run(runCfg{getenv: getenv})
	check("rerun", rep2, before, false)
	if !rep2.OK() {
		fail("the rerun without faults did not complete: %s", statuses(rep2))
		ta.add(func(ta *tally) { ta.rerunsShort++ })
	}
	if t.Failed() {
		t.Logf("seed %d scenario %+v plan:\n%s\nhead %s tip %s\nstate:\n%s\nlog:\n%s", seed, sc, pb.String(), changes.DisplaySHA(head), changes.DisplaySHA(tip), stateDump(cluster, tools), logBuf.String())
	}

	released, failed := 0, 0
	for _, tr := range rep1.Tools {
		switch tr.Status {
		case pipeline.StatusReleased:
			released++
		case pipeline.StatusFailed, pipeline.StatusBlocked, pipeline.StatusPending, pipeline.StatusUnknown:
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
			ta.withdrawn += r.Stats.Withdrawn
			ta.lastChanceWaits += r.Stats.LastChanceWaits
			for _, tr := range r.Tools {
				for _, st := range tr.Stages {
					switch {
					case st.Status == pipeline.StatusUnknown:
						ta.unknown++
					case st.Status == pipeline.StatusPending && r.Interrupted:
						ta.pending++
					}
				}
			}
		}
		ta.toolsReleased += released
		ta.toolsFailed += failed
		ta.late429s += w.late429s()
		if w.moves() > 0 {
			ta.branchMoves++
		}
		if sc.interrupt {
			ta.interrupts++
		}
	})
}

// scenario is what a seed does besides its random faults (issue 13).
type scenario struct {
	offTip    bool          // first a run from HEAD~1, which is not the tip: refused
	unsetEnv  bool          // every tool takes a from_env secret; first a run without it: refused
	move      bool          // the branch moves right before a publish of the faulty run
	moveStage string        // ... in this stage
	moveAfter int           // ... after this many of its publishes
	interrupt bool          // the faulty run is interrupted (Options.Stop) ...
	stopAfter time.Duration // ... this long (simulated) after it starts
	stopOn    string        // ... or, when set, as this stage's publish number stopOnN+1 goes out, if that is sooner
	stopOnN   int
	grace     time.Duration // ... and its calls cancelled this long after that
	late429   bool          // test-tool answers 429 twice at the wire, after the budget
	deprecate bool          // publish.deprecate_untested
}

// wire records what the campaign sees and does on the wire.
type wire struct {
	mu      sync.Mutex
	tested  map[string]map[string]bool // project path → commit → a test passed on it
	movedTo []string
	// The project whose first two tests get a late 429, and how many.
	late429Project string
	n429           int
	n429Any        int
}

func (w *wire) moved(sha string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.movedTo = append(w.movedTo, sha)
}

func (w *wire) moves() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.movedTo)
}

func (w *wire) late429s() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n429
}

func (w *wire) testedCopy() map[string]map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]map[string]bool{}
	for p, m := range w.tested {
		out[p] = maps.Clone(m)
	}
	return out
}

// recordTests notes, from each test-tool answer, the commit the server
// tested (the emulator's output names it) when every input passed.
type recordTests struct {
	pipeline.API
	w     *wire
	stage string
}

func (a *recordTests) TestTool(ctx context.Context, req amigo.TestToolRequest) (*amigo.TestToolResponse, error) {
	resp, err := a.API.TestTool(ctx, req)
	if err != nil || len(resp.InvocationResults) == 0 {
		return resp, err
	}
	commit := ""
	for _, r := range resp.InvocationResults {
		if !r.Succeeded {
			return resp, err
		}
		var out struct {
			Commit string `json:"commit"`
		}
		if json.Unmarshal([]byte(r.Output), &out) == nil && out.Commit != "" {
			commit = out.Commit
		}
	}
	if commit != "" && a.stage == "us" {
		a.w.mu.Lock()
		if a.w.tested[req.ProjectPath] == nil {
			a.w.tested[req.ProjectPath] = map[string]bool{}
		}
		a.w.tested[req.ProjectPath][commit] = true
		a.w.mu.Unlock()
	}
	return resp, err
}

// atPublish calls do right before its stage's publish number after+1
// leaves (the campaign moves the branch or interrupts the run there).
type atPublish struct {
	pipeline.API
	after int
	do    func()
	mu    sync.Mutex
	n     int
}

func (a *atPublish) PublishVersion(ctx context.Context, id string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	a.mu.Lock()
	a.n++
	if a.n == a.after+1 {
		a.do()
	}
	a.mu.Unlock()
	return a.API.PublishVersion(ctx, id, req)
}

// wireFaults answers, when late429 is set, the first two test-tool
// requests of one project with a 429 whose Retry-After (400 s) is beyond
// the client's own budget: the client hands each on at once, and the
// second comes when the pipeline's budget is spent (every seed's budget
// but 30m is below 400 s), so it is waited out once more. Everything else
// goes to next.
type wireFaults struct {
	w       *wire
	late429 bool
	next    http.RoundTripper
}

func (f *wireFaults) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.late429 && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tool/test") && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			ProjectPath string `json:"project_path"`
		}
		_ = json.Unmarshal(body, &req)
		f.w.mu.Lock()
		if f.w.late429Project == "" {
			f.w.late429Project = req.ProjectPath
		}
		send := req.ProjectPath == f.w.late429Project && f.w.n429Any < 2
		if send {
			f.w.n429Any++
			f.w.n429++
		}
		f.w.mu.Unlock()
		if send {
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			h.Set("Retry-After", "400")
			return &http.Response{StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Header: h, Request: r,
				Body: io.NopCloser(strings.NewReader(`{"detail":"The user has exceeded the rate limit for this endpoint."}`))}, nil
		}
	}
	return f.next.RoundTrip(r)
}

// settle waits, on clk, until no emulator of c builds a publish of the
// tools any more and none still serves a request the stopped run sent (at
// most a simulated hour: a publish takes minutes). A request still in its
// injected latency has not made its tool busy yet: its publish starts after
// the run has given up on it, and reads the branch's tip then. Checked on
// busy tools alone, the rerun could start (and list the stages) before
// that publish did, and the version it builds (of the moved tip, never
// tested) would land after the rerun had looked for strays: it is the next
// run's to withdraw, and the rerun's check would flag it.
func settle(clk clock.Clock, c *demo.Cluster, tools []campaignTool) error {
	for waited := time.Duration(0); ; waited += time.Second {
		var busy []string
		for _, region := range c.Names {
			srv := c.Servers[region]
			if n := srv.Serving(); n > 0 {
				busy = append(busy, fmt.Sprintf("%s (%d requests unanswered)", region, n))
			}
			for _, ct := range tools {
				if tl, ok := srv.ToolByName(org, ct.name); ok && srv.Busy(org, tl.ID) {
					busy = append(busy, region+"/"+ct.name)
				}
			}
		}
		if len(busy) == 0 {
			return nil
		}
		if waited >= time.Hour {
			return fmt.Errorf("publishes still building an hour after the run: %s", strings.Join(busy, ", "))
		}
		if err := clk.Sleep(context.Background(), time.Second); err != nil {
			return err
		}
	}
}

// gitMove commits an empty commit to the repository's branch with the git
// CLI and returns it.
func gitMove(dir, msg string) (string, error) {
	for _, args := range [][]string{{"commit", "-q", "--allow-empty", "-m", msg}, {"rev-parse", "HEAD"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, testkit.GitEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %v: %s", args[0], err, out)
		}
		if args[0] == "rev-parse" {
			return strings.TrimSpace(string(out)), nil
		}
	}
	return "", nil
}

func countOp(srv *amigotest.Server, op string) int {
	n := 0
	for _, q := range srv.Requests() {
		if q.OperationID == op {
			n++
		}
	}
	return n
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

// withdrawnIn lists, per "stage/tool", the versions any of the reports
// says were deprecated at once as untested.
func withdrawnIn(reports []*pipeline.Report) map[string][]string {
	out := map[string][]string{}
	for _, r := range reports {
		for _, tr := range r.Tools {
			for _, st := range tr.Stages {
				out[st.Stage+"/"+tr.Name] = append(out[st.Stage+"/"+tr.Name], st.Withdrawn...)
			}
		}
	}
	return out
}

// checkInvariants checks 1–4 (see TestFaultCampaign) against the
// emulators' state after rep, the last of reports; before is liveAtHead
// from before the run: a tool the report does not list (unchanged since
// its last release) must be served exactly as before. A version the
// reports say was withdrawn (deprecated at once: built from an untested
// commit) may be a deprecated second version of its commit, and may be
// deprecated among the newest.
func checkInvariants(c *demo.Cluster, tools []campaignTool, caps map[string]int, pins map[string]map[string]string, rep *pipeline.Report, reports []*pipeline.Report, before map[string]string, fail func(string, ...any)) {
	head := rep.Head
	withdrawn := withdrawnIn(reports)
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
			gone := withdrawn[stage+"/"+ct.name]
			// 1. One version per commit, but for one withdrawn as untested
			// (the commit is published again once it has been tested).
			byCommit := map[string][]amigo.ToolVersion{}
			for _, v := range vs {
				byCommit[v.ToolCommitHash] = append(byCommit[v.ToolCommitHash], v)
			}
			for commit, same := range byCommit {
				if len(same) < 2 {
					continue
				}
				live := 0
				for _, v := range same {
					switch {
					case !v.Deprecated:
						live++
					case !slices.Contains(gone, v.Version.String()):
						fail("%s in %s: commit %s published twice (%s), and %s was not withdrawn as untested", ct.name, stage, changes.DisplaySHA(commit), versionList(same), v.Version)
					}
				}
				if live > 1 {
					fail("%s in %s: commit %s has %d live versions (%s)", ct.name, stage, changes.DisplaySHA(commit), live, versionList(same))
				}
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
			// newest. The report must say so (the stage's Pruned). And a
			// version withdrawn as untested is deprecated wherever it is.
			sort.Slice(vs, func(i, j int) bool { return vs[j].Version.Less(vs[i].Version) })
			for i, v := range vs {
				if !v.Deprecated || slices.Contains(gone, v.Version.String()) {
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
			case sr != nil && sr.Status == pipeline.StatusUnknown:
				// A publish was in flight when the run stopped: the report
				// says it does not know, which is the truth.
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

// stageNeeds is the campaign plan's DAG: us → eu → ap, ca.
var stageNeeds = map[string][]string{"eu": {"us"}, "ap": {"eu"}, "ca": {"eu"}}

// checkPromotion checks issue 13's invariants against the emulators' state,
// for every live version a run made (not the seeded ones):
//
//  6. no version of an untested commit serves beyond the first stage: its
//     commit passed a test of its project in us (as the test-tool answers
//     on the wire said);
//  7. no stage serves a version that a stage it needs does not: each stage
//     it needs serves the same commit.
//
// It returns how many versions each checked and how many failed, and how
// many exempt versions broke them (left is for the tally: see check).
func checkPromotion(c *demo.Cluster, tools []campaignTool, seeded map[string]bool, tested map[string]map[string]bool, exempt func(tool, stage, version string) bool, fail func(string, ...any)) (untested, untestedBad, needs, needsBad, left int) {
	liveCommits := func(stage, tool string) map[string]string {
		srv := c.Servers[stageRegion[stage]]
		out := map[string]string{}
		if tl, ok := srv.ToolByName(org, tool); ok {
			for _, v := range srv.Versions(org, tl.ID) {
				if !v.Deprecated {
					out[v.ToolCommitHash] = v.Version.String()
				}
			}
		}
		return out
	}
	for _, ct := range tools {
		for _, stage := range []string{"eu", "ap", "ca"} {
			for commit, v := range liveCommits(stage, ct.name) {
				if seeded[commit] {
					continue
				}
				if exempt(ct.name, stage, v) {
					if !tested[ct.dir][commit] {
						left++
					}
					continue
				}
				untested++
				if !tested[ct.dir][commit] {
					untestedBad++
					fail("%s in %s: %s serves commit %s, which never passed a test in us", ct.name, stage, v, changes.DisplaySHA(commit))
				}
				for _, need := range stageNeeds[stage] {
					needs++
					if _, ok := liveCommits(need, ct.name)[commit]; !ok {
						needsBad++
						fail("%s in %s: %s serves commit %s, which %s (needed by %s) does not serve", ct.name, stage, v, changes.DisplaySHA(commit), need, stage)
					}
				}
			}
		}
	}
	return untested, untestedBad, needs, needsBad, left
}

// leftBuilding reports whether rep says that a publish of tool in stage was
// still building when the run's time ran out: the stage is unknown (the
// answer never came), or pending with version published but not checked.
func leftBuilding(rep *pipeline.Report, tool, stage, version string) bool {
	for _, tr := range rep.Tools {
		if tr.Name != tool {
			continue
		}
		for _, st := range tr.Stages {
			if st.Stage == stage && (st.Status == pipeline.StatusUnknown || st.Status == pipeline.StatusPending && st.VersionAfter == version) {
				return true
			}
		}
	}
	return false
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
		s := v.Version.String() + "@" + changes.DisplaySHA(v.ToolCommitHash)
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
