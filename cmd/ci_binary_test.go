package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/report"
)

// binResult is one run of the built binary.
type binResult struct {
	stdout, stderr string
	code           int
}

// runBinary runs the built amigo-release in dir with exactly env: nothing
// of the test process's environment leaks in, as in a CI step that sets
// only what it documents.
func runBinary(t *testing.T, dir string, env map[string]string, args ...string) binResult {
	t.Helper()
	r, _ := runBinaryRSS(t, dir, env, args...)
	return r
}

func (r binResult) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// hostileSubject is a commit subject that tries every injection the faces
// must neutralise: a workflow command, an Azure logging command, HTML, a
// team mention and a table-breaking pipe.
const hostileSubject = "fix(weather): rain ::set-output name=pwned::yes ##vso[task.setvariable variable=x]1 <script>alert(1)</script> @acme/admins | pipe"

// ciScenario is the repository and servers the CI tests share: two tools
// already released at 1.0.0 in both stages (by a local run of the binary),
// then a hostile fix to weather_lookup on top.
type ciScenario struct {
	repo, plan     string
	us, eu         *amigotest.Server
	before, after  string // the commit before the fix, and the fix
	baseEnv        map[string]string
	localRunStdout string
}

func newCIScenario(t *testing.T) *ciScenario {
	t.Helper()
	s := &ciScenario{repo: t.TempDir()}
	git(t, s.repo, "init", "-q", "-b", "main")
	s.before = commit(t, s.repo, "feat: first tools", map[string]string{
		"tools/weather/pyproject.toml":  "[project]\nname = \"weather-lookup\"\ndescription = \"Weather for a city.\"\n",
		"tools/calendar/pyproject.toml": "[project]\nname = \"calendar\"\ndescription = \"Calendar lookups.\"\n",
	})
	s.us, s.eu = emulators(t, s.repo)
	s.plan = writePlan(t, t.TempDir(), s.us.URL(), s.eu.URL())
	s.baseEnv = releaseEnv("AMIGO_TIME_SCALE", strconv.Itoa(timeScale))

	// The first release, from a terminal: no CI variables at all.
	env := copyEnv(s.baseEnv, "AMIGO_CONFIG", s.plan)
	r := runBinary(t, s.repo, env, "run")
	r.wantCode(t, ExitOK)
	wantContains(t, "local run", r.stdout, "released 1.0.0", "calendar", "weather_lookup")
	s.localRunStdout = r.stdout

	s.after = commit(t, s.repo, hostileSubject, map[string]string{"tools/weather/rain.py": "rain = True\n"})
	s.us.ResetRequests()
	s.eu.ResetRequests()
	return s
}

// secrets are the values no log may show.
func (s *ciScenario) secrets(extra ...string) []string {
	return append([]string{testCreds["AMIGO_API_KEY"], testCreds["AMIGO_API_KEY_ID"], testCreds["AMIGO_USER_ID"]}, extra...)
}

// checkLog asserts the masking and defusing rules on a CI log: the
// secrets' add-mask (or setsecret) commands come before anything else, no
// secret appears anywhere else, and no line from commit text runs as a
// command.
func checkLog(t *testing.T, log string, maskCmd string, secrets []string) {
	t.Helper()
	lines := strings.Split(log, "\n")
	masked := map[string]bool{}
	for i, l := range lines {
		if strings.HasPrefix(l, maskCmd) {
			masked[strings.TrimPrefix(l, maskCmd)] = true
			continue
		}
		for _, s := range secrets {
			if !masked[s] && strings.Contains(l, s) {
				t.Errorf("line %d shows secret %q before it was masked: %q", i+1, s, l)
			}
		}
	}
	firstOther := len(lines)
	for i, l := range lines {
		if l != "" && !strings.HasPrefix(l, maskCmd) {
			firstOther = i
			break
		}
	}
	for _, s := range secrets {
		if i := slices.Index(lines, maskCmd+s); i > firstOther {
			t.Errorf("secret %q is masked on line %d, after %q was printed on line %d", s, i+1, lines[firstOther], firstOther+1)
		}
	}
	for _, s := range secrets {
		if !masked[s] {
			t.Errorf("secret %q was never masked (%s)", s, maskCmd)
		}
		for i, l := range lines {
			if strings.Contains(l, s) && l != maskCmd+s {
				t.Errorf("line %d shows secret %q outside its mask command: %q", i+1, s, l)
			}
		}
	}
	for _, l := range lines {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "::set-output") || strings.Contains(l, "::set-output name=pwned") && strings.HasPrefix(trimmed, "::") {
			t.Errorf("commit text became a workflow command: %q", l)
		}
		if strings.Contains(l, "##vso[task.setvariable variable=x]") {
			t.Errorf("commit text became an Azure logging command: %q", l)
		}
	}
}

// checkComment asserts a rendered comment is harmless and sticky.
func checkComment(t *testing.T, body, key string, wants ...string) {
	t.Helper()
	if !strings.HasPrefix(body, report.Marker(key)) {
		t.Errorf("comment does not start with the marker %q:\n%s", report.Marker(key), body)
	}
	checkRendered(t, "comment", body, wants...)
}

// checkRendered checks a rendered report (comment or summary): it says
// wants and holds the hostile commit text only escaped.
func checkRendered(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	wantContains(t, what, body, wants...)
	for _, bad := range []string{"<script>", "@acme/admins", "##vso[task.setvariable"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s contains %q unescaped", what, bad)
		}
	}
}

// The tokens the CI hosts hand the binary; the fakes want them as bearer
// tokens.
const (
	ghToken  = "ghs_fake_token_for_tests_0123456789"
	adoToken = "ado-system-access-token-0123456789"
)

// TestBinary_GitHubActions runs the binary as the GitHub runner runs the
// Docker action (no arguments; INPUT_* variables; GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH files) against two emulated
// regions over HTTP and a fake GitHub API: first a pull_request event
// (plan only, preview comment), then the push of the merge (release,
// the same comment edited in place).
func TestBinary_GitHubActions(t *testing.T) {
	s := newCIScenario(t)
	gh := fakeci.NewGitHub(t, ghToken)
	gh.SetPRsOf(s.after, fakeci.PR{Number: 7})
	dir := t.TempDir()

	step := func(t *testing.T, name, event string, set map[string]string, drop ...string) (binResult, map[string]string, string) {
		t.Helper()
		eventPath := filepath.Join(dir, name+"-event.json")
		if err := os.WriteFile(eventPath, []byte(event), 0o644); err != nil {
			t.Fatal(err)
		}
		outPath, sumPath := filepath.Join(dir, name+"-output"), filepath.Join(dir, name+"-summary.md")
		for _, p := range []string{outPath, sumPath} {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ev := map[string]string{"pull_request": "pull_request", "push": "push"}[name]
		env := copyEnv(s.baseEnv,
			"GITHUB_ACTIONS", "true",
			"GITHUB_EVENT_NAME", ev,
			"GITHUB_EVENT_PATH", eventPath,
			"GITHUB_OUTPUT", outPath,
			"GITHUB_STEP_SUMMARY", sumPath,
			"GITHUB_REPOSITORY", "acme/tools",
			"GITHUB_SHA", s.after,
			"GITHUB_REF", "refs/heads/main",
			"GITHUB_SERVER_URL", "https://github.example",
			"GITHUB_API_URL", gh.APIURL(),
			"GITHUB_RUN_ID", "4242",
			"INPUT_MODE", "run",
			"INPUT_CONFIG", s.plan,
			"INPUT_WORKING-DIRECTORY", s.repo,
			"INPUT_GITHUB-TOKEN", ghToken,
		)
		for k, v := range set {
			env[k] = v
		}
		for _, k := range drop {
			delete(env, k)
		}
		r := runBinary(t, dir, env) // no arguments: the Docker action's bare ENTRYPOINT
		outFile := readFile(t, outPath)
		sum, err := os.ReadFile(sumPath)
		if err != nil {
			t.Fatal(err)
		}
		return r, parseGitHubOutput(t, string(outFile)), string(sum)
	}
	key := s.plan

	t.Run("pull_request previews and never publishes", func(t *testing.T) {
		r, out, sum := step(t, "pull_request", fmt.Sprintf(`{"number": 7, "pull_request": {"number": 7,
			"head": {"ref": "fix-rain", "sha": %q}, "base": {"ref": "main", "sha": %q}},
			"repository": {"full_name": "acme/tools"}}`, s.after, s.before), nil)
		r.wantCode(t, ExitOK)
		checkLog(t, r.stdout, "::add-mask::", s.secrets(ghToken))
		wantContains(t, "log", r.stdout, "pull request event: planning only", "::group::")
		if m := append(mutating(s.us.Requests()), mutating(s.eu.Requests())...); len(m) != 0 {
			t.Errorf("a pull request build made mutating calls: %v", m)
		}
		wantOutputs(t, out, map[string]string{
			"released": `[]`,
			"changed":  `["weather_lookup"]`,
			"matrix":   `{"include":[{"tool":"weather_lookup","project_path":"tools/weather"}]}`,
			"failed":   "false",
		})
		wantContains(t, "summary", sum, "weather_lookup", "1.0.1")
		cs := gh.Comments(7)
		if len(cs) != 1 {
			t.Fatalf("PR #7 has %d comments, want 1", len(cs))
		}
		checkComment(t, cs[0].Body, key, "Merging releases", "weather_lookup", "1.0.1", "https://github.example/acme/tools/actions/runs/4242")
	})

	prEvent := fmt.Sprintf(`{"number": 7, "pull_request": {"number": 7,
			"head": {"ref": "fix-rain", "sha": %q}, "base": {"ref": "main", "sha": %q}},
			"repository": {"full_name": "acme/tools"}}`, s.after, s.before)

	t.Run("report-json input: the output is the file's absolute path", func(t *testing.T) {
		r, out, _ := step(t, "pull_request", prEvent, map[string]string{"INPUT_REPORT-JSON": "pr-report.json"})
		r.wantCode(t, ExitOK)
		want := filepath.Join(dir, "pr-report.json")
		if out["report-json"] != want {
			t.Errorf("report-json output = %q, want %q", out["report-json"], want)
		}
		b := readFile(t, want)
		if rep := decodeOneReport(t, string(b)); len(rep.Tools) != 1 || rep.Tools[0].Name != "weather_lookup" {
			t.Errorf("report file: %+v", rep.Tools)
		}
	})

	t.Run("report-json - : stdout is the JSON alone, the log and commands on stderr", func(t *testing.T) {
		r, out, _ := step(t, "pull_request", prEvent, map[string]string{"INPUT_REPORT-JSON": "-"})
		r.wantCode(t, ExitOK)
		wantInertReport(t, r.stdout, decodeOneReport(t, r.stdout))
		checkLog(t, r.stderr, "::add-mask::", s.secrets(ghToken))
		wantContains(t, "log on stderr", r.stderr, "pull request event: planning only", "::group::")
		if v, ok := out["report-json"]; !ok || v != "" {
			t.Errorf("report-json output = %q (set: %v), want set and empty", v, ok)
		}
		if out["changed"] != `["weather_lookup"]` {
			t.Errorf("changed = %q", out["changed"])
		}
	})

	t.Run("push of the merge releases and edits the comment", func(t *testing.T) {
		r, out, sum := step(t, "push", fmt.Sprintf(`{"before": %q, "after": %q, "ref": "refs/heads/main",
			"repository": {"full_name": "acme/tools"}}`, s.before, s.after), nil)
		r.wantCode(t, ExitOK)
		checkLog(t, r.stdout, "::add-mask::", s.secrets(ghToken))
		wantOutputs(t, out, map[string]string{
			"released": `[{"tool":"weather_lookup","stage":"us","version":"1.0.1"},{"tool":"weather_lookup","stage":"eu","version":"1.0.1"}]`,
			"changed":  `["weather_lookup"]`,
			"matrix":   `{"include":[{"tool":"weather_lookup","project_path":"tools/weather"}]}`,
			"failed":   "false",
		})
		wantContains(t, "summary", sum, "weather_lookup", "1.0.1")
		for _, srv := range []*amigotest.Server{s.us, s.eu} {
			if got := activeVersions(t, srv, "weather_lookup"); !equalSorted(got, []string{"1.0.0", "1.0.1"}) {
				t.Errorf("weather_lookup versions %v, want 1.0.0 and 1.0.1", got)
			}
			if got := activeVersions(t, srv, "calendar"); !equalSorted(got, []string{"1.0.0"}) {
				t.Errorf("calendar versions %v, want only 1.0.0", got)
			}
		}
		cs := gh.Comments(7)
		if len(cs) != 1 {
			t.Fatalf("PR #7 has %d comments after the release, want the preview edited in place", len(cs))
		}
		checkComment(t, cs[0].Body, key, "weather_lookup", "1.0.1", "released")
		if strings.Contains(cs[0].Body, "Merging releases") {
			t.Error("the comment still shows the preview after the release")
		}
	})

	t.Run("a fork's pull request without secrets previews offline", func(t *testing.T) {
		before := len(s.us.Requests()) + len(s.eu.Requests())
		r, out, _ := step(t, "pull_request", fmt.Sprintf(`{"number": 7, "pull_request": {"number": 7,
			"head": {"ref": "fix-rain", "sha": %q}, "base": {"ref": "main", "sha": %q}},
			"repository": {"full_name": "acme/tools"}}`, s.after, s.before), nil, "AMIGO_API_KEY", "AMIGO_API_KEY_ID", "AMIGO_USER_ID")
		r.wantCode(t, ExitOK)
		wantContains(t, "log", r.stdout, "::warning::pull request without Amigo credentials", "offline preview")
		if after := len(s.us.Requests()) + len(s.eu.Requests()); after != before {
			t.Errorf("an offline preview made %d API calls", after-before)
		}
		if out["changed"] != `["weather_lookup"]` {
			t.Errorf("changed = %q, want the tool the pull request touches", out["changed"])
		}
		cs := gh.Comments(7)
		if len(cs) != 1 {
			t.Fatalf("PR #7 has %d comments, want the one comment edited", len(cs))
		}
		checkComment(t, cs[0].Body, key, "Merging releases", "weather_lookup")
	})

	t.Run("bad plan: exit 2, error annotation at the line, failed=true", func(t *testing.T) {
		bad := filepath.Join(s.repo, ".amigo", "bad.yaml")
		writeFiles(t, s.repo, map[string]string{".amigo/bad.yaml": "version: 1\nstages:\n  - name: us\n    regon: us\n"})
		outPath := filepath.Join(dir, "bad-output")
		if err := os.WriteFile(outPath, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		env := copyEnv(s.baseEnv, "GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch", "GITHUB_OUTPUT", outPath,
			"GITHUB_REPOSITORY", "acme/tools", "INPUT_CONFIG", ".amigo/bad.yaml", "INPUT_WORKING-DIRECTORY", s.repo)
		r := runBinary(t, dir, env, "plan")
		r.wantCode(t, ExitUsage)
		if !regexp.MustCompile(`(?m)^::error [^\n]*file=\.amigo/bad\.yaml`).MatchString(r.stdout) ||
			!regexp.MustCompile(`(?m)^::error [^\n]*line=4`).MatchString(r.stdout) {
			t.Errorf("no ::error annotation at .amigo/bad.yaml line 4:\n%s", r.stdout)
		}
		out := readFile(t, outPath)
		wantOutputs(t, parseGitHubOutput(t, string(out)), map[string]string{"failed": "true", "released": "[]"})
		wantContains(t, "stderr", r.stderr, bad+":4:5")
	})
}

func wantOutputs(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("output %s not set; outputs: %v", k, got)
			continue
		}
		if jsonEqual(g, w) {
			continue
		}
		t.Errorf("output %s = %s, want %s", k, g, w)
	}
}

// jsonEqual compares two JSON texts, ignoring the order of arrays of
// objects (released lists stages as they finish).
func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return canon(x) == canon(y)
}

func canon(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = canon(e)
		}
		sort.Strings(parts)
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + ":" + canon(v[k]) + ";")
		}
		return "{" + b.String() + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func equalSorted(a, b []string) bool {
	a, b = append([]string{}, a...), append([]string{}, b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// azureOutputs reads the ##vso[task.setvariable variable=NAME;isOutput=true]VALUE
// lines of an Azure log.
func azureOutputs(log string) map[string]string {
	re := regexp.MustCompile(`(?m)^##vso\[task\.setvariable variable=([A-Za-z0-9_.]+);isOutput=true\](.*)$`)
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		v := strings.NewReplacer("%0D", "\r", "%0A", "\n", "%5D", "]", "%3B", ";", "%AZP25", "%").Replace(m[2])
		out[m[1]] = v
	}
	return out
}

// TestBinary_AzurePipelines runs the binary as an Azure Pipelines container
// job step does (TF_BUILD, BUILD_*, SYSTEM_* variables) against the
// emulated regions and a fake Azure DevOps API: a PullRequest build plans
// and posts a thread; the IndividualCI build of the merge releases; a
// missing SYSTEM_ACCESSTOKEN is a warning with the exact fix.
func TestBinary_AzurePipelines(t *testing.T) {
	s := newCIScenario(t)
	ado := fakeci.NewAzure(t, adoToken)
	ado.NoResourceAreas()
	dir := t.TempDir()
	azureEnv := func(reason string, kv ...string) map[string]string {
		env := copyEnv(s.baseEnv,
			"TF_BUILD", "True",
			"BUILD_REASON", reason,
			"BUILD_SOURCEVERSION", s.after,
			"BUILD_SOURCEBRANCH", "refs/heads/main",
			"BUILD_REPOSITORY_NAME", "tools",
			"BUILD_REPOSITORY_ID", fakeci.AzureRepoID,
			"BUILD_REPOSITORY_PROVIDER", "TfsGit",
			"BUILD_BUILDID", "77",
			"SYSTEM_COLLECTIONURI", ado.GitURL(),
			"SYSTEM_TEAMPROJECT", fakeci.AzureProject,
			"SYSTEM_ACCESSTOKEN", adoToken,
			"AGENT_TEMPDIRECTORY", dir,
			"AMIGO_CONFIG", s.plan,
			"AMIGO_REPO", s.repo,
		)
		return copyEnv(env, kv...)
	}
	prVars := []string{"SYSTEM_PULLREQUEST_PULLREQUESTID", strconv.Itoa(fakeci.AzurePR), "SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/fix-rain",
		"SYSTEM_PULLREQUEST_TARGETBRANCH", "refs/heads/main", "SYSTEM_PULLREQUEST_SOURCECOMMITID", s.after}

	t.Run("PullRequest build plans and posts a thread", func(t *testing.T) {
		r := runBinary(t, dir, azureEnv("PullRequest", prVars...), "run")
		r.wantCode(t, ExitOK)
		checkLog(t, r.stdout, "##vso[task.setsecret]", s.secrets(adoToken))
		if m := append(mutating(s.us.Requests()), mutating(s.eu.Requests())...); len(m) != 0 {
			t.Errorf("a PullRequest build made mutating calls: %v", m)
		}
		out := azureOutputs(r.stdout)
		wantOutputs(t, out, map[string]string{
			"released":     `[]`,
			"changed":      `["weather_lookup"]`,
			"matrix":       `{"include":[{"tool":"weather_lookup","project_path":"tools/weather"}]}`,
			"azure_matrix": `{"weather_lookup":{"tool":"weather_lookup","project_path":"tools/weather"}}`,
			"failed":       "false",
		})
		wantContains(t, "log", r.stdout, "##vso[task.uploadsummary]", "##[group]", "##vso[task.complete result=Succeeded;]")
		// The summary file the agent uploads: the same rendering as the
		// comment, with the tool's table row.
		_, rest, _ := strings.Cut(r.stdout, "##vso[task.uploadsummary]")
		summaryPath, _, _ := strings.Cut(rest, "\n")
		summary, err := os.ReadFile(strings.TrimSpace(summaryPath))
		if err != nil {
			t.Fatalf("the uploaded summary file: %v", err)
		}
		if !strings.HasPrefix(filepath.Clean(strings.TrimSpace(summaryPath)), filepath.Clean(dir)) {
			t.Errorf("summary %s is not under AGENT_TEMPDIRECTORY %s", summaryPath, dir)
		}
		checkRendered(t, "summary", string(summary), "Merging releases", "weather_lookup", "1.0.1", "&lt;script&gt;")
		cs := ado.Contents()
		if len(cs) != 1 {
			t.Fatalf("%d comments on the pull request, want 1", len(cs))
		}
		checkComment(t, cs[0], s.plan, "Merging releases", "weather_lookup", "1.0.1")
	})

	t.Run("a second PullRequest build edits the thread in place", func(t *testing.T) {
		r := runBinary(t, dir, azureEnv("PullRequest", prVars...), "plan")
		r.wantCode(t, ExitOK)
		if cs := ado.Contents(); len(cs) != 1 {
			t.Fatalf("%d comments after a second build, want the first edited in place", len(cs))
		}
	})

	t.Run("missing SYSTEM_ACCESSTOKEN warns with the fix", func(t *testing.T) {
		env := azureEnv("PullRequest", prVars...)
		delete(env, "SYSTEM_ACCESSTOKEN")
		r := runBinary(t, dir, env, "plan")
		r.wantCode(t, ExitOK)
		wantContains(t, "log", r.stdout, "##vso[task.logissue type=warning", "SYSTEM_ACCESSTOKEN", "Contribute to pull requests")
	})

	t.Run("report-json - : stdout is the JSON alone, ##vso in commit text defused", func(t *testing.T) {
		r := runBinary(t, dir, azureEnv("PullRequest", append(prVars, "AMIGO_REPORT_JSON", "-")...), "plan")
		r.wantCode(t, ExitOK)
		wantInertReport(t, r.stdout, decodeOneReport(t, r.stdout))
		checkLog(t, r.stderr, "##vso[task.setsecret]", s.secrets(adoToken))
		out := azureOutputs(r.stderr)
		if v, ok := out["report_json"]; !ok || v != "" {
			t.Errorf("report_json output = %q (set: %v), want set and empty", v, ok)
		}
		if out["changed"] != `["weather_lookup"]` {
			t.Errorf("changed = %q (outputs on stderr: %v)", out["changed"], out)
		}
	})

	t.Run("IndividualCI build of the merge releases", func(t *testing.T) {
		r := runBinary(t, dir, azureEnv("IndividualCI"), "run")
		r.wantCode(t, ExitOK)
		checkLog(t, r.stdout, "##vso[task.setsecret]", s.secrets())
		out := azureOutputs(r.stdout)
		wantOutputs(t, out, map[string]string{
			"released": `[{"tool":"weather_lookup","stage":"us","version":"1.0.1"},{"tool":"weather_lookup","stage":"eu","version":"1.0.1"}]`,
			"failed":   "false",
		})
		for _, srv := range []*amigotest.Server{s.us, s.eu} {
			if got := activeVersions(t, srv, "weather_lookup"); !equalSorted(got, []string{"1.0.0", "1.0.1"}) {
				t.Errorf("weather_lookup versions %v, want 1.0.0 and 1.0.1", got)
			}
		}
	})
}

// parseGitHubOutput reads a $GITHUB_OUTPUT file (name<<DELIM / value /
// DELIM, or name=value lines).
func parseGitHubOutput(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if name, delim, ok := strings.Cut(l, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: no closing %s for %s", delim, name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(l, "="); ok {
			out[name] = val
			continue
		}
		t.Fatalf("GITHUB_OUTPUT: bad line %q", l)
	}
	return out
}
