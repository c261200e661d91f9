package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/pipeline"
)

// Issue 15, item 5: `plan --fan-out-jobs N` makes one matrix entry per
// lane (here a tool each), each with a slot of its own: distinct lanes, N
// jobs, one period; run --slot takes it and says when its tests go out; a
// bad value of either is a usage error.
func TestFanOut_slotsInTheMatrixOutputAndTheJobs(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	outFile := filepath.Join(t.TempDir(), "outputs")
	r := runRelease(t, releaseEnv("AMIGO_OUTPUT", outFile), "plan", "--repo", repo, "--config", plan, "--fan-out-jobs", "2")
	r.wantCode(t, ExitOK)
	wantContains(t, "stderr", r.stderr, "fan-out: 2 tools in 2 lanes")
	out := readFile(t, outFile)
	var m struct {
		Include []struct {
			Tool string `json:"tool"`
			Slot string `json:"slot"`
		} `json:"include"`
	}
	if err := json.Unmarshal([]byte(parseGitHubOutput(t, string(out))["matrix"]), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Include) != 2 {
		t.Fatalf("matrix %+v, want the 2 tools", m)
	}
	seen := map[int]bool{}
	var period time.Duration
	for _, e := range m.Include {
		sh, err := amigo.ParseShare(e.Slot)
		if err != nil {
			t.Fatalf("%s: slot %q: %v", e.Tool, e.Slot, err)
		}
		if sh.Jobs != 2 || sh.Count != 2 || seen[sh.Index] || period != 0 && sh.Period != period {
			t.Errorf("%s: slot %s: want its own entry of 2, 2 jobs, the same period as the other", e.Tool, sh)
		}
		seen[sh.Index], period = true, sh.Period
	}

	// A job takes its slot.
	var mine string
	for _, e := range m.Include {
		if e.Tool == "weather_lookup" {
			mine = e.Slot
		}
	}
	r = runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan, "--tools", "weather_lookup", "--slot", mine)
	r.wantCode(t, ExitOK)
	wantContains(t, "stderr", r.stderr, "fan-out lane ", "of 2: its tests go out in its slots", "every other limit is shared 1/2")

	for _, bad := range []struct{ args []string }{
		{[]string{"plan", "--fan-out-jobs", "6"}},
		{[]string{"run", "--slot", "test=soon,entry=0/2,every=3m,jobs=2"}},
		{[]string{"run", "--slot", "entry=0/2,every=3m,jobs=2"}},
	} {
		r := runRelease(t, releaseEnv(), append(bad.args, "--repo", repo, "--config", plan)...)
		r.wantCode(t, ExitUsage)
		wantContains(t, "stderr", r.stderr, "--"+strings.TrimPrefix(bad.args[1], "--"))
	}
}

// --history takes the previous run's report; several, and directories of
// them, merge (the later wins), which is how the fan-out example keeps the
// jobs' reports: an offline plan over the old history and the jobs'
// reports writes a report that keeps what each learned, for every project
// that still exists. A missing file is no history, not an error.
func TestHistory_mergedByAnOfflinePlan(t *testing.T) {
	repo := toolRepo(t)
	plan := writePlan(t, t.TempDir(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	dir := t.TempDir()
	write := func(path string, l *pipeline.Learned) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := (&pipeline.Report{Mode: "run", Learned: l}).JSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(dir, "history.json")
	write(old, &pipeline.Learned{Publish: map[string]map[string]time.Duration{
		"weather_lookup": {"us": time.Minute}, "calendar": {"us": time.Minute}, "gone": {"us": time.Hour}}})
	write(filepath.Join(dir, "reports", "amigo-report-weather_lookup", "amigo-report.json"), &pipeline.Learned{
		Publish: map[string]map[string]time.Duration{"weather_lookup": {"us": 3 * time.Minute}}})
	r := runRelease(t, map[string]string{}, "plan", "--offline", "--repo", repo, "--config", plan,
		"--history", old+","+filepath.Join(dir, "reports")+","+filepath.Join(dir, "missing.json"), "--report-json", old)
	r.wantCode(t, ExitOK)
	wantContains(t, "stderr", r.stderr, "missing.json: no such file")
	f, err := os.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := pipeline.ReadHistory(old, f)
	if err != nil {
		t.Fatal(err)
	}
	for tool, want := range map[string]time.Duration{"weather_lookup": 3 * time.Minute, "calendar": time.Minute, "gone": 0} {
		if d, _ := h.Publish(tool, "us"); d != want {
			t.Errorf("%s: %s in the merged history, want %s", tool, d, want)
		}
	}
	// A history that is not a report is a warning; the plan goes on.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{oops"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runRelease(t, map[string]string{}, "plan", "--offline", "--repo", repo, "--config", plan, "--history", bad)
	r.wantCode(t, ExitOK)
	wantContains(t, "stderr", r.stderr, "bad.json: not a report JSON", "no history")
}

// run --history reorders the tests from the command line: with no history
// the two new tools are tested by name (calendar first); a history in
// which weather_lookup's publishes took an hour sends its test first. A
// run without history says so.
func TestRun_historyFromTheCommandLineOrdersTheTests(t *testing.T) {
	for _, c := range []struct {
		name    string
		history map[string]time.Duration // us publish durations; nil: no file
		first   string
		says    string
	}{
		{"no history", nil, "calendar", "no history: the tests go out in the plan's order"},
		{"history", map[string]time.Duration{"weather_lookup": time.Hour, "calendar": time.Minute}, "weather_lookup", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo, _, _, plan := twoRegions(t)
			hist := filepath.Join(t.TempDir(), "history.json")
			if c.history != nil {
				pub := map[string]map[string]time.Duration{}
				for tool, d := range c.history {
					pub[tool] = map[string]time.Duration{"us": d, "eu": d}
				}
				data, err := (&pipeline.Report{Mode: "run", Learned: &pipeline.Learned{Publish: pub}}).JSON()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(hist, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := runRelease(t, releaseEnv(), "run", "--repo", repo, "--config", plan, "--history", hist)
			r.wantCode(t, ExitOK)
			if has := strings.Contains(r.stderr, "no history:"); has != (c.says != "") {
				t.Errorf("stderr says %q: %v, want %v:\n%s", "no history:", has, c.says != "", r.stderr)
			} else if c.says != "" {
				wantContains(t, "stderr", r.stderr, c.says)
			}
			at := map[string]time.Duration{}
			for _, line := range strings.Split(r.stderr, "\n") {
				for _, tool := range []string{"calendar", "weather_lookup"} {
					// "[mm:ss] TOOL us test: ..." (the elapsed time when the test passed)
					if i := strings.Index(line, "] "+tool+" us test: "); i > 0 && at[tool] == 0 {
						d, err := time.ParseDuration(strings.TrimPrefix(line[strings.LastIndex(line[:i], "[")+1:i], "+"))
						if err != nil {
							t.Fatalf("elapsed time in %q: %v", line, err)
						}
						at[tool] = d
					}
				}
			}
			if at["calendar"] == 0 || at["weather_lookup"] == 0 {
				t.Fatalf("no test line for both tools in:\n%s", r.stderr)
			}
			other := map[string]string{"calendar": "weather_lookup", "weather_lookup": "calendar"}[c.first]
			if at[c.first] >= at[other] {
				t.Errorf("%s tested at %s, %s at %s: want %s first", c.first, at[c.first], other, at[other], c.first)
			}
		})
	}
}
