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
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Issue 15, item 5: a plan with FanOut deals the tools that would release,
// in the order a single run would test them (here by history, the longest
// chain first), to at most Jobs lanes in turn, and gives each tool its
// lane's slot: lane N's first test at the schedule's start plus N-1
// minutes (whole seconds, a minute and the pacer's margin at least), then
// one every lanes such minutes; every other limit is split by the lanes.
func TestPlan_fanOutDealsTheToolsToLanes(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	names := []string{"alpha", "bravo", "charlie"}
	files := map[string]string{}
	for _, n := range names {
		files = testkit.Files(files, testkit.Project(n, n, ""))
	}
	h.commit("feat: three tools", files)
	hist := historyJSON(t, map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute}, "us", "eu")
	for _, c := range []struct {
		jobs  int
		lanes map[string]int // tool → lane (from 1)
	}{
		{2, map[string]int{"bravo": 1, "charlie": 2, "alpha": 1}},
		{5, map[string]int{"bravo": 1, "charlie": 2, "alpha": 3}}, // no more lanes than tools
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
				lanes := min(c.jobs, 3)
				first := start.Add(pipeline.DefaultFanOutLead).Truncate(time.Second).Add(time.Second)
				for name, lane := range c.lanes {
					tr := tool(t, rep, name)
					sh, err := amigo.ParseShare(tr.Slot)
					if err != nil {
						t.Fatalf("%s: slot %q: %v", name, tr.Slot, err)
					}
					want := amigo.Share{Jobs: lanes, Index: lane - 1, Count: lanes, TestAt: first.Add(time.Duration(lane-1) * 61 * time.Second), Period: time.Duration(lanes) * 61 * time.Second}
					if tr.Lane != lane || sh.Jobs != want.Jobs || sh.Index != want.Index || sh.Count != want.Count || !sh.TestAt.Equal(want.TestAt) || sh.Period != want.Period {
						t.Errorf("%s: lane %d, slot %s; want lane %d, slot %s", name, tr.Lane, sh, lane, &want)
					}
					// The plan's own reads leave every window before a lane
					// sends anything.
					if sh.From.Before(start.Add(time.Minute+500*time.Millisecond)) || sh.From.After(first) {
						t.Errorf("%s: from=%s, want a minute and the margin after the plan, before the first slot", name, sh.From)
					}
				}
				if !strings.Contains(h.log.String(), fmt.Sprintf("fan-out: 3 tools in %d lanes", lanes)) {
					t.Errorf("the plan does not say what it scheduled:\n%s", h.log)
				}
			})
		})
	}
}

// Issue 15, item 5: a fan-out's job waits for its slots: its analysis reads
// go out at once (its part of the limits), its tests one in each of its
// lane's slots, the most work left first; a job that starts after its
// first slot takes the next one, a round later.
func TestRun_jobWaitsForItsSlot(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: tools", testkit.Files(testkit.Project("weather", "weather", ""), testkit.Project("flights", "flights", "")))
	h.commit("fix: both", testkit.Files(testkit.Touch("weather", "v2"), testkit.Touch("flights", "v2")))
	round := 2 * (time.Minute + time.Second)
	for _, c := range []struct {
		name   string
		offset time.Duration // of the lane's first slot from the job's start
		want   []time.Duration
		late   bool
	}{
		{"on time", 5 * time.Minute, []time.Duration{5 * time.Minute, 5*time.Minute + round}, false},
		{"late", -30 * time.Second, []time.Duration{-30*time.Second + round, -30*time.Second + 2*round}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.log.Reset()
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				s.seed(first, "weather", "flights")
				start := time.Now()
				sh := &amigo.Share{Jobs: 2, Index: 1, Count: 2, TestAt: start.Add(c.offset), Period: round}
				getenv := func(k string) string { return h.env[k] }
				rep := s.run(s.plan(""), func(o *pipeline.Options) {
					o.Share = sh
					o.Tools = []string{"weather", "flights"}
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
				if !slices.Equal(tests, c.want) {
					t.Errorf("tests at %v after the start, want %v (its lane's slots)", tests, c.want)
				}
				if len(reads) < 2 || reads[0] != 0 || reads[1] != 0 {
					t.Errorf("the analysis read at %v, want at once (it does not wait for the slot)", reads)
				}
				late := strings.Contains(h.log.String(), "it started after its first slot")
				if late != c.late || !strings.Contains(h.log.String(), "fan-out lane 2 of 2") {
					t.Errorf("late note %v, want %v; log:\n%s", late, c.late, h.log)
				}
			})
		})
	}
}
