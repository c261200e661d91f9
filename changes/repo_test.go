package changes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
)

func TestRepo_Resolve(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	first := twoTools(r)
	r.git("tag", "-a", "-m", "annotated", "v1")
	r.git("tag", "light")
	second := r.change("tools/a/x.py", "1", "fix: x")
	r.git("update-ref", "refs/remotes/origin/main", first)
	repo := r.open()
	tests := []struct {
		rev, want string
	}{
		{"HEAD", second}, {"main", second}, {"refs/heads/main", second}, {"v1", first}, {"refs/tags/v1", first},
		{"light", first}, {"origin/main", first}, {second[:8], second}, {strings.ToUpper(second), second},
		{"HEAD~1", first}, {ZeroSHA, ""}, {"", ""}, {"0000000", ""},
	}
	for _, tt := range tests {
		got, err := repo.Resolve(tt.rev)
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.rev, got, err, tt.want)
		}
	}
	var ue *UnknownRevisionError
	if _, err := repo.Resolve("no-such-branch"); !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown revision "no-such-branch"`) {
		t.Errorf("Resolve(no-such-branch) error = %v", err)
	}
	var me *MissingCommitError
	missing := strings.Repeat("ab", 20)
	if _, err := repo.Resolve(missing); !errors.As(err, &me) || me.SHA != missing || me.Shallow {
		t.Errorf("Resolve(missing sha) error = %#v", err)
	}
	if !repo.HasCommit(first) || repo.HasCommit(missing) || repo.HasCommit("v1") {
		t.Error("HasCommit wrong")
	}
	// Detached HEAD resolves too.
	r.git("checkout", "-q", "--detach", first)
	repo2 := r.open()
	if got, err := repo2.Resolve("HEAD"); err != nil || got != first {
		t.Errorf("Resolve(detached HEAD) = %q, %v", got, err)
	}
	if _, err := Detect(t.Context(), repo2, Request{Head: "nope"}); !errors.As(err, &ue) {
		t.Errorf("Detect(head nope) error = %v", err)
	}
	if _, err := Detect(t.Context(), repo2, Request{Head: "HEAD", DefaultBase: "nope", Options: DefaultOptions()}); !errors.As(err, &ue) {
		t.Errorf("Detect(base nope) error = %v", err)
	}
}

func TestRepo_IsAncestorMergeBase(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	root := twoTools(r)
	fork := r.change("a", "1", "x")
	r.git("checkout", "-q", "-b", "side")
	side := r.change("b", "1", "side")
	r.git("checkout", "-q", "main")
	mainTip := r.change("c", "1", "main")
	r.n++
	r.git("merge", "-q", "--no-ff", "-m", "merge", "side")
	merge := r.head()
	// An unrelated root.
	r.git("checkout", "-q", "--orphan", "lonely")
	lonely := r.change("z", "1", "lonely")
	repo := r.open()
	anc := []struct {
		a, b string
		want bool
	}{
		{root, merge, true}, {side, merge, true}, {mainTip, merge, true}, {merge, merge, true},
		{merge, side, false}, {side, mainTip, false}, {lonely, merge, false},
	}
	for _, tt := range anc {
		if got, err := repo.IsAncestor(tt.a, tt.b); err != nil || got != tt.want {
			t.Errorf("IsAncestor(%s, %s) = %v, %v; want %v", tt.a[:7], tt.b[:7], got, err, tt.want)
		}
	}
	mbs := []struct{ a, b, want string }{
		{side, mainTip, fork}, {merge, side, side}, {lonely, merge, ""},
	}
	for _, tt := range mbs {
		if got, err := repo.MergeBase(tt.a, tt.b); err != nil || got != tt.want {
			t.Errorf("MergeBase(%s, %s) = %q, %v; want %q", tt.a[:7], tt.b[:7], got, err, tt.want)
		}
	}
}

// origin makes a repository with n commits on main (tool a changes in
// each) and returns it and its commits, oldest first.
func origin(t *testing.T, n int) (*testRepo, []string) {
	t.Helper()
	r := newTestRepo(t)
	shas := []string{twoTools(r)}
	for i := 1; i < n; i++ {
		r.write("tools/a/x.py", strings.Repeat("x", i))
		shas = append(shas, r.commit("fix(a): change "+string(rune('a'+i))))
	}
	return r, shas
}

func shallowClone(t *testing.T, src string, args ...string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "clone")
	runGit(t, ".", nil, append(append([]string{"clone", "-q"}, args...), "file://"+src, dst)...)
	return dst
}

func readShallow(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".git", "shallow"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func TestShallow_missingBase(t *testing.T) {
	t.Parallel()
	o, shas := origin(t, 6)
	clone := shallowClone(t, o.dir, "--depth", "1")
	repo := openRepo(t, clone)
	if !repo.IsShallow() || repo.HasCommit(shas[2]) {
		t.Fatal("clone is not shallow")
	}
	_, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[2], Options: DefaultOptions()})
	var me *MissingCommitError
	if !errors.As(err, &me) || me.SHA != shas[2] || !me.Shallow {
		t.Fatalf("Detect error = %v, want *MissingCommitError for %s", err, shas[2])
	}
	for _, want := range []string{shas[2], "shallow clone", "fetch-depth: 0", "fetchDepth: 0", "projects without their own base"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// A first release in a shallow clone works but warns that the list is cut.
	res, err := Detect(t.Context(), repo, Request{Head: "HEAD", Options: DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "shallow clone: history ends at") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestShallow_deepenFromRemote(t *testing.T) {
	t.Parallel()
	o, shas := origin(t, 8)
	clone := shallowClone(t, o.dir, "--depth", "1")
	repo := openRepo(t, clone)

	// Deepen by 3: the new boundary replaces the old one in .git/shallow
	// (go-git alone would keep the stale head line).
	if err := repo.Deepen(t.Context(), DeepenOptions{Depth: 3}); err != nil {
		t.Fatalf("Deepen(3): %v", err)
	}
	if got := readShallow(t, clone); len(got) != 1 || got[0] != shas[5] {
		t.Errorf(".git/shallow = %q, want only %s", got, shas[5])
	}
	if n := runGit(t, clone, nil, "rev-list", "--count", "HEAD"); n != "3" {
		t.Errorf("git rev-list --count HEAD = %s after deepen 3, want 3", n)
	}
	res, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[5], Options: DefaultOptions()})
	if err != nil {
		t.Fatalf("Detect after deepen: %v", err)
	}
	if a, _ := res.Project("tool_a"); len(a.Commits) != 2 {
		t.Errorf("tool_a commits = %d, want 2", len(a.Commits))
	}

	// Depth 0 means the whole history (a go-git fetch with Depth 0 would
	// silently do nothing on a shallow clone), and .git/shallow goes away.
	res, err = Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[1], Options: DefaultOptions(), Deepen: &DeepenOptions{}})
	if err != nil {
		t.Fatalf("Detect with Deepen: %v", err)
	}
	if a, _ := res.Project("tool_a"); len(a.Commits) != 6 || a.Base != shas[1] {
		t.Errorf("tool_a = %d commits from %s, want 6 from %s", len(a.Commits), a.Base, shas[1])
	}
	if got := readShallow(t, clone); got != nil {
		t.Errorf(".git/shallow = %q after a full deepen, want no file", got)
	}
	if repo.IsShallow() {
		t.Error("still shallow")
	}
	if n := runGit(t, clone, nil, "rev-list", "--count", "HEAD"); n != "8" {
		t.Errorf("git rev-list --count HEAD = %s, want 8", n)
	}
	runGit(t, clone, nil, "fsck", "--no-progress")
}

// TestShallow_goGitDepthZero documents the pitfall Deepen avoids: a go-git
// fetch with Depth 0 on a shallow clone fetches nothing.
func TestShallow_goGitDepthZero(t *testing.T) {
	t.Parallel()
	o, _ := origin(t, 4)
	clone := shallowClone(t, o.dir, "--depth", "1")
	g, err := git.PlainOpen(clone)
	if err != nil {
		t.Fatal(err)
	}
	err = g.FetchContext(t.Context(), &git.FetchOptions{Depth: 0})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		t.Fatal(err)
	}
	if got := readShallow(t, clone); len(got) != 1 {
		t.Fatalf("after go-git fetch Depth 0: .git/shallow = %q; the pitfall no longer exists?", got)
	}
	repo := openRepo(t, clone)
	if err := repo.Deepen(t.Context(), DeepenOptions{Depth: 0}); err != nil {
		t.Fatal(err)
	}
	if repo.IsShallow() {
		t.Error("Deepen(Depth 0) left the clone shallow")
	}
}

// TestShallow_fetchExactSHA: a base that no remote branch reaches is fetched
// by SHA when the server allows it, and is a clear error when it does not.
func TestShallow_fetchExactSHA(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		t.Run(map[bool]string{false: "server refuses", true: "server allows"}[allow], func(t *testing.T) {
			t.Parallel()
			o, shas := origin(t, 3)
			// A commit on a branch the clone does not track.
			o.git("checkout", "-q", "-b", "other", shas[1])
			o.write("tools/b/o.py", "1")
			other := o.commit("feat(b): on other")
			o.git("checkout", "-q", "main")
			if allow {
				o.git("config", "uploadpack.allowReachableSHA1InWant", "true")
			}
			clone := shallowClone(t, o.dir, "--depth", "1", "--single-branch", "--branch", "main")
			repo := openRepo(t, clone)
			res, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: other, Options: DefaultOptions(), Deepen: &DeepenOptions{}})
			if !allow {
				var me *MissingCommitError
				if !errors.As(err, &me) || me.SHA != other || !strings.Contains(err.Error(), "fetching it from the remote failed") {
					t.Fatalf("Detect error = %v, want a missing-commit error mentioning the failed fetch", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			// Base "other" is not an ancestor of main: the merge base is shas[1].
			a, _ := res.Project("tool_a")
			if a.Base != shas[1] || len(a.Commits) != 1 || !strings.Contains(strings.Join(a.Notes, ""), "force push") {
				t.Errorf("tool_a = %+v", a)
			}
		})
	}
}

func TestShallow_firstReleaseDeepens(t *testing.T) {
	t.Parallel()
	o, shas := origin(t, 5)
	clone := shallowClone(t, o.dir, "--depth", "2")
	repo := openRepo(t, clone)
	res, err := Detect(t.Context(), repo, Request{Head: "HEAD", Options: DefaultOptions(), Deepen: &DeepenOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := res.Project("tool_a"); len(a.Commits) != 5 || a.Commits[4].SHA != shas[0] || len(res.Warnings) != 0 {
		t.Errorf("tool_a has %d commits, warnings %q; want all 5 and none", len(a.Commits), res.Warnings)
	}
}

func TestShallow_noRemote(t *testing.T) {
	t.Parallel()
	o, shas := origin(t, 4)
	clone := shallowClone(t, o.dir, "--depth", "1")
	runGit(t, clone, nil, "remote", "remove", "origin")
	repo := openRepo(t, clone)
	_, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[1], Options: DefaultOptions(), Deepen: &DeepenOptions{}})
	var me *MissingCommitError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "deepening from the remote failed") || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("Detect error = %v", err)
	}
	// A first release still works, with the warning and the failure.
	res, err := Detect(t.Context(), repo, Request{Head: "HEAD", Options: DefaultOptions(), Deepen: &DeepenOptions{}})
	if err != nil || len(res.Warnings) != 2 {
		t.Errorf("first release: %v, warnings %q", err, res.Warnings)
	}
}

// TestDeepen_credentialsOnlyForTheirHost: the CI token goes to the remote on
// the CI's own host over HTTP(S), never to another host or over SSH/file.
func TestDeepen_credentialsOnlyForTheirHost(t *testing.T) {
	t.Parallel()
	opts := DeepenOptions{Username: "x-access-token", Password: "ghs_secret", Host: "github.com"}
	for url, want := range map[string]bool{
		"https://github.com/acme/tools.git":     true,
		"https://GitHub.com/acme/tools":         true,
		"https://github.com.evil.example/acme/": false,
		"https://gitlab.com/acme/tools.git":     false,
		"git@github.com:acme/tools.git":         false,
		"/srv/git/tools.git":                    false,
	} {
		r := newTestRepo(t)
		r.change("a.txt", "a", "one")
		r.git("remote", "add", "origin", url)
		if got := r.open().auth(opts) != nil; got != want {
			t.Errorf("remote %s: credentials sent = %v, want %v", url, got, want)
		}
	}
	r := newTestRepo(t)
	r.change("a.txt", "a", "one")
	r.git("remote", "add", "origin", "https://example.com/x.git")
	if r.open().auth(DeepenOptions{Username: "u", Password: "p"}) == nil {
		t.Error("no Host: the credentials should go to any remote")
	}
}
