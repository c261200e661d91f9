package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// TestBadInput: broken and hostile configuration through the binary. Each
// case exits with its documented code and a message that names the
// problem (and where), and nothing is published: the emulators' request
// logs hold no successful mutating call.
func TestBadInput(t *testing.T) {
	big := "# " + strings.Repeat("x", 1100*1024) + "\n"
	cases := []struct {
		name string
		// files are committed to origin on top of a valid monorepo; a
		// ".amigo/release.yaml" entry replaces the plan ("{{plan}}" is the
		// valid plan).
		files map[string]string
		env   map[string]string // set ("" unsets)
		code  int
		want  []string
	}{
		{name: "malformed plan", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan}}\n  - name: [oops\n"},
			want:  []string{".amigo/release.yaml:"}},
		{name: "over-large plan", code: 2,
			files: map[string]string{".amigo/release.yaml": big + "{{plan}}"},
			want:  []string{".amigo/release.yaml", "larger than 1048576 bytes"}},
		{name: "unknown key", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan:soka}}"},
			want:  []string{".amigo/release.yaml:", `unknown key "soka"`, `"soak"`}},
		{name: "invalid tool name in the plan", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan}}tools:\n  Weather-Lookup:\n    description: x\n"},
			want:  []string{".amigo/release.yaml:", "Weather-Lookup", "a-z0-9_"}},
		{name: "invalid envvar name in the plan", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan}}tools:\n  weather_lookup:\n    envvars:\n      - name: weather_url\n        value: x\n"},
			want:  []string{".amigo/release.yaml:", "weather_url", "A-Z_"}},
		{name: "invalid tool name in pyproject.toml", code: 2,
			files: map[string]string{"tools/currency/pyproject.toml": "[project]\nname = \"currency convert!\"\n"},
			want:  []string{"tools/currency/pyproject.toml", "currency convert!"}},
		{name: "tool name clash", code: 2,
			files: testkit.Project("weather2", "weather_lookup", ""),
			want:  []string{"weather_lookup", "tools/weather", "tools/weather2"}},
		// A typo in discovery used to read as "0 projects, nothing to
		// release" with exit 0 (issue 14 item 4).
		{name: "discovery root that is not there", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan:roottypo}}"},
			want:  []string{"discovery.roots: \"tool\" is not a directory at head", "fix:"}},
		{name: "missing credentials", code: 2,
			env:  map[string]string{"AMIGO_API_KEY": ""},
			want: []string{"AMIGO_API_KEY", "missing credential"}},
		// Nothing has ever answered there: a wrong URL, the user's to fix
		// (exit 3 is kept for a server that answers but is not serving).
		{name: "unreachable server", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{unreachable}}"},
			want:  []string{"no server answers at http://127.0.0.1:9", "base_url", "nothing was created or published"}},
		// Issue 13, item 8: a credential that no HTTP header can carry is
		// bad input, found at once (not a sign-in retried until the budget
		// ends), naming the variable and never the value.
		{name: "API key with a newline", code: 2,
			env:  map[string]string{"AMIGO_API_KEY": creds["AMIGO_API_KEY"] + "\n"},
			want: []string{`stage "us": AMIGO_API_KEY holds a line break`, "printf %s", "nothing was created or published"}},
		// Issue 13, item 3: every from_env variable is checked before
		// anything is created, for every tool, one message each.
		{name: "unset from_env", code: 2,
			files: map[string]string{".amigo/release.yaml": "{{plan}}tools:\n  currency_convert:\n    envvars:\n      - name: RATES_KEY\n        from_env: RATES_KEY_PROD\n        secret: true\n" +
				"  flight_status:\n    envvars:\n      - name: FLIGHTS_KEY\n        from_env: FLIGHTS_KEY_PROD\n        secret: true\n"},
			want: []string{"2 problems", "tool currency_convert", "RATES_KEY_PROD is not set", "tool flight_status", "FLIGHTS_KEY_PROD is not set", ".amigo/release.yaml:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.monorepo()
			files := map[string]string{}
			for k, v := range tc.files {
				v = strings.ReplaceAll(v, "{{plan:soka}}", strings.Replace(w.planYAML(nil, ""), "test: true", "test: true\n    soka: 10m", 1))
				v = strings.ReplaceAll(v, "{{plan:roottypo}}", strings.Replace(w.planYAML(nil, ""), "roots: [tools]", "roots: [tool]", 1))
				v = strings.ReplaceAll(v, "{{plan}}", w.planYAML(nil, ""))
				v = strings.ReplaceAll(v, "{{unreachable}}", strings.Replace(w.planYAML(nil, ""), w.cluster.URL("us"), "http://127.0.0.1:9", 1))
				files[k] = v
			}
			if len(files) > 0 {
				w.commit("chore: the change under test", files)
			}
			w.checkout(0)
			r := w.release(tc.env)
			r.wantCode(t, tc.code)
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("a panic:\n%s", r.stderr)
			}
			if m := w.mutations(); len(m) > 0 {
				t.Errorf("bad input changed the emulators:\n%s", strings.Join(m, "\n"))
			}
			if n := len(strings.TrimSpace(r.stderr)); n > 8000 {
				t.Errorf("the error is %d bytes: not a clear message", n)
			}
			if strings.Contains(r.stdout+r.stderr, creds["AMIGO_API_KEY"]) {
				t.Errorf("the API key was printed")
			}
		})
	}
}

// TestBadProjectMetadataStopsTheStart: an invalid envvar name in one
// project's [tool.amigo-release] is found before anything is created for
// any tool (issue 13: all or nothing at the start): exit 2, the message
// names the file, the key and the fix, and no tool is created anywhere.
// Fixed, the release goes out.
func TestBadProjectMetadataStopsTheStart(t *testing.T) {
	w := newWorld(t)
	w.monorepo()
	w.commit("chore: a bad envvar name", map[string]string{"tools/currency/pyproject.toml": "[project]\nname = \"currency_convert\"\n\n[tool.amigo-release]\n[[tool.amigo-release.envvars]]\nname = \"api-key\"\nvalue = \"x\"\n"})
	w.checkout(0)
	r := w.release(nil)
	r.wantCode(t, 2)
	wantContains(t, "stderr", r.stderr, "tool currency_convert", "tools/currency/pyproject.toml", "tool.amigo-release.envvars[0].name", `"api-key"`, "fix:", "nothing was created or published")
	if m := w.mutations(); len(m) > 0 {
		t.Errorf("a run that could not start changed the emulators:\n%s", strings.Join(m, "\n"))
	}
	w.commit("fix: the envvar name", map[string]string{"tools/currency/pyproject.toml": "[project]\nname = \"currency_convert\"\n"})
	w.pull()
	w.release(nil).wantCode(t, 0)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(w.gitIn(w.origin, "rev-parse", "HEAD")))
}

// TestHostileCommitMessages: commit messages that try to run workflow
// commands, inject HTML, ping teams, break tables or flood the output are
// released like any other and rendered harmlessly on stdout, in the job
// summary and in the pull request comment.
func TestHostileCommitMessages(t *testing.T) {
	w, first := releasedWorld(t)

	w.commit("feat(weather): ::set-output name=pwned::yes", testkit.Touch("weather", "1"))
	w.commit("fix(currency): ##vso[task.setvariable variable=pwned]yes", testkit.Touch("currency", "2"))
	w.commit("feat(flight): <script>alert(1)</script><img src=x onerror=alert(2)>", testkit.Touch("flight", "3"))
	w.commit("fix(weather): thanks @org/team and @alice", testkit.Touch("weather", "4"))
	w.commit("fix(currency): a | b | c", testkit.Touch("currency", "5"))
	w.commit("fix(weather): multi-line\n\n::error::pwned\n##vso[task.complete result=Failed]\n<script>x</script>", testkit.Touch("weather", "6"))
	body := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(body, []byte("fix(flight): a 1 MB body\n\n"+strings.Repeat("line of a very long body ", 1<<20/25)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(w.origin, "tools/flight/main.py"), []byte("def run(**kw):\n    return 7\n"), 0o644)
	w.gitIn(w.origin, "add", "-A")
	w.gitIn(w.origin, "commit", "-q", "-F", body)
	head := w.gitIn(w.origin, "rev-parse", "HEAD")
	w.pull()

	gh := fakeci.NewGitHub(t, ghToken)
	gh.SetPRsOf(head, fakeci.PR{Number: 12, Base: "main"})
	payload := map[string]any{"ref": "refs/heads/main", "before": first, "after": head, "repository": map[string]any{"full_name": ghRepo}}
	env, outPath, sumPath := w.actionEnv(gh, "push", payload, head, "refs/heads/main")
	r := w.run(w.work, env)
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "1.1.0@"+changes.DisplaySHA(head))
	w.wantLive("currency_convert", "1.0.0@"+changes.DisplaySHA(first), "1.0.1@"+changes.DisplaySHA(head))
	w.wantLive("flight_status", "1.0.0@"+changes.DisplaySHA(first), "1.1.0@"+changes.DisplaySHA(head))

	comments, _ := gh.Snapshot()
	if len(comments[12]) != 1 {
		t.Fatalf("PR #12 has %d comments, want 1", len(comments[12]))
	}
	comment := comments[12][0].Body
	summary := readFile(t, sumPath)
	outputs := readFile(t, outPath)

	// Workflow commands: no stdout line starts one from commit text, and
	// no Azure logging command appears anywhere.
	for _, ln := range strings.Split(r.stdout, "\n") {
		for _, bad := range []string{"::set-output", "::error::pwned"} {
			if strings.HasPrefix(strings.TrimSpace(ln), bad) {
				t.Errorf("stdout line runs a workflow command from a commit: %q", ln)
			}
		}
	}
	for what, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "summary": summary, "comment": comment, "outputs": outputs} {
		if strings.Contains(text, "##vso[") {
			t.Errorf("%s holds an Azure logging command verbatim", what)
		}
	}
	for what, text := range map[string]string{"summary": summary, "comment": comment} {
		for _, bad := range []string{"<script", "<img", "@org/team", "@alice"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s holds %q verbatim", what, bad)
			}
		}
		for _, ln := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(ln), "::") {
				t.Errorf("%s line starts a workflow command: %q", what, ln)
			}
		}
		if len(text) > 65536 || !utf8.ValidString(text) {
			t.Errorf("%s is %d bytes (valid UTF-8: %v)", what, len(text), utf8.ValidString(text))
		}
	}
	// Tables stay intact: every row of the comment's results table has as
	// many unescaped cell separators as its header.
	wantContains(t, "comment", comment, "a \\| b \\| c")
	header := -1
	for _, ln := range strings.Split(comment, "\n") {
		if !strings.HasPrefix(ln, "|") {
			continue
		}
		n := strings.Count(ln, "|") - strings.Count(ln, "\\|")
		if header < 0 {
			header = n
		} else if n != header {
			t.Errorf("table row with %d cells separators, header has %d: %q", n, header, ln)
		}
	}
	if len(r.stdout) > 200000 {
		t.Errorf("stdout is %d bytes: the 1 MB body was echoed", len(r.stdout))
	}
}
