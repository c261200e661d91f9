package pipeline

import (
	"fmt"
	"sort"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// Fan-out (DESIGN §7, "Shared limits are shared"): a CI matrix whose jobs
// use the same credentials shares one set of rate limits, per user and
// endpoint on each server, and test-tool allows one call a minute. The
// jobs cannot talk to each other, so the plan divides the limits between
// them up front. It deals the tools that would release, in the order a
// single run would test them, to at most Jobs lanes (one matrix job each;
// a lane per tool when there are no more tools than jobs): tool k to lane
// k mod lanes. Each lane gets a Share (amigo.Share, ToolReport.Slot): test
// slots of its own, lane j's at the schedule's start plus j minutes and
// every lanes minutes from then on, and a 1/lanes part of every other
// limit, from the time the plan's own requests have left every window. Its pacer keeps to them, and its test queue takes its tools, most
// work left first, one a slot. Together the lanes test one tool a minute,
// as a single run does, in nearly the same order; no two jobs ever share a
// slot, however the CI schedules them, and a lane that starts late takes
// its next slot, at most lanes minutes on. Fan-out gives isolation and
// per-lane logs; it cannot test faster than one run does.

// FanOut asks a plan for the schedule of a fan-out: every tool that would
// release gets its lane's slot (ToolReport.Slot, ToolReport.Lane).
type FanOut struct {
	// Jobs is how many jobs of the matrix run at once (its max-parallel):
	// 1 to MaxFanOutJobs. There are as many lanes, or fewer when fewer
	// tools release.
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
const DefaultFanOutLead = 2 * time.Minute

// assignSlots deals the tools that would release to the lanes and gives
// each its lane's slot (see FanOut).
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
	lanes := min(fo.Jobs, len(entries))
	lead := fo.Lead
	if lead <= 0 {
		lead = DefaultFanOutLead
	}
	// Whole seconds, a minute and the pacer's margin at least.
	gap := (time.Minute + amigo.DefaultPaceMargin + time.Second - 1).Truncate(time.Second)
	now := r.clk.Now()
	start := now.Add(lead).Truncate(time.Second).Add(time.Second)
	// The plan's own reads count against the same limits: the lanes send
	// nothing before they have left every window.
	quiet := now.Add(time.Minute + amigo.DefaultPaceMargin + time.Second).Truncate(time.Second)
	if quiet.After(start) {
		quiet = start
	}
	for k, e := range entries {
		lane := k % lanes
		sh := amigo.Share{Jobs: lanes, Index: lane, Count: lanes, TestAt: start.Add(time.Duration(lane) * gap), Period: time.Duration(lanes) * gap, From: quiet}
		e.t.rep.Slot = sh.String()
		e.t.rep.Lane = lane + 1
	}
	r.log.Infof("fan-out: %d tools in %d lanes (one matrix job each, %d at once), the longest expected work first, dealt in turn; lane N tests at %s plus N-1 minutes, then every %s",
		len(entries), lanes, lanes, start.UTC().Format(time.RFC3339), formatDuration(time.Duration(lanes)*gap))
}

// slotNote says, at the start of a fan-out's job, when its lane's first
// test slot is, and notes when the job started after the schedule's first
// slot for it (it then takes the next one, at most a round later).
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
	what := fmt.Sprintf("fan-out lane %d of %d: its tests go out in its slots, from %s (in %s) every %s; every other limit is shared 1/%d",
		sh.Index+1, sh.Count, next.UTC().Format(time.RFC3339), formatDuration(next.Sub(now)), formatDuration(sh.Period), sh.Jobs)
	if next.After(sh.TestAt) {
		what += fmt.Sprintf(" (it started after its first slot, %s)", sh.TestAt.UTC().Format(time.RFC3339))
	}
	r.log.Infof("%s", what)
}
