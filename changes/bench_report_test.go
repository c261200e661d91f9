//go:build unix

package changes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The goals of scripts/bench-changes.sh (issue 14): detection costs what
// the push costs, on both repositories, measured side by side in one run.
const (
	goalRatio20   = 2.0 // a 20-commit push: Detect ≤ 2× the git CLI
	goalRatio1000 = 1.5 // a 1,000-commit push: Detect ≤ 1.5× the git CLI
	goalRSSMB     = 120 // peak RSS of a fresh process doing one detection
)

// benchRepos are the repositories the report measures side by side: the
// monorepo of issue 3 (today's size) and the one of issue 14.
var benchRepos = []struct {
	label string
	p     genParams
}{
	{"300 projects", benchParams},
	{"2,000 projects", bigParams},
}

// bigParams is the monorepo of issue 14: 2,000 projects, 100,200 files.
var bigParams = genParams{Projects: 2000, FilesPer: 50, Commits: 3000, MergeEvery: 25, RenamePercent: 3}

// timing is the median wall and CPU (user + system) time of a measurement.
type timing struct{ wall, cpu time.Duration }

// repoFigures is what the report measured on one repository.
type repoFigures struct {
	files, push20                   string
	d20, g20, d1000, g1000, full20  timing
	rssLazy, rssFull, rssPerProject int64 // KiB
	projects1000, attributions1000  int
}

// TestBenchReport prints the figures of scripts/bench-changes.sh for both
// repositories side by side: median wall and CPU times of Detect (in
// process: Open, Detect, Close) and of the git CLI doing the same work
// (`git diff --no-renames --name-only` and `git log --no-renames
// --name-only`) for the 20-commit and the 1,000-commit push, runs
// interleaved so that both see the same load; their ratios; peak RSS of a
// fresh process doing one detection; and the load average before and
// after. It fails (the script exits 1) when a goal is missed. It runs only
// with CHANGES_BENCH=1.
func TestBenchReport(t *testing.T) {
	if os.Getenv("CHANGES_BENCH") != "1" {
		t.Skip("set CHANGES_BENCH=1 (scripts/bench-changes.sh) to run the benchmark report")
	}
	runs := 11
	if s := os.Getenv("CHANGES_BENCH_RUNS"); s != "" {
		fmt.Sscan(s, &runs)
	}
	var repos []genRepo
	for _, br := range benchRepos {
		start := time.Now()
		g := generate(t, br.p)
		fmt.Printf("%s: %s (generated or reused in %s)\n", br.label, g.Dir, time.Since(start).Round(time.Millisecond))
		repos = append(repos, g)
	}
	before := loadAvg()
	figs := make([]repoFigures, len(repos))
	for i, g := range repos {
		figs[i] = measureRepo(t, g, runs)
	}
	after := loadAvg()

	col := func(f func(repoFigures) string) string {
		var b strings.Builder
		for _, fg := range figs {
			fmt.Fprintf(&b, "%-24s", f(fg))
		}
		return b.String()
	}
	ratio := func(a, b time.Duration) float64 { return float64(a) / float64(b) }
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	var missed []string
	check := func(what string, ok bool) string {
		if !ok {
			missed = append(missed, what)
		}
		return verdict(ok)
	}
	fmt.Printf("\nchange detection vs the git CLI, medians of %d interleaved runs; %d CPUs; %s\n", runs, runtime.NumCPU(), gitVersion())
	fmt.Printf("load average before: %s, after: %s\n\n", before, after)
	fmt.Printf("%-34s%sgoal\n", "", headers())
	fmt.Printf("%-34s%s\n", "repository (3,000 commits)", col(func(f repoFigures) string { return f.files + " files" }))
	for _, push := range []struct {
		name    string
		d, g    func(repoFigures) timing
		goal    float64
		commits func(repoFigures) string
	}{
		{"20-commit push", func(f repoFigures) timing { return f.d20 }, func(f repoFigures) timing { return f.g20 }, goalRatio20, func(f repoFigures) string { return f.push20 + " commits" }},
		{"1,000-commit push", func(f repoFigures) timing { return f.d1000 }, func(f repoFigures) timing { return f.g1000 }, goalRatio1000, func(repoFigures) string { return "1000 commits" }},
	} {
		fmt.Printf("%-34s%s\n", push.name, col(push.commits))
		fmt.Printf("%-34s%s\n", "  Detect (wall)", col(func(f repoFigures) string { return ms(push.d(f).wall) }))
		fmt.Printf("%-34s%s\n", "  git CLI (wall)", col(func(f repoFigures) string { return ms(push.g(f).wall) }))
		var v []string
		for i, f := range figs {
			r := ratio(push.d(f).wall, push.g(f).wall)
			v = append(v, fmt.Sprintf("%.2fx %s", r, check(fmt.Sprintf("%s on %s: %.2fx > %.1fx", push.name, benchRepos[i].label, r, push.goal), r <= push.goal)))
		}
		fmt.Printf("%-34s%-24s%-24s<= %.1fx\n", "  ratio (wall)", v[0], v[1], push.goal)
		fmt.Printf("%-34s%s\n", "  CPU (user+sys): Detect / git", col(func(f repoFigures) string {
			return fmt.Sprintf("%s / %s", ms(push.d(f).cpu), ms(push.g(f).cpu))
		}))
	}
	fmt.Printf("%-34s%s\n", "  projects / commit attributions", col(func(f repoFigures) string {
		return fmt.Sprintf("%d / %d", f.projects1000, f.attributions1000)
	}))
	var rss []string
	for i, f := range figs {
		peak := max(f.rssLazy, f.rssFull, f.rssPerProject)
		rss = append(rss, fmt.Sprintf("%.1f MB %s", mb(peak), check(fmt.Sprintf("peak RSS on %s: %.1f MB > %d MB", benchRepos[i].label, mb(peak), goalRSSMB), mb(peak) <= goalRSSMB)))
	}
	fmt.Printf("%-34s%-24s%-24s<= %d MB\n", "peak RSS (highest of the below)", rss[0], rss[1], goalRSSMB)
	fmt.Printf("%-34s%s\n", "  1,000-commit push", col(func(f repoFigures) string { return fmt.Sprintf("%.1f MB", mb(f.rssLazy)) }))
	fmt.Printf("%-34s%s\n", "  same, every project read", col(func(f repoFigures) string { return fmt.Sprintf("%.1f MB", mb(f.rssFull)) }))
	fmt.Printf("%-34s%s\n", "  every project its own base", col(func(f repoFigures) string { return fmt.Sprintf("%.1f MB", mb(f.rssPerProject)) }))
	fmt.Printf("\nFor information (no goal): the 20-commit push as `run` and `plan` detect it, reading every\n"+
		"project so that no released name is another project's (Request.FullDiscovery):\n%-34s%s\n", "  Detect (wall), ratio to git",
		col(func(f repoFigures) string {
			return fmt.Sprintf("%s, %.2fx", ms(f.full20.wall), ratio(f.full20.wall, f.g20.wall))
		}))
	if la := loadValue(after); la > float64(runtime.NumCPU()) {
		fmt.Printf("\nthe machine was busy (load %.2f on %d CPUs): wall times are noisy; rerun when it is quieter\n", la, runtime.NumCPU())
	}
	if len(missed) > 0 {
		fmt.Println()
		for _, m := range missed {
			fmt.Println("GOAL MISSED: " + m)
		}
		t.Fail()
		return
	}
	fmt.Println("\nall goals met")
}

func headers() string {
	var b strings.Builder
	for _, br := range benchRepos {
		fmt.Fprintf(&b, "%-24s", br.label)
	}
	return b.String()
}

// measureRepo measures one repository.
func measureRepo(t *testing.T, g genRepo, runs int) repoFigures {
	f := repoFigures{
		files:  countLines(runGit(t, g.Dir, nil, "ls-files")),
		push20: runGit(t, g.Dir, nil, "rev-list", "--count", g.Base20+".."+g.Head),
	}
	detect := func(base string, full bool) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			runtime.GC() // each run starts from a clean heap, as a fresh process does
			before := selfCPU()
			repo, err := Open(g.Dir)
			if err != nil {
				return 0, err
			}
			_, err = Detect(context.Background(), repo, Request{Head: g.Head, DefaultBase: base, Options: DefaultOptions(), FullDiscovery: full})
			repo.Close()
			return selfCPU() - before, err
		}
	}
	gitCLI := func(base string) func() (time.Duration, error) {
		return func() (time.Duration, error) { return gitCLICPU(g.Dir, g.Head, base) }
	}
	f.d20, f.g20 = interleave(t, runs, detect(g.Base20, false), gitCLI(g.Base20))
	f.d1000, f.g1000 = interleave(t, runs, detect(g.Base1000, false), gitCLI(g.Base1000))
	f.full20, _ = interleave(t, runs, detect(g.Base20, true), gitCLI(g.Base20))
	res, err := detectOnce(g.Dir, g.Head, g.Base1000)
	if err != nil {
		t.Fatal(err)
	}
	f.projects1000 = len(res.Projects)
	for _, p := range res.Projects {
		f.attributions1000 += len(p.Commits)
	}
	f.rssLazy = childRSS(t, g, "default", g.Base1000)
	f.rssFull = childRSS(t, g, "full", g.Base1000)
	f.rssPerProject = childRSS(t, g, "per-project", "")
	return f
}

// interleave measures a and b alternately (a b, b a, ...) after one
// warm-up each, and returns the median wall and CPU time of each.
func interleave(t *testing.T, runs int, a, b func() (time.Duration, error)) (timing, timing) {
	t.Helper()
	var walls, cpus [2][]time.Duration
	fs := [2]func() (time.Duration, error){a, b}
	for i := -1; i < runs; i++ {
		for k := range 2 {
			j := (k + max(i, 0)) % 2
			start := time.Now()
			cpu, err := fs[j]()
			if err != nil {
				t.Fatal(err)
			}
			if i >= 0 { // the first round warms the page cache
				walls[j] = append(walls[j], time.Since(start))
				cpus[j] = append(cpus[j], cpu)
			}
		}
	}
	med := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	return timing{med(walls[0]), med(cpus[0])}, timing{med(walls[1]), med(cpus[1])}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func loadValue(s string) float64 {
	var v float64
	fmt.Sscan(s, &v)
	return v
}

func gitVersion() string {
	out, err := exec.Command("git", "version").Output()
	if err != nil {
		return "git version unknown"
	}
	return strings.TrimSpace(string(out))
}

func mb(kib int64) float64 { return float64(kib) / 1024 }

// selfCPU is this process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gitCLICPU runs gitCLIOnce's commands and returns their CPU time.
func gitCLICPU(dir, head, base string) (time.Duration, error) {
	var total time.Duration
	for _, args := range [][]string{
		{"diff", "--no-renames", "--name-only", base, head},
		{"log", "--no-renames", "--name-only", base + ".." + head},
	} {
		cmd := execGit(dir, args...)
		if err := cmd.Run(); err != nil {
			return 0, err
		}
		total += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return total, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func countLines(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			n++
		}
	}
	if len(s) > 0 {
		n++
	}
	return fmt.Sprint(n)
}

// childRSS runs one detection in a fresh process (this test binary) and
// returns its peak RSS in KiB: the child's VmHWM from /proc/self/status
// (ru_maxrss of a child would include the parent's size at fork time).
// mode is "default" (base as the default base), "full" (the same, every
// project read) or "per-project" (every project its own base).
func childRSS(t *testing.T, g genRepo, mode, base string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBenchChild$", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), "CHANGES_BENCH_CHILD="+strings.Join([]string{mode, g.Dir, g.Head, base}, ":"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "VmHWM:")
	if i < 0 {
		t.Fatalf("child printed no VmHWM:\n%s", out)
	}
	var kb int64
	fmt.Sscan(string(out[i+len("VmHWM:"):]), &kb)
	return kb
}

// TestBenchChild is the child process of childRSS.
func TestBenchChild(t *testing.T) {
	f := strings.Split(os.Getenv("CHANGES_BENCH_CHILD"), ":")
	if len(f) != 4 {
		t.Skip("child process of TestBenchReport")
	}
	mode, g := f[0], genRepo{Dir: f[1], Head: f[2]}
	req := Request{Head: g.Head, DefaultBase: f[3], Options: DefaultOptions(), FullDiscovery: mode == "full"}
	if mode == "per-project" {
		req = Request{Head: g.Head, Bases: perProjectBases(t, g), Options: DefaultOptions()}
	}
	repo, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if _, err := Detect(t.Context(), repo, req); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(line)
		}
	}
}
