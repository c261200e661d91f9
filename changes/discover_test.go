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

func TestDiscover(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write(
		"tools/weather/pyproject.toml", pyproject("Weather-Tool"),
		"tools/weather/plugins/radar/pyproject.toml", pyproject("radar.plugin"),
		"tools/poetry/pyproject.toml", "[tool.poetry]\nname = \"poetry-tool\"\n",
		"tools/renamed/pyproject.toml", pyproject("whatever"),
		"examples/demo/pyproject.toml", pyproject("demo"),
		"pyproject.toml", pyproject("root-tool"),
		"libs/x.py", "x",
	)
	r.commit("chore: init")
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
		{"missing root", Options{Roots: []string{"nope"}}, nil},
	}
	for _, tt := range tests {
		for _, useIndex := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/index=%v", tt.name, useIndex), func(t *testing.T) {
				repo.useIndex = useIndex
				repo.projects = map[string][]Project{}
				ps, err := Discover(repo, "HEAD", tt.opts)
				if err != nil {
					t.Fatalf("Discover: %v", err)
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
				again, err := Discover(repo, "HEAD", tt.opts)
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
		{"corrupt index", func() {
			if err := os.WriteFile(filepath.Join(r.dir, ".git", "index"), []byte("DIRC\x00\x00\x00\x02garbage that is long enough to look like something"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "HEAD", "a,c", false},
	}
	for _, tt := range tests {
		tt.setup()
		repo := r.open()
		ps, err := Discover(repo, tt.rev, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := names(ps); got != tt.want || repo.discoveredFromIndex != tt.fromIndex {
			t.Errorf("%s: Discover = %s (from index %v), want %s (from index %v)", tt.name, got, repo.discoveredFromIndex, tt.want, tt.fromIndex)
		}
	}
}

func TestDiscover_errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files []string
		opts  Options
		want  []string // substrings of the error
	}{
		{"name clash names both paths",
			[]string{"a/pyproject.toml", pyproject("same-name"), "b/pyproject.toml", pyproject("Same.Name")}, Options{},
			[]string{`two projects are named "same_name"`, "a and b", "names override"}},
		{"bad TOML names file and line",
			[]string{"tools/bad/pyproject.toml", "[project]\nname = \"ok\"\nversion = = 1\n"}, Options{},
			[]string{"tools/bad/pyproject.toml:3: invalid TOML"}},
		{"name that cannot be valid",
			[]string{"t/pyproject.toml", pyproject("héllo wörld")}, Options{},
			[]string{"t/pyproject.toml: [project].name", "^[a-z0-9_]+$", `names override for "t"`}},
		{"missing name",
			[]string{"t/pyproject.toml", "[build-system]\nrequires = []\n"}, Options{},
			[]string{"t/pyproject.toml: no [project].name"}},
		{"name not a string",
			[]string{"t/pyproject.toml", "[project]\nname = 3\n"}, Options{},
			[]string{"[project].name must be a string"}},
		{"binary pyproject",
			[]string{"t/pyproject.toml", "\x00\x01\x02\xff"}, Options{},
			[]string{"t/pyproject.toml:1: invalid TOML"}},
		{"bad override",
			[]string{"t/pyproject.toml", pyproject("t")}, Options{Names: map[string]string{"t": "no spaces allowed"}},
			[]string{`names."t"`}},
		{"bad glob",
			[]string{"t/pyproject.toml", pyproject("t")}, Options{Include: []string{"[x"}},
			[]string{`include: bad glob "[x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			r.write(tt.files...)
			r.commit("chore: init")
			repo := r.open()
			_, err := Discover(repo, "HEAD", tt.opts)
			if err == nil {
				t.Fatal("Discover succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// The tree walk gives the same error as the index.
			walker := r.open()
			walker.useIndex = false
			if _, err2 := Discover(walker, "HEAD", tt.opts); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("tree walk error %v, index error %v", err2, err)
			}
		})
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
			ps, err := Discover(r.open(), "HEAD", Options{Exclude: []string{"shared"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "t/pyproject.toml") {
					t.Fatalf("Discover error = %v, want one naming t/pyproject.toml with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
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

func FuzzProjectName(f *testing.F) {
	for _, s := range []string{
		"[project]\nname = \"Weather-Tool\"\n", "[tool.poetry]\nname = \"p.q\"\n", "[project]\nname = 3\n",
		"[project\nname=", "\x00\xff", "", "[project]\nname = \"\"\n", "name = \"top\"\n",
		"[project]\nname = '''multi\nline'''\n", "[[project]]\nname = \"x\"\n", "[project]\nname = \"a\"\nname = \"b\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name, err := ProjectName(data)
		if err != nil {
			if name != "" || !strings.HasPrefix(err.Error(), ":") {
				t.Fatalf("ProjectName error %q with name %q", err, name)
			}
			return
		}
		if !toolNameRE.MatchString(name) {
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
	r.write("a/b/c.txt", "x")
	r.commit("chore: x")
	repo, err := Open(filepath.Join(r.dir, "a", "b"))
	if err != nil {
		t.Fatalf("Open(subdir): %v", err)
	}
	repo.Close()
}
