package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/peakrss"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/pipeline"
)

// bin is the amigo-release binary built by TestMain.
var bin string

func TestMain(m *testing.M) {
	peakrss.Spawn()
	dir, err := os.MkdirTemp("", "amigo-release-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "amigo-release")
	build := exec.Command("go", "build", "-o", bin, "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// scale is the time compression of the scenarios: a simulated minute takes
// 20 real milliseconds, in the emulators and in the binary (--time-scale).
const scale = 3000

// org is the organization every scenario releases to.
const org = demo.Org

// creds are the API key variables the plans name (the emulators accept any).
var creds = map[string]string{"AMIGO_API_KEY": "ak-e2e-SECRET-7731", "AMIGO_API_KEY_ID": "kid-e2e", "AMIGO_USER_ID": "releaser"}

// world is one scenario: a test world (testworld) whose repository is
// the team's ("origin", which the emulators build from, as the Amigo API
// builds from the team's GitHub repository), with four emulated regions
// served as the demo cluster serves them, and a CI checkout of origin.
type world struct {
	*testworld.World
	t       *testing.T
	origin  string
	work    string
	cluster *demo.Cluster
	stages  []string // the stages of planYAML: us, eu, ap, ca
}

// stageRegion maps the scenarios' stage names to regions.
var stageRegion = map[string]string{"us": "us", "eu": "eu-central-1", "ap": "ap-southeast-2", "ca": "ca-central-1"}

func newWorld(t *testing.T) *world { return newWorldWith(t, nil) }

// newWorldWith is newWorld with the emulators' options adjusted by tune.
func newWorldWith(t *testing.T, tune func(*amigotest.Options)) *world {
	t.Helper()
	emu := amigotest.Options{
		PublishLatency: amigotest.Uniform(time.Minute, 2*time.Minute),
		TestLatency:    amigotest.Fixed(10 * time.Second),
		// The binary's clock starts later than the emulators' (both run
		// scale times faster): tokens must not expire in between.
		TokenTTL: 10000 * time.Hour,
	}
	if tune != nil {
		tune(&emu)
	}
	tw := testworld.New(t, testworld.Options{Org: org, Stages: []string{"us", "eu", "ap", "ca"}, Regions: stageRegion,
		Dir: filepath.Join(t.TempDir(), "origin"), Clock: clock.NewScaled(scale), Emulator: emu})
	return &world{World: tw, t: t, origin: tw.Dir, cluster: tw.Cluster, stages: tw.Stages}
}

// server is the emulator of a stage.
func (w *world) server(stage string) *amigotest.Server { return w.Server(stage) }

// gitIn runs git in dir.
func (w *world) gitIn(dir string, args ...string) string {
	w.t.Helper()
	return testkit.Git(w.t, dir, args...)
}

// commit writes files in origin (a "" content deletes) and commits them.
func (w *world) commit(msg string, files map[string]string) string {
	w.t.Helper()
	return w.Commit(msg, files)
}

func (w *world) commitIn(dir, msg string, files map[string]string) string {
	w.t.Helper()
	return testkit.OpenRepo(w.t, dir).Commit(msg, files)
}

// checkout makes the CI checkout: a full clone of origin (depth 0 means
// the whole history).
func (w *world) checkout(depth int) string {
	w.t.Helper()
	dir := filepath.Join(w.t.TempDir(), "checkout")
	args := []string{"clone", "-q"}
	if depth > 0 {
		args = append(args, "--depth", fmt.Sprint(depth))
	}
	args = append(args, "file://"+w.origin, dir)
	w.gitIn(filepath.Dir(dir), args...)
	w.work = dir
	return dir
}

// pull updates the checkout to origin's main.
func (w *world) pull() {
	w.t.Helper()
	w.gitIn(w.work, "fetch", "-q", "origin")
	w.gitIn(w.work, "reset", "-q", "--hard", "origin/main")
}

// planYAML is a four-stage plan on the world's emulators: us (test gate)
// → eu → ap → ca, with extra YAML per stage (indented by the caller's
// lines, each prefixed here) and a tail (e.g. a tools: section).
func (w *world) planYAML(extra map[string]string, tail string) string {
	var b strings.Builder
	b.WriteString("version: 1\ndiscovery:\n  roots: [tools]\n")
	b.WriteString("publish:\n  retry_budget: 2h\n  initial_interval: 10s\n  max_interval: 1m\n")
	b.WriteString("defaults:\n  organization: " + org + "\n  branch: main\n  concurrency: 8\n")
	gated := maps.Clone(extra)
	if gated == nil {
		gated = map[string]string{}
	}
	gated[w.stages[0]] = "test: true\n" + gated[w.stages[0]]
	b.WriteString(w.StagesYAML(w.stages, gated))
	b.WriteString(tail)
	return b.String()
}

// plan returns the plan file for origin's first commit.
func (w *world) plan(extra map[string]string, tail string) map[string]string {
	return map[string]string{".amigo/release.yaml": w.planYAML(extra, tail)}
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
	report         *pipeline.Report
	rss            int64 // peak resident memory in bytes (0 where the system does not say)
}

// run runs the binary in dir with exactly env (plus PATH and HOME) and
// args; when args hold --report-json "" a report path is filled in and
// the report read back.
func (w *world) run(dir string, env map[string]string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reportPath := ""
	for i, a := range args {
		if a == "--report-json" && i+1 < len(args) && args[i+1] == "" {
			reportPath = filepath.Join(w.t.TempDir(), "report.json")
			args[i+1] = reportPath
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	peak := peakrss.Measure(cmd, w.t.TempDir())
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), rss: peak()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("run %s: %v", strings.Join(args, " "), err)
	}
	if reportPath != "" {
		if b, err := os.ReadFile(reportPath); err == nil {
			var rep pipeline.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				w.t.Fatalf("report %s: %v", reportPath, err)
			}
			r.report = &rep
		}
	}
	return r
}

// release runs `run` in the checkout with the credentials and time scale.
func (w *world) release(extraEnv map[string]string, args ...string) result {
	w.t.Helper()
	return w.inCheckout(extraEnv, append([]string{"run", "--report-json", ""}, args...)...)
}

// inCheckout runs a command of the binary in the checkout with the
// credentials, the time scale and extraEnv.
func (w *world) inCheckout(extraEnv map[string]string, args ...string) result {
	w.t.Helper()
	env := map[string]string{"AMIGO_TIME_SCALE": fmt.Sprint(scale)}
	maps.Copy(env, creds)
	maps.Copy(env, extraEnv)
	return w.run(w.work, env, args...)
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// versions returns a tool's versions in a stage, oldest first.
func (w *world) versions(stage, tool string) []amigo.ToolVersion { return w.Versions(stage, tool) }

// live returns "X.Y.Z@sha7" for a tool's non-deprecated versions in a stage.
func (w *world) live(stage, tool string) []string {
	var out []string
	for _, v := range w.versions(stage, tool) {
		if !v.Deprecated {
			out = append(out, v.Version.String()+"@"+v.ToolCommitHash[:7])
		}
	}
	return out
}

// wantLive asserts the live versions of tool in every stage.
func (w *world) wantLive(tool string, want ...string) {
	w.t.Helper()
	for _, s := range w.stages {
		if got := w.live(s, tool); strings.Join(got, " ") != strings.Join(want, " ") {
			w.t.Errorf("%s in %s: live %v, want %v", tool, s, got, want)
		}
	}
}

// publishes counts successful publishes per stage (from the request logs).
func (w *world) publishes() map[string]int {
	out := map[string]int{}
	for _, s := range w.stages {
		for _, r := range w.server(s).Requests() {
			if r.OperationID == amigotest.OpPublishVersion && r.Status < 300 {
				out[s]++
			}
		}
	}
	return out
}

// mutations lists successful mutating requests on every emulator.
func (w *world) mutations() []string { return w.cluster.MutatingRequests() }

// noDuplicateCommits asserts that no tool has two versions of one commit
// in one stage, but for deprecated ones the reports name as withdrawn
// (deprecated at once: a race with an earlier publish of the commit let a
// second one through).
func (w *world) noDuplicateCommits(reports ...*pipeline.Report) {
	w.t.Helper()
	withdrawn := map[string]bool{}
	for _, rep := range reports {
		for _, tr := range rep.Tools {
			for _, st := range tr.Stages {
				for _, v := range st.Withdrawn {
					withdrawn[st.Stage+"/"+tr.Name+"/"+v] = true
				}
			}
		}
	}
	for _, s := range w.stages {
		for _, tl := range w.server(s).Tools(org) {
			seen := map[string]string{}
			for _, v := range w.server(s).Versions(org, tl.ID) {
				if v.Deprecated && withdrawn[s+"/"+tl.Name+"/"+v.Version.String()] {
					continue
				}
				if prev, dup := seen[v.ToolCommitHash]; dup {
					w.t.Errorf("%s in %s: versions %s and %s both pin commit %s", tl.Name, s, prev, v.Version, v.ToolCommitHash)
				}
				seen[v.ToolCommitHash] = v.Version.String()
			}
		}
	}
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// toolReport returns a tool's entry of a report.
func toolReport(t *testing.T, rep *pipeline.Report, name string) pipeline.ToolReport {
	t.Helper()
	if rep == nil {
		t.Fatalf("no JSON report")
	}
	for _, tr := range rep.Tools {
		if tr.Name == name {
			return tr
		}
	}
	var names []string
	for _, tr := range rep.Tools {
		names = append(names, tr.Name+"="+string(tr.Status))
	}
	t.Fatalf("tool %s not in the report (%v)", name, names)
	return pipeline.ToolReport{}
}
