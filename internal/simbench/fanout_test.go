package simbench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/cmd"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
)

var debugFan = false

func grepLines(s string, subs ...string) string {
	var out []string
	for _, ln := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(ln, sub) {
				out = append(out, ln)
			}
		}
	}
	return strings.Join(out, "\n")
}

// jobStart is what a matrix job takes before it runs amigo-release:
// scheduling, checkout, the binary.
const jobStart = 30 * time.Second

// fanResult is what a fan-out measured.
type fanResult struct {
	Jobs, Entries int
	Makespan      time.Duration // from the plan's start to the last job's end
	N429          int
	Late          int // jobs that missed all of their slots
	OK            bool
	Failures      string
}

// fanOut releases the workload as a CI matrix would: a plan job (`plan
// --fan-out-jobs`), then one job per lane, `run --tools TOOLS --slot
// SLOT`, all at once, each starting jobStart after the plan; without slots
// (as before), one job per tool, at most jobs at once, in the matrix's
// order, each starting jobStart after a place is free. Every job is its
// own cmd.Main, with its own client and pacer, as separate processes
// would be: they share the key and the servers, nothing else.
func fanOut(t *testing.T, tools, jobs int, withSlots bool, limiter amigotest.RateLimiter) fanResult {
	return fanOutSeed(t, tools, jobs, withSlots, limiter, 42)
}

func fanOutSeed(t *testing.T, tools, jobs int, withSlots bool, limiter amigotest.RateLimiter, seed int64) fanResult {
	w := newWork(tools, seed)
	r := newRepo(t, w.names())
	planFile := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(planFile, []byte(planYAML()), 0o644); err != nil {
		t.Fatal(err)
	}
	res := fanResult{Jobs: jobs, Entries: tools, OK: true}
	synctestRun(t, func(t *testing.T) {
		s := newServers(t, clock.Real{}, r, w, 0, limiter)
		env := func(out *bytes.Buffer) cmd.Env {
			return cmd.Env{Getenv: getenv, Stdout: out, Stderr: out, Clock: clock.Real{}, HTTPClient: s.HTTPClient()}
		}
		ctx, cancel := ctxFor(t)
		defer cancel()
		start := time.Now()
		var planOut bytes.Buffer
		report := filepath.Join(t.TempDir(), "plan.json")
		args := []string{"plan", "--repo", r.dir, "--config", planFile, "--report-json", report}
		if withSlots {
			args = append(args, "--fan-out-jobs", strconv.Itoa(jobs))
		}
		if code := cmd.Main(ctx, args, env(&planOut)); code != 0 {
			t.Fatalf("plan: exit %d\n%s", code, planOut.String())
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var rep pipeline.Report
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		matrix := platform.OutputsOf(&rep).Matrix.Include
		if want := min(jobs, tools); withSlots && len(matrix) != want || !withSlots && len(matrix) != tools {
			t.Fatalf("matrix of %d entries (%d tools, %d jobs, slots %v)", len(matrix), tools, jobs, withSlots)
		}
		res.Entries = len(matrix)
		free := make(chan struct{}, jobs)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, e := range matrix {
			free <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-free }()
				time.Sleep(jobStart)
				args := []string{"run", "--repo", r.dir, "--config", planFile, "--tools", e.Tool}
				if e.Slot != "" {
					args = append(args, "--slot", e.Slot)
				}
				var out bytes.Buffer
				jobAt := time.Since(start)
				code := cmd.Main(context.WithoutCancel(ctx), args, env(&out))
				if debugFan {
					t.Logf("job %s started +%s ended +%s slot %s\n%s", e.Tool, jobAt, time.Since(start), e.Slot, grepLines(out.String(), "fan-out entry", "test:"))
				}
				if strings.Contains(out.String(), "it started after its first slot") {
					mu.Lock()
					res.Late++
					mu.Unlock()
				}
				if code != 0 {
					mu.Lock()
					res.OK = false
					res.Failures += e.Tool + ":\n" + out.String()
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		res.Makespan = time.Since(start)
		_, res.N429, _ = s.counts()
		if debugFan {
			for st, srv := range s.byStage {
				for _, q := range srv.Requests() {
					if q.Status == 429 {
						t.Logf("429 %s %s %s at %s", st, q.OperationID, q.User, q.Time.Sub(start))
					}
				}
			}
		}
	})
	return res
}
