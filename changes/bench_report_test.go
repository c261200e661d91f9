//go:build unix

package changes

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestBenchReport prints the figures of scripts/bench-changes.sh: median
// wall times of Detect and of the git CLI for the 1,000-commit and the
// 20-commit push, their ratio, and peak memory (max RSS of a fresh process
// doing one detection). It runs only with CHANGES_BENCH=1.
func TestBenchReport(t *testing.T) {
	if os.Getenv("CHANGES_BENCH") != "1" {
		t.Skip("set CHANGES_BENCH=1 (scripts/bench-changes.sh) to run the benchmark report")
	}
	start := time.Now()
	g := generate(t, benchParams)
	fmt.Printf("repository: %s (generated or reused in %s)\n", g.Dir, time.Since(start).Round(time.Millisecond))
	fmt.Printf("  %s commits, %s files, %s commits in the 1,000-commit push, %s in the 20-commit push\n",
		runGit(t, g.Dir, nil, "rev-list", "--count", g.Head), countLines(runGit(t, g.Dir, nil, "ls-files")),
		runGit(t, g.Dir, nil, "rev-list", "--count", g.Base1000+".."+g.Head),
		runGit(t, g.Dir, nil, "rev-list", "--count", g.Base20+".."+g.Head))
	runs := 11
	if s := os.Getenv("CHANGES_BENCH_RUNS"); s != "" {
		fmt.Sscan(s, &runs)
	}
	median := func(f func() error) time.Duration {
		if err := f(); err != nil { // warm-up (page cache)
			t.Fatal(err)
		}
		var ds []time.Duration
		for i := 0; i < runs; i++ {
			s := time.Now()
			if err := f(); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, time.Since(s))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	detectF := func(base string) func() error {
		return func() error { _, err := detectOnce(g.Dir, g.Head, base); return err }
	}
	gitF := func(base string) func() error { return func() error { return gitCLIOnce(g.Dir, g.Head, base) } }
	var d1000, c1000, d20, c20 time.Duration
	// Interleave so that load from other processes hits both sides alike.
	d1000 = median(detectF(g.Base1000))
	c1000 = median(gitF(g.Base1000))
	d20 = median(detectF(g.Base20))
	c20 = median(gitF(g.Base20))
	res, err := detectOnce(g.Dir, g.Head, g.Base1000)
	if err != nil {
		t.Fatal(err)
	}
	commits := 0
	for _, p := range res.Projects {
		commits += len(p.Commits)
	}
	rss := childRSS(t, g.Base1000)
	fmt.Printf("1,000-commit push (median of %d): go-git Detect %s, git CLI (diff + log) %s, ratio %.2fx (goal <= 2x)\n",
		runs, ms(d1000), ms(c1000), float64(d1000)/float64(c1000))
	fmt.Printf("  %d projects reported, %d commit attributions\n", len(res.Projects), commits)
	fmt.Printf("20-commit push (median of %d): go-git Detect %s (goal <= 50 ms), git CLI %s, ratio %.2fx\n",
		runs, ms(d20), ms(c20), float64(d20)/float64(c20))
	fmt.Printf("peak memory (max RSS of a process doing one 1,000-commit detection): %.1f MB (goal <= 150 MB)\n", float64(rss)/1024)
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
// returns its max RSS in KiB.
func childRSS(t *testing.T, base string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBenchChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "CHANGES_BENCH_CHILD="+base)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("no rusage")
	}
	return int64(ru.Maxrss)
}

// TestBenchChild is the child process of childRSS.
func TestBenchChild(t *testing.T) {
	base := os.Getenv("CHANGES_BENCH_CHILD")
	if base == "" {
		t.Skip("child process of TestBenchReport")
	}
	g := generate(t, benchParams)
	if _, err := detectOnce(g.Dir, g.Head, base); err != nil {
		t.Fatal(err)
	}
}
