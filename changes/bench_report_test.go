//go:build unix

package changes

import (
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
	bases := perProjectBases(t, g)
	pp := measure(func() (time.Duration, error) {
		before := selfCPU()
		repo, err := Open(g.Dir)
		if err != nil {
			return 0, err
		}
		defer repo.Close()
		_, err = Detect(t.Context(), repo, Request{Head: g.Head, Bases: bases, Options: DefaultOptions()})
		return selfCPU() - before, err
	})
	res, err := detectOnce(g.Dir, g.Head, g.Base1000)
	if err != nil {
		t.Fatal(err)
	}
	commits := 0
	for _, p := range res.Projects {
		commits += len(p.Commits)
	}
	rss := childRSS(t, "default", g.Base1000)
	rssPP := childRSS(t, "per-project", "")
	fmt.Printf("1,000-commit push (median of %d): go-git Detect %s, git CLI (diff + log) %s, ratio %.2fx (goal <= 2x)\n",
		runs, ms(d1000.wall), ms(c1000.wall), float64(d1000.wall)/float64(c1000.wall))
	fmt.Printf("  CPU time (user+sys): Detect %s, git CLI %s, ratio %.2fx\n",
		ms(d1000.cpu), ms(c1000.cpu), float64(d1000.cpu)/float64(c1000.cpu))
	fmt.Printf("  %d projects reported, %d commit attributions\n", len(res.Projects), commits)
	fmt.Printf("20-commit push (median of %d): go-git Detect %s (goal <= 50 ms), git CLI %s, ratio %.2fx\n",
		runs, ms(d20.wall), ms(c20.wall), float64(d20.wall)/float64(c20.wall))
	fmt.Printf("  CPU time (user+sys): Detect %s, git CLI %s\n", ms(d20.cpu), ms(c20.cpu))
	fmt.Printf("every project with its own base (%d projects, bases among the last 1,000 commits; median of %d): Detect %s, CPU %s\n",
		len(bases), runs, ms(pp.wall), ms(pp.cpu))
	var la [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &la[0], &la[1], &la[2])
		fmt.Printf("machine load average while measuring: %.2f %.2f %.2f (%d CPUs)\n", la[0], la[1], la[2], runtime.NumCPU())
	}
	fmt.Printf("peak memory (peak RSS of a fresh process doing one 1,000-commit detection): %.1f MB (goal <= 150 MB)\n", float64(rss)/1024)
	fmt.Printf("  with every project on its own base: %.1f MB\n", float64(rssPP)/1024)
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
// returns its peak RSS in KiB: the child's VmHWM from /proc/self/status
// (ru_maxrss of a child would include the parent's size at fork time).
// mode is "default" (base as the default base) or "per-project".
func childRSS(t *testing.T, mode, base string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBenchChild$", "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), "CHANGES_BENCH_CHILD="+mode+":"+base)
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
	mode, base, ok := strings.Cut(os.Getenv("CHANGES_BENCH_CHILD"), ":")
	if !ok {
		t.Skip("child process of TestBenchReport")
	}
	g := generate(t, benchParams)
	req := Request{Head: g.Head, DefaultBase: base, Options: DefaultOptions()}
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
