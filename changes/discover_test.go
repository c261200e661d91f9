package changes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// discoverSample is the tree TestDiscover and TestDiscoverDir_sameAsDiscover
// read (path, content pairs): nested, root, poetry, renamed and example
// projects.
var discoverSample = []string{
	"tools/weather/pyproject.toml", pyproject("Weather-Tool"),
	"tools/weather/plugins/radar/pyproject.toml", pyproject("radar.plugin"),
	"tools/poetry/pyproject.toml", "[tool.poetry]\nname = \"poetry-tool\"\n",
	"tools/renamed/pyproject.toml", pyproject("whatever"),
	"examples/demo/pyproject.toml", pyproject("demo"),
	"pyproject.toml", pyproject("root-tool"),
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write(discoverSample...)
	r.change("libs/x.py", "x", "chore: init")
	repo := r.open()
	tests := []struct {
		name string
		opts Options
		want []string // path=name
	}{
		{"all, nested and root", Options{Names: map[string]string{"tools/renamed": "better_name"}},
			[]string{".=root_tool", "examples/demo=demo", "tools/poetry=poetry_tool", "tools/renamed=better_name", "tools/weather=weather_tool", "tools/weather/plugins/radar=radar_plugin"}},
		{"roots", Options{Roots: []string{"tools/"}, Names: map[string]string{"tools/renamed": "r"}},
			[]string{"tools/poetry=poetry_tool", "tools/renamed=r", "tools/weather=weather_tool", "tools/weather/plugins/radar=radar_plugin"}},
		{"include and exclude", Options{Include: []string{"tools/*"}, Exclude: []string{"tools/renamed"}},
			[]string{"tools/poetry=poetry_tool", "tools/weather=weather_tool", "tools/weather/plugins/radar=radar_plugin"}},
		{"exclude with **", Options{Exclude: []string{"**/plugins/**", "tools/renamed", "."}},
			[]string{"examples/demo=demo", "tools/poetry=poetry_tool", "tools/weather=weather_tool"}},
	}
	for _, tt := range tests {
		for _, useIndex := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/index=%v", tt.name, useIndex), func(t *testing.T) {
				repo.useIndex = useIndex
				repo.sets = map[string]*projectSet{}
				ps, problems, err := Discover(repo, "HEAD", tt.opts)
				if err != nil || len(problems) > 0 {
					t.Fatalf("Discover: %v, problems %+v", err, problems)
				}
				if repo.discoveredFromIndex != useIndex {
					t.Errorf("discovered from index = %v, want %v", repo.discoveredFromIndex, useIndex)
				}
				var got []string
				for _, p := range ps {
					got = append(got, p.Path+"="+p.Name)
					if p.Pyproject != strings.TrimPrefix(p.Path+"/pyproject.toml", "./") {
						t.Errorf("project %s: Pyproject = %q", p.Path, p.Pyproject)
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Discover mismatch (-want +got):\n%s", diff)
				}
				// A second call is served from the cache, unaffected by
				// changes to the first result.
				if len(ps) > 0 {
					ps[0].Name = "mutated"
				}
				again, _, err := Discover(repo, "HEAD", tt.opts)
				if err != nil || len(again) != len(got) || len(again) > 0 && again[0].Name == "mutated" {
					t.Errorf("second Discover = %+v, %v", again, err)
				}
			})
		}
	}
}

// TestDiscover_indexFallback: the index is used only when it describes
// exactly the tree being discovered.
func TestDiscover_indexFallback(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("a/pyproject.toml", pyproject("a"), "b/c/pyproject.toml", pyproject("c"), "b/c/x.py", "1")
	first := r.commit("one")
	r.write("d/pyproject.toml", pyproject("d"))
	r.commit("two")
	names := func(ps []Project) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		name      string
		setup     func()
		rev       string
		want      string
		fromIndex bool
	}{
		{"clean checkout", func() {}, "HEAD", "a,c,d", true},
		{"index version 4", func() { r.git("update-index", "--index-version", "4") }, "HEAD", "a,c,d", true},
		{"another commit than the checkout", func() {}, first, "a,c", false},
		{"staged new project is not in HEAD", func() {
			r.write("e/pyproject.toml", pyproject("e"))
			r.git("add", "e")
		}, "HEAD", "a,c,d", false},
		{"detached at the first commit", func() { r.git("reset", "-q", "--hard"); r.git("checkout", "-q", "--detach", first) }, "HEAD", "a,c", true},
		{"damaged index", func() {
			if err := os.WriteFile(filepath.Join(r.dir, ".git", "index"), []byte("DIRC\x00\x00\x00\x02garbage that is long enough to look like something"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "HEAD", "a,c", false},
	}
	for _, tt := range tests {
		tt.setup()
		repo := r.open()
		ps, _, err := Discover(repo, tt.rev, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := names(ps); got != tt.want || repo.discoveredFromIndex != tt.fromIndex {
			t.Errorf("%s: Discover = %s (from index %v), want %s (from index %v)", tt.name, got, repo.discoveredFromIndex, tt.want, tt.fromIndex)
		}
	}
}

// TestDiscover_problems: a pyproject.toml that gives no usable tool name,
// or a name two projects share, is a Problem naming the file(s) and the
// fix, not an error: a template or a test fixture must not stop discovery.
// The other projects are listed as usual.
func TestDiscover_problems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files []string
		opts  Options
		want  []string // per problem: "path: substrings|…"
	}{
		{"name clash names both paths",
			[]string{"a/pyproject.toml", pyproject("same-name"), "b/pyproject.toml", pyproject("Same.Name")}, Options{},
			[]string{`a: two projects are named "same_name"|a and b|names override`, `b: two projects are named "same_name"|a and b`}},
		{"three-way clash",
			[]string{"a/pyproject.toml", pyproject("x"), "b/pyproject.toml", pyproject("x"), "c/pyproject.toml", pyproject("X")}, Options{},
			[]string{`a: 3 projects are named "x": a, b, c`, `b: 3 projects`, `c: 3 projects`}},
		{"bad TOML names file and line",
			[]string{"tools/bad/pyproject.toml", "[project]\nname = \"ok\"\nversion = = 1\n"}, Options{},
			[]string{"tools/bad: tools/bad/pyproject.toml:3: invalid TOML"}},
		{"name that cannot be valid",
			[]string{"t/pyproject.toml", pyproject("héllo wörld")}, Options{},
			[]string{"t: t/pyproject.toml: [project].name|^[a-z0-9_]+$|" + `names override for "t"`}},
		{"template placeholder",
			[]string{"templates/pkg/pyproject.toml", pyproject("$pkg")}, Options{},
			[]string{"templates/pkg: templates/pkg/pyproject.toml: [project].name|'$'"}},
		{"a name of dashes only (item 5 of issue 14)",
			[]string{"t/pyproject.toml", pyproject("---")}, Options{},
			[]string{`t: t/pyproject.toml: [project].name: name "---" gives the tool name "___", which has no letter or digit`}},
		{"missing name",
			[]string{"t/pyproject.toml", "[build-system]\nrequires = []\n"}, Options{},
			[]string{"t: t/pyproject.toml: no [project].name"}},
		{"name not a string",
			[]string{"t/pyproject.toml", "[project]\nname = 3\n"}, Options{},
			[]string{"t: [project].name must be a string"}},
		{"binary pyproject",
			[]string{"t/pyproject.toml", "\x00\x01\x02\xff"}, Options{},
			[]string{"t: t/pyproject.toml:1: invalid TOML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			r.write(append(tt.files, "ok/pyproject.toml", pyproject("fine"))...)
			r.commit("chore: init")
			var first []Problem
			for _, useIndex := range []bool{true, false} {
				repo := r.open()
				repo.useIndex = useIndex
				ps, problems, err := Discover(repo, "HEAD", tt.opts)
				if err != nil {
					t.Fatalf("Discover: %v", err)
				}
				if len(ps) != 1 || ps[0].Name != "fine" {
					t.Errorf("projects = %+v, want only ok=fine", ps)
				}
				if len(problems) != len(tt.want) {
					t.Fatalf("problems = %+v, want %d", problems, len(tt.want))
				}
				for i, w := range tt.want {
					path, subs, _ := strings.Cut(w, ": ")
					if problems[i].Path != path {
						t.Errorf("problem %d at %s, want %s", i, problems[i].Path, path)
					}
					for _, sub := range strings.Split(subs, "|") {
						if !strings.Contains(problems[i].Error(), sub) {
							t.Errorf("problem %q does not contain %q", problems[i].Error(), sub)
						}
					}
				}
				// The tree walk gives the same problems as the index.
				if first == nil {
					first = problems
				} else if diff := cmp.Diff(first, problems); diff != "" {
					t.Errorf("tree walk and index differ:\n%s", diff)
				}
			}
		})
	}
}

// TestDiscover_errors: options that cannot be right are errors naming the
// option: a bad override or glob, and (item 4 of issue 14) a root, include
// or shared glob that matches nothing at head, which used to read as
// "nothing changed" and release nothing with exit 0.
func TestDiscover_errors(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("tools/a/pyproject.toml", pyproject("a"), "tools/a/x.py", "1", "libs/common/c.py", "1",
		"pkgs/p/pyproject.toml", pyproject("p"))
	r.commit("chore: init")
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{"bad override", Options{Names: map[string]string{"tools/a": "no spaces allowed"}}, []string{`names."tools/a"`}},
		{"bad glob", Options{Include: []string{"[x"}}, []string{`include: bad glob "[x"`}},
		{"root that is not a directory", Options{Roots: []string{"tool"}}, []string{`roots: "tool" is not a directory at head`, "fix:"}},
		{"root that is a file", Options{Roots: []string{"tools/a/x.py"}}, []string{`roots: "tools/a/x.py" is not a directory`}},
		{"include that matches no project", Options{Include: []string{"tool/*"}}, []string{`include: "tool/*" matches no project`}},
		{"include matching projects outside the roots only", Options{Roots: []string{"tools"}, Include: []string{"pkgs/*"}},
			[]string{`include: "pkgs/*" matches no project`, "under the roots tools"}},
		{"shared glob that matches no file", Options{Shared: map[string][]string{"lib/common/**": {"a"}}}, []string{`shared: "lib/common/**" matches no file at head`}},
		{"every typo at once", Options{Roots: []string{"nope"}, Include: []string{"x/*"}, Shared: map[string][]string{"y/**": {"a"}, "z": {"a"}}},
			[]string{`roots: "nope"`, `include: "x/*"`, `shared: "y/**"`, `shared: "z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, call := range []string{"Discover", "Detect"} {
				var err error
				if call == "Discover" {
					_, _, err = Discover(r.open(), "HEAD", tt.opts)
				} else {
					o := DefaultOptions()
					o.Roots, o.Include, o.Shared, o.Names = tt.opts.Roots, tt.opts.Include, tt.opts.Shared, tt.opts.Names
					_, err = Detect(t.Context(), r.open(), Request{Head: "HEAD", Options: o})
				}
				if err == nil {
					t.Fatalf("%s succeeded, want an error", call)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s error %q does not contain %q", call, err, w)
					}
				}
			}
		})
	}
	// Globs and roots that match something are fine, however they match.
	for _, o := range []Options{
		{Roots: []string{"tools", "./pkgs/"}},
		{Include: []string{"tools/*", "**/p", "tools"}},
		{Roots: []string{"tools"}, Include: []string{"**"}},
		{Shared: map[string][]string{"libs/common/**": {"a"}, "libs": {"a"}, "**/c.py": {"a"}, "libs/common/c.py": {"a"}, "libs/*/c.py/**": {"a"}}},
		{Exclude: []string{"nothing/here"}},
	} {
		if _, _, err := Discover(r.open(), "HEAD", o); err != nil {
			t.Errorf("Discover(%+v): %v", o, err)
		}
	}
	// One Repo asked with a good shared glob, then with a typo in it (the
	// same roots, include, exclude and names): the typo is still found.
	repo := r.open()
	if _, _, err := Discover(repo, "HEAD", Options{Shared: map[string][]string{"libs/**": {"a"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Discover(repo, "HEAD", Options{Shared: map[string][]string{"lib/**": {"a"}}}); err == nil || !strings.Contains(err.Error(), `shared: "lib/**"`) {
		t.Errorf("Discover with a shared typo on a Repo that checked another shared glob: %v", err)
	}
}

func TestDiscover_symlinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		links   map[string]string // link -> target
		wantErr string
		want    string
	}{
		{"symlinked pyproject is followed", map[string]string{"t/pyproject.toml": "../shared/pyproject.toml"}, "", "t=shared_tool"},
		{"symlink loop", map[string]string{"t/pyproject.toml": "a.toml", "t/a.toml": "pyproject.toml"}, "symlink loop", ""},
		{"symlink outside the repository", map[string]string{"t/pyproject.toml": "../../etc/passwd"}, "outside the repository", ""},
		{"dangling symlink", map[string]string{"t/pyproject.toml": "nope.toml"}, "dangling symlink", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			r.write("shared/data.txt", "x", "shared/pyproject.toml", pyproject("shared-tool"))
			if err := os.MkdirAll(filepath.Join(r.dir, "t"), 0o755); err != nil {
				t.Fatal(err)
			}
			for l, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(r.dir, l)); err != nil {
					t.Fatal(err)
				}
			}
			r.commit("chore: links")
			ps, problems, err := Discover(r.open(), "HEAD", Options{Exclude: []string{"shared"}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if len(ps) != 0 || len(problems) != 1 || !strings.Contains(problems[0].Error(), tt.wantErr) || !strings.HasPrefix(problems[0].Error(), "t/pyproject.toml: ") {
					t.Fatalf("Discover = %+v, %+v, want a problem naming t/pyproject.toml with %q", ps, problems, tt.wantErr)
				}
				return
			}
			if len(ps) != 1 || ps[0].Path+"="+ps[0].Name != tt.want {
				t.Errorf("Discover = %+v, want %s", ps, tt.want)
			}
		})
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{"Weather-Tool": "weather_tool", "a.b-c_d": "a_b_c_d", " X1 ": "x1"} {
		if got, err := NormalizeName(in); err != nil || got != want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a b", "ünï", "a/b"} {
		if _, err := NormalizeName(bad); err == nil {
			t.Errorf("NormalizeName(%q) succeeded", bad)
		}
	}
	// The error names the character as the user wrote it, not a byte of it.
	if _, err := NormalizeName("cödé"); err == nil || !strings.Contains(err.Error(), `character 'ö' is not allowed`) {
		t.Errorf("NormalizeName(cödé) = %v, want it to name 'ö'", err)
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"libs/common/**", "libs/common/a/b.py", true},
		{"libs/common", "libs/common/a/b.py", true},
		{"libs/common/*.py", "libs/common/a.py", true},
		{"libs/common/*.py", "libs/other/a.py", false},
		{"**/tests/**", "tools/a/tests/x.py", true},
		{"**/tests/**", "tools/a/src/x.py", false},
		{"tools/*", "tools/a", true},
		{"tools/*", "tool", false},
		{".", ".", true},
		{"**", "anything/at/all", true},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.pattern, tt.path); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

var toolNameRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// TestProjectName_nameError: content that gives no name is a *NameError
// carrying the line of a TOML syntax error, which In places after the file
// name as editors read it; other problems have no line.
func TestProjectName_nameError(t *testing.T) {
	for _, tt := range []struct {
		data, err, in string
		line          int
	}{
		{"[project]\nname = \"ok\"\nname = \"twice\"\n", "line 3: invalid TOML: ", "t/pyproject.toml:3: invalid TOML: ", 3},
		{"[project]\nversion = \"1\"\n", "no [project].name", "t/pyproject.toml: no [project].name", 0},
		{"[project]\nname = 3\n", "[project].name must be a string, not int64", "t/pyproject.toml: [project].name must be a string, not int64", 0},
	} {
		name, err := ProjectName([]byte(tt.data))
		var ne *NameError
		if name != "" || !errors.As(err, &ne) {
			t.Fatalf("ProjectName(%q) = %q, %v; want a *NameError", tt.data, name, err)
		}
		if ne.Line != tt.line || !strings.HasPrefix(ne.Error(), tt.err) || !strings.HasPrefix(ne.In("t/pyproject.toml"), tt.in) {
			t.Errorf("ProjectName(%q): line %d, Error %q, In %q; want line %d, %q..., %q...", tt.data, ne.Line, ne.Error(), ne.In("t/pyproject.toml"), tt.line, tt.err, tt.in)
		}
	}
}

func FuzzProjectName(f *testing.F) {
	for _, s := range []string{
		"[project]\nname = \"Weather-Tool\"\n", "[tool.poetry]\nname = \"p.q\"\n", "[project]\nname = 3\n",
		"[project\nname=", "\x00\xff", "", "[project]\nname = \"\"\n", "name = \"top\"\n",
		"[project]\nname = '''multi\nline'''\n", "[project]\nname = \"-._\"\n", "[[project]]\nname = \"x\"\n", "[project]\nname = \"a\"\nname = \"b\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name, err := ProjectName(data)
		if err != nil {
			var ne *NameError
			if name != "" || !errors.As(err, &ne) || ne.Msg == "" || ne.Line < 0 || !strings.HasPrefix(ne.In("f"), "f:") {
				t.Fatalf("ProjectName error %#v (%q) with name %q", err, err, name)
			}
			return
		}
		if !toolNameRE.MatchString(name) || strings.Trim(name, "_") == "" {
			t.Fatalf("ProjectName = %q, not a valid tool name", name)
		}
		if n2, err := NormalizeName(name); err != nil || n2 != name {
			t.Fatalf("NormalizeName not idempotent on %q: %q, %v", name, n2, err)
		}
	})
}

func TestOpen_errors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotRepo) {
		t.Errorf("Open(plain dir) = %v, want ErrNotRepo", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open(missing dir) succeeded")
	}
	runGit(t, dir, nil, "init", "-q", "-b", "main")
	if _, err := Open(dir); !errors.Is(err, ErrEmptyRepo) {
		t.Errorf("Open(empty repo) = %v, want ErrEmptyRepo", err)
	}
	// A subdirectory of a repository opens the repository.
	r := newTestRepo(t)
	r.change("a/b/c.txt", "x", "chore: x")
	repo, err := Open(filepath.Join(r.dir, "a", "b"))
	if err != nil {
		t.Fatalf("Open(subdir): %v", err)
	}
	repo.Close()
}

// TestDetect_nameWithoutLetters (item 5 of issue 14): a project whose name
// normalises to underscores only ("---" would be the tool "___") is not a
// tool, however its files change; it is a problem naming the file.
func TestDetect_nameWithoutLetters(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("tools/x/pyproject.toml", pyproject("---"), "tools/ok/pyproject.toml", pyproject("ok"))
	base := r.commit("chore: init")
	r.write("tools/x/main.py", "1", "tools/ok/main.py", "1")
	r.commit("feat: both")
	res := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base})
	if _, ok := res.Project("___"); ok || len(res.Projects) != 1 {
		t.Errorf("projects = %+v, want only ok", res.Projects)
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), `tools/x/pyproject.toml: [project].name: name "---" gives the tool name "___", which has no letter or digit`) {
		t.Errorf("problems = %+v", res.Problems)
	}
	for _, bad := range []string{"---", "_", "...", "-._"} {
		if n, err := NormalizeName(bad); err == nil {
			t.Errorf("NormalizeName(%q) = %q, want an error", bad, n)
		}
	}
}
