package pipeline

import (
	"fmt"
	"sort"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// Fan-out (DESIGN §7, "Shared limits are shared"): a CI matrix that runs one
// job per tool with the same credentials shares one set of rate limits,
// per user and endpoint on each server, and test-tool allows one call a
// minute. The jobs cannot talk to each other, so the plan divides the
// limits between them up front: each job of the matrix gets a Share
// (amigo.Share, ToolReport.Slot): a test slot of its own, at an absolute
// time, and a 1/Jobs part of every other limit. Its pacer keeps to them.
// Fan-out gives isolation and per-tool logs; it cannot test faster than
// one job does, since the tests share the one-a-minute limit.

// FanOut asks a plan for the schedule of a fan-out: every tool that would
// release gets a slot (ToolReport.Slot) for its own job.
type FanOut struct {
	// Jobs is how many jobs of the matrix run at once (its max-parallel):
	// 1 to MaxFanOutJobs.
	Jobs int
	// Lead is the time from the plan to the first test slot: for the
	// matrix's jobs to start, check out and analyse (default
	// DefaultFanOutLead).
	Lead time.Duration
}

// MaxFanOutJobs is the most jobs that can run at once with one user's
// credentials: the smallest limit after test-tool's (sign-in, 5 a minute),
// split between them, must leave each job one.
const MaxFanOutJobs = 5

// DefaultFanOutLead is the time the plan leaves its matrix's jobs before
// the first test slot.
const DefaultFanOutLead = 3 * time.Minute

// jobOverhead is what the plan expects a job to spend besides its tests
// and publishes: starting, checking out, analysing.
const jobOverhead = time.Minute

// expectedTest is what the plan expects a test to take.
const expectedTest = 20 * time.Second

// assignSlots gives each tool that would release its slot, in the order a
// single run's test queue would take them (the most expected work left
// first). The plan plays the matrix through: Jobs jobs start when the
// plan's lead is over, each later one when an earlier one has finished
// (its start, test and publishes, by the history or a typical publish)
// and after a start of its own; each job's test slot is the later of when
// it can be ready and a minute and the pacer's margin after the slot
// before (test-tool's limit). The slots come round every period (the last
// slot's distance from the first, and one more spacing) for a job that
// missed its own, never where another entry's slot is.
func (r *runner) assignSlots(rep *Report, tools []*toolRun) {
	fo := r.opts.FanOut
	if fo == nil {
		return
	}
	from := ""
	for _, st := range r.order {
		if st.Test {
			from = st.Name
			break
		}
	}
	type entry struct {
		t    *toolRun
		work time.Duration
	}
	var entries []entry
	for _, t := range tools {
		if toolStatus(t.rep) != StatusPlanned {
			continue // up to date everywhere, or it cannot release
		}
		var w time.Duration
		if from != "" {
			w = remainingWork(r.order, r.est, t, from)
		} else {
			for _, st := range r.order {
				w += r.est.publish(t.name, st.Name)
			}
		}
		entries = append(entries, entry{t, w})
	}
	if len(entries) == 0 {
		return
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].work != entries[j].work {
			return entries[i].work > entries[j].work
		}
		return entries[i].t.name < entries[j].t.name
	})
	jobs := min(fo.Jobs, len(entries))
	lead := fo.Lead
	if lead <= 0 {
		lead = DefaultFanOutLead
	}
	gap := time.Minute + amigo.DefaultPaceMargin
	start := r.clk.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	free := make([]time.Time, jobs) // when each of the jobs at once is free
	for i := range free {
		free[i] = start.Add(-jobOverhead)
	}
	slots := make([]time.Time, len(entries))
	for i, e := range entries {
		k := 0
		for j := range free {
			if free[j].Before(free[k]) {
				k = j
			}
		}
		at := free[k].Add(jobOverhead)
		if i > 0 && at.Before(slots[i-1].Add(gap)) {
			at = slots[i-1].Add(gap)
		}
		at = at.Add(time.Second - 1).Truncate(time.Second) // whole seconds, never earlier
		slots[i] = at
		free[k] = at.Add(expectedTest + e.work)
	}
	period := slots[len(slots)-1].Sub(slots[0]) + gap
	period = (period + time.Second - 1).Truncate(time.Second)
	for i, e := range entries {
		sh := amigo.Share{Jobs: jobs, Index: i, Count: len(entries), TestAt: slots[i], Period: period}
		e.t.rep.Slot = sh.String()
	}
	r.log.Infof("fan-out: %d jobs, %d at a time; test slots from %s to %s, the longest expected work first; a job that misses its slot tests %s later (each job gets its slot with --slot)",
		len(entries), jobs, slots[0].UTC().Format(time.RFC3339), slots[len(slots)-1].UTC().Format(time.RFC3339), formatDuration(period))
}

// slotNote says, at the start of a job of a fan-out, when its test goes
// out, and warns when the job has missed its own slot.
func (r *runner) slotNote() {
	sh := r.opts.Share
	if sh == nil {
		return
	}
	now := r.clk.Now()
	next := sh.TestAt
	for next.Add(amigo.DefaultPaceMargin / 2).Before(now) {
		next = next.Add(sh.Period)
	}
	what := fmt.Sprintf("fan-out entry %d of %d, %d jobs at once: its test slot is %s (in %s); every other limit is shared 1/%d",
		sh.Index+1, sh.Count, sh.Jobs, next.UTC().Format(time.RFC3339), formatDuration(next.Sub(now)), sh.Jobs)
	if next.After(sh.TestAt) {
		r.log.Warningf("this job started after its test slot %s (the jobs before it took longer than the plan expected): %s", sh.TestAt.UTC().Format(time.RFC3339), what)
		return
	}
	r.log.Infof("%s", what)
}
