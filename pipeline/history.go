package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/promote"
)

// Learned is what runs learned that makes the next one faster, kept in the
// report (Report.Learned) and read back by the next run (Options.History,
// --history): how long each tool's publishes take, to order the tests, and
// each tool's id on each server, to look the tools up by id instead of
// paging through the organization's whole list. A run keeps what earlier
// runs learned for the tools and stages it did not touch. Nothing in it is
// taken on trust: an id is only used once the server has returned that
// tool under that name.
type Learned struct {
	// Publish is how long each tool's last publish took in each stage (its
	// build there), from the call to the answer.
	Publish map[string]map[string]time.Duration `json:"publish_ns"`
	// ToolIDs is each tool's id on each server, by server (base URL and
	// organization: serverOrg) and tool name.
	ToolIDs map[string]map[string]string `json:"tool_ids,omitempty"`
}

// MaxHistorySize bounds a history file (a report JSON): a report of a
// thousand tools with their commits and test outputs fits well within it.
const MaxHistorySize = 16 << 20

// maxHistoryTools bounds the tools a history keeps (each with a duration
// per stage).
const maxHistoryTools = 10000

// History is what an earlier run's report says about how long each tool's
// publishes take: the test queue takes first the tools whose remaining
// work is the longest by these durations.
type History struct {
	// File names where it was read from, for messages.
	File    string
	timings Learned
}

// ToolID returns the id the history knows for tool on server (serverOrg).
func (h *History) ToolID(server, tool string) (string, bool) {
	if h == nil {
		return "", false
	}
	id, ok := h.timings.ToolIDs[server][tool]
	return id, ok && id != ""
}

// Publish returns how long tool's publish took in stage, if known.
func (h *History) Publish(tool, stage string) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	d, ok := h.timings.Publish[tool][stage]
	return d, ok && d > 0
}

// Tools is how many tools the history knows.
func (h *History) Tools() int {
	if h == nil {
		return 0
	}
	return len(h.timings.Publish)
}

// Merge adds what o knows to h; where both know a tool's duration or id,
// o's wins (o is the newer). The tool count stays bounded.
func (h *History) Merge(o *History) {
	if h == nil || o == nil {
		return
	}
	for tool, byStage := range o.timings.Publish {
		if h.timings.Publish[tool] == nil {
			if len(h.timings.Publish) >= maxHistoryTools {
				continue
			}
			h.timings.Publish[tool] = map[string]time.Duration{}
		}
		maps.Copy(h.timings.Publish[tool], byStage)
	}
	for server, ids := range o.timings.ToolIDs {
		if h.timings.ToolIDs[server] == nil {
			if len(h.timings.ToolIDs) >= maxHistoryTools {
				continue
			}
			h.timings.ToolIDs[server] = map[string]string{}
		}
		for tool, id := range ids {
			if len(h.timings.ToolIDs[server]) < maxHistoryTools || h.timings.ToolIDs[server][tool] != "" {
				h.timings.ToolIDs[server][tool] = id
			}
		}
	}
	if o.File != "" {
		h.File = strings.TrimPrefix(h.File+", "+o.File, ", ")
	}
}

// Learned is all the history knows, as a report keeps it: a run that ends
// before it has learned anything still hands it on (nil when it is empty).
func (h *History) Learned() *Learned {
	if h == nil || len(h.timings.Publish) == 0 && len(h.timings.ToolIDs) == 0 {
		return nil
	}
	out := &Learned{Publish: map[string]map[string]time.Duration{}, ToolIDs: map[string]map[string]string{}}
	for tool, byStage := range h.timings.Publish {
		out.Publish[tool] = maps.Clone(byStage)
	}
	for server, ids := range h.timings.ToolIDs {
		out.ToolIDs[server] = maps.Clone(ids)
	}
	return out
}

// NewHistory is an empty history, to Merge others into.
func NewHistory() *History {
	return &History{timings: Learned{Publish: map[string]map[string]time.Duration{}, ToolIDs: map[string]map[string]string{}}}
}

// ReadHistory reads an earlier run's report JSON (--report-json) as
// history: its timings, or, in a report from before they were kept, the
// durations of its publish steps. name is the file's name for errors; at
// most MaxHistorySize bytes are read. A report that measured nothing
// (a plan, a run that published nothing) is an empty history.
func ReadHistory(name string, r io.Reader) (*History, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxHistorySize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxHistorySize {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most a history (a report JSON) may be: point --history at the report of the previous run", name, MaxHistorySize>>20)
	}
	var rep struct {
		Learned *Learned `json:"learned"`
		Tools   []struct {
			Name   string `json:"name"`
			Stages []struct {
				Stage string `json:"stage"`
				Steps []struct {
					Name     string        `json:"name"`
					Status   Status        `json:"status"`
					Attempts int           `json:"attempts"`
					Duration time.Duration `json:"duration_ns"`
				} `json:"steps"`
			} `json:"stages"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: not a report JSON (byte %d: %v): point --history at a file that --report-json wrote", name, se.Offset, err)
		}
		return nil, fmt.Errorf("%s: not a report JSON (%v): point --history at a file that --report-json wrote", name, err)
	}
	h := &History{File: name, timings: Learned{Publish: map[string]map[string]time.Duration{}, ToolIDs: map[string]map[string]string{}}}
	add := func(tool, stage string, d time.Duration) {
		if d <= 0 || tool == "" || stage == "" || len(h.timings.Publish) >= maxHistoryTools && h.timings.Publish[tool] == nil {
			return
		}
		if h.timings.Publish[tool] == nil {
			h.timings.Publish[tool] = map[string]time.Duration{}
		}
		h.timings.Publish[tool][stage] = d
	}
	if rep.Learned != nil {
		for _, tool := range slices.Sorted(maps.Keys(rep.Learned.Publish)) {
			for stage, d := range rep.Learned.Publish[tool] {
				add(tool, stage, d)
			}
		}
		for _, server := range slices.Sorted(maps.Keys(rep.Learned.ToolIDs)) {
			ids := map[string]string{}
			for tool, id := range rep.Learned.ToolIDs[server] {
				if amigo.ValidToolID(id) && len(ids) < maxHistoryTools {
					ids[tool] = id
				}
			}
			if len(h.timings.ToolIDs) < maxHistoryTools {
				h.timings.ToolIDs[server] = ids
			}
		}
		return h, nil
	}
	for _, t := range rep.Tools {
		for _, s := range t.Stages {
			for _, st := range s.Steps {
				if st.Name == "publish" && st.Status == StatusReleased && st.Attempts == 1 {
					add(t.Name, s.Stage, st.Duration)
				}
			}
		}
	}
	return h, nil
}

// learned is what the run's report keeps for the next run: what this run
// measured and saw, and from the history what it did not, for the
// projects that still exist (all of them when the run ended before it
// knew the projects: nil) and the plan's stages and servers.
func (r *runner) learned(projects []string) *Learned {
	out := &Learned{Publish: map[string]map[string]time.Duration{}, ToolIDs: map[string]map[string]string{}}
	keep := func(tool string) bool { return projects == nil || slices.Contains(projects, tool) }
	stageOK, serverOK := map[string]bool{}, map[string]bool{}
	for _, st := range r.order {
		stageOK[st.Name] = true
		serverOK[serverOrg(st)] = true
	}
	setD := func(tool, stage string, d time.Duration) {
		if out.Publish[tool] == nil {
			out.Publish[tool] = map[string]time.Duration{}
		}
		out.Publish[tool][stage] = d
	}
	setID := func(server, tool, id string) {
		if out.ToolIDs[server] == nil {
			out.ToolIDs[server] = map[string]string{}
		}
		out.ToolIDs[server][tool] = id
	}
	if h := r.opts.History; h != nil {
		for tool, byStage := range h.timings.Publish {
			for stage, d := range byStage {
				if keep(tool) && stageOK[stage] && d > 0 {
					setD(tool, stage, d)
				}
			}
		}
		for server, ids := range h.timings.ToolIDs {
			for tool, id := range ids {
				if keep(tool) && serverOK[server] {
					setID(server, tool, id)
				}
			}
		}
	}
	r.measuredMu.Lock()
	defer r.measuredMu.Unlock()
	for tool, byStage := range r.measured {
		for stage, d := range byStage {
			setD(tool, stage, d)
		}
	}
	for server, ids := range r.seenIDs {
		for tool, id := range ids {
			if keep(tool) {
				setID(server, tool, id)
			}
		}
	}
	if len(out.Publish) == 0 && len(out.ToolIDs) == 0 {
		return nil
	}
	return out
}

// sawTool records tool's id on st's server (the analysis listed it, or
// ensure created it), for the next run.
func (r *runner) sawTool(st promote.Stage, tool, id string) {
	if id == "" {
		return
	}
	r.measuredMu.Lock()
	defer r.measuredMu.Unlock()
	if r.seenIDs == nil {
		r.seenIDs = map[string]map[string]string{}
	}
	k := serverOrg(st)
	if r.seenIDs[k] == nil {
		r.seenIDs[k] = map[string]string{}
	}
	r.seenIDs[k][tool] = id
}

// serverOrg names a stage's server and organization, where tool ids hold.
func serverOrg(st promote.Stage) string { return serverKey(st.BaseURL) + " " + st.Organization }

// measure records how long tool's publish took in stage.
func (r *runner) measure(tool, stage string, d time.Duration) {
	if d <= 0 {
		return
	}
	r.measuredMu.Lock()
	defer r.measuredMu.Unlock()
	if r.measured == nil {
		r.measured = map[string]map[string]time.Duration{}
	}
	if r.measured[tool] == nil {
		r.measured[tool] = map[string]time.Duration{}
	}
	r.measured[tool][stage] = d
}

// estimator says how long a tool's publish in a stage is expected to take:
// what the history measured for it; for a tool the history does not know,
// the mean of what it measured in that stage; else a typical publish.
type estimator struct {
	h    *History
	mean map[string]time.Duration
}

func newEstimator(h *History, order []promote.Stage) estimator {
	e := estimator{h: h, mean: map[string]time.Duration{}}
	if h == nil {
		return e
	}
	for _, st := range order {
		var sum time.Duration
		n := 0
		for _, tool := range slices.Sorted(maps.Keys(h.timings.Publish)) {
			if d, ok := h.Publish(tool, st.Name); ok {
				sum += d
				n++
			}
		}
		if n > 0 {
			e.mean[st.Name] = sum / time.Duration(n)
		}
	}
	return e
}

// publish is the expected duration of tool's publish in stage.
func (e estimator) publish(tool, stage string) time.Duration {
	if d, ok := e.h.Publish(tool, stage); ok {
		return d
	}
	if d, ok := e.mean[stage]; ok {
		return d
	}
	return typicalPublish
}

// known reports whether the history knows the tool at all.
func (e estimator) known(tool string) bool { return e.h != nil && len(e.h.timings.Publish[tool]) > 0 }

// describe says in a few words what ordered the test queue.
func (e estimator) describe(tools []string) string {
	if e.h == nil {
		return "no history: the tools with the most stages left first, then by name"
	}
	n := 0
	for _, t := range tools {
		if e.known(t) {
			n++
		}
	}
	return fmt.Sprintf("history %s knows %d of %d tools: the longest expected remaining chain of publishes first", e.h.File, n, len(tools))
}
