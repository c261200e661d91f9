package changes

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/testkit"
)

// testRepo is a real git repository in a temp dir, driven by the git CLI
// (tests only; the package itself never runs git).
type testRepo struct {
	t   *testing.T
	dir string
	n   int // commits made, for deterministic dates
}

// gitEnv is testkit.GitEnv with git's messages in English (tests read
// some of them).
func gitEnv() []string { return append(testkit.GitEnv(), "LC_ALL=C") }

func runGit(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	runGit(t, dir, nil, "init", "-q", "-b", "main")
	runGit(t, dir, nil, "config", "commit.gpgsign", "false")
	return &testRepo{t: t, dir: dir}
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	date := fmt.Sprintf("%d +0000", 1700000000+r.n*60)
	return runGit(r.t, r.dir, []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}, args...)
}

// write writes files: path, content, path, content, ...
func (r *testRepo) write(kv ...string) {
	r.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		p := filepath.Join(r.dir, filepath.FromSlash(kv[i]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(kv[i+1]), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *testRepo) rm(paths ...string) {
	r.t.Helper()
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.dir, filepath.FromSlash(p))); err != nil {
			r.t.Fatal(err)
		}
	}
}

// commit stages everything and commits with msg; it returns the new SHA.
// change writes content to the file at path and commits it with msg,
// returning the commit's hash.
func (r *testRepo) change(path, content, msg string) string {
	r.t.Helper()
	r.write(path, content)
	return r.commit(msg)
}

func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.n++
	r.git("add", "-A")
	f := filepath.Join(r.t.TempDir(), "msg")
	if err := os.WriteFile(f, []byte(msg), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", f)
	return r.git("rev-parse", "HEAD")
}

// rawCommit commits the staged tree with msg exactly as given (git commit
// would re-encode a message that is not UTF-8).
func (r *testRepo) rawCommit(msg string) string {
	r.t.Helper()
	r.n++
	r.git("add", "-A")
	tree := r.git("write-tree")
	obj := fmt.Sprintf("tree %s\nparent %s\nauthor T <t@x> %d +0000\ncommitter T <t@x> %d +0000\n\n%s",
		tree, r.head(), 1700000000+r.n*60, 1700000000+r.n*60, msg)
	cmd := exec.Command("git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin")
	cmd.Dir = r.dir
	cmd.Env = gitEnv()
	cmd.Stdin = strings.NewReader(obj)
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("git hash-object: %v", err)
	}
	sha := strings.TrimSpace(string(out))
	r.git("update-ref", "HEAD", sha)
	return sha
}

// revert commits the revert of rev (git revert --no-edit); it returns the
// new SHA.
func (r *testRepo) revert(rev string) string {
	r.t.Helper()
	r.n++
	r.git("revert", "--no-edit", rev)
	return r.head()
}

func (r *testRepo) head() string { r.t.Helper(); return r.git("rev-parse", "HEAD") }

func (r *testRepo) open() *Repo { r.t.Helper(); return openRepo(r.t, r.dir) }

// openRepo opens the repository at dir, failing the test if it cannot, and
// closes it when the test ends.
func openRepo(t testing.TB, dir string) *Repo {
	t.Helper()
	repo, err := Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { repo.Close() })
	return repo
}

func pyproject(name string) string {
	return fmt.Sprintf("[project]\nname = %q\nversion = \"0.1.0\"\n", name)
}

// detect runs Detect with default options plus the given changes.
func detect(t *testing.T, repo *Repo, req Request) *Result {
	t.Helper()
	if req.Options.Types == nil && req.Options.NonConventional == None {
		o := DefaultOptions()
		o.Roots, o.Include, o.Exclude, o.Shared, o.Names = req.Options.Roots, req.Options.Include, req.Options.Exclude, req.Options.Shared, req.Options.Names
		req.Options = o
	}
	res, err := Detect(t.Context(), repo, req)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	return res
}

// summary renders a result compactly: "name:status:bump[sha7,sha7]" per
// project, for table comparisons.
func summary(res *Result, shas map[string]string) []string {
	inv := map[string]string{}
	for k, v := range shas {
		inv[v] = k
	}
	var out []string
	for _, p := range res.Projects {
		var cs []string
		for _, c := range p.Commits {
			n := inv[c.SHA]
			if n == "" {
				n = c.SHA[:7]
			}
			cs = append(cs, n)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s[%s]", p.Name, p.Status, p.Bump.label(), strings.Join(cs, ",")))
	}
	return out
}

func execGit(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	return cmd
}
