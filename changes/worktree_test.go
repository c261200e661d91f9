package changes

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
// what Discover finds in HEAD, projects and problems, for every option, and
// refuses the same options.
func TestDiscoverDir_sameAsDiscover(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write(discoverSample...)
	r.commit("chore: init")
	repo := r.open()
	for _, opts := range []Options{
		{Names: map[string]string{"tools/renamed": "better_name"}},
		{Roots: []string{"tools/"}, Names: map[string]string{"tools/renamed": "r"}},
		{Include: []string{"tools/*"}, Exclude: []string{"tools/renamed"}},
		{Exclude: []string{"**/plugins/**", "tools/renamed", "."}},
		{Shared: map[string][]string{"tools/weather/*.toml": {"demo"}}},
	} {
		want, wantProblems, err := Discover(repo, "HEAD", opts)
		if err != nil {
			t.Fatal(err)
		}
		got, gotProblems, err := DiscoverDir(r.dir, opts)
		if err != nil {
			t.Fatalf("DiscoverDir(%+v): %v", opts, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DiscoverDir(%+v) differs from Discover (-Discover +DiscoverDir):\n%s", opts, diff)
		}
		if diff := cmp.Diff(wantProblems, gotProblems); diff != "" {
			t.Errorf("DiscoverDir(%+v) problems differ from Discover's (-Discover +DiscoverDir):\n%s", opts, diff)
		}
	}

	// Options that match nothing: both refuse each one, the same Repo
	// checking each set of options afresh (DiscoverDir still lists the
	// projects, for a checker).
	for _, c := range []struct {
		opts     Options
		projects int
	}{
		{Options{Roots: []string{"nope", "tools/weather/pyproject.toml"}}, 0},
		{Options{Include: []string{"tools/*", "tool/*"}}, 4},
		{Options{Roots: []string{"tools"}, Include: []string{"examples/*"}}, 0},
		{Options{Shared: map[string][]string{"lib/**": {"demo"}, "tools/weather": {"demo"}}}, 6},
	} {
		_, _, want := Discover(repo, "HEAD", c.opts)
		got, _, err := DiscoverDir(r.dir, c.opts)
		if diff := cmp.Diff(optionErrors(t, want), optionErrors(t, err)); diff != "" || want == nil || len(got) != c.projects {
			t.Errorf("options %+v: option errors (-Discover +DiscoverDir):\n%s(%d projects, want %d)", c.opts, diff, len(got), c.projects)
		}
	}

	for _, files := range [][]string{
		{"a/pyproject.toml", pyproject("same-name"), "b/pyproject.toml", pyproject("Same.Name")},
		{"tools/bad/pyproject.toml", "[project]\nname = \"ok\"\nversion = = 1\n"},
		{"t/pyproject.toml", pyproject("héllo wörld")},
		{"t/pyproject.toml", "[build-system]\nrequires = []\n"},
		{"t/pyproject.toml", pyproject("---")},
	} {
		r := newTestRepo(t)
		r.write(files...)
		r.commit("chore: init")
		_, want, err := Discover(r.open(), "HEAD", Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := DiscoverDir(r.dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !cmp.Equal(want, got) {
			t.Errorf("files %q: DiscoverDir problems %+v, Discover problems %+v", files[0], got, want)
		}
	}
}

// optionErrors lists the field and value of each *OptionError err joins
// (the text differs: "at head", "in the work tree").
func optionErrors(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var out []string
	for _, e := range list {
		var oe *OptionError
		if !errors.As(e, &oe) {
			t.Errorf("not an *OptionError: %v", e)
			continue
		}
		out = append(out, oe.Field+"="+oe.Value)
	}
	return out
}

// TestDiscoverDir_workTree: uncommitted edits count; what git ignores
// (.gitignore at any depth, with negation, and .git/info/exclude) does
// not; every problem comes back, each with its file and line.
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
	ps, problems, err := DiscoverDir(r.dir, Options{})
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	if diff := cmp.Diff([]string{"tools/a=a_renamed", "tools/keep.tmp.d=kept", "tools/new=new"}, projectNames(ps)); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
	// A shared glob that matches only what git ignores matches nothing.
	if _, _, err := DiscoverDir(r.dir, Options{Shared: map[string][]string{".venv/**": {"new"}}}); !slices.Equal(optionErrors(t, err), []string{"shared=.venv/**"}) {
		t.Errorf("shared glob over ignored files: %v", err)
	}

	r.write("tools/b/pyproject.toml", "[project]\nname = \"ok\"\nx = = 1\n", "tools/c/pyproject.toml", pyproject("new"),
		"tools/d/pyproject.toml", "[project]\n")
	ps, problems, err = DiscoverDir(r.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"tools/b/pyproject.toml:3: invalid TOML: ",
		`tools/c/pyproject.toml: two projects are named "new": tools/c and tools/new; `,
		"tools/d/pyproject.toml: no [project].name",
		`tools/new/pyproject.toml: two projects are named "new": tools/c and tools/new; `,
	}
	if len(problems) != len(want) {
		t.Fatalf("problems %+v, want %d", problems, len(want))
	}
	for i, w := range want {
		if got := problems[i].Error(); !strings.HasPrefix(got, w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got, w)
		}
	}
	if diff := cmp.Diff([]string{"tools/a=a_renamed", "tools/keep.tmp.d=kept"}, projectNames(ps)); diff != "" {
		t.Errorf("projects beside the problems (-want +got):\n%s", diff)
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
	_, problems, err := DiscoverDir(dir, Options{})
	if err != nil || len(problems) != 1 || problems[0].Error() != "big/pyproject.toml: larger than 1048576 bytes: not a project file" {
		t.Errorf("problems %+v, err %v", problems, err)
	}
	if root, ok := WorkTree(filepath.Join(dir, "big")); ok || root != filepath.Join(dir, "big") {
		t.Errorf("WorkTree outside git = %s, %v", root, ok)
	}
}
