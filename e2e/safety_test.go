package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// The release-safety findings of issue 13, end to end on the built binary
// and the emulators.

// stageReport returns a tool's report of one stage.
func stageReport(t *testing.T, rep *pipeline.Report, tool, stage string) pipeline.StageReport {
	t.Helper()
	for _, s := range toolReport(t, rep, tool).Stages {
		if s.Stage == stage {
			return s
		}
	}
	t.Fatalf("%s has no stage %s in the report", tool, stage)
	return pipeline.StageReport{}
}

// successes counts the requests of op a stage's emulator answered with 2xx.
func (w *world) successes(stage, op string) int {
	n := 0
	for _, q := range w.server(stage).Requests() {
		if q.OperationID == op && q.Status < 300 {
			n++
		}
	}
	return n
}

// Item 1: from a detached HEAD on another branch the server would publish
// main's tip, which nobody tested: the run does not start, says why and what
// to do, and nothing is published.
func TestHeadOffTheBranchTip(t *testing.T) {
	w, _ := releasedWorld(t)
	tip := w.commit("fix(weather): on main", testkit.Touch("weather", "main"))
	w.pull()
	w.gitIn(w.work, "checkout", "-q", "-b", "jokes", "HEAD~1")
	head := w.commitIn(w.work, "fix(currency): on another branch", testkit.Touch("currency", "jokes"))
	w.gitIn(w.work, "checkout", "-q", "--detach")
	before := w.mutations()
	r := w.release(nil)
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "the release cannot start (nothing was created or published)", "branch main (stages us, eu, ap, ca)",
		"the commit being released, "+head[:12]+", is not the tip of main", "origin's main (read from file://", "is at "+tip[:12], "fix: release from the tip")
	if after := w.mutations(); len(after) != len(before) {
		t.Errorf("a run off the tip changed the emulators:\n%s", strings.Join(after[len(before):], "\n"))
	}
	if n := w.successes("us", amigotest.OpTestTool); n != 3 {
		t.Errorf("%d tests in us, want only the first release's 3", n)
	}
}

// publishHook is a reverse proxy in front of one region that runs before
// the first publish request reaches it: a push landing on the team branch
// while the publish is on its way.
type publishHook struct {
	srv  *httptest.Server
	once sync.Once
}

func newPublishHook(t *testing.T, target string, before func()) *publishHook {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &publishHook{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/version") {
			h.once.Do(before)
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// Item 2: the branch moves between the test and the publish. The version
// the server builds is caught, stays in the first stage only and is never
// promoted; the next run from the moved tip tests it before adopting and
// promoting it; a rerun of the old commit is refused, saying why.
func TestBranchMovesDuringTheRelease(t *testing.T) {
	w := newWorld(t)
	tested := w.monorepo()
	var moved string
	hook := newPublishHook(t, w.cluster.URL("us"), func() {
		moved = w.commit("feat(weather): pushed during the release", testkit.Touch("weather", "pushed"))
	})
	plan := strings.ReplaceAll(w.planYAML(nil, ""), w.cluster.URL("us"), hook.srv.URL)
	w.commit("chore: the plan through the proxy", map[string]string{".amigo/release.yaml": plan})
	tested = w.gitIn(w.origin, "rev-parse", "HEAD")
	w.checkout(0)
	r := w.release(nil)
	r.wantCode(t, 1)
	if moved == "" {
		t.Fatal("no publish went through the proxy")
	}
	us := stageReport(t, r.report, "weather_lookup", "us")
	if us.Status != pipeline.StatusFailed || us.CommitHash != moved {
		t.Fatalf("weather in us: %s (commit %s), want failed with the moved commit %s\n%s", us.Status, us.CommitHash, moved[:12], r.stderr)
	}
	wantContains(t, "stdout", r.stdout, "built from commit "+moved[:12]+", not the tested commit "+tested[:12], "stays in us, the first stage, and is never promoted")
	for _, s := range []string{"eu", "ap", "ca"} {
		for _, v := range w.versions(s, "weather_lookup") {
			if v.ToolCommitHash == moved {
				t.Errorf("%s serves the untested %s (%s)", s, moved[:12], v.Version)
			}
		}
		if st := stageReport(t, r.report, "weather_lookup", s); st.Status != pipeline.StatusBlocked {
			t.Errorf("weather in %s: %s, want blocked", s, st.Status)
		}
	}

	// Rerunning the old commit is refused: its tip moved.
	stale := w.release(nil)
	stale.wantCode(t, 2)
	wantContains(t, "stderr", stale.stderr, "is not the tip of main", "is at "+moved[:12])

	// The run from the moved tip tests it, then adopts the version us
	// already serves and promotes it: nothing is published twice.
	w.pull()
	testsBefore := w.successes("us", amigotest.OpTestTool)
	r = w.release(nil)
	r.wantCode(t, 0)
	if n := w.successes("us", amigotest.OpTestTool) - testsBefore; n < 1 {
		t.Errorf("the run from %s sent no test to us: the version was adopted untested", moved[:12])
	}
	if st := stageReport(t, r.report, "weather_lookup", "us"); st.Status != pipeline.StatusUpToDate || len(st.Tests) != 1 {
		t.Errorf("weather in us: %s with %d test results, want up to date after one test", st.Status, len(st.Tests))
	}
	for _, s := range w.stages {
		n := 0
		for _, v := range w.versions(s, "weather_lookup") {
			if v.ToolCommitHash == moved && !v.Deprecated {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d live versions of %s, want 1", s, n, moved[:12])
		}
	}
	w.noDuplicateCommits()
}

// Item 4: a 429 that comes back after the retry budget is spent is waited
// out once more (its Retry-After) instead of failing the tool.
func Test429AtTheEndOfTheBudget(t *testing.T) {
	w := newWorld(t)
	w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather_lookup", ""),
		map[string]string{".amigo/release.yaml": strings.Replace(w.planYAML(nil, ""), "retry_budget: 2h", "retry_budget: 0s", 1)}))
	w.checkout(0)
	// Every test-tool call gets a 429 whose Retry-After (10 simulated
	// minutes) is beyond the client's own budget: the client hands it to
	// the pipeline at once, where no budget is left.
	w.server("us").SetChaos(&amigotest.Chaos{Seed: 1, RateLimit: 1, RetryAfter: 600, Ops: []string{amigotest.OpTestTool}})
	go func() {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			for _, q := range w.server("us").Requests() {
				if q.OperationID == amigotest.OpTestTool && q.Status == http.StatusTooManyRequests {
					w.server("us").ClearFaults()
					return
				}
			}
		}
	}()
	r := w.release(nil)
	r.wantCode(t, 0)
	if r.report.Stats.LastChanceWaits != 1 {
		t.Errorf("last-chance waits %d, want 1", r.report.Stats.LastChanceWaits)
	}
	if n := w.successes("us", amigotest.OpTestTool); n != 1 {
		t.Errorf("%d successful tests, want 1 (after the 429 was waited out)", n)
	}
}

// runningBinary is the binary started in the background.
type runningBinary struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
	report   string
}

func (w *world) start(env map[string]string, args ...string) *runningBinary {
	w.t.Helper()
	b := &runningBinary{report: filepath.Join(w.t.TempDir(), "report.json")}
	b.cmd = exec.Command(bin, append([]string{"run", "--report-json", b.report}, args...)...)
	b.cmd.Dir = w.work
	b.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.t.TempDir(), "AMIGO_TIME_SCALE=" + fmt.Sprint(scale)}
	for k, v := range creds {
		b.cmd.Env = append(b.cmd.Env, k+"="+v)
	}
	for k, v := range env {
		b.cmd.Env = append(b.cmd.Env, k+"="+v)
	}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.err
	if err := b.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = b.cmd.Process.Kill() })
	return b
}

// wait waits for the binary to exit and reads its report.
func (b *runningBinary) wait(t *testing.T) result {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the binary did not exit:\n%s\n%s", b.out.String(), b.err.String())
	}
	r := result{stdout: b.out.String(), stderr: b.err.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if data, rerr := os.ReadFile(b.report); rerr == nil {
		var rep pipeline.Report
		if jerr := json.Unmarshal(data, &rep); jerr != nil {
			t.Fatalf("report: %v", jerr)
		}
		r.report = &rep
	}
	return r
}

// waitBusy waits until a stage's emulator is building a publish of tool.
func (w *world) waitBusy(stage, tool string) {
	w.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if tl, ok := w.server(stage).ToolByName(org, tool); ok && w.server(stage).Busy(org, tl.ID) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s never started publishing %s", stage, tool)
		}
	}
}

// Item 5: SIGINT while a publish builds. Nothing new starts, the publish in
// flight finishes within the grace period and is verified, the report says what is done and
// pending, the exit code is 130, and the rerun finishes without publishing
// anything twice. With the runner's SIGTERM right after (a publish longer
// than the grace), the publish's outcome is reported unknown, and the
// rerun finds it.
func TestInterrupts(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to a process on Windows")
	}
	for _, tt := range []struct {
		name    string
		latency amigotest.Latency
		sigterm bool
		want    pipeline.Status
	}{
		// The publish in flight finishes within the grace and is verified
		// (us has no gate after verify): us is released, nothing else
		// starts.
		{"SIGINT: the publish finishes", amigotest.Fixed(5 * time.Minute), false, pipeline.StatusReleased},
		{"SIGINT then SIGTERM: the outcome is unknown", amigotest.Fixed(90 * time.Minute), true, pipeline.StatusUnknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorldWith(t, func(o *amigotest.Options) { o.PublishLatency = tt.latency })
			head := w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather_lookup", ""), w.plan(nil, "")))
			w.checkout(0)
			b := w.start(nil)
			w.waitBusy("us", "weather_lookup")
			if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			if tt.sigterm {
				time.Sleep(50 * time.Millisecond)
				if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			r := b.wait(t)
			r.wantCode(t, 130)
			if r.report == nil || !r.report.Interrupted {
				t.Fatalf("no interrupted report:\n%s", r.stderr)
			}
			us := stageReport(t, r.report, "weather_lookup", "us")
			if us.Status != tt.want {
				t.Errorf("us: %s (%s), want %s", us.Status, us.Error, tt.want)
			}
			if !tt.sigterm && us.VersionAfter != "1.0.0" {
				t.Errorf("us: version after %q, want the 1.0.0 whose publish was in flight", us.VersionAfter)
			}
			for _, s := range []string{"eu", "ap", "ca"} {
				if st := stageReport(t, r.report, "weather_lookup", s); st.Status != pipeline.StatusPending {
					t.Errorf("%s: %s, want pending (nothing new starts)", s, st.Status)
				}
				if vs := w.versions(s, "weather_lookup"); len(vs) != 0 {
					t.Errorf("%s got %v after the interrupt", s, vs)
				}
			}
			wantContains(t, "stderr", r.stderr, "interrupted: ", "rerun the same command to finish what is left")
			if tt.sigterm {
				wantContains(t, "stderr", r.stderr, "whose outcome is unknown")
			}

			// The rerun starts at once, while the interrupted publish may
			// still build: it finds that version, never keeps a second one.
			r = w.release(nil)
			r.wantCode(t, 0)
			w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(head))
			w.noDuplicateCommits(r.report)
		})
	}
}

// Item 6: a server that does not answer at its documented regional address
// is an outage (exit 3, retry later), not a configuration error; a custom
// base_url where nothing answers stays exit 2 (TestBadInput).
func TestRegionDownIsAnOutage(t *testing.T) {
	w := newWorld(t)
	plan := strings.Replace(w.planYAML(nil, ""), "base_url: "+w.cluster.URL("us"), "region: us", 1)
	w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather_lookup", ""), map[string]string{".amigo/release.yaml": plan}))
	w.checkout(0)
	// The way to https://api.amigo.ai goes through a proxy that refuses
	// every connection: to this runner the region is down. (Nothing leaves
	// the machine.)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := "http://" + ln.Addr().String()
	ln.Close()
	r := w.release(map[string]string{"HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1"})
	r.wantCode(t, 3)
	wantContains(t, "stderr", r.stderr, "stage us (https://api.amigo.ai", "the Amigo server of region us does not answer at its documented address", "an outage", "retry later", "nothing was created or published")
	if m := w.mutations(); len(m) > 0 {
		t.Errorf("an outage changed the other emulators:\n%s", strings.Join(m, "\n"))
	}
}

// Item 7: a first release that fails before publishing (its test fails)
// reports the bump it would have published, major, not the commits' minor.
func TestFirstReleaseFailingBeforePublishReportsMajor(t *testing.T) {
	w := newWorld(t)
	w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather_lookup", "\n[tool.amigo-release]\ntest_inputs = [ { input_parameters = { raise = \"ValueError: no\" } } ]\n"), w.plan(nil, "")))
	w.checkout(0)
	r := w.release(nil)
	r.wantCode(t, 1)
	tr := toolReport(t, r.report, "weather_lookup")
	if tr.Status != pipeline.StatusFailed || tr.Bump != "major" {
		t.Errorf("weather: %s bump %q, want failed with bump major (a first release)", tr.Status, tr.Bump)
	}
	for _, s := range tr.Stages {
		if s.Bump != "major" {
			t.Errorf("%s: bump %q, want major", s.Stage, s.Bump)
		}
	}
}

// Item 9: the hints of a refused sign-in name the variables the stage's
// credentials name, and an unknown organization is pointed at the stage's
// organization, never at variables nobody set.
func TestHintsNameTheStageSettings(t *testing.T) {
	w := newWorldWith(t, func(o *amigotest.Options) {
		o.APIKeys = []amigotest.APIKey{{Key: creds["AMIGO_API_KEY"], KeyID: creds["AMIGO_API_KEY_ID"], UserID: creds["AMIGO_USER_ID"]}}
		o.Orgs = []string{org}
	})
	eu := "credentials:\n  api_key_env: EU_KEY\n  api_key_id_env: EU_KEY_ID\n  user_id_env: EU_USER\n"
	ap := "organization: no-such-org"
	w.commit("feat: weather", testkit.Files(testkit.Project("weather", "weather_lookup", ""), w.plan(map[string]string{"eu": eu, "ap": ap}, "")))
	w.checkout(0)
	r := w.release(map[string]string{"EU_KEY": "ek-wrong-9911", "EU_KEY_ID": "ekid", "EU_USER": "releaser"})
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "2 problems", "stage eu", "check EU_KEY / EU_KEY_ID / EU_USER", "stage ap", "organization no-such-org",
		"the organization of stage ap (stages[].organization or defaults.organization in the plan)")
	for _, bad := range []string{"AMIGO_ORGANIZATION_ID", "check AMIGO_API_KEY", "ek-wrong-9911"} {
		if strings.Contains(r.stderr+r.stdout, bad) {
			t.Errorf("the output names %q:\n%s", bad, r.stderr)
		}
	}
	if m := w.mutations(); len(m) > 0 {
		t.Errorf("refused credentials changed the emulators:\n%s", strings.Join(m, "\n"))
	}
}
