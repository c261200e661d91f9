//go:build unix

package changes

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
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
	// measure returns the median wall time and the median CPU time (user +
	// system) of f; CPU time is what to compare when the machine is busy.
	type timing struct{ wall, cpu time.Duration }
	measure := func(f func() (time.Duration, error)) timing {
		if _, err := f(); err != nil { // warm-up (page cache)
			t.Fatal(err)
		}
		var walls, cpus []time.Duration
		for i := 0; i < runs; i++ {
			s := time.Now()
			cpu, err := f()
			if err != nil {
				t.Fatal(err)
			}
			walls = append(walls, time.Since(s))
			cpus = append(cpus, cpu)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		return timing{walls[len(walls)/2], cpus[len(cpus)/2]}
	}
	detectF := func(base string) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			before := selfCPU()
			_, err := detectOnce(g.Dir, g.Head, base)
			return selfCPU() - before, err
		}
	}
	gitF := func(base string) func() (time.Duration, error) {
		return func() (time.Duration, error) { return gitCLICPU(g.Dir, g.Head, base) }
	}
	d1000 := measure(detectF(g.Base1000))
	c1000 := measure(gitF(g.Base1000))
	d20 := measure(detectF(g.Base20))
	c20 := measure(gitF(g.Base20))
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
		runs, ms(d1000.wall), ms(c1000.wall), float64(d1000.wall)/float64(c1000.wall))
	fmt.Printf("  CPU time (user+sys): Detect %s, git CLI %s, ratio %.2fx\n",
		ms(d1000.cpu), ms(c1000.cpu), float64(d1000.cpu)/float64(c1000.cpu))
	fmt.Printf("  %d projects reported, %d commit attributions\n", len(res.Projects), commits)
	fmt.Printf("20-commit push (median of %d): go-git Detect %s (goal <= 50 ms), git CLI %s, ratio %.2fx\n",
		runs, ms(d20.wall), ms(c20.wall), float64(d20.wall)/float64(c20.wall))
	fmt.Printf("  CPU time (user+sys): Detect %s, git CLI %s\n", ms(d20.cpu), ms(c20.cpu))
	var la [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &la[0], &la[1], &la[2])
		fmt.Printf("machine load average while measuring: %.2f %.2f %.2f (%d CPUs)\n", la[0], la[1], la[2], runtime.NumCPU())
	}
	fmt.Printf("peak memory (max RSS of a process doing one 1,000-commit detection): %.1f MB (goal <= 150 MB)\n", float64(rss)/1024)
}

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
