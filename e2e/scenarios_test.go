package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// releasedWorld is a world whose monorepo is released once, from a full
// checkout, with exit code 0; it returns the monorepo's first commit.
func releasedWorld(t *testing.T) (*world, string) {
	t.Helper()
	w := newWorld(t)
	first := w.monorepo()
	w.checkout(0)
	w.release(nil).wantCode(t, 0)
	return w, first
}

// monorepo commits the plan and three tool projects (weather needs an
// envvar from the plan) to origin and returns the commit.
func (w *world) monorepo() string {
	w.t.Helper()
	weatherExtra := "\n[tool.amigo]\nrequired_envvars = [\"WEATHER_API_URL\"]\n\n[tool.amigo-release]\n" +
		"[[tool.amigo-release.envvars]]\nname = \"WEATHER_API_URL\"\nvalue = \"https://weather.example\"\n"
	return w.commit("feat: three tools", testkit.Files(
		w.plan(nil, ""),
		testkit.Project("weather", "weather_lookup", weatherExtra),
		testkit.Project("currency", "currency_convert", ""),
		testkit.Project("flight", "flight_status", ""),
		map[string]string{"README.md": "# tools\n"},
	))
}

// TestFirstRelease releases a monorepo for the first time: every tool gets
// 1.0.0 in every stage, pinned to the head commit, tested first.
func TestFirstRelease(t *testing.T) {
	w := newWorld(t)
	head := w.monorepo()
	w.checkout(0)
	r := w.release(nil)
	r.wantCode(t, 0)
	for _, tool := range []string{"weather_lookup", "currency_convert", "flight_status"} {
		w.wantLive(tool, "1.0.0@"+changes.DisplaySHA(head))
		tr := toolReport(t, r.report, tool)
		if tr.Status != pipeline.StatusReleased || len(tr.Stages) != 4 {
			t.Errorf("%s: %s with %d stages", tool, tr.Status, len(tr.Stages))
		}
	}
	if got := w.server("us").Envvars(org, mustTool(t, w, "us", "weather_lookup")); len(got) != 1 || got[0].Value != "https://weather.example" {
		t.Errorf("weather envvars in us: %+v", got)
	}
	tests := 0
	for _, q := range w.server("us").Requests() {
		if q.OperationID == amigotest.OpTestTool && q.Status == http.StatusOK {
			tests++
		}
	}
	if tests != 3 {
		t.Errorf("%d successful test-tool calls in us, want 3 (one per tool)", tests)
	}
	for _, s := range []string{"eu", "ap", "ca"} {
		for _, q := range w.server(s).Requests() {
			if q.OperationID == amigotest.OpTestTool {
				t.Errorf("test-tool called in %s, which has no test gate", s)
			}
		}
	}
	wantContains(t, "stdout", r.stdout, "weather_lookup", "released 1.0.0", "result: 3 of 3 tools released")
	if strings.Contains(r.stdout+r.stderr, creds["AMIGO_API_KEY"]) {
		t.Error("the API key was printed")
	}
	w.noDuplicateCommits()

	// Running again with nothing new publishes nothing.
	before := w.publishes()
	r = w.release(nil)
	r.wantCode(t, 0)
	if after := w.publishes(); !equalCounts(before, after) {
		t.Errorf("a run with nothing new published: %v → %v", before, after)
	}
}

// pushAndRelease commits a change to the weather project with weatherMsg
// and then one to the currency project with currencyMsg, pulls both into
// the checkout and releases them, which must exit 0; it returns the run
// and the second commit.
func (w *world) pushAndRelease(weatherMsg, currencyMsg string) (result, string) {
	w.t.Helper()
	w.commit(weatherMsg, testkit.Touch("weather", weatherMsg))
	head := w.commit(currencyMsg, testkit.Touch("currency", currencyMsg))
	w.pull()
	r := w.release(nil)
	r.wantCode(w.t, 0)
	return r, head
}

// TestSecondPush: a feat in one tool and a fix in another give a minor and
// a patch; the third tool is left alone.
func TestSecondPush(t *testing.T) {
	w, first := releasedWorld(t)

	r, head := w.pushAndRelease("feat(weather): hourly forecasts", "fix(currency): round to cents")
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "1.1.0@"+changes.DisplaySHA(head))
	w.wantLive("currency_convert", "1.0.0@"+changes.DisplaySHA(first), "1.0.1@"+changes.DisplaySHA(head))
	w.wantLive("flight_status", "1.0.0@"+changes.DisplaySHA(first))
	if tr := toolReport(t, r.report, "weather_lookup"); tr.Bump != "minor" {
		t.Errorf("weather bump %q, want minor", tr.Bump)
	}
	if tr := toolReport(t, r.report, "currency_convert"); tr.Bump != "patch" {
		t.Errorf("currency bump %q, want patch", tr.Bump)
	}
	for _, tr := range r.report.Tools {
		if tr.Name == "flight_status" && tr.Status == pipeline.StatusReleased {
			t.Errorf("flight_status released without a change")
		}
	}
	w.noDuplicateCommits()
}

// TestBreakingChange: a "!" gives a major; a BREAKING CHANGE footer on a
// non-breaking type too.
func TestBreakingChange(t *testing.T) {
	w, first := releasedWorld(t)

	r, head := w.pushAndRelease("refactor(weather)!: drop the units parameter", "fix(currency): new rates source\n\nBREAKING CHANGE: rates are now strings.")
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "2.0.0@"+changes.DisplaySHA(head))
	w.wantLive("currency_convert", "1.0.0@"+changes.DisplaySHA(first), "2.0.0@"+changes.DisplaySHA(head))
	for _, n := range []string{"weather_lookup", "currency_convert"} {
		if tr := toolReport(t, r.report, n); tr.Bump != "major" {
			t.Errorf("%s bump %q, want major", n, tr.Bump)
		}
	}
}

// TestForcePush: the released commit is rewritten away on origin; the CI
// workspace still has it (a reused runner). The bot counts from the merge
// base, releases the new tip once, and the old version stays.
func TestForcePush(t *testing.T) {
	w, _ := releasedWorld(t)

	base := w.commit("fix(weather): a fix that will be rewritten", testkit.Touch("weather", "v1"))
	w.pull()
	w.release(nil).wantCode(t, 0)
	if got := w.live("us", "weather_lookup"); len(got) != 2 || got[1] != "1.0.1@"+changes.DisplaySHA(base) {
		t.Fatalf("before the force push: %v", got)
	}

	// Rewrite: drop the fix, commit a feat instead, force-push origin.
	w.gitIn(w.origin, "reset", "-q", "--hard", "HEAD~1")
	head := w.commit("feat(weather): the fix done right, as a feature", testkit.Touch("weather", "v2"))
	w.gitIn(w.work, "fetch", "-q", "--force", "origin")
	w.gitIn(w.work, "reset", "-q", "--hard", "origin/main")
	r := w.release(nil)
	r.wantCode(t, 0)
	tr := toolReport(t, r.report, "weather_lookup")
	if tr.Status != pipeline.StatusReleased || tr.Bump != "minor" {
		t.Errorf("weather after the force push: %s %q (%s), want released minor", tr.Status, tr.Bump, tr.Reason)
	}
	for _, s := range w.stages {
		got := w.live(s, "weather_lookup")
		if len(got) != 3 || got[2] != "1.1.0@"+changes.DisplaySHA(head) {
			t.Errorf("%s after the force push: %v, want 1.0.0, 1.0.1 and 1.1.0@%s", s, got, changes.DisplaySHA(head))
		}
	}
	w.noDuplicateCommits()
}

// TestShallowClone: a depth-1 checkout (actions/checkout's default).
// A first release from it warns that the history is cut; a later push
// whose base (the released commit) is not in the shallow history is
// deepened from the remote or refused with the fetch-depth fix before
// anything is published.
func TestShallowClone(t *testing.T) {
	w, first := releasedWorld(t)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first))

	w.commit("feat(weather): radar", testkit.Touch("weather", "radar"))
	w.commit("docs: readme", map[string]string{"README.md": "# tools, documented\n"})
	head := w.commit("fix(currency): cents", testkit.Touch("currency", "cents"))
	w.checkout(1)
	if got := w.gitIn(w.work, "rev-parse", "--is-shallow-repository"); got != "true" {
		t.Fatalf("the checkout is not shallow: %s", got)
	}
	// --deepen=false: the missing base is an error with the fix, and
	// nothing is published.
	before := w.mutations()
	r := w.release(map[string]string{"AMIGO_DEEPEN": "false"})
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "shallow clone", "fetch-depth: 0")
	if after := w.mutations(); len(after) != len(before) {
		t.Errorf("a refused shallow release changed the emulators:\n%s", strings.Join(after[len(before):], "\n"))
	}
	// By default the release fetches the history it needs from origin.
	r = w.release(nil)
	r.wantCode(t, 0)
	if got := w.gitIn(w.work, "rev-parse", "--is-shallow-repository"); got != "false" {
		t.Errorf("after deepening the checkout is still shallow (%s): git would see a cut history", got)
	}
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "1.1.0@"+changes.DisplaySHA(head))
	w.wantLive("currency_convert", "1.0.0@"+changes.DisplaySHA(first), "1.0.1@"+changes.DisplaySHA(head))
	w.wantLive("flight_status", "1.0.0@"+changes.DisplaySHA(first))
	w.noDuplicateCommits()
}

// TestShallowFirstRelease: a first release from a depth-1 checkout fetches
// the history it needs, so every commit counts; with --deepen=false it
// sees only the tip commit and says so, with the fix.
func TestShallowFirstRelease(t *testing.T) {
	w := newWorld(t)
	w.monorepo()
	w.commit("feat(weather): radar", testkit.Touch("weather", "radar"))
	w.checkout(1)
	dry := w.release(map[string]string{"AMIGO_DEEPEN": "false", "AMIGO_DRY_RUN": "true"})
	dry.wantCode(t, 0)
	wantContains(t, "stdout", dry.stdout, "shallow clone", "fetch-depth: 0")
	if n := len(toolReport(t, dry.report, "weather_lookup").Commits); n != 1 {
		t.Errorf("without deepening weather_lookup has %d commits, want only the tip of the depth-1 checkout", n)
	}
	r := w.release(nil)
	r.wantCode(t, 0)
	tr := toolReport(t, r.report, "weather_lookup")
	if tr.Status != pipeline.StatusReleased || len(tr.Commits) != 2 {
		t.Errorf("weather_lookup: %s with %d commits %+v, want released with both commits that touched it", tr.Status, len(tr.Commits), tr.Commits)
	}
	if strings.Contains(r.stdout, "fetch-depth: 0") {
		t.Errorf("the deepened release still asks for fetch-depth: 0:\n%s", r.stdout)
	}
}

// TestRerunAfterThirdStageFailure: the third stage refuses the publish of
// one tool; the others go on, the run exits 1; the rerun finishes that tool
// without publishing anything twice.
func TestRerunAfterThirdStageFailure(t *testing.T) {
	w, _ := releasedWorld(t)

	w.commit("feat(weather): radar", testkit.Touch("weather", "radar"))
	head := w.commit("fix(currency): cents", testkit.Touch("currency", "cents"))
	w.pull()
	// Stage 3 (ap) fails every publish: its build service is down.
	w.server("ap").FailNext(amigotest.OpPublishVersion, 100, http.StatusBadRequest, `{"detail":"Build failed: the build service is down"}`)
	r := w.release(nil)
	r.wantCode(t, 1)
	for _, n := range []string{"weather_lookup", "currency_convert"} {
		tr := toolReport(t, r.report, n)
		if tr.Status != pipeline.StatusFailed {
			t.Errorf("%s: %s, want failed", n, tr.Status)
		}
		for _, s := range tr.Stages {
			want := map[string]pipeline.Status{"us": pipeline.StatusReleased, "eu": pipeline.StatusReleased, "ap": pipeline.StatusFailed, "ca": pipeline.StatusBlocked}[s.Stage]
			if s.Status != want {
				t.Errorf("%s in %s: %s, want %s (%s)", n, s.Stage, s.Status, want, s.Error)
			}
		}
	}
	wantContains(t, "stderr", r.stderr, "Build failed: the build service is down")
	pubs := w.publishes()
	if pubs["us"] != 5 || pubs["eu"] != 5 || pubs["ap"] != 3 || pubs["ca"] != 3 {
		t.Errorf("publishes after the failed run: %v, want us/eu 3+2, ap/ca 3", pubs)
	}

	w.server("ap").ClearFaults()
	r = w.release(nil)
	r.wantCode(t, 0)
	for _, n := range []string{"weather_lookup", "currency_convert"} {
		tr := toolReport(t, r.report, n)
		for _, s := range tr.Stages {
			want := pipeline.StatusReleased
			if s.Stage == "us" || s.Stage == "eu" {
				want = pipeline.StatusUpToDate
			}
			if s.Status != want {
				t.Errorf("rerun: %s in %s: %s, want %s", n, s.Stage, s.Status, want)
			}
		}
	}
	if pubs := w.publishes(); pubs["us"] != 5 || pubs["eu"] != 5 || pubs["ap"] != 5 || pubs["ca"] != 5 {
		t.Errorf("publishes after the rerun: %v, want 5 in every stage", pubs)
	}
	for _, s := range w.stages {
		if got := w.live(s, "weather_lookup"); got[len(got)-1] != "1.1.0@"+changes.DisplaySHA(head) {
			t.Errorf("weather in %s: %v", s, got)
		}
		if got := w.live(s, "currency_convert"); got[len(got)-1] != "1.0.1@"+changes.DisplaySHA(head) {
			t.Errorf("currency in %s: %v", s, got)
		}
	}
	w.noDuplicateCommits()
}

func mustTool(t *testing.T, w *world, stage, name string) string {
	t.Helper()
	tl, ok := w.server(stage).ToolByName(org, name)
	if !ok {
		t.Fatalf("no tool %s in %s", name, stage)
	}
	return tl.ID
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestForcePushedAwayBase: the released commit and the push's before were
// rewritten away and garbage-collected on origin; a fresh full clone cannot
// find either. The run stops before any change with the right advice (not
// fetch-depth: the clone is complete); --base then releases.
func TestForcePushedAwayBase(t *testing.T) {
	w, first := releasedWorld(t)
	gone := w.commit("fix(weather): a fix that will be rewritten", testkit.Touch("weather", "v1"))
	w.pull()
	w.release(nil).wantCode(t, 0)

	w.gitIn(w.origin, "reset", "-q", "--hard", "HEAD~1")
	head := w.commit("feat(weather): the fix done right, as a feature", testkit.Touch("weather", "v2"))
	w.gitIn(w.origin, "reflog", "expire", "--expire=now", "--all")
	w.gitIn(w.origin, "gc", "-q", "--prune=now")
	w.checkout(0)
	if out, err := exec.Command("git", "-C", w.work, "cat-file", "-e", gone).CombinedOutput(); err == nil {
		t.Fatalf("the rewritten commit is still in the fresh clone: %s", out)
	}

	event := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(event, []byte(`{"before":"`+gone+`","after":"`+head+`","ref":"refs/heads/main"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ci := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": event,
		"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": head}
	before := w.mutations()
	r := w.release(ci)
	r.wantCode(t, 2)
	wantContains(t, "output", r.stdout+r.stderr, gone, "force-pushed away", "--base")
	if strings.Contains(r.stdout+r.stderr, "fetch-depth: 0") {
		t.Errorf("a complete clone is told to fetch-depth: 0:\n%s\n%s", r.stdout, r.stderr)
	}
	if after := w.mutations(); len(after) != len(before) {
		t.Errorf("a refused release changed the emulators:\n%s", strings.Join(after[len(before):], "\n"))
	}

	r = w.release(ci, "--base", first)
	r.wantCode(t, 0)
	if tr := toolReport(t, r.report, "weather_lookup"); tr.Status != pipeline.StatusReleased || tr.Bump != "minor" {
		t.Errorf("weather_lookup with --base: %s %q (%s), want released minor", tr.Status, tr.Bump, tr.Reason)
	}
	w.noDuplicateCommits()
}

// The fault campaign's seeds with a short publish.retry_budget found the
// cases of this file: what must happen whatever the budget left.

// oneToolWorld is a world of one stage, us, whose plan gives publishes a
// retry budget of budget, and origin's first commit: that plan and one
// tool, weather_lookup in tools/weather. It returns the commit.
func oneToolWorld(t *testing.T, budget string) (*world, string) {
	t.Helper()
	w := newWorld(t)
	w.stages = []string{"us"}
	head := w.commit("feat: one tool", testkit.Files(
		map[string]string{".amigo/release.yaml": strings.Replace(w.planYAML(nil, ""), "retry_budget: 2h", "retry_budget: "+budget, 1)},
		testkit.Project("weather", "weather_lookup", ""),
	))
	return w, head
}

// TestCapRefusalPrunesAndRetriesOnce: the tool already has four active
// versions (the API refuses a publish beyond three), so the publish is
// refused for the cap; the bot deprecates the oldest unpinned version and
// publishes once more (DESIGN §5). That one retry is the cap policy, not a
// retry of a 409: it must happen whatever publish.retry_budget is (here
// 1s: the budget is spent by the time the refusal is answered).
//
// The fault campaign found this: in seeds with a short retry budget the
// budget was already spent when the cap refusal came, so the bot deprecated
// a version and then gave up without publishing.
func TestCapRefusalPrunesAndRetriesOnce(t *testing.T) {
	w, first := oneToolWorld(t, "1s")
	// Three older commits, not in this history, and the first.
	w.Seed("us", "weather_lookup", "tools/weather", "1.0.0@"+strings.Repeat("0", 40), "1.1.0@"+strings.Repeat("1", 40),
		"1.2.0@"+strings.Repeat("2", 40), "1.3.0@"+first)
	head := w.commit("feat(weather): radar", testkit.Touch("weather", "radar"))
	w.checkout(0)
	r := w.release(nil)
	tr := toolReport(t, r.report, "weather_lookup")
	if len(tr.Stages) != 1 || tr.Stages[0].Status != pipeline.StatusReleased || tr.Stages[0].VersionAfter != "1.4.0" {
		t.Errorf("us: %s %q: %s; want released 1.4.0", tr.Stages[0].Status, tr.Stages[0].VersionAfter, tr.Stages[0].Error)
	}
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.2.0@"+strings.Repeat("2", 7), "1.3.0@"+changes.DisplaySHA(first), "1.4.0@"+changes.DisplaySHA(head))
}

// TestLostPublishAnswerAtTheEndOfTheBudget: the connection drops after the
// server did the publish (the unknown-outcome case), and the publish retry
// budget is already spent (a publish takes 1–2 simulated minutes, the
// budget is 30 s). The bot must still look for the version before it
// reports: the version is live, so the stage is released (found by commit,
// not published again), never "failed" while it serves the commit.
//
// The fault campaign found this (seeds with a short retry_budget).
func TestLostPublishAnswerAtTheEndOfTheBudget(t *testing.T) {
	w, head := oneToolWorld(t, "30s")
	w.checkout(0)
	w.server("us").DropAfterWork(amigotest.OpPublishVersion, 1)
	r := w.release(nil)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(head))
	tr := toolReport(t, r.report, "weather_lookup")
	if len(tr.Stages) != 1 || tr.Stages[0].Status != pipeline.StatusReleased || tr.Stages[0].VersionAfter != "1.0.0" {
		t.Errorf("us serves 1.0.0 of the head commit, but the report says %s %q: %s", tr.Stages[0].Status, tr.Stages[0].VersionAfter, tr.Stages[0].Error)
	}
	r.wantCode(t, 0)
	if p := w.publishes()["us"]; p != 1 {
		t.Errorf("%d successful publishes, want 1", p)
	}
}
