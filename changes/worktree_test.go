package changes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func projectNames(ps []Project) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Path+"="+p.Name)
	}
	return out
}

// TestDiscoverDir_sameAsDiscover: on a clean work tree DiscoverDir finds
// what Discover finds in HEAD, for every option, and fails the same way.
func TestDiscoverDir_sameAsDiscover(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write(
		"tools/weather/pyproject.toml", pyproject("Weather-Tool"),
		"tools/weather/plugins/radar/pyproject.toml", pyproject("radar.plugin"),
		"tools/poetry/pyproject.toml", "[tool.poetry]\nname = \"poetry-tool\"\n",
		"tools/renamed/pyproject.toml", pyproject("whatever"),
		"examples/demo/pyproject.toml", pyproject("demo"),
		"pyproject.toml", pyproject("root-tool"),
	)
	r.commit("chore: init")
	repo := r.open()
	for _, opts := range []Options{
		{Names: map[string]string{"tools/renamed": "better_name"}},
		{Roots: []string{"tools/"}, Names: map[string]string{"tools/renamed": "r"}},
		{Include: []string{"tools/*"}, Exclude: []string{"tools/renamed"}},
		{Exclude: []string{"**/plugins/**", "tools/renamed", "."}},
		{Roots: []string{"nope"}},
	} {
		want, err := Discover(repo, "HEAD", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DiscoverDir(r.dir, opts)
		if err != nil {
			t.Fatalf("DiscoverDir(%+v): %v", opts, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DiscoverDir(%+v) differs from Discover (-Discover +DiscoverDir):\n%s", opts, diff)
		}
	}

	for _, files := range [][]string{
		{"a/pyproject.toml", pyproject("same-name"), "b/pyproject.toml", pyproject("Same.Name")},
		{"tools/bad/pyproject.toml", "[project]\nname = \"ok\"\nversion = = 1\n"},
		{"t/pyproject.toml", pyproject("héllo wörld")},
		{"t/pyproject.toml", "[build-system]\nrequires = []\n"},
	} {
		r := newTestRepo(t)
		r.write(files...)
		r.commit("chore: init")
		_, want := Discover(r.open(), "HEAD", Options{})
		_, got := DiscoverDir(r.dir, Options{})
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("files %q: DiscoverDir error %v, Discover error %v", files[0], got, want)
		}
	}
}

// TestDiscoverDir_workTree: uncommitted edits count; what git ignores
// (.gitignore at any depth, with negation, and .git/info/exclude) does
// not; every problem comes back, each a *ProjectError with file and line.
func TestDiscoverDir_workTree(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("tools/a/pyproject.toml", pyproject("a"), ".gitignore", "/.venv/\nbuild/\n*.tmp.d/\n!keep.tmp.d/\n")
	r.commit("chore: init")
	r.write(
		"tools/a/pyproject.toml", pyproject("a-renamed"), // uncommitted edit
		"tools/new/pyproject.toml", pyproject("new"), // untracked, not ignored
		".venv/lib/site/pkg/pyproject.toml", pyproject("a-renamed"), // ignored: no clash
		"tools/b/build/pyproject.toml", pyproject("x"),
		"tools/c.tmp.d/pyproject.toml", pyproject("x"),
		"tools/keep.tmp.d/pyproject.toml", pyproject("kept"),
		"tools/sub/.gitignore", "vendor\n",
		"tools/sub/vendor/pyproject.toml", pyproject("x"),
		"tools/excluded/pyproject.toml", pyproject("x"),
	)
	r.write(".git/info/exclude", "tools/excluded/\n")
	ps, err := DiscoverDir(r.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tools/a=a_renamed", "tools/keep.tmp.d=kept", "tools/new=new"}, projectNames(ps)); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}

	r.write("tools/b/pyproject.toml", "[project]\nname = \"ok\"\nx = = 1\n", "tools/c/pyproject.toml", pyproject("new"),
		"tools/d/pyproject.toml", "[project]\n")
	_, err = DiscoverDir(r.dir, Options{})
	var pes []*ProjectError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *ProjectError
		if !errors.As(e, &pe) {
			t.Errorf("not a *ProjectError: %v", e)
			continue
		}
		pes = append(pes, pe)
	}
	want := []ProjectError{
		{File: "tools/b/pyproject.toml", Line: 3},
		{File: "tools/d/pyproject.toml"},
		{File: "tools/new/pyproject.toml"}, // the second one named "new"
	}
	if len(pes) != len(want) {
		t.Fatalf("problems %v, want %d", err, len(want))
	}
	for i, w := range want {
		if pes[i].File != w.File || pes[i].Line != w.Line {
			t.Errorf("problem %d at %s:%d, want %s:%d (%v)", i, pes[i].File, pes[i].Line, w.File, w.Line, pes[i])
		}
	}
}

// TestDiscoverDir_bounds: a pyproject.toml over the size bound is a
// problem naming it, not a read of the whole file; a directory symlink is
// not followed (no loop).
func TestDiscoverDir_bounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "big"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, MaxPyprojectSize+10)
	for i := range big {
		big[i] = '#'
	}
	if err := os.WriteFile(filepath.Join(dir, "big", "pyproject.toml"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	_, err := DiscoverDir(dir, Options{})
	var pe *ProjectError
	if !errors.As(err, &pe) || pe.File != "big/pyproject.toml" || !slices.Contains([]string{pe.Msg}, "larger than 1048576 bytes: not a project file") {
		t.Errorf("err = %v", err)
	}
	if root, ok := WorkTree(filepath.Join(dir, "big")); ok || root != filepath.Join(dir, "big") {
		t.Errorf("WorkTree outside git = %s, %v", root, ok)
	}
}
