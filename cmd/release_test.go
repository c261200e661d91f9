package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// timeScale compresses simulated time in release tests: a 5-minute publish
// takes 0.3 s, an hour-long token lives 3.6 s: margins that survive a loaded
// machine. The emulator and the CLI use clocks with the same factor.
const timeScale = 1000

// testCreds are the default credential variables of a plan.
var testCreds = map[string]string{
	"AMIGO_API_KEY":    "test-api-key-123",
	"AMIGO_API_KEY_ID": "test-key-id-456",
	"AMIGO_USER_ID":    "test-user-789",
}

// git runs the git CLI in dir (tests only; the product reads git with go-git).
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return testkit.Git(t, dir, args...)
}

// writeFiles writes path → content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := testkit.WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
}

// commit writes files and commits them with msg; it returns the SHA.
func commit(t *testing.T, dir, msg string, files map[string]string) string {
	t.Helper()
	return testkit.OpenRepo(t, dir).Commit(msg, files)
}

// toolRepo makes a repository with two tool projects, weather_lookup and
// calendar, in two commits (a feat, then a fix in weather).
func toolRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	commit(t, dir, "feat: first tools", map[string]string{
		"tools/weather/pyproject.toml":  "[project]\nname = \"weather-lookup\"\ndescription = \"Weather for a city.\"\n",
		"tools/calendar/pyproject.toml": "[project]\nname = \"calendar\"\ndescription = \"Calendar lookups.\"\n",
	})
	commit(t, dir, "fix(weather): handle rain", map[string]string{"tools/weather/main.py": "print('rain')\n"})
	return dir
}

// writePlan writes a two-stage plan (us with a test gate, then eu) whose
// stages point at the given base URLs, and returns its path.
func writePlan(t *testing.T, dir, usURL, euURL string) string {
	t.Helper()
	plan := fmt.Sprintf(`version: 1
defaults:
  organization: acme
stages:
  - name: us
    base_url: %s
    test: true
  - name: eu
    base_url: %s
`, usURL, euURL)
	p := filepath.Join(dir, "release.yaml")
	if err := os.WriteFile(p, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// emulators starts two emulated regions reading repo, on the shared scale.
func emulators(t *testing.T, repo string) (us, eu *amigotest.Server) {
	t.Helper()
	opts := amigotest.Options{Clock: clock.NewScaled(timeScale), RepoPath: repo}
	r := amigotest.NewTestRegions(t, opts, "us", "eu")
	return r["us"], r["eu"]
}

// twoRegions is toolRepo, its two emulated regions and a plan (in a temp
// dir) naming them.
func twoRegions(t *testing.T) (repo string, us, eu *amigotest.Server, plan string) {
	t.Helper()
	repo = toolRepo(t)
	us, eu = emulators(t, repo)
	return repo, us, eu, writePlan(t, t.TempDir(), us.URL(), eu.URL())
}

// releaseEnv is testCreds plus extra.
func releaseEnv(extra ...string) map[string]string { return copyEnv(testCreds, extra...) }

func runRelease(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runMainCtx(t, t.Context(), Env{Getenv: mapEnv(env), Clock: clock.NewScaled(timeScale)}, args...)
}

func mutating(reqs []amigotest.LoggedRequest) []string {
	var out []string
	for _, r := range reqs {
		if r.Mutating() {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// activeVersions lists tool's non-deprecated versions on s, through the
// real client.
func activeVersions(t *testing.T, s *amigotest.Server, tool string) []string {
	t.Helper()
	c, err := amigo.New(amigo.Config{BaseURL: s.URL(), Org: "acme", APIKey: "k-check", APIKeyID: "kid-check", UserID: "checker", NoPacing: true})
	if err != nil {
		t.Fatal(err)
	}
	found, err := c.FindToolByName(t.Context(), tool)
	if err != nil || found == nil {
		t.Fatalf("FindToolByName(%s) = %v, %v", tool, found, err)
	}
	notDeprecated := false
	vs, err := c.AllVersions(t.Context(), found.ID, amigo.ListVersionsOptions{Deprecated: &notDeprecated})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Version.String())
	}
	return out
}

func TestRun_releasesThenRerunIsANoop(t *testing.T) {
	repo, us, eu, plan := twoRegions(t)
	reportPath := filepath.Join(t.TempDir(), "report.json")

	r := runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan, "--report-json", reportPath)
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, "weather_lookup", "calendar", "released 1.0.0")
	for _, s := range []*amigotest.Server{us, eu} {
		for _, tool := range []string{"weather_lookup", "calendar"} {
			if got := activeVersions(t, s, tool); len(got) != 1 || got[0] != "1.0.0" {
				t.Errorf("%s on %s: versions %v, want [1.0.0]", tool, s.URL(), got)
			}
		}
	}
	var rep pipeline.Report
	b := readFile(t, reportPath)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "run" || len(rep.Tools) != 2 || !rep.OK() {
		t.Errorf("report: mode %q, %d tools, ok %v", rep.Mode, len(rep.Tools), rep.OK())
	}
	if strings.Contains(r.stdout+r.stderr, testCreds["AMIGO_API_KEY"]) {
		t.Error("the API key appears in the output")
	}

	us.ResetRequests()
	eu.ResetRequests()
	r = runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("rerun made mutating calls: %v", m)
	}

	// A fix in one tool releases only that tool, as a patch.
	commit(t, repo, "fix(calendar): leap years", map[string]string{"tools/calendar/leap.py": "x = 1\n"})
	r = runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	if got := activeVersions(t, eu, "calendar"); len(got) != 2 {
		t.Errorf("calendar on eu after a fix: %v, want 1.0.0 and 1.0.1", got)
	}
	if got := activeVersions(t, eu, "weather_lookup"); len(got) != 1 {
		t.Errorf("weather_lookup on eu after a calendar fix: %v, want only 1.0.0", got)
	}
}

func TestPlan_makesNoMutatingCall(t *testing.T) {
	repo, us, eu, plan := twoRegions(t)
	reportPath := filepath.Join(t.TempDir(), "plan.json")

	r := runRelease(t, releaseEnv(), "plan", "--repo", repo, "--config", plan, "--report-json", reportPath)
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, "Merging releases", "weather_lookup 1.0.0", "us → eu")
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("plan made mutating calls: %v", m)
	}
	if len(us.Requests()) == 0 {
		t.Error("plan made no read call to the first stage")
	}
	b := readFile(t, reportPath)
	wantContains(t, "plan JSON", string(b), `"mode": "plan"`, `"status": "planned"`)

	// run --dry-run is the same: reads only.
	us.ResetRequests()
	r = runRelease(t, releaseEnv(), "run", "--dry-run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	if m := mutating(us.Requests()); len(m) != 0 {
		t.Errorf("run --dry-run made mutating calls: %v", m)
	}
}

func TestPlan_offlineNeedsNoServerOrCredentials(t *testing.T) {
	repo := toolRepo(t)
	plan := writePlan(t, t.TempDir(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	r := runRelease(t, nil, "plan", "--offline", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, "weather_lookup", "calendar")
}

func TestRelease_exitCodes(t *testing.T) {
	repo := toolRepo(t)
	us, eu := emulators(t, repo)
	dir := t.TempDir()
	plan := writePlan(t, dir, us.URL(), eu.URL())
	badPlan := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badPlan, []byte("version: 1\nstages:\n  - name: us\n    regon: us\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := "http://" + amigotest.RefusedAddr(t)
	unreachable := writePlan(t, t.TempDir(), down, down)
	notRepo := t.TempDir()

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  []string
	}{
		{"bad flag", releaseEnv(), []string{"run", "--nope"}, ExitUsage, []string{"flag provided but not defined: -nope"}},
		{"bad flag value from env", releaseEnv("AMIGO_FAIL_FAST", "sometimes"), []string{"run"}, ExitUsage, []string{`AMIGO_FAIL_FAST="sometimes"`}},
		{"bad plan gives file:line", releaseEnv(), []string{"run", "--repo", repo, "--config", badPlan}, ExitUsage,
			[]string{badPlan + ":4:5: stages[0].regon", `did you mean "region"`}},
		{"missing plan", releaseEnv(), []string{"plan", "--repo", repo}, ExitUsage, []string{".amigo/release.yaml: file not found"}},
		{"missing credentials", map[string]string{"AMIGO_API_KEY": "only-the-key"}, []string{"run", "--repo", repo, "--config", plan}, ExitUsage,
			[]string{"missing credential variable(s) AMIGO_API_KEY_ID, AMIGO_USER_ID"}},
		{"unknown head", releaseEnv(), []string{"run", "--repo", repo, "--config", plan, "--head", "no-such-branch"}, ExitUsage,
			[]string{`unknown revision "no-such-branch"`}},
		{"not a repository", releaseEnv(), []string{"plan", "--repo", notRepo, "--config", plan}, ExitUsage, []string{"not a git repository"}},
		{"unreachable server", releaseEnv(), []string{"plan", "--repo", repo, "--config", unreachable}, ExitUsage,
			[]string{"connection refused", "stage us (" + down, "stage eu (" + down, "no server answers at " + down, "check the URL (a stage's region or base_url)", "nothing was created or published"}},
		{"bad time scale", releaseEnv(), []string{"plan", "--time-scale", "0.5"}, ExitUsage, []string{"--time-scale 0.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runRelease(t, tt.env, tt.args...)
			r.wantCode(t, tt.wantCode)
			wantContains(t, "stderr", r.stderr, tt.wantErr...)
		})
	}
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("bad-input runs made mutating calls: %v", m)
	}
}

func TestRun_failedToolExits1(t *testing.T) {
	repo, us, eu, plan := twoRegions(t)
	// Every publish in eu fails with a build error: both tools fail there.
	eu.FailNext(amigotest.OpPublishVersion, 100, 400, "build failed: syntax error in main.py")
	r := runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitFailed)
	wantContains(t, "stdout", r.stdout, "failed", "build failed")
	wantContains(t, "stderr", r.stderr, "2 tool(s) failed")
	if got := activeVersions(t, us, "weather_lookup"); len(got) != 1 {
		t.Errorf("us should still have released weather_lookup: %v", got)
	}
}

// TestRelease_serverAnswers maps the first answers of a server to exit
// codes: refused credentials are the user's to fix (2); maintenance is
// "could not start" (3). Nothing is published either way.
func TestRelease_serverAnswers(t *testing.T) {
	repo := toolRepo(t)
	clk := clock.NewScaled(timeScale)
	strict := amigotest.NewTestServer(t, amigotest.Options{Clock: clk, RepoPath: repo,
		APIKeys: []amigotest.APIKey{{Key: "the-right-key", KeyID: "kid", UserID: "uid"}}})

	t.Run("401 on sign-in is bad input", func(t *testing.T) {
		plan := writePlan(t, t.TempDir(), strict.URL(), strict.URL())
		r := runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan)
		r.wantCode(t, ExitUsage)
		wantContains(t, "stderr", r.stderr, "401")
		if m := mutating(strict.Requests()); len(m) != 0 {
			t.Errorf("mutating calls after a refused sign-in: %v", m)
		}
	})
	// The run retries the 503s for minutes of simulated time: in a
	// bubble, over an in-memory network, those minutes cost no wall time.
	t.Run("503 maintenance could not start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			pn := amigotest.NewPipeNet()
			t.Cleanup(pn.Close)
			down := amigotest.NewPipeTestServer(t, pn, "down.amigo.test:80", amigotest.Options{Clock: clock.Real{}, RepoPath: repo})
			down.SetMaintenance(true)
			plan := writePlan(t, t.TempDir(), down.URL(), down.URL())
			reportPath := filepath.Join(t.TempDir(), "r.json")
			r := runMainCtx(t, t.Context(), Env{Getenv: mapEnv(releaseEnv()), Clock: clock.Real{}, HTTPClient: pn.Client()},
				"run", "--repo", repo, "--config", plan, "--report-json", reportPath)
			r.wantCode(t, ExitUnavailable)
			wantContains(t, "stderr", r.stderr, "503")
			b, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatalf("no JSON report for a run that could not start: %v", err)
			}
			wantContains(t, "JSON report", string(b), `"error":`, "503")
		})
	})
}

func TestRelease_badPlanStillWritesTheJSONReport(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nstages: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(dir, "r.json")
	r := runRelease(t, releaseEnv(), "plan", "--repo", toolRepo(t), "--config", bad, "--report-json", reportPath)
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, bad+":2:")
	b := readFile(t, reportPath)
	var rep pipeline.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "plan" || !strings.Contains(rep.Error, bad+":2:") || rep.OK() {
		t.Errorf("report for a bad plan: %+v", rep)
	}
}

func TestRun_interruptedExits130(t *testing.T) {
	repo, us, eu, plan := twoRegions(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // SIGINT before the run could do anything
	r := runMainCtx(t, ctx, Env{Getenv: mapEnv(releaseEnv()), Clock: clock.NewScaled(timeScale)}, "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitInterrupted)
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("an interrupted run made mutating calls: %v", m)
	}
}

// TestRun_failedToolAnnotatesItsPyproject: inside GitHub Actions a failed
// tool gets an error annotation on its project's pyproject.toml.
func TestRun_failedToolAnnotatesItsPyproject(t *testing.T) {
	repo, _, eu, plan := twoRegions(t)
	eu.FailNext(amigotest.OpPublishVersion, 100, 400, "build failed: syntax error in main.py")
	out := filepath.Join(t.TempDir(), "output")
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runRelease(t, releaseEnv("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch", "GITHUB_OUTPUT", out),
		"run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitFailed)
	wantContains(t, "stdout", r.stdout, "::error file=tools/weather/pyproject.toml", "::error file=tools/calendar/pyproject.toml")
}

// In a CI a project this run would release but that cannot be a tool (its
// pyproject.toml is not valid TOML) is annotated on its file and line, and
// a discovery root that is not there on the plan file; exit 2 both.
func TestRelease_projectProblemAnnotatedOnItsLine(t *testing.T) {
	repo := toolRepo(t)
	commit(t, repo, "feat: a template", map[string]string{"templates/pkg/pyproject.toml": "[project]\nname = \"pkg\"\nversion = = 1\n"})
	us, eu := emulators(t, repo)
	dir := t.TempDir()
	plan := writePlan(t, dir, us.URL(), eu.URL())
	env := releaseEnv("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch")
	gh := runRelease(t, env, "run", "--repo", repo, "--config", plan)
	gh.wantCode(t, ExitUsage)
	wantContains(t, "stdout", gh.stdout, "::error file=templates/pkg/pyproject.toml,line=3,", "::invalid TOML: ", "this run would release it")
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("a run that could not start made mutating calls: %v", m)
	}

	b := readFile(t, plan)
	if err := os.WriteFile(plan, append(b, "discovery:\n  roots: [tool]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	gh = runRelease(t, env, "plan", "--offline", "--repo", repo, "--config", plan)
	gh.wantCode(t, ExitUsage)
	wantContains(t, "stdout", gh.stdout, "::error file="+plan+",", `::discovery.roots: "tool" is not a directory at head`)
}

// On a terminal a plan error is printed once (by Main, with file:line:col
// and the fix), not again as an annotation; in a CI it is also annotated.
func TestRelease_planErrorPrintedOnceOnATerminal(t *testing.T) {
	repo := toolRepo(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("stages:\n  - name: us\n    region: us\n    organization: acme\n    soka: 10m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runRelease(t, releaseEnv(), "plan", "--offline", "--repo", repo, "--config", bad)
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, bad+`:5:5: stages[0].soka: unknown key "soka"`, `fix: did you mean "soak"?`)
	if n := strings.Count(r.stderr, `unknown key "soka"`); n != 1 {
		t.Errorf("the plan error is printed %d times on a terminal, want once:\n%s", n, r.stderr)
	}
	gh := runRelease(t, releaseEnv("GITHUB_ACTIONS", "true"), "plan", "--offline", "--repo", repo, "--config", bad)
	gh.wantCode(t, ExitUsage)
	wantContains(t, "stdout (workflow commands)", gh.stdout, "::error col=5,file=", "line=5,")
}

// cancelOnPublish cancels the run's context as the first publish request
// goes out: Ctrl-C in the middle of a release.
type cancelOnPublish struct {
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelOnPublish) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/version") {
		c.once.Do(c.cancel)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Ctrl-C mid-release: exit 130 and a message that says what to do.
func TestRun_interruptedMidRunSaysRerun(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hc := &http.Client{Transport: &cancelOnPublish{cancel: cancel}}
	r := runMainCtx(t, ctx, Env{Getenv: mapEnv(releaseEnv()), Clock: clock.NewScaled(timeScale), HTTPClient: hc}, "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitInterrupted)
	wantContains(t, "stderr", r.stderr, "amigo-release run: interrupted: ", "not finished", "rerun the same command to finish what is left (nothing is published twice)")
}

// An error that stops the run before anything is done is printed once on a
// terminal (by Main) and becomes an error annotation in GitHub Actions.
func TestRelease_startErrorPrintedOnceAnnotatedInCI(t *testing.T) {
	repo := toolRepo(t)
	down := "http://" + amigotest.RefusedAddr(t)
	plan := writePlan(t, t.TempDir(), down, down)
	r := runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitUsage)
	if n := strings.Count(r.stdout+r.stderr, "the release cannot start"); n != 1 {
		t.Errorf("the start error is printed %d times on a terminal, want once:\nstdout:\n%s\nstderr:\n%s", n, r.stdout, r.stderr)
	}
	gh := runRelease(t, releaseEnv("GITHUB_ACTIONS", "true"), "run", "--repo", repo, "--config", plan)
	gh.wantCode(t, ExitUsage)
	wantContains(t, "stdout (workflow commands)", gh.stdout, "::error title=amigo-release%3A the release could not start::", "no server answers at "+down)
}

// A credential of 1-3 characters cannot be masked without garbling the log:
// the run says so by the variable's name, and the log stays readable.
func TestRelease_tooShortSecretWarnsByName(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	r := runRelease(t, releaseEnv("AMIGO_USER_ID", "u"), "plan", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	wantContains(t, "output", r.stdout+r.stderr, "AMIGO_USER_ID is shorter than 4 characters, too short to mask")
	if strings.Contains(r.stdout+r.stderr, "***s") {
		t.Errorf("the log is garbled by masking a 1-character value:\n%s\n%s", r.stdout, r.stderr)
	}
}

// The CI token is what deepening may send, and only to the CI's own host.
func TestDeepenOptions(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want changes.DeepenOptions
	}{
		{"GitHub: the job token to github.com", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_x"},
			changes.DeepenOptions{Username: "x-access-token", Password: "ghs_x", Host: "github.com"}},
		{"GitHub Enterprise: the input token to its server", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_GITHUB-TOKEN": "ghs_in", "GITHUB_TOKEN": "ghs_x", "GITHUB_SERVER_URL": "https://ghes.example.com"},
			changes.DeepenOptions{Username: "x-access-token", Password: "ghs_in", Host: "ghes.example.com"}},
		{"Azure: SYSTEM_ACCESSTOKEN to the collection host", map[string]string{"TF_BUILD": "True", "SYSTEM_ACCESSTOKEN": "azp", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/"},
			changes.DeepenOptions{Username: "build", Password: "azp", Host: "dev.azure.com"}},
		{"Azure without a collection URI: the token goes nowhere", map[string]string{"TF_BUILD": "True", "SYSTEM_ACCESSTOKEN": "azp"},
			changes.DeepenOptions{Username: "build", Password: "azp", Host: "invalid.invalid"}},
		{"terminal: no credentials", map[string]string{"GITHUB_TOKEN": "ghs_x"}, changes.DeepenOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFace(&Env{Getenv: mapEnv(tt.env), Stdout: io.Discard, Stderr: io.Discard}, ReleaseOptions{})
			if got := f.deepenOptions(); *got != tt.want {
				t.Errorf("deepenOptions() = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestRelease_regionDownIsAnOutage (issue 13, item 6): when nothing answers
// at a region's documented address (every connection to api.amigo.ai is
// refused here: this test's dialer sends it to a closed port), the run
// cannot start for the service's reason: exit 3, "retry later". A custom
// base_url where nothing answers stays exit 2 (TestRelease_exitCodes).
func TestRelease_regionDownIsAnOutage(t *testing.T) {
	repo := toolRepo(t)
	plan := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(plan, []byte("version: 1\ndefaults:\n  organization: acme\nstages:\n  - name: us\n    region: us\n    test: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	down := amigotest.RefusedAddr(t)
	var mu sync.Mutex
	var dialed []string
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, down)
	}}}
	r := runMainCtx(t, t.Context(), Env{Getenv: mapEnv(releaseEnv()), Clock: clock.NewScaled(timeScale), HTTPClient: hc},
		"run", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitUnavailable)
	wantContains(t, "stderr", r.stderr, "region us", "https://api.amigo.ai", "an outage", "retry later")
	mu.Lock()
	defer mu.Unlock()
	if len(dialed) == 0 || dialed[0] != "api.amigo.ai:443" {
		t.Errorf("dialed %v, want api.amigo.ai:443", dialed)
	}
}

// In a CI a run that cannot start annotates each problem once: a from_env
// variable unset for two tools gives two annotations on the plan's lines.
func TestRelease_startProblemsAnnotatedEach(t *testing.T) {
	repo, us, eu, plan := twoRegions(t)
	b := readFile(t, plan)
	tail := "tools:\n  weather_lookup:\n    envvars:\n      - name: W_KEY\n        from_env: W_KEY_PROD\n        secret: true\n" +
		"  calendar:\n    envvars:\n      - name: C_KEY\n        from_env: C_KEY_PROD\n        secret: true\n"
	if err := os.WriteFile(plan, append(b, tail...), 0o644); err != nil {
		t.Fatal(err)
	}
	gh := runRelease(t, releaseEnv("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch"), "run", "--repo", repo, "--config", plan)
	gh.wantCode(t, ExitUsage)
	for _, v := range []string{"W_KEY_PROD", "C_KEY_PROD"} {
		n := 0
		for _, ln := range strings.Split(gh.stdout, "\n") {
			if strings.HasPrefix(ln, "::error ") && strings.Contains(ln, "file=") && strings.Contains(ln, v) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d file annotations name %s, want 1:\n%s", n, v, gh.stdout)
		}
	}
	if m := append(mutating(us.Requests()), mutating(eu.Requests())...); len(m) != 0 {
		t.Errorf("a run that could not start made mutating calls: %v", m)
	}
}
