package changes

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// twoTools is the usual starting point: tools a and b and a README.
func twoTools(r *testRepo) string {
	r.write("tools/a/pyproject.toml", pyproject("tool-a"), "tools/a/main.py", "a0",
		"tools/b/pyproject.toml", pyproject("tool-b"), "tools/b/main.py", "b0", "README.md", "hi")
	return r.commit("chore: init")
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// build makes the history and returns the request; shas names
		// commits for the summary.
		build func(r *testRepo, shas map[string]string) Request
		want  []string
		check func(t *testing.T, res *Result, shas map[string]string)
	}{
		{
			name: "plain push: feat and fix in two tools, README ignored",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["feat"] = r.change("tools/a/x.py", "1", "feat(a): add units")
				s["fix"] = r.change("tools/b/y.py", "1", "fix: y")
				r.change("README.md", "changed", "docs: readme")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:minor[feat]", "tool_b:changed:patch[fix]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if a.Reason != "feat(a): add units → minor" || a.Files != 1 || a.FirstRelease {
					t.Errorf("tool_a = %+v", a)
				}
			},
		},
		{
			name: "first release: no base, every commit that touched it",
			build: func(r *testRepo, s map[string]string) Request {
				s["init"] = twoTools(r)
				s["fix"] = r.change("tools/a/x.py", "1", "fix(a): x")
				r.change("README.md", "2", "docs: only readme")
				return Request{Head: "main", Bases: map[string]string{"tool_b": ""}, DefaultBase: s["init"]}
			},
			want: []string{"tool_a:changed:patch[fix]", "tool_b:no-release:none[init]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				b, _ := res.Project("tool_b")
				if !b.FirstRelease || b.Base != "" || !strings.Contains(b.Notes[0], "first release") {
					t.Errorf("tool_b = %+v", b)
				}
				if !strings.Contains(b.Reason, "no commit warrants a release (1 chore)") {
					t.Errorf("tool_b reason = %q", b.Reason)
				}
			},
		},
		{
			name: "all-zero before of a new branch: whole history, with a note",
			build: func(r *testRepo, s map[string]string) Request {
				s["init"] = twoTools(r)
				s["feat"] = r.change("tools/a/x.py", "1", "feat: x")
				return Request{Head: "HEAD", DefaultBase: ZeroSHA}
			},
			want: []string{"tool_a:changed:minor[feat,init]", "tool_b:no-release:none[init]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if !a.FirstRelease || !strings.Contains(strings.Join(a.Notes, ";"), "all-zero") {
					t.Errorf("tool_a = %+v", a)
				}
			},
		},
		{
			name: "force push: base not an ancestor, merge base used",
			build: func(r *testRepo, s map[string]string) Request {
				twoTools(r)
				s["mb"] = r.change("tools/a/x.py", "1", "fix: shared history")
				s["old"] = r.change("tools/a/y.py", "old", "feat: rewritten away")
				r.git("reset", "-q", "--hard", s["mb"])
				s["new"] = r.change("tools/b/z.py", "new", "fix: after force push")
				return Request{Head: "HEAD", DefaultBase: s["old"]}
			},
			// tool_a: the file y.py existed at old but not at head: the
			// diff from the merge base shows nothing for a.
			want: []string{"tool_b:changed:patch[new]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				b, _ := res.Project("tool_b")
				if b.Base != s["mb"] || len(b.Notes) != 1 || !strings.Contains(b.Notes[0], "force push: base "+s["old"][:12]+" is not an ancestor of head; used merge base "+s["mb"][:12]) {
					t.Errorf("tool_b base %s notes %q", b.Base, b.Notes)
				}
			},
		},
		{
			name: "merge: merged branch's commits attributed, not the merge message",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.git("checkout", "-q", "-b", "topic")
				s["t1"] = r.change("tools/a/t.py", "1", "feat(a): topic work")
				s["t2"] = r.change("tools/b/t.py", "1", "fix(b): topic fix")
				r.git("checkout", "-q", "main")
				r.change("README.md", "main moved", "docs: main work")
				r.n++
				r.git("merge", "-q", "--no-ff", "-m", "feat!: merge message must not count", "topic")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:minor[t1]", "tool_b:changed:patch[t2]"},
		},
		{
			name: "squash merge is a plain commit",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.git("checkout", "-q", "-b", "topic")
				r.change("tools/a/t.py", "1", "wip")
				r.change("tools/a/t.py", "2", "wip 2")
				r.git("checkout", "-q", "main")
				r.git("merge", "-q", "--squash", "topic")
				s["sq"] = r.commit("feat(a): squashed topic (#12)")
				return Request{Head: "main", DefaultBase: base}
			},
			want: []string{"tool_a:changed:minor[sq]"},
		},
		{
			name: "rename across projects changes both; rename detection off",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.git("mv", "tools/a/main.py", "tools/b/moved.py")
				s["mv"] = r.commit("refactor: move main from a to b")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:no-release:none[mv]", "tool_b:no-release:none[mv]"},
		},
		{
			name: "deleted project is removed, never published",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.rm("tools/b")
				s["del"] = r.commit("feat: drop tool b")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_b:removed:none[del]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				b, _ := res.Project("tool_b")
				if b.Path != "tools/b" || !strings.Contains(b.Reason, "tools/b/pyproject.toml was deleted") {
					t.Errorf("tool_b = %+v", b)
				}
			},
		},
		{
			name: "project moved to a new directory keeps its name: changed, not removed",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.git("mv", "tools/b", "tools/bee")
				s["mv"] = r.commit("fix: move b")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_b:changed:patch[mv]"},
		},
		{
			name: "shared paths trigger their projects",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["lib"] = r.change("libs/common/util.py", "1", "fix(common): util")
				s["vend"] = r.change("tools/a/vendored/util.py", "1", "chore: vendor util into a")
				return Request{Head: "HEAD", DefaultBase: base, Options: Options{Shared: map[string][]string{
					"libs/common/**": {"tool_a", "tool_b", "ghost"}, "libs/common/*.py": {"tool_b"}, "**/vendored/**": {"tool_a"}}}}
			},
			want: []string{"tool_a:changed:patch[vend,lib]", "tool_b:changed:patch[lib]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				b, _ := res.Project("tool_b")
				if a.Files != 2 || b.Files != 1 {
					t.Errorf("files: tool_a %d (want 2), tool_b %d (want 1)", a.Files, b.Files)
				}
				if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, `"ghost"`) }) {
					t.Errorf("warnings %q lack the unknown shared project", res.Warnings)
				}
			},
		},
		{
			name: `shared "*" triggers every project`,
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["lib"] = r.change("libs/amigo_utils/retry.py", "1", "fix(utils): retry")
				return Request{Head: "HEAD", DefaultBase: base, Options: Options{Shared: map[string][]string{"libs/amigo_utils/**": {AllProjects}}}}
			},
			want: []string{"tool_a:changed:patch[lib]", "tool_b:changed:patch[lib]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				if len(res.Warnings) != 0 {
					t.Errorf(`"*" warned as if it were a project name: %q`, res.Warnings)
				}
			},
		},
		{
			name: "nested projects: the deepest owns the file",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.write("tools/a/plugins/p/pyproject.toml", pyproject("plug"))
				s["add"] = r.commit("feat: add plugin")
				base2 := r.head()
				s["inner"] = r.change("tools/a/plugins/p/x.py", "1", "fix: inner")
				s["outer"] = r.change("tools/a/plugins/other.py", "1", "perf: outer")
				_ = base
				return Request{Head: "HEAD", DefaultBase: base2}
			},
			want: []string{"plug:changed:patch[inner]", "tool_a:changed:patch[outer]"},
		},
		{
			name: "include/exclude: excluded project's files fall to its parent",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.write("tools/a/examples/demo/pyproject.toml", pyproject("demo"), "tools/a/examples/demo/d.py", "1")
				s["demo"] = r.commit("feat: demo")
				return Request{Head: "HEAD", DefaultBase: base, Options: Options{Exclude: []string{"**/examples/**"},
					Names: map[string]string{"./tools/b/": "bee", "tools/nope": "x"}}}
			},
			want: []string{"tool_a:changed:minor[demo]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				if !slices.Equal(res.Warnings, []string{`names: "tools/nope" is not a project directory at head`}) {
					t.Errorf("warnings %q", res.Warnings)
				}
			},
		},
		{
			name: "Release-As overrides the computed bump",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["feat"] = r.change("tools/a/x.py", "1", "feat: x")
				s["rel"] = r.change("tools/a/y.py", "1", "chore: release\n\nRelease-As: major\n")
				s["bad"] = r.change("tools/b/y.py", "1", "feat: b\n\nRelease-As: 2.0.0\n")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:major[rel,feat]", "tool_b:changed:minor[bad]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if !strings.HasPrefix(a.Reason, "Release-As: major in "+s["rel"][:12]) {
					t.Errorf("reason %q", a.Reason)
				}
				if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, `ignoring Release-As: "2.0.0"`) }) {
					t.Errorf("warnings %q", res.Warnings)
				}
			},
		},
		{
			name: "revert and reverted commit in range cancel; lone revert is a patch",
			build: func(r *testRepo, s map[string]string) Request {
				r.write("tools/a/pyproject.toml", pyproject("tool-a"), "tools/b/pyproject.toml", pyproject("tool-b"), "tools/b/old.py", "0")
				base := r.commit("chore: init")
				s["feat"] = r.change("tools/a/x.py", "1", "feat!: breaking x")
				s["fix"] = r.change("tools/a/z.py", "1", "fix: z")
				s["rev"] = r.revert(s["feat"])
				s["old"] = r.change("tools/b/old.py", "1", "feat: before base")
				base = r.head()
				s["lone"] = r.revert(s["old"])
				return Request{Head: "HEAD", Bases: map[string]string{"tool_a": s["feat"] + "~1", "tool_b": base}}
			},
			want: []string{"tool_a:changed:patch[rev,fix,feat]", "tool_b:changed:patch[lone]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if a.Reason != "fix: z → patch" || !strings.Contains(a.Commits[0].Note, "cancel out") || !strings.Contains(a.Commits[2].Note, "reverted by") {
					t.Errorf("tool_a = %+v", a)
				}
			},
		},
		{
			name: "revert of a revert: the original stands",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["feat"] = r.change("tools/a/x.py", "1", "feat: x")
				s["r1"] = r.revert("HEAD")
				s["r2"] = r.revert("HEAD")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:minor[r2,r1,feat]"},
		},
		{
			name: "change and its revert: commits but no net change",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["feat"] = r.change("tools/a/x.py", "1", "feat: x")
				s["rev"] = r.revert("HEAD")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:unchanged:none[rev,feat]"},
		},
		{
			name: "breaking footer is major; bang is major",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["foot"] = r.change("tools/a/x.py", "1", "fix: x\n\nBREAKING-CHANGE: inputs renamed\n")
				s["bang"] = r.change("tools/b/x.py", "1", "chore(b)!: drop python 3.8")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:major[foot]", "tool_b:changed:major[bang]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if !a.Commits[0].Breaking || a.Reason != "fix: x (breaking) → major" {
					t.Errorf("tool_a = %+v", a)
				}
			},
		},
		{
			name: "binary file change counts",
			build: func(r *testRepo, s map[string]string) Request {
				r.write("tools/a/pyproject.toml", pyproject("tool-a"), "tools/a/model.bin", "\x00\x01\x02\xff\xfe")
				base := r.commit("chore: init")
				s["bin"] = r.change("tools/a/model.bin", "\x00\x01\x02\xff\xfd", "fix: retrain model")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:patch[bin]"},
		},
		{
			name: "mode change counts",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.git("update-index", "--chmod=+x", "tools/a/main.py")
				r.n++
				r.git("commit", "-q", "-m", "fix: make executable")
				s["x"] = r.head()
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:patch[x]"},
		},
		{
			name: "huge and invalid UTF-8 messages",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				s["huge"] = r.change("tools/a/x.py", "1", "feat(a): "+strings.Repeat("very long subject ", 20)+"\n\n"+strings.Repeat("body line\n", 200_000))
				r.write("tools/b/x.py", "1")
				s["utf"] = r.rawCommit("fix(b): caf\xe9 \xff\xfe\n")
				return Request{Head: "HEAD", DefaultBase: base}
			},
			want: []string{"tool_a:changed:minor[huge]", "tool_b:changed:patch[utf]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if n := len([]rune(a.Commits[0].Subject)); n > maxSubject+1 || !strings.HasSuffix(a.Commits[0].Subject, "…") {
					t.Errorf("subject not truncated: %d runes", n)
				}
				b, _ := res.Project("tool_b")
				if b.Commits[0].Subject != "fix(b): caf\uFFFD \uFFFD" {
					t.Errorf("subject %q", b.Commits[0].Subject)
				}
				if _, err := json.Marshal(res); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "non-conventional messages: patch by default, none when configured",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.write("tools/a/x.py", "1", "tools/b/x.py", "1")
				s["nc"] = r.commit("Update stuff")
				return Request{Head: "HEAD", DefaultBase: base, Options: Options{Types: DefaultTypes(), NonConventional: None}}
			},
			want: []string{"tool_a:no-release:none[nc]", "tool_b:no-release:none[nc]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				a, _ := res.Project("tool_a")
				if !strings.Contains(a.Reason, "1 non-conventional") {
					t.Errorf("reason %q", a.Reason)
				}
			},
		},
		{
			name: "per-project bases: a tool released later sees only newer commits",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				r.write("tools/a/x.py", "1", "tools/b/x.py", "1")
				s["both"] = r.commit("feat: both")
				rel := r.head()
				r.write("tools/a/y.py", "1", "tools/b/y.py", "1")
				s["later"] = r.commit("fix: both again")
				return Request{Head: "HEAD", DefaultBase: base, Bases: map[string]string{"tool_b": rel, "gone": rel}}
			},
			want: []string{"tool_a:changed:minor[later,both]", "tool_b:changed:patch[later]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, `"gone"`) }) {
					t.Errorf("warnings %q", res.Warnings)
				}
			},
		},
		{
			name: "detached HEAD and a tag as base",
			build: func(r *testRepo, s map[string]string) Request {
				twoTools(r)
				r.git("tag", "-a", "-m", "release", "v1")
				s["fix"] = r.change("tools/a/x.py", "1", "fix: x")
				r.git("checkout", "-q", "--detach", "HEAD")
				return Request{Head: "HEAD", DefaultBase: "v1"}
			},
			want: []string{"tool_a:changed:patch[fix]"},
		},
		{
			name: "removed project with its own base",
			build: func(r *testRepo, s map[string]string) Request {
				base := twoTools(r)
				rel := r.change("tools/a/x.py", "1", "fix: a")
				r.rm("tools/b")
				s["del"] = r.commit("chore: drop b")
				return Request{Head: "HEAD", DefaultBase: rel, Bases: map[string]string{"tool_b": base}}
			},
			want: []string{"tool_b:removed:none[del]"},
			check: func(t *testing.T, res *Result, s map[string]string) {
				if len(res.Warnings) != 0 {
					t.Errorf("warnings %q", res.Warnings)
				}
			},
		},
		{
			name: "no changes at all",
			build: func(r *testRepo, s map[string]string) Request {
				twoTools(r)
				return Request{Head: "HEAD", DefaultBase: "HEAD"}
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			shas := map[string]string{}
			req := tt.build(r, shas)
			res := detect(t, r.open(), req)
			if diff := cmp.Diff(tt.want, summary(res, shas)); diff != "" {
				t.Errorf("Detect mismatch (-want +got):\n%s", diff)
			}
			if res.Head != r.head() {
				t.Errorf("Head = %s, want %s", res.Head, r.head())
			}
			if tt.check != nil {
				tt.check(t, res, shas)
			}
		})
	}
}

// TestResult_JSON pins the JSON shape the pipeline and reports consume.
func TestResult_JSON(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	base := twoTools(r)
	sha := r.change("tools/a/x.py", "1", "feat(api)!: drop v0\n\nBREAKING CHANGE: inputs renamed\n")
	res := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base})
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"head": sha,
		"projects": []any{map[string]any{
			"name": "tool_a", "path": "tools/a", "base": base, "head": sha, "status": "changed", "bump": "major",
			"reason": "feat(api)!: drop v0 (breaking) → major", "files": float64(1),
			"commits": []any{map[string]any{"sha": sha, "subject": "feat(api)!: drop v0", "type": "feat", "scope": "api", "breaking": true, "bump": "major"}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
	b2, _ := res.JSON()
	if string(b) != string(b2) {
		t.Error("JSON is not stable")
	}
}
