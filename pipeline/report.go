package pipeline

import (
	"encoding/json"
	"time"
)

// Status is the outcome of a tool, a stage of a tool, or a step.
type Status string

const (
	// StatusReleased: the stage published (or found already published) the
	// tested commit and every gate after it passed.
	StatusReleased Status = "released"
	// StatusDone: a step (ensure, test, publish, …) finished; only steps
	// have it. Whether the stage released is the stage's own status.
	StatusDone Status = "done"
	// StatusPlanned: plan mode; the stage would release.
	StatusPlanned Status = "planned"
	// StatusFailed: the stage (or tool) failed; Error says why.
	StatusFailed Status = "failed"
	// StatusBlocked: not started because a stage it needs failed, or the run
	// was halted (on_failure: halt, --fail-fast).
	StatusBlocked Status = "blocked"
	// StatusSkipped: skipped by configuration (skip_stages, tool filter).
	StatusSkipped Status = "skipped"
	// StatusNoRelease: the project changed but no commit warrants a release.
	StatusNoRelease Status = "no-release"
	// StatusRemoved: the project's directory was deleted; never published.
	StatusRemoved Status = "removed"
	// StatusUpToDate: the stage already serves the head commit (a rerun).
	StatusUpToDate Status = "up-to-date"
	// StatusPending: not reached (the run was interrupted or cancelled, or
	// could not start); a rerun does it.
	StatusPending Status = "pending"
	// StatusUnknown: a publish was sent and its answer never came (the run
	// was interrupted while it was in flight, or the server may still be
	// building it): whether the version exists is not known. A rerun looks
	// for a version of the commit before publishing, so nothing is
	// published twice.
	StatusUnknown Status = "unknown"
)

// Report is the result of one run or plan: tool × stage. It is what the
// faces render (PR comment, job summary, outputs) and what --report-json
// writes.
type Report struct {
	Mode       string    `json:"mode"` // "run" or "plan"
	DryRun     bool      `json:"dry_run,omitempty"`
	Repo       string    `json:"repo,omitempty"`
	Head       string    `json:"head"`
	Branch     string    `json:"branch,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Stages lists the plan's stage names in DAG order, for table columns.
	Stages   []StageInfo  `json:"stages"`
	Tools    []ToolReport `json:"tools"`
	Warnings []string     `json:"warnings,omitempty"`
	// Stats counts what the run did against the API (zero in plan mode).
	Stats Stats `json:"stats"`
	// Error is set when the run could not complete at all (bad config,
	// cancelled); per-tool failures live in Tools.
	Error string `json:"error,omitempty"`
	// Interrupted is set when SIGINT or SIGTERM stopped the run: the
	// statuses say what is done, pending and unknown.
	Interrupted bool `json:"interrupted,omitempty"`
	// Learned is what this run (and, for what it did not touch, the
	// history it was given) learned that makes the next run faster: each
	// tool's publish durations and its id on each server. The next run's
	// --history reads it.
	Learned *Learned `json:"learned,omitempty"`
}

// Stats counts the run's API work and how it recovered from faults.
type Stats struct {
	// PublishAttempts is how many publish calls were sent.
	PublishAttempts int `json:"publish_attempts"`
	// PublishRetries counts publishes sent again after a 409, 429, 503 or
	// a lost answer.
	PublishRetries int `json:"publish_retries"`
	// Reconciled counts lost publish answers resolved by finding the
	// version pinned to the commit (instead of publishing again).
	Reconciled int `json:"reconciled"`
	// CapPrunes counts versions deprecated to make room after a publish was
	// refused for too many active versions.
	CapPrunes int `json:"cap_prunes"`
	// Pruned counts versions deprecated beyond the active caps (CapPrunes
	// included).
	Pruned int `json:"pruned"`
	// Tests counts test-tool calls that returned results.
	Tests int `json:"tests"`
	// Withdrawn counts versions deprecated at once (StageReport.Withdrawn).
	Withdrawn int `json:"withdrawn"`
	// LastChanceWaits counts 429s that came when a retry budget was spent
	// and were waited out once more (their Retry-After).
	LastChanceWaits int `json:"last_chance_waits"`
}

// StageInfo describes one stage of the plan.
type StageInfo struct {
	Name    string   `json:"name"`
	Region  string   `json:"region,omitempty"`
	BaseURL string   `json:"base_url"`
	Needs   []string `json:"needs,omitempty"`
}

// ToolReport is one changed project.
type ToolReport struct {
	Name    string          `json:"name"`
	Path    string          `json:"path"`
	Bump    string          `json:"bump"` // major|minor|patch, or "" for none
	Reason  string          `json:"reason"`
	Base    string          `json:"base,omitempty"`
	Head    string          `json:"head"`
	Commits []CommitSummary `json:"commits,omitempty"`
	Status  Status          `json:"status"`
	Stages  []StageReport   `json:"stages,omitempty"`
	// Drift is set when stages serve different version numbers for the same
	// commit (each server numbers its own versions).
	Drift string `json:"drift,omitempty"`
	// Slot and Lane are the tool's place in a fan-out (a plan with
	// Options.FanOut): its lane (from 1; one matrix job each) and that
	// lane's --slot, amigo.Share's text.
	Slot string `json:"slot,omitempty"`
	Lane int    `json:"lane,omitempty"`
	// Record is what the run left in the repository for the version the
	// first stage serves (tag, release); nil when nothing was asked.
	Record   *RecordReport `json:"record,omitempty"`
	Error    string        `json:"error,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
}

// CommitSummary is one commit attributed to a tool.
type CommitSummary struct {
	SHA      string `json:"sha"`
	Subject  string `json:"subject"`
	Type     string `json:"type,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Breaking bool   `json:"breaking,omitempty"`
	Bump     string `json:"bump,omitempty"`
	// Note says why the commit's bump was cancelled (a revert in range).
	Note string `json:"note,omitempty"`
}

// StageReport is one tool in one stage.
type StageReport struct {
	Stage         string `json:"stage"`
	Region        string `json:"region,omitempty"`
	Status        Status `json:"status"`
	VersionBefore string `json:"version_before,omitempty"`
	VersionAfter  string `json:"version_after,omitempty"`
	// Bump is the bump this stage published (or would publish) with: the
	// tool's, or major where the tool has no version yet in this stage.
	Bump       string `json:"bump,omitempty"`
	CommitHash string `json:"commit_hash,omitempty"`
	Attempts   int    `json:"attempts"` // publish attempts
	// Duration runs from the stage's start until it was done for the
	// stages that need it (soak included, the prune after it not).
	Duration  time.Duration `json:"duration_ns"`
	StartedAt time.Time     `json:"started_at,omitzero"`
	Steps     []StepReport  `json:"steps,omitempty"`
	Tests     []TestResult  `json:"tests,omitempty"`
	Smoke     []TestResult  `json:"smoke,omitempty"`
	Pruned    []string      `json:"pruned,omitempty"`
	// Withdrawn lists versions this stage deprecated at once: built from
	// another commit than the tested one (the branch moved during the
	// release), or a second version of the commit that a race with an
	// earlier publish of it let through.
	Withdrawn []string `json:"withdrawn,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// StepReport is one step of a stage (ensure, envvars, test, publish, verify,
// smoke, soak, prune). Its Status is StatusDone, StatusFailed or
// StatusPlanned: a step does not release, its stage does.
type StepReport struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Attempts int           `json:"attempts,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// TestResult is the outcome of one input of a test or smoke invocation.
type TestResult struct {
	Input         int      `json:"input"`
	Succeeded     bool     `json:"succeeded"`
	Output        string   `json:"output,omitempty"`
	ExceptionType string   `json:"exception_type,omitempty"`
	Message       string   `json:"message,omitempty"`
	StackTrace    []string `json:"stack_trace,omitempty"`
	DurationMS    int64    `json:"duration_ms"`
}

// OK reports whether everything that should have released did: no tool
// failed or was blocked, and the run itself did not error.
func (r *Report) OK() bool {
	if r.Error != "" {
		return false
	}
	for _, t := range r.Tools {
		if t.Status == StatusFailed || t.Status == StatusBlocked || t.Status == StatusPending || t.Status == StatusUnknown {
			return false
		}
	}
	return true
}

// JSON is the report as --report-json writes it: indented, ending with a
// newline. The CLI writes it through the process's exit (internal/egress),
// which masks secrets in every string; no package writes it elsewhere.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
