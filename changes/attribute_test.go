package changes

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// TestDetect_movedProject (item 1 of issue 14): a project moved inside the
// range keeps the commits made before the move, so the breaking change made
// in its old directory still makes it major; the move is noted; and the
// files of the old directory do not count for the project that encloses it
// at head (here the repository root's). Both with the default base and
// with the project's own base, and whichever way discovery reads the head.
func TestDetect_movedProject(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	old, moved := "integrations/weights_and_biases_weave", "integrations/weave"
	r.write("pyproject.toml", pyproject("workspace-root"), "README.md", "hi",
		old+"/pyproject.toml", pyproject("weave"), old+"/src/weave.py", "v1",
		"tools/a/pyproject.toml", pyproject("tool-a"), "tools/a/a.py", "a")
	base := r.commit("chore: init")
	s := map[string]string{}
	r.write(old+"/src/weave.py", "v2, no 3.9")
	s["breaking"] = r.commit("chore!: drop Python 3.9")
	r.git("mv", old, moved)
	s["move"] = r.commit("refactor: rename the weave integration")
	r.write(moved+"/src/more.py", "x")
	s["feat"] = r.commit("feat: more weave")

	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"default base", Request{Head: "HEAD", DefaultBase: base}},
		{"default base, every project read", Request{Head: "HEAD", DefaultBase: base, FullDiscovery: true}},
		{"its own base", Request{Head: "HEAD", Bases: map[string]string{"weave": base}, DefaultBase: r.head()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := detect(t, r.open(), tc.req)
			if diff := cmp.Diff([]string{"weave:changed:major[feat,move,breaking]"}, summary(res, s)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			w, _ := res.Project("weave")
			if w.Path != moved || !strings.Contains(w.Reason, "drop Python 3.9 (breaking) → major") {
				t.Errorf("weave = %+v", w)
			}
			if !slices.ContainsFunc(w.Notes, func(n string) bool {
				return strings.Contains(n, "moved from "+old+" to "+moved) && strings.Contains(n, "count for it")
			}) {
				t.Errorf("no note of the move: %q", w.Notes)
			}
			if len(res.Problems) > 0 {
				t.Errorf("problems: %+v", res.Problems)
			}
		})
	}
}

// TestDetect_movedProjectFromABranch: a branch forked before the move and
// merged after it changed the old directory; its commit counts for the
// project although no commit in the range touched a pyproject.toml (the
// directory no longer exists at head).
func TestDetect_movedProjectFromABranch(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("old/pyproject.toml", pyproject("weave"), "old/src/weave.py", "line 1\nline 2\nline 3\n", "other/pyproject.toml", pyproject("other"))
	r.commit("chore: init")
	r.git("checkout", "-q", "-b", "side")
	r.write("old/src/weave.py", "line 1\nline 2 fixed\nline 3\n")
	s := map[string]string{}
	s["fix"] = r.commit("fix: weave line 2")
	r.git("checkout", "-q", "main")
	r.git("mv", "old", "new")
	base := r.commit("refactor: move weave")
	r.n++
	r.git("merge", "-q", "--no-edit", "side")
	res := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base})
	if diff := cmp.Diff([]string{"weave:changed:patch[fix]"}, summary(res, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDetect_layoutChanges: the other ways a project's directory changes in
// a range. A project created in range keeps the commits made in its
// directory before its pyproject.toml existed; a removed project keeps its
// commits and is reported removed; a project renamed in place is its new
// name; one that came and went inside the range leaves its files to the
// enclosing project.
func TestDetect_layoutChanges(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("pyproject.toml", pyproject("root"), "tools/gone/pyproject.toml", pyproject("gone"), "tools/gone/g.py", "1",
		"tools/ren/pyproject.toml", pyproject("before"), "tools/ren/r.py", "1")
	base := r.commit("chore: init")
	s := map[string]string{}
	s["scaffold"] = r.change("tools/new/main.py", "1", "feat: scaffold the new tool")
	r.write("tools/new/pyproject.toml", pyproject("new"))
	s["add"] = r.commit("chore: make it a project")
	s["gonefix"] = r.change("tools/gone/g.py", "2", "fix: last gone fix")
	r.rm("tools/gone")
	s["remove"] = r.commit("chore: remove gone")
	s["renfeat"] = r.change("tools/ren/r.py", "2", "feat: before the rename")
	r.write("tools/ren/pyproject.toml", pyproject("after"))
	s["rename"] = r.commit("chore: rename")
	r.write("tools/tmp/pyproject.toml", pyproject("tmp"), "tools/tmp/t.py", "1")
	s["tmpadd"] = r.commit("feat: temporary")
	r.rm("tools/tmp/pyproject.toml")
	s["tmpdel"] = r.commit("chore: not a project after all")
	want := []string{
		"after:changed:minor[rename,renfeat]",
		"gone:removed:none[remove,gonefix]",
		"new:changed:minor[add,scaffold]",
		"root:changed:minor[tmpdel,tmpadd]",
	}
	for _, full := range []bool{false, true} {
		res := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base, FullDiscovery: full})
		if diff := cmp.Diff(want, summary(res, s)); diff != "" {
			t.Errorf("full discovery %v (-want +got):\n%s", full, diff)
		}
	}
}

// TestDetect_problems (item 3 of issue 14): projects that cannot be tools
// are reported as problems with their change, not as an error, and they
// keep their files. Without FullDiscovery only the projects the range
// touched are read; with it every one is, and a name that a changed
// project shares with an untouched one is found.
func TestDetect_problems(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("tools/a/pyproject.toml", pyproject("tool-a"), "tools/a/a.py", "1",
		"examples/one/pyproject.toml", pyproject("example"), "examples/two/pyproject.toml", pyproject("example"),
		"templates/pkg/pyproject.toml", pyproject("$pkg"), "templates/pkg/x.py", "1",
		"tests/fixture/pyproject.toml", "[project]\nversion = \"1\"\n",
		"tools/copy/pyproject.toml", pyproject("tool-b"), "tools/b/pyproject.toml", pyproject("tool-b"))
	base := r.commit("chore: init")
	s := map[string]string{}
	s["a"] = r.change("tools/a/a.py", "2", "feat: a")
	s["tpl"] = r.change("templates/pkg/x.py", "2", "feat: template")
	s["copy"] = r.change("tools/copy/c.py", "1", "fix: the copy")

	lazy := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base})
	if diff := cmp.Diff([]string{"tool_a:changed:minor[a]", "tool_b:changed:patch[copy]"}, summary(lazy, s)); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	got := func(res *Result) []string {
		var out []string
		for _, p := range res.Problems {
			c := "untouched"
			if p.Change != nil {
				c = p.Change.Status + ":" + p.Change.Bump.label()
			}
			out = append(out, p.Path+"="+p.Name+":"+c)
		}
		return out
	}
	// Read lazily, tools/copy's name looks unique: tools/b was not read.
	if diff := cmp.Diff([]string{"templates/pkg=:changed:minor"}, got(lazy)); diff != "" {
		t.Errorf("lazy problems (-want +got):\n%s", diff)
	}
	full := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base, FullDiscovery: true})
	if diff := cmp.Diff([]string{"tool_a:changed:minor[a]"}, summary(full, s)); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	want := []string{"examples/one=example:untouched", "examples/two=example:untouched", "templates/pkg=:changed:minor",
		"tests/fixture=:untouched", "tools/b=tool_b:untouched", "tools/copy=tool_b:changed:patch"}
	if diff := cmp.Diff(want, got(full)); diff != "" {
		t.Errorf("full problems (-want +got):\n%s", diff)
	}
	for _, p := range full.Problems {
		if p.Path == "tools/copy" && (!strings.Contains(p.Message, `two projects are named "tool_b": tools/b and tools/copy`) || !slices.Equal(p.Others, []string{"tools/b"})) {
			t.Errorf("clash = %+v", p)
		}
		if p.Path == "templates/pkg" && (!strings.Contains(p.Error(), "templates/pkg/pyproject.toml: [project].name") || p.Change.Commits[0].SHA != s["tpl"]) {
			t.Errorf("template = %+v", p)
		}
	}
}

// TestDetect_lazyMatchesFull: reading only what the range touches gives the
// result of reading every project, on the generated monorepo with its
// merges and cross-project moves, for a short and a long push.
func TestDetect_lazyMatchesFull(t *testing.T) {
	t.Parallel()
	g := generateIn(t, genParams{Projects: 40, FilesPer: 12, Commits: 600, MergeEvery: 9, RenamePercent: 20}, t.TempDir())
	for _, base := range []string{g.Base20, g.Base1000, ""} {
		lazy := detect(t, openRepo(t, g.Dir), Request{Head: g.Head, DefaultBase: base})
		full := detect(t, openRepo(t, g.Dir), Request{Head: g.Head, DefaultBase: base, FullDiscovery: true})
		if diff := cmp.Diff(full, lazy, cmp.AllowUnexported(Result{})); diff != "" {
			t.Errorf("base %q: lazy differs from full (-full +lazy):\n%s", base, diff)
		}
	}
}

// TestDetect_noIdleFirstRelease: when every project has its own base and
// there is no default base, nothing measures from the default range (the
// whole history), so it is not walked: the root commit is never diffed. A
// project without its own base still gets the whole history.
func TestDetect_noIdleFirstRelease(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	root := twoTools(r)
	mid := r.change("tools/a/x.py", "1", "fix: a")
	r.change("tools/b/x.py", "1", "feat: b")
	repo := r.open()
	res := detect(t, repo, Request{Head: "HEAD", Bases: map[string]string{"tool_a": mid, "tool_b": mid}})
	if got := summary(res, nil); len(got) != 1 || !strings.HasPrefix(got[0], "tool_b:changed:minor") {
		t.Errorf("result = %q", got)
	}
	if _, ok := repo.diffs[plumbing.NewHash(root)]; ok {
		t.Error("the root commit was diffed: the idle first-release range was walked")
	}
	res = detect(t, r.open(), Request{Head: "HEAD", Bases: map[string]string{"tool_b": mid}})
	if a, ok := res.Project("tool_a"); !ok || !a.FirstRelease || len(a.Commits) != 2 {
		t.Errorf("tool_a without a base = %+v", a)
	}
}
