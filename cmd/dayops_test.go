package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/fakeci"
)

// TestREADME_documentsEveryCommand: the README's command table has a row
// for every command, and its day-two section shows each new command in use.
func TestREADME_documentsEveryCommand(t *testing.T) {
	b := readFile(t, "../README.md")
	readme := string(b)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, "test-") {
			continue
		}
		if !strings.Contains(readme, "\n| `"+c.name+"` |") {
			t.Errorf("README's command table has no row for %s", c.name)
		}
	}
	for _, want := range []string{"amigo-release status", "amigo-release rollback weather_lookup --to", "amigo-release notes weather_lookup",
		"permissions: contents: write", "Create tag", "mode: rollback", "off by default"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not say %q", want)
		}
	}
}

// TestSplitPositional: a command's argument may stand before, between or
// after its flags; a flag's value is never taken for it.
func TestSplitPositional(t *testing.T) {
	env := &Env{Getenv: func(string) string { return "" }}
	var to, cfg string
	var dry bool
	f := newFlagSet("rollback", "", "", env)
	f.String(&to, "to", "", "", "", "X", "")
	f.String(&cfg, "config", "", "", "", "X", "")
	f.Bool(&dry, "dry-run", "", "", false, "")
	for _, tc := range []struct {
		args       []string
		flags, pos string
	}{
		{[]string{"weather", "--to", "1.2.0"}, "--to 1.2.0", "weather"},
		{[]string{"--to", "1.2.0", "weather"}, "--to 1.2.0", "weather"},
		{[]string{"--dry-run", "weather", "--to=abc"}, "--dry-run --to=abc", "weather"},
		{[]string{"--to", "weather", "--config", "x.yaml"}, "--to weather --config x.yaml", ""},
		{[]string{"--nope", "weather"}, "--nope", "weather"},
		{[]string{"--to", "1", "--", "-odd-name"}, "--to 1", "-odd-name"},
	} {
		fl, pos := f.splitPositional(tc.args)
		if strings.Join(fl, " ") != tc.flags || strings.Join(pos, " ") != tc.pos {
			t.Errorf("splitPositional(%q) = %q, %q; want %q, %q", tc.args, fl, pos, tc.flags, tc.pos)
		}
	}
}

// TestDayTwo_usageErrors: the day-two commands refuse bad arguments with
// exit 2 and a message that says what to give, before reading anything.
func TestDayTwo_usageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback"}, "which tool?"},
		{[]string{"rollback", "weather"}, "--to is required"},
		{[]string{"rollback", "a", "b", "--to", "1.0.0"}, "rollback takes one tool"},
		{[]string{"rollback", "a", "--tool", "b", "--to", "1.0.0"}, "give it once"},
		{[]string{"notes"}, "notes takes one tool name"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--time-scale", "0.5"}, "--time-scale 0.5"},
	} {
		r := runMainEnv(t, map[string]string{}, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestRecords_inProcess runs a GitHub Actions push release in-process
// (so -race sees it): two tools serve in the first stage at once, each
// recorded concurrently (tags, releases, the notes' pull request links
// shared through one cache); the comment links the notes.
func TestRecords_inProcess(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	b := readFile(t, plan)
	if err := os.WriteFile(plan, append(b, []byte("records:\n  tags: true\n  releases: true\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	head := git(t, repo, "rev-parse", "HEAD")
	gh := fakeci.NewGitHub(t, ghToken)
	gh.SetPRsOf(head, fakeci.PR{Number: 9, Base: "main"})
	dir := t.TempDir()
	ev := filepath.Join(dir, "event.json")
	if err := os.WriteFile(ev, []byte(`{"ref":"refs/heads/main","after":"`+head+`","repository":{"full_name":"acme/tools"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"out", "sum"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := releaseEnv("GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "push", "GITHUB_EVENT_PATH", ev, "GITHUB_SHA", head,
		"GITHUB_REF", "refs/heads/main", "GITHUB_REPOSITORY", "acme/tools", "GITHUB_SERVER_URL", "https://github.example",
		"GITHUB_API_URL", gh.APIURL(), "GITHUB_OUTPUT", filepath.Join(dir, "out"), "GITHUB_STEP_SUMMARY", filepath.Join(dir, "sum"),
		"INPUT_GITHUB-TOKEN", ghToken, "INPUT_CONFIG", plan, "INPUT_WORKING-DIRECTORY", repo)
	r := runRelease(t, env)
	r.wantCode(t, ExitOK)
	tags := gh.Tags()
	if tags["weather_lookup/v1.0.0"] != head || tags["calendar/v1.0.0"] != head || len(gh.Releases()) != 2 {
		t.Fatalf("tags %v, releases %+v\n%s", tags, gh.Releases(), r.stdout)
	}
	body := strings.Join(gh.Bodies(9), "\n")
	wantContains(t, "comment", body, "Release notes for <code>weather_lookup</code>", "[#9](https://github.example/acme/tools/pull/9)",
		"Tag [`weather_lookup/v1.0.0`](https://github.example/acme/tools/tree/weather_lookup/v1.0.0)")
	pulls := 0
	for _, c := range gh.Calls() {
		if strings.HasSuffix(c, "/pulls") && strings.Contains(c, "/commits/") {
			pulls++
		}
	}
	// Two commits, each asked once for the notes, plus the comment's own
	// lookup of the pushed commit's pull request.
	if pulls != 3 {
		t.Errorf("%d pull request lookups, want 3 (the notes' cache holds across tools)", pulls)
	}
}

// TestNotes_toolWhoseProjectIsNoTool: notes for a name two projects share
// says so, naming both, instead of "not a tool project"; the other tool's
// notes still come.
func TestNotes_toolWhoseProjectIsNoTool(t *testing.T) {
	repo := toolRepo(t)
	commit(t, repo, "feat: a copy", map[string]string{"tools/twin/pyproject.toml": "[project]\nname = \"Calendar\"\n"})
	plan := writePlan(t, t.TempDir(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	r := runRelease(t, releaseEnv(), "notes", "calendar", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "the project of calendar is not a tool at ",
		`tools/calendar/pyproject.toml: two projects are named "calendar": tools/calendar and tools/twin`)
	r = runRelease(t, releaseEnv(), "notes", "weather_lookup", "--repo", repo, "--config", plan)
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, "handle rain")
}
