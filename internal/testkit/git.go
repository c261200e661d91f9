// Package testkit is what tests share to build their world: git
// repositories of tool projects made with the git CLI (projects, commits,
// merges, moves, shallow clones). Tests only: the product reads git with
// go-git, and internal/conventions keeps this package out of the binary.
//
// A test that also needs emulators or fake CI servers starts them with
// its repository in one call: internal/testkit/testworld. The fake clock
// tests use is internal/clock.Manual.
package testkit

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitEnv is the environment git runs with in tests: a fixed author and
// committer, and neither the developer's nor the system's configuration
// (signing, hooks, default branch); clones and submodules from local paths
// are allowed (protocol.file.allow).
func GitEnv() []string {
	return append(os.Environ(), "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
		"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_SYSTEM="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=protocol.file.allow", "GIT_CONFIG_VALUE_0=always")
}

// Git runs the git CLI in dir with GitEnv and returns its trimmed output;
// a failure fails the test with git's output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GitErr(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// GitErr is Git for callers that expect failure or run off the test's
// goroutine: it returns git's error instead of failing the test.
func GitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = GitEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Repo is a git repository in a directory of the test's.
type Repo struct {
	t   testing.TB
	Dir string
}

// NewRepo makes an empty repository on branch main in a new temp dir.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	return InitRepo(t, t.TempDir())
}

// InitRepo makes an empty repository on branch main in dir.
func InitRepo(t testing.TB, dir string) *Repo {
	t.Helper()
	r := &Repo{t: t, Dir: dir}
	r.Git("init", "-q", "-b", "main")
	return r
}

// IsRepo says whether dir is the top of a git repository.
func IsRepo(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ".git"))
	return err == nil
}

// OpenRepo is the repository already in dir.
func OpenRepo(t testing.TB, dir string) *Repo { return &Repo{t: t, Dir: dir} }

// Git runs git in the repository.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Dir, args...)
}

// Write writes path → content under the repository (slash paths; a ""
// content deletes the path, a directory included) without committing.
func (r *Repo) Write(files map[string]string) {
	r.t.Helper()
	if err := WriteFiles(r.Dir, files); err != nil {
		r.t.Fatal(err)
	}
}

// WriteFiles writes path → content under dir; a "" content deletes.
func WriteFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Commit writes files (a "" content deletes), commits everything with msg
// (an empty commit when nothing changed) and returns the commit's hash.
func (r *Repo) Commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.Write(files)
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Head()
}

// Head is the hash of HEAD.
func (r *Repo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}

// Branch makes branch at HEAD and checks it out.
func (r *Repo) Branch(name string) {
	r.t.Helper()
	r.Git("checkout", "-q", "-b", name)
}

// Checkout checks out a branch or commit.
func (r *Repo) Checkout(ref string) {
	r.t.Helper()
	r.Git("checkout", "-q", ref)
}

// Merge merges branch into the current branch with a merge commit (never a
// fast-forward) and returns the merge's hash.
func (r *Repo) Merge(branch, msg string) string {
	r.t.Helper()
	r.Git("merge", "-q", "--no-ff", "-m", msg, branch)
	return r.Head()
}

// Move renames a path with git mv and commits it with msg.
func (r *Repo) Move(from, to, msg string) string {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(r.Dir, filepath.FromSlash(to))), 0o755); err != nil {
		r.t.Fatal(err)
	}
	r.Git("mv", from, to)
	r.Git("commit", "-q", "-m", msg)
	return r.Head()
}

// ShallowClone clones the repository into a new temp dir keeping only the
// last depth commits of its current branch.
func (r *Repo) ShallowClone(depth int) *Repo {
	r.t.Helper()
	dir := r.t.TempDir()
	Git(r.t, dir, "clone", "-q", "--depth", fmt.Sprint(depth), "file://"+r.Dir, ".")
	return &Repo{t: r.t, Dir: dir}
}

// Project returns the files of a tool project tools/<dir>: pyproject.toml
// naming it name, with a description and extra TOML appended, and a
// source file.
func Project(dir, name, extra string) map[string]string {
	return map[string]string{
		"tools/" + dir + "/pyproject.toml": fmt.Sprintf("[project]\nname = %q\ndescription = %q\n%s", name, Description(name), extra),
		"tools/" + dir + "/main.py":        "def run(**kw):\n    return kw\n",
	}
}

// Description is the description Project gives the tool name.
func Description(name string) string { return "The " + name + " tool." }

// Touch returns a change to the source file of the project tools/<dir>.
func Touch(dir, content string) map[string]string {
	return map[string]string{"tools/" + dir + "/main.py": "def run(**kw):\n    return " + fmt.Sprintf("%q", content) + "\n"}
}

// Projects returns the files of one project per name, each in tools/<name>
// and naming itself (Project with no extra TOML).
func Projects(names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		maps.Copy(out, Project(n, n, ""))
	}
	return out
}

// Touches returns the same change (Touch) to each project tools/<dir>.
func Touches(content string, dirs ...string) map[string]string {
	out := map[string]string{}
	for _, d := range dirs {
		maps.Copy(out, Touch(d, content))
	}
	return out
}

// Files merges file maps; a later map wins.
func Files(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
