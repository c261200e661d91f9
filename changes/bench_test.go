package changes

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// The benchmarks generate (once, cached under the temp dir) the monorepo of
// issue 3: 300 projects, ~20k files, 3,000 commits with merges and renames.
// They only run with -bench; `go test` alone never builds the repository.

func benchDetect(b *testing.B, base func(genRepo) string) {
	g := generate(b, benchParams)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := detectOnce(g.Dir, g.Head, base(g)); err != nil {
			b.Fatal(err)
		}
	}
}

// detectOnce is what a run does: open the repository and detect.
func detectOnce(dir, head, base string) (*Result, error) {
	repo, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	return Detect(context.Background(), repo, Request{Head: head, DefaultBase: base, Options: DefaultOptions()})
}

func benchGitCLI(b *testing.B, base func(genRepo) string) {
	g := generate(b, benchParams)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := gitCLIOnce(g.Dir, g.Head, base(g)); err != nil {
			b.Fatal(err)
		}
	}
}

// gitCLIOnce is the git CLI doing the same work: the changed files of the
// range and the files of each commit.
func gitCLIOnce(dir, head, base string) error {
	for _, args := range [][]string{
		{"diff", "--no-renames", "--name-only", base, head},
		{"log", "--no-renames", "--name-only", base + ".." + head},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = gitEnv()
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkDetect1000(b *testing.B) { benchDetect(b, func(g genRepo) string { return g.Base1000 }) }
func BenchmarkDetect20(b *testing.B)   { benchDetect(b, func(g genRepo) string { return g.Base20 }) }
func BenchmarkGitCLI1000(b *testing.B) { benchGitCLI(b, func(g genRepo) string { return g.Base1000 }) }
func BenchmarkGitCLI20(b *testing.B)   { benchGitCLI(b, func(g genRepo) string { return g.Base20 }) }

// perProjectBases gives every project of g its own base among the last
// 1,000 mainline commits, as when each tool was released at another time.
func perProjectBases(tb testing.TB, g genRepo) map[string]string {
	tb.Helper()
	revs := strings.Fields(runGit(tb, g.Dir, nil, "rev-list", "--first-parent", "-n", "1000", g.Head))
	repo, err := Open(g.Dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer repo.Close()
	ps, _, err := Discover(repo, g.Head, DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	bases := map[string]string{}
	for i, p := range ps {
		bases[p.Name] = revs[(i*37)%len(revs)]
	}
	return bases
}

// BenchmarkDetectPerProjectBases: 300 projects, each with its own base.
func BenchmarkDetectPerProjectBases(b *testing.B) {
	g := generate(b, benchParams)
	bases := perProjectBases(b, g)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		repo, err := Open(g.Dir)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Detect(context.Background(), repo, Request{Head: g.Head, Bases: bases, Options: DefaultOptions()}); err != nil {
			b.Fatal(err)
		}
		repo.Close()
	}
}
