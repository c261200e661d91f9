package changes

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// TestAgainstGitCLI checks the walk, the tree diff, the per-commit paths,
// ancestry and merge bases against the git CLI on a generated repository
// with merges and renames.
func TestAgainstGitCLI(t *testing.T) {
	t.Parallel()
	g := generateIn(t, genParams{Projects: 12, FilesPer: 14, Commits: 240, MergeEvery: 9, RenamePercent: 15}, filepath.Join(t.TempDir(), "repo"))
	repo := openRepo(t, g.Dir)
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	head := plumbing.NewHash(g.Head)
	compared, merges := 0, 0
	for _, base := range []string{g.Base1000, g.Base20, ""} {
		bh := plumbing.ZeroHash
		rng := g.Head
		if base != "" {
			bh = plumbing.NewHash(base)
			rng = base + ".." + g.Head
		}
		got := rangeSHAs(t, repo, head, bh)
		if want := lines(runGit(t, g.Dir, nil, "rev-list", rng)); !slices.Equal(got, want) {
			t.Fatalf("range %s: %d commits, git rev-list has %d", rng, len(got), len(want))
		}
		if base == "" {
			continue
		}
		bc, _ := repo.commit(bh)
		hc, _ := repo.commit(head)
		diff, err := repo.diffTrees(bc.tree, hc.tree, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(diff)
		if want := lines(runGit(t, g.Dir, nil, "diff", "--no-renames", "--name-only", base, g.Head)); !slices.Equal(diff, want) {
			t.Errorf("diff %s: %d paths, git diff has %d", rng, len(diff), len(want))
		}
		// Per-commit paths, non-merge commits (git log lists no files for
		// merges by default either).
		log := runGit(t, g.Dir, nil, "log", "--no-renames", "--name-only", "--format=@%H", rng)
		for _, chunk := range strings.Split(log, "@")[1:] {
			sha, files, _ := strings.Cut(chunk, "\n")
			c, err := repo.commit(plumbing.NewHash(sha))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.parents) > 1 {
				merges++
				continue
			}
			compared++
			got, err := repo.commitPaths(c)
			if err != nil {
				t.Fatal(err)
			}
			got = slices.Clone(got)
			slices.Sort(got)
			if want := lines(files); !slices.Equal(got, want) {
				t.Errorf("commit %s: paths %q, git log has %q", sha[:7], got, want)
			}
		}
	}
	if compared < 60 || merges < 5 {
		t.Fatalf("compared %d commits and saw %d merges; the generated history is too small", compared, merges)
	}
	if moves := runGit(t, g.Dir, nil, "log", "--diff-filter=R", "-M", "--oneline", g.Head); strings.Count(moves, "\n") < 5 {
		t.Fatalf("generated history has too few renames:\n%s", moves)
	}
	// Ancestry and merge bases for pairs of commits across the history.
	all := strings.Fields(runGit(t, g.Dir, nil, "rev-list", "--all"))
	for i := 0; i+37 < len(all); i += 23 {
		a, b := all[i+37], all[i]
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			got, err := repo.IsAncestor(pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			want := gitOK(t, g.Dir, "merge-base", "--is-ancestor", pair[0], pair[1])
			if got != want {
				t.Errorf("IsAncestor(%s, %s) = %v, git says %v", pair[0][:7], pair[1][:7], got, want)
			}
		}
		mb, err := repo.MergeBase(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if wantAll := lines(runGit(t, g.Dir, nil, "merge-base", "--all", a, b)); !slices.Contains(wantAll, mb) {
			t.Errorf("MergeBase(%s, %s) = %s, git says %q", a[:7], b[:7], mb, wantAll)
		}
	}
	// And Detect itself runs clean on it.
	res, err := Detect(t.Context(), repo, Request{Head: g.Head, DefaultBase: g.Base1000, Options: DefaultOptions()})
	if err != nil || len(res.Projects) == 0 {
		t.Fatalf("Detect: %v, %d projects", err, len(res.Projects))
	}
	// Per-project bases (diffed only under each project) give what each
	// base gives as the default base (whole-tree diff).
	ps, _, err := Discover(repo, g.Head, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	mainline := strings.Fields(runGit(t, g.Dir, nil, "rev-list", "--first-parent", g.Head))
	bases := map[string]string{}
	for i, p := range ps {
		bases[p.Name] = mainline[(i*29+5)%len(mainline)]
	}
	combined, err := Detect(t.Context(), repo, Request{Head: g.Head, Bases: bases, Options: DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range ps {
		one, err := Detect(t.Context(), repo, Request{Head: g.Head, DefaultBase: bases[p.Name], Options: DefaultOptions()})
		if err != nil {
			t.Fatal(err)
		}
		want, wok := one.Project(p.Name)
		got, gok := combined.Project(p.Name)
		if wok != gok || !cmp.Equal(want, got) {
			t.Errorf("project %s with its own base:\n%s", p.Name, cmp.Diff(want, got))
		}
		if gok {
			checked++
		}
	}
	if checked < 5 {
		t.Errorf("only %d projects changed; the check is too weak", checked)
	}
	// A tree cache too small to hold anything gives the same answers.
	tiny, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tiny.Close()
	tiny.treeLimit = 4096
	tinyRes, err := Detect(t.Context(), tiny, Request{Head: g.Head, Bases: bases, Options: DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(combined, tinyRes, cmp.AllowUnexported(Result{})); diff != "" {
		t.Errorf("Detect with a tiny tree cache differs:\n%s", diff)
	}
}

func gitOK(t *testing.T, dir string, args ...string) bool {
	t.Helper()
	cmd := execGit(dir, args...)
	return cmd.Run() == nil
}

// TestRangeCommits_clockSkew: commits whose committer dates go backwards
// (skewed clocks, rebases) still give git's base..head.
func TestRangeCommits_clockSkew(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	twoTools(r)
	r.n = 100
	r.change("a", "1", "x")
	r.git("checkout", "-q", "-b", "side")
	r.n = 10 // far in the past
	for i := 0; i < 8; i++ {
		r.write("b", strings.Repeat("b", i+1))
		r.commit("side")
		r.n -= 2
	}
	r.git("checkout", "-q", "main")
	r.n = 200
	base := r.change("c", "1", "main")
	r.n = 5
	r.git("merge", "-q", "--no-ff", "-m", "merge", "side")
	r.write("d", "1")
	r.n = 1
	head := r.commit("after merge, dated before everything")
	repo := r.open()
	for _, rng := range [][2]string{{base, head}, {head + "~1^2~3", head}, {"", head}, {head + "~1^2", base}} {
		from := plumbing.ZeroHash
		spec := rng[1]
		if rng[0] != "" {
			s, err := repo.Resolve(rng[0])
			if err != nil {
				t.Fatal(err)
			}
			from = plumbing.NewHash(s)
			spec = s + ".." + rng[1]
		}
		got := rangeSHAs(t, repo, plumbing.NewHash(rng[1]), from)
		want := strings.Fields(runGit(t, r.dir, nil, "rev-list", spec))
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("range %s: got %d commits, git rev-list %d", spec, len(got), len(want))
		}
	}
}

// rangeSHAs returns the SHAs of the commits rangeCommits lists from head
// back to (not into) base (ZeroHash: to the roots), sorted to compare
// with git rev-list.
func rangeSHAs(t *testing.T, repo *Repo, head, base plumbing.Hash) []string {
	t.Helper()
	cs, err := repo.rangeCommits(head, base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.hash.String())
	}
	slices.Sort(got)
	return got
}
