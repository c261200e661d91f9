package simbench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
)

// childScale is how much faster than real time the measured process and
// its emulators run: a 165-minute release takes 16 seconds.
const childScale = 600

// childResult is what the bot's own process used.
type childResult struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes
	OK     bool
	Out    string
}

// delayHandler holds a publish for its build time in this stage on the
// emulators' clock, then serves the request.
type delayHandler struct {
	srv   *amigotest.Server
	clk   clock.Clock
	stage string
	work  work
}

func (d delayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/version") {
		parts := strings.Split(r.URL.Path, "/")
		if len(parts) == 6 {
			for _, tl := range d.srv.Tools(parts[2]) {
				if tl.ID == parts[4] {
					_ = d.clk.Sleep(r.Context(), d.work[tl.Name][d.stage])
				}
			}
		}
	}
	d.srv.ServeHTTP(w, r)
}

// childRun measures the CPU time and peak memory of the bot alone: the
// built binary (bin) releases the row's workload in a process of its own,
// against emulators in this process over real HTTP, both on a clock
// childScale times faster than real time. Its timings are not measured
// here (a loaded machine stretches them); the simulated runs are.
func childRun(t *testing.T, bin string, tools, others int) childResult {
	w := newWork(tools, 42)
	r := newRepo(t, w.names())
	clk := clock.NewScaled(childScale)
	var y strings.Builder
	fmt.Fprintf(&y, "version: 1\ndiscovery:\n  roots: [tools]\ndefaults:\n  organization: %s\n  concurrency: %d\nstages:\n", org, concurrency)
	for i, st := range stages {
		srv := amigotest.New(amigotest.Options{Clock: clk, RepoPath: r.dir, Seed: int64(i + 1),
			PublishLatency: amigotest.Fixed(0), TestLatency: amigotest.Fixed(testTime)})
		t.Cleanup(srv.Close)
		seedServer(t, srv, r, others)
		hs := httptest.NewServer(delayHandler{srv: srv, clk: clk, stage: st, work: w})
		t.Cleanup(hs.Close)
		fmt.Fprintf(&y, "  - name: %s\n    base_url: %s\n", st, hs.URL)
		if i == 0 {
			y.WriteString("    test: true\n")
		}
	}
	planFile := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(planFile, []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--repo", r.dir, "--config", planFile, "--time-scale", fmt.Sprint(childScale))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range creds {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	res := childResult{OK: err == nil, Out: string(out)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		res.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		if runtime.GOOS == "darwin" {
			res.MaxRSS = ru.Maxrss // bytes there
		}
	}
	return res
}
