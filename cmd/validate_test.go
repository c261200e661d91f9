package cmd

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// validateRepo is a committed repository with two valid tool projects and
// a plan whose stages point at emulators (which must see no request).
func validateRepo(t *testing.T) (repo string, calls func() int) {
	t.Helper()
	repo = t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	us, eu := emulators(t, repo)
	commit(t, repo, "feat: tools", map[string]string{
		".amigo/release.yaml": "version: 1\ndefaults:\n  organization: acme\nstages:\n  - name: us\n    base_url: " + us.URL() +
			"\n  - name: eu\n    base_url: " + eu.URL() + "\n",
		"tools/weather/pyproject.toml": "[project]\nname = \"weather-lookup\"\n\n[tool.amigo-release]\ntags = { team = \"weather\" }\n\n" +
			"[[tool.amigo-release.envvars]]\nname = \"WEATHER_API_KEY\"\nfrom_env = \"WEATHER_KEY_PROD\"\nsecret = true\n",
		"tools/calendar/pyproject.toml": "[project]\nname = \"calendar\"\n",
		".gitignore":                    ".venv/\n",
		".venv/lib/x/pyproject.toml":    "not toml at all = = =\n",
	})
	return repo, func() int { return len(us.Requests()) + len(eu.Requests()) }
}

// TestValidate_valid: on the built binary, a valid plan and projects exit
// 0 with a one-line verdict on stdout, no API call and no credentials;
// what .gitignore ignores is not checked.
func TestValidate_valid(t *testing.T) {
	repo, calls := validateRepo(t)
	r := runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitOK)
	if strings.TrimSpace(r.stdout) != "valid: 3 files checked, no problem" || r.stderr != "" {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if n := calls(); n != 0 {
		t.Errorf("validate made %d API calls", n)
	}
	r = runBinary(t, t.TempDir(), nil, "validate", "--repo", filepath.Join(repo, "tools"), "--config", "../.amigo/release.yaml", "--verbose")
	r.wantCode(t, ExitOK)
	wantContains(t, "verbose log", r.stderr, "checking the plan ", "plan: 2 stage(s) in order us → eu", "(tool weather_lookup)", "(tool calendar)")
}

// TestValidate_problems: every problem of the plan and of each project is
// listed on stdout as file:line[:col]: key: problem; fix: ..., the work
// tree as it is (an uncommitted edit counts), and the exit code is 2.
func TestValidate_problems(t *testing.T) {
	repo, calls := validateRepo(t)
	writeFiles(t, repo, map[string]string{
		"tools/weather/pyproject.toml": "[project]\nname = \"weather-lookup\"\n\n[tool.amigo-release]\ntags = { team = \"weather\" }\nskip_stages = [\"ap\"]\n\n" +
			"[[tool.amigo-release.envvars]]\nname = \"api-key\"\nvalue = \"x\"\n",
		"tools/broken/pyproject.toml": "[project]\nname = \"broken\"\nversion = = 1\n",
		"tools/twin/pyproject.toml":   "[project]\nname = \"Calendar\"\n",
	})
	r := runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitUsage)
	// A name two projects share is a problem on both files: neither is a
	// tool then (as in a run).
	want := []string{
		"tools/broken/pyproject.toml:3: invalid TOML: ",
		`tools/calendar/pyproject.toml: two projects are named "calendar": tools/calendar and tools/twin`,
		`tools/twin/pyproject.toml: two projects are named "calendar": tools/calendar and tools/twin`,
		`tools/weather/pyproject.toml:9: tool.amigo-release.envvars[0].name: invalid environment variable name "api-key"`,
	}
	wantProblems(t, r.stdout, want...)
	wantContains(t, "stdout", r.stdout, `; fix: if it is not a tool, add "tools/twin" to discovery.exclude in .amigo/release.yaml (its files then count for the enclosing project)`)
	wantContains(t, "stderr", r.stderr, "amigo-release validate: 4 problems in ")

	// Fix the envvar: the next problem of that file (a stage the plan does
	// not have) shows, at its line.
	writeFiles(t, repo, map[string]string{"tools/weather/pyproject.toml": "[project]\nname = \"weather-lookup\"\n\n[tool.amigo-release]\nskip_stages = [\"ap\"]\n",
		"tools/broken/pyproject.toml": "[project]\nname = \"broken\"\n", "tools/twin/pyproject.toml": "[project]\nname = \"twin\"\n"})
	r = runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stdout", r.stdout, `tools/weather/pyproject.toml:5: tool.amigo-release.skip_stages[0]: unknown stage "ap"; fix: use one of the valid stage names of .amigo/release.yaml: eu, us`)

	// A broken plan: each problem with line and column; projects are not
	// checked without a plan.
	writeFiles(t, repo, map[string]string{".amigo/release.yaml": "version: 1\nstages:\n  - name: us\n    regon: us\n  - name: us\n    region: mars\n"})
	r = runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitUsage)
	for _, w := range []string{".amigo/release.yaml:4:5: stages[0].regon: ", ".amigo/release.yaml:6:13: stages[1].region: "} {
		wantContains(t, "stdout", r.stdout, w)
	}
	if n := calls(); n != 0 {
		t.Errorf("validate made %d API calls", n)
	}
}

// TestValidate_discoveryTypos: a discovery root, include or shared glob
// that matches nothing in the work tree is a problem on the plan (a run
// refuses it too), listed with the projects' problems.
func TestValidate_discoveryTypos(t *testing.T) {
	repo, _ := validateRepo(t)
	writeFiles(t, repo, map[string]string{
		".amigo/release.yaml": "version: 1\ndefaults:\n  organization: acme\nstages:\n  - name: us\n    region: us\n" +
			"discovery:\n  roots: [tools, tool]\n  include: [\"tools/*\", \"tols/*\"]\n  shared:\n    \".venv/**\": [calendar]\n",
		"tools/broken/pyproject.toml": "[project]\n",
	})
	r := runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitUsage)
	want := []string{
		`.amigo/release.yaml: discovery.roots: "tool" is not a directory in the work tree, so no project is found under it; fix: correct the path (relative to the repository root) or remove it`,
		`.amigo/release.yaml: discovery.include: "tols/*" matches no project (a directory with a pyproject.toml under the roots tools, tool) in the work tree; fix: correct the glob or remove it`,
		`.amigo/release.yaml: discovery.shared: ".venv/**" matches no file in the work tree, so a change there can never trigger its projects; fix: correct the glob or remove it`,
		"tools/broken/pyproject.toml: no [project].name",
	}
	wantProblems(t, r.stdout, want...)
}

// TestValidate_warningsAndStrict: a plan entry for a tool no project has
// is a warning (exit 0, with a suggestion); --strict makes it fail.
func TestValidate_warningsAndStrict(t *testing.T) {
	repo, _ := validateRepo(t)
	writeFiles(t, repo, map[string]string{".amigo/release.yaml": "version: 1\ndefaults:\n  organization: acme\nstages:\n  - name: us\n    region: us\n" +
		"tools:\n  weather_lookp:\n    description: a typo\n"})
	r := runBinary(t, repo, nil, "validate")
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, `.amigo/release.yaml:8:3: warning: tools.weather_lookp: no tool project is named "weather_lookp": this entry applies to nothing; fix: did you mean "weather_lookup"?`,
		"valid: 3 files checked, no problem (1 warning: see above; --strict makes them fail)")
	r = runBinary(t, repo, map[string]string{"AMIGO_STRICT": "true"}, "validate")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "1 problem in 3 files checked")
}

// TestValidate_checkEnv: --check-env requires the credential variables of
// every stage and every from_env variable, naming them, never a value.
func TestValidate_checkEnv(t *testing.T) {
	repo, _ := validateRepo(t)
	r := runBinary(t, repo, nil, "validate", "--check-env")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stdout", r.stdout, `stage "us": missing credential variable(s) AMIGO_API_KEY, AMIGO_API_KEY_ID, AMIGO_USER_ID`,
		"tools/weather/pyproject.toml:7: tool weather_lookup envvar WEATHER_API_KEY: environment variable WEATHER_KEY_PROD is not set")
	env := releaseEnv("WEATHER_KEY_PROD", "wk-secret-value-77")
	r = runBinary(t, repo, env, "validate", "--check-env")
	r.wantCode(t, ExitOK)
	for _, v := range env {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Errorf("validate printed the value %q", v)
		}
	}
}

// TestValidate_annotationsInCI: inside GitHub Actions each problem is an
// annotation on its file and line (repository-relative).
func TestValidate_annotationsInCI(t *testing.T) {
	repo, _ := validateRepo(t)
	writeFiles(t, repo, map[string]string{"tools/calendar/pyproject.toml": "[project]\nname = \"calendar\"\n[tool.amigo-release]\ndescripton = \"typo\"\n"})
	r := runBinary(t, t.TempDir(), map[string]string{"GITHUB_ACTIONS": "true", "INPUT_WORKING-DIRECTORY": repo}, "validate")
	r.wantCode(t, ExitUsage)
	if !regexp.MustCompile(`(?m)^::error file=tools/calendar/pyproject\.toml,line=4,title=amigo-release validate::tool\.amigo-release\.descripton: unknown key "descripton"`).MatchString(r.stdout) {
		t.Errorf("no annotation on tools/calendar/pyproject.toml line 4:\n%s", r.stdout)
	}
}

// wantProblems checks that validate listed exactly len(want) problems, the
// i-th starting with want[i].
func wantProblems(t *testing.T, stdout string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems listed, want %d:\n%s", len(lines), len(want), stdout)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
}
