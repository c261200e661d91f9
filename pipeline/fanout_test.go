package pipeline_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Issue 15, item 5: a plan with FanOut gives each tool that would release
// a slot for its matrix job: the order a single run would test them in
// (here by history, the longest chain first), test slots a minute and a
// half second apart at least (more when few jobs run at once: a job cannot
// start before one before it has finished), a period that brings every
// entry's slot round again without meeting another's, and the jobs at once.
func TestPlan_fanOutGivesEachToolASlot(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	names := []string{"alpha", "bravo", "charlie"}
	files := map[string]string{}
	for _, n := range names {
		files = merge(files, project(n, ""))
	}
	h.commit("feat: three tools", files)
	hist := historyJSON(t, map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute}, "us", "eu")
	// The slots, from the first: 3 jobs at once all start when the lead
	// is over, so the test limit decides (61 s apart, whole seconds); one
	// job at a time waits for the one before: its start (1m), test (20s)
	// and chain (bravo 8m, charlie 4m), then a start of its own (1m).
	for _, c := range []struct {
		jobs   int
		offset []time.Duration
	}{
		{3, []time.Duration{0, 61 * time.Second, 122 * time.Second}},
		{1, []time.Duration{0, 20*time.Second + 8*time.Minute + time.Minute, 2*(20*time.Second+time.Minute) + 12*time.Minute}},
	} {
		t.Run(fmt.Sprintf("%d jobs", c.jobs), func(t *testing.T) {
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				hi, err := pipeline.ReadHistory("h.json", strings.NewReader(hist))
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				rep := s.run(s.plan(""), func(o *pipeline.Options) {
					o.Mode = pipeline.ModePlan
					o.History = hi
					o.FanOut = &pipeline.FanOut{Jobs: c.jobs}
				})
				first := start.Add(pipeline.DefaultFanOutLead).Truncate(time.Second).Add(time.Second)
				period := c.offset[2] + 61*time.Second
				for i, name := range []string{"bravo", "charlie", "alpha"} {
					slot := tool(t, rep, name).Slot
					sh, err := amigo.ParseShare(slot)
					if err != nil {
						t.Fatalf("%s: slot %q: %v", name, slot, err)
					}
					if sh.Jobs != c.jobs || sh.Index != i || sh.Count != 3 || !sh.TestAt.Equal(first.Add(c.offset[i])) || sh.Period != period {
						t.Errorf("%s: slot %s, want entry %d/3 at +%s (after the lead), every %s, jobs=%d", name, sh, i, c.offset[i], period, c.jobs)
					}
				}
				if !strings.Contains(h.log.String(), "fan-out: 3 jobs") {
					t.Errorf("the plan does not say what it scheduled:\n%s", h.log)
				}
			})
		})
	}
}

// Issue 15, item 5: a job of a fan-out waits for its slot: its analysis
// reads go out at once (its part of the limits), its test exactly at its
// slot; a job that starts after its slot says so and tests at its next one,
// a period later, where no other entry's slot is.
func TestRun_jobWaitsForItsSlot(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: weather", project("weather", ""))
	h.commit("fix: weather", touch("weather", "v2"))
	for _, c := range []struct {
		name   string
		offset time.Duration // of the slot from the job's start
		want   time.Duration // when the test goes out, from the start
		late   bool
	}{
		{"on time", 7 * time.Minute, 7 * time.Minute, false},
		{"late", -2 * time.Minute, -2*time.Minute + 13*time.Minute, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.log.Reset()
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				s.seed(first, "weather")
				start := time.Now()
				sh := &amigo.Share{Jobs: 4, Index: 2, Count: 12, TestAt: start.Add(c.offset), Period: 13 * time.Minute}
				getenv := func(k string) string { return h.env[k] }
				rep := s.run(s.plan(""), func(o *pipeline.Options) {
					o.Share = sh
					o.Tools = []string{"weather"}
					o.Clients = pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: getenv, Clock: clock.Real{}, HTTPClient: &http.Client{Transport: s}, Share: sh})
				})
				if !rep.OK() {
					t.Fatalf("not OK:\n%s", h.log)
				}
				var tests, reads []time.Duration
				for _, r := range s.servers["us"].Requests() {
					switch r.OperationID {
					case amigotest.OpTestTool:
						tests = append(tests, r.Time.Sub(start))
					case amigotest.OpListVersions, amigotest.OpListTools:
						reads = append(reads, r.Time.Sub(start))
					}
				}
				if !slices.Equal(tests, []time.Duration{c.want}) {
					t.Errorf("tests at %v after the start, want one at %s", tests, c.want)
				}
				if len(reads) < 2 || reads[0] != 0 || reads[1] != 0 {
					t.Errorf("the analysis read at %v, want at once (it does not wait for the slot)", reads)
				}
				warned := strings.Contains(h.log.String(), "started after its test slot")
				if warned != c.late || !strings.Contains(h.log.String(), "fan-out entry 3 of 12, 4 jobs at once") {
					t.Errorf("late warning %v, want %v; log:\n%s", warned, c.late, h.log)
				}
			})
		})
	}
}
