package pipeline_test

import (
	"bytes"
	"encoding/json"
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
	h.commit("feat: three tools", testkit.Projects(names...))
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

// historyJSON is a report JSON whose learned durations give each tool's publish
// durations in every stage.
func historyJSON(t *testing.T, byTool map[string]time.Duration, stages ...string) string {
	pub := map[string]map[string]time.Duration{}
	for tool, d := range byTool {
		pub[tool] = map[string]time.Duration{}
		for _, st := range stages {
			pub[tool][st] = d
		}
	}
	b, err := json.Marshal(map[string]any{"mode": "run", "learned": map[string]any{"publish_ns": pub}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 15, item 3: with a history, the test queue takes the tool with the
// longest expected remaining chain of publishes first; without one, the
// order stays what it was (the most stages left, then by name). The
// report keeps the durations this run measured, and the history's for the
// projects it did not publish; a tool gone from the repository is dropped.
func TestRun_historyOrdersTheTests(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	first := h.commit("feat: four tools", testkit.Projects("alpha", "bravo", "charlie", "delta"))
	h.commit("fix: three change", testkit.Files(testkit.Touch("alpha", "a"), testkit.Touch("bravo", "b"), testkit.Touch("charlie", "c")))
	build := map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute}
	hist := historyJSON(t, map[string]time.Duration{"alpha": time.Minute, "bravo": 4 * time.Minute, "charlie": 2 * time.Minute, "delta": 3 * time.Minute, "gone": time.Hour}, "us", "eu")
	for _, c := range []struct {
		name    string
		history string
		want    []string
	}{
		{"without history: by name", "", []string{"alpha", "bravo", "charlie"}},
		{"with history: longest chain first", hist, []string{"bravo", "charlie", "alpha"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			simulate(t, func(t *testing.T) {
				s := newSim(t, h, amigotest.Options{})
				s.seed(first, "alpha", "bravo", "charlie", "delta")
				s.Publish = func(tool, stage string) time.Duration { return build[tool] }
				rep := s.run(s.plan(""), func(o *pipeline.Options) {
					if c.history != "" {
						hi, err := pipeline.ReadHistory("history.json", strings.NewReader(c.history))
						if err != nil {
							t.Fatal(err)
						}
						o.History = hi
					}
				})
				if !rep.OK() {
					t.Fatalf("not OK:\n%s", h.log)
				}
				if got := s.testOrder(); !slices.Equal(got, c.want) {
					t.Errorf("tests went out in the order %v, want %v", got, c.want)
				}
				if rep.Learned == nil {
					t.Fatal("the report keeps nothing learned")
				}
				for tool, d := range build {
					for _, st := range []string{"us", "eu"} {
						if got := rep.Learned.Publish[tool][st]; got != d {
							t.Errorf("learned publish[%s][%s] = %s, want the %s this run measured", tool, st, got, d)
						}
					}
				}
				_, keptDelta := rep.Learned.Publish["delta"]
				if keptDelta != (c.history != "") {
					t.Errorf("delta (not released) kept in what the report learned: %v, want %v (from the history)", keptDelta, c.history != "")
				}
				if _, ok := rep.Learned.Publish["gone"]; ok {
					t.Errorf("a tool that is no project any more stays in what the report learned")
				}
			})
		})
	}
}

// ReadHistory takes what a report learned; from an older report without them,
// the durations of first-attempt publishes; refuses what is not a report
// JSON and what is too large, naming the file.
func TestReadHistory(t *testing.T) {
	h, err := pipeline.ReadHistory("h.json", strings.NewReader(`{"learned":{"publish_ns":{"weather":{"us":90000000000}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Publish("weather", "us"); !ok || d != 90*time.Second {
		t.Errorf("weather/us = %s %v, want 1m30s", d, ok)
	}
	old := `{"tools":[{"name":"weather","stages":[{"stage":"us","steps":[{"name":"publish","status":"released","attempts":1,"duration_ns":120000000000}]},
		{"stage":"eu","steps":[{"name":"publish","status":"released","attempts":3,"duration_ns":900000000000}]}]}]}`
	h, err = pipeline.ReadHistory("old.json", strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := h.Publish("weather", "us"); !ok || d != 2*time.Minute {
		t.Errorf("from the steps: weather/us = %s %v, want 2m", d, ok)
	}
	if _, ok := h.Publish("weather", "eu"); ok {
		t.Errorf("a publish retried 3 times counts as a build time")
	}
	if _, err := pipeline.ReadHistory("bad.json", strings.NewReader("{not json")); err == nil || !strings.Contains(err.Error(), "bad.json: not a report JSON") {
		t.Errorf("garbage: %v", err)
	}
	big := `{"warnings":["` + strings.Repeat("x", pipeline.MaxHistorySize) + `"]}`
	if _, err := pipeline.ReadHistory("big.json", strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("big.json: larger than %d MiB", pipeline.MaxHistorySize>>20)) {
		t.Errorf("too large: %v", err)
	}
}

// With a history, the analysis looks the projects' tools up by the ids it
// knows (20 a call) instead of paging through the organization's tools;
// an id that no longer names the project's tool (deprecated, made again)
// makes it list every tool, and the run goes on right.
func TestRun_historyFindsToolsByID(t *testing.T) {
	h := newSimRepo(t, "us", "eu")
	names := []string{"alpha", "bravo", "charlie", "delta"}
	first := h.commit("feat: four tools", testkit.Projects(names...))
	simulate(t, func(t *testing.T) {
		s := newSim(t, h, amigotest.Options{StaticTokens: map[string]string{"admin-token": "admin"}})
		s.seed(first, names...)
		for _, srv := range s.servers {
			for i := range 76 { // with the 4 tools, 4 pages of 20
				if _, err := srv.AddTool(org, amigotest.SeedTool{Name: fmt.Sprintf("other_%02d", i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		release := func(msg string, history []byte) (*pipeline.Report, int) {
			changed := map[string]string{}
			for _, n := range names {
				changed = testkit.Files(changed, testkit.Touch(n, msg))
			}
			h.commit("fix: "+msg, changed)
			before := s.requests(amigotest.OpListTools)
			rep := s.run(s.plan(""), func(o *pipeline.Options) {
				if history != nil {
					hi, err := pipeline.ReadHistory("history.json", bytes.NewReader(history))
					if err != nil {
						t.Fatal(err)
					}
					o.History = hi
				}
			})
			if !rep.OK() {
				t.Fatalf("%s: not OK:\n%s", msg, h.log)
			}
			return rep, s.requests(amigotest.OpListTools) - before
		}
		rep, lists := release("one", nil)
		if lists != 8 {
			t.Errorf("without history: %d list-tools calls, want 8 (4 pages in each of 2 stages)", lists)
		}
		if rep.Learned == nil || len(rep.Learned.ToolIDs) != 2 {
			t.Fatalf("the report learned ids on %d servers, want 2: %+v", len(rep.Learned.ToolIDs), rep.Learned)
		}
		for server, ids := range rep.Learned.ToolIDs {
			if len(ids) != 4 {
				t.Errorf("%s: %d ids learned, want the 4 tools': %v", server, len(ids), ids)
			}
		}
		hist, _ := rep.JSON()
		rep, lists = release("two", hist)
		if lists != 2 {
			t.Errorf("with the ids: %d list-tools calls, want 2 (the 4 tools by id, once a stage)", lists)
		}
		// alpha is deprecated in eu and made again under a new id.
		eu := s.servers["eu"]
		old, _ := eu.ToolByName(org, "alpha")
		c, err := amigo.New(amigo.Config{BaseURL: "http://eu.sim", Org: org, Token: "admin-token", HTTPClient: &http.Client{Transport: s}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.DeprecateTool(t.Context(), old.ID); err != nil {
			t.Fatal(err)
		}
		newID, err := eu.AddTool(org, amigotest.SeedTool{Name: "alpha", Description: "The alpha tool."})
		if err != nil {
			t.Fatal(err)
		}
		hist, _ = rep.JSON()
		rep, lists = release("three", hist)
		if lists != 1+1+4 {
			t.Errorf("with a stale id: %d list-tools calls, want 6 (by id in us; in eu by id, then all 4 pages)", lists)
		}
		if got := stage(t, tool(t, rep, "alpha"), "eu"); got.Status != pipeline.StatusReleased || len(eu.Versions(org, newID)) != 1 {
			t.Errorf("alpha in eu: %s, %d versions on the new tool; want released there", got.Status, len(eu.Versions(org, newID)))
		}
	})
}
