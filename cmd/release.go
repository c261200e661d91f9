package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

func init() {
	register(command{name: "run", order: 10, summary: "release the changed tools: test, publish, promote through every stage, prune", run: runRun, graceful: true})
	register(command{name: "plan", order: 20, summary: "show what run would release, with read-only API calls (or none: --offline)", run: runPlan, graceful: true})
}

// ReleaseOptions are the flags of `run` and `plan`.
type ReleaseOptions struct {
	// Mode is pipeline.ModeRun, ModePlan or ModeOffline.
	Mode pipeline.Mode
	// Config is the plan file; a relative path is taken from Repo.
	Config string
	// Repo is the git repository (a directory inside its work tree).
	Repo string
	// Base, when set, is every tool's base commit.
	Base string
	// Head is the commit to release (default HEAD).
	Head string
	// Tools limits the release to these tool names (comma-separated).
	Tools string
	// ReportJSON, when set, is where the JSON report is written.
	ReportJSON string
	// DryRun runs the analysis of `run` with read-only calls.
	DryRun bool
	// FailFast stops all work at the first failure.
	FailFast bool
	// TimeScale runs the clock this many times faster than real time; only
	// meaningful against an emulator started with the same --time-scale.
	TimeScale float64
	// Deepen lets change detection fetch missing history from the remote
	// (a shallow clone, a commit force-pushed away); not with --offline.
	Deepen bool
	// Verbose also logs each HTTP call, the settings and the CI event.
	Verbose bool
	// History is an earlier run's report JSON: its publish durations order
	// the test queue, its tool ids spare listing the organization's tools.
	History string
	// FanOutJobs (plan): schedule a fan-out in this many lanes, one matrix
	// entry each with its slot. 0: none.
	FanOutJobs int
	// Slot (run): this job's slot in a fan-out (the matrix entry's slot).
	Slot string

	settings []string // each flag's value and source, for Verbose
}

const runHelp = `Releases every tool project that changed since its last release: for each one and
each stage of the plan (in the order its needs give), ensures the tool exists, syncs its
environment variables, runs the test gate, publishes the version its Conventional
Commits call for, verifies, smoke-tests, soaks and prunes old versions. A failed tool
stops its own later stages; the others go on.

Nothing is created before everything that can be checked is: credentials (signed in
per stage), every from_env variable, names, metadata, and that the commit being
released is the tip of each stage's branch (the API builds the tip, not a commit).
SIGINT or SIGTERM stops it starting work; calls in flight get 7 s (a second signal
ends them), then the report says what is done, pending and unknown.

Amigo credentials come from the environment variables the plan names (default
AMIGO_API_KEY, AMIGO_API_KEY_ID, AMIGO_USER_ID). Inside GitHub Actions or Azure
Pipelines on a pull request, run only plans and posts the preview (an offline one,
with a warning, when the credentials are missing, as on a fork's pull request).`

const planHelp = `Does the analysis of run and reports what it would release, stage by stage, without
any mutating API call: it reads the tools and versions of every stage (so credentials
are needed), or with --offline makes no API call at all (bases then come from --base
or the push event).`

func runRun(ctx context.Context, env *Env, args []string) error {
	o, err := parseReleaseFlags("run", runHelp, env, args)
	if err != nil {
		return err
	}
	return release(ctx, env, o)
}

func runPlan(ctx context.Context, env *Env, args []string) error {
	o, err := parseReleaseFlags("plan", planHelp, env, args)
	if err != nil {
		return err
	}
	return release(ctx, env, o)
}

// parseReleaseFlags defines and parses the flags shared by run and plan.
func parseReleaseFlags(name, help string, env *Env, args []string) (ReleaseOptions, error) {
	o := ReleaseOptions{Mode: pipeline.Mode(name)}
	var offline bool
	f := newFlagSet(name, "[flags]", help, env)
	f.String(&o.Config, "config", "AMIGO_CONFIG", "config", promote.DefaultPath, "FILE", "release plan file, relative to --repo")
	f.String(&o.Repo, "repo", "AMIGO_REPO", "working-directory", ".", "DIR", "git repository to release from")
	f.String(&o.Base, "base", "AMIGO_BASE", "base", "", "REV", "base commit for every tool")
	f.describeDefault("base", "per tool, the commit of its newest release, else the push event's before")
	f.String(&o.Head, "head", "AMIGO_HEAD", "", "HEAD", "REV", "commit to release (run: must be the tip of every stage's branch)")
	f.String(&o.Tools, "tools", "AMIGO_TOOLS", "tools", "", "LIST", "comma-separated tool names to release")
	f.describeDefault("tools", "every changed tool")
	f.String(&o.ReportJSON, "report-json", "AMIGO_REPORT_JSON", "report-json", "", "FILE", "write the JSON report to FILE; - writes it to stdout, and the log and report text then go to stderr")
	if name == "run" {
		f.Bool(&o.DryRun, "dry-run", "AMIGO_DRY_RUN", "dry-run", false, "analyse with read-only API calls and publish nothing")
		f.Bool(&o.FailFast, "fail-fast", "AMIGO_FAIL_FAST", "fail-fast", false, "stop every tool's remaining work at the first failure")
	} else {
		f.Bool(&offline, "offline", "AMIGO_OFFLINE", "", false, "make no API call at all (versions unknown)")
	}
	f.String(&o.History, "history", "AMIGO_HISTORY", "history", "", "FILE", "the previous run's --report-json (comma-separated files, a directory for all its .json files, the later wins): test the longest expected publishes first, look tools up by id; a missing file is no history")
	f.describeDefault("history", "none: the tools with the most stages left first, then by name")
	if name == "plan" {
		f.Int(&o.FanOutJobs, "fan-out-jobs", "AMIGO_FAN_OUT_JOBS", "fan-out-jobs", 0, "N", fmt.Sprintf("schedule a fan-out on the same credentials: deal the tools to N lanes (1 to %d), one matrix entry each, with its slot for --slot (0: one entry per tool, no schedule)", pipeline.MaxFanOutJobs))
	} else {
		f.String(&o.Slot, "slot", "AMIGO_SLOT", "slot", "", "SLOT", "this job's slot in a fan-out: its matrix entry's slot (its tests go out in its lane's slots; the other limits are shared)")
		f.describeDefault("slot", "no fan-out: the whole limits")
	}
	f.Bool(&o.Deepen, "deepen", "AMIGO_DEEPEN", "deepen", true, "fetch missing history from the origin remote (shallow clone, force push); with the CI's token on its own host")
	f.Float(&o.TimeScale, "time-scale", "AMIGO_TIME_SCALE", "", 1, "N", "run the clock N times faster; only for an emulator started with the same --time-scale")
	f.Verbose(&o.Verbose, verboseHelp)
	if err := f.parse(args, env.Stdout); err != nil {
		return o, err
	}
	o.settings = f.settings()
	if o.TimeScale < 1 {
		return o, usageErrorf("--time-scale %g: want a number >= 1 (1 = real time)", o.TimeScale)
	}
	if offline {
		o.Mode = pipeline.ModeOffline
	}
	if o.FanOutJobs < 0 || o.FanOutJobs > pipeline.MaxFanOutJobs {
		return o, usageErrorf("--fan-out-jobs %d: want 1 to %d lanes (jobs at once): one user's limits cannot be shared by more (sign-in allows 5 a minute); give more jobs credentials of their own", o.FanOutJobs, pipeline.MaxFanOutJobs)
	}
	if o.Slot != "" {
		if _, err := amigo.ParseShare(o.Slot); err != nil {
			return o, usageErrorf("--slot %q: %v; pass the slot of the job's matrix entry as plan --fan-out-jobs wrote it", o.Slot, err)
		}
	}
	return o, nil
}

// planPath is the plan file's path: relative paths are taken from the repo.
func (o ReleaseOptions) planPath() string {
	if filepath.IsAbs(o.Config) {
		return o.Config
	}
	return filepath.Join(o.Repo, o.Config)
}

// startError maps an error that stopped the run before any change was made
// (pipeline.Run's error, or loading the plan) to its exit code: a server
// that is not serving (5xx, 429, timeouts, or a documented regional address
// where nothing answers: an outage) is ExitUnavailable; everything else
// (plan, repository, refs, branch tips, credentials, names, settings, and
// a custom base_url where nothing has ever answered: a wrong URL) is the
// user's input to fix, ExitUsage. A run that did not start for several
// problems is ExitUnavailable only when every one is the service's.
// Cancellation is left to Main (ExitInterrupted).
func startError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if se, ok := errors.AsType[*pipeline.StartError](err); ok {
		for _, p := range se.Problems {
			if !unavailable(p.Err) {
				return withCode(ExitUsage, err)
			}
		}
		return withCode(ExitUnavailable, fmt.Errorf("%w\nfix: the service is not serving, not the configuration: check its status and rerun later", err))
	}
	if ue, ok := errors.AsType[*amigo.UnreachableError](err); ok {
		if _, documented := ue.Region(); !documented {
			// Nothing has ever answered at that address: most often a
			// wrong base_url, which is the user's input to fix.
			return withCode(ExitUsage, fmt.Errorf("%w; nothing was published", err))
		}
	}
	if unavailable(err) {
		return withCode(ExitUnavailable, fmt.Errorf("%w; fix: check that the server is up and reachable from here (its URL: the stage's region or base_url), then rerun: nothing was published", err))
	}
	return withCode(ExitUsage, err)
}

// unavailable reports errors that say a server could not be reached or is
// not serving: network errors, timeouts, 408, 429 and 5xx answers, and a
// documented regional address where nothing answers.
func unavailable(err error) bool {
	if ue, ok := errors.AsType[*amigo.UnreachableError](err); ok {
		_, documented := ue.Region()
		return documented
	}
	if ae, ok := errors.AsType[*amigo.APIError](err); ok {
		return ae.StatusCode == 408 || ae.StatusCode == 429 || ae.StatusCode >= 500
	}
	if _, ok := errors.AsType[*amigo.ValidationError](err); ok {
		return false
	}
	if errors.Is(err, promote.ErrInvalid) || errors.Is(err, changes.ErrNotRepo) || errors.Is(err, changes.ErrEmptyRepo) ||
		errors.Is(err, changes.ErrDamaged) || errors.Is(err, changes.ErrUnsupportedRepo) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return true
	}
	return false
}

// release is run and plan: the one path every face (CLI, GitHub Actions,
// Azure Pipelines, the demo) takes. It returns an error carrying the exit
// code.
func release(ctx context.Context, env *Env, o ReleaseOptions) error {
	if o.TimeScale > 1 {
		scaled := *env
		scaled.Clock = clock.NewScaled(o.TimeScale)
		env = &scaled
	}
	env, logVerbose := verbose(env, o)
	f := newFace(env, o)
	// Read first: a report written before the run starts (below) still
	// hands the history on, for --history and --report-json may be one file.
	history, historyNotes := readHistory(o.History)
	if err := f.checkEvent(); err != nil {
		rep := &pipeline.Report{Mode: reportMode(o.Mode), Error: err.Error(), Learned: history.Learned()}
		writeReportJSON(f, o, rep)
		f.publishError(ctx, rep)
		return err
	}
	plan, err := promote.Load(o.planPath())
	if err != nil {
		f.annotateConfigError(err)
		err = fmt.Errorf("load plan: %w", err)
		rep := &pipeline.Report{Mode: reportMode(o.Mode), Error: err.Error(), Learned: history.Learned()}
		writeReportJSON(f, o, rep)
		f.publishError(ctx, rep)
		return startError(err)
	}
	f.mask(pipeline.SecretValues(plan, env.Getenv)...)
	for _, name := range plan.SecretEnvNames() {
		if v := strings.TrimSpace(env.Getenv(name)); v != "" && len(v) < pipeline.MinSecretLength {
			f.logger().Warningf("%s is shorter than %d characters, too short to mask: it may show in logs (masking it would garble them); set it to the real credential", name, pipeline.MinSecretLength)
		}
	}
	logVerbose(f) // after the masks: nothing prints before them
	for _, n := range historyNotes {
		n(f.logger())
	}
	if o.Mode == pipeline.ModeRun && f.isPullRequest() {
		f.logger().Infof("pull request event: planning only (nothing is published on pull requests)")
		o.Mode = pipeline.ModePlan
	}
	if o.Mode == pipeline.ModePlan && f.isPullRequest() {
		if err := plan.CheckCredentials(env.Getenv); err != nil {
			// A pull request from a fork gets no secrets: preview what can
			// be known without the API rather than fail the check.
			f.logger().Warningf("pull request without Amigo credentials (a fork's pull request gets no secrets): an offline preview, without versions (%v)", err)
			o.Mode = pipeline.ModeOffline
		}
	}
	var share *amigo.Share
	if o.Slot != "" {
		share, _ = amigo.ParseShare(o.Slot) // checked by parseReleaseFlags
	}
	var fanOut *pipeline.FanOut
	if o.FanOutJobs > 0 && o.Mode != pipeline.ModeRun {
		fanOut = &pipeline.FanOut{Jobs: o.FanOutJobs}
	}
	opts := pipeline.Options{
		History:     history,
		Share:       share,
		FanOut:      fanOut,
		Plan:        plan,
		RepoPath:    o.Repo,
		Head:        o.Head,
		Base:        o.Base,
		EventBefore: f.eventBefore(),
		Tools:       splitList(o.Tools),
		FailFast:    o.FailFast,
		Mode:        o.Mode,
		DryRun:      o.DryRun,
		Clock:       env.Clock,
		Getenv:      env.Getenv,
		Clients:     pipeline.DefaultClientFactory(pipeline.ClientConfig{Getenv: env.Getenv, Clock: env.Clock, HTTPClient: env.HTTPClient, PublishTimeout: plan.Publish.Timeout, Share: share}),
		Logger:      f.logger(),
		OnSecrets:   func(v []string) { f.mask(v...) },
		Records:     f.recorder(plan), // records.go: tags and GitHub Releases (plan key records)
		Stop:        env.stop,
	}
	if o.Mode != pipeline.ModeOffline {
		// The branch-tip check reads origin with the CI's token (sent only
		// to its own host), and so does deepening when it is on.
		opts.Remote = f.deepenOptions()
		if o.Deepen {
			opts.Deepen = opts.Remote
		}
	}
	run := pipeline.Run
	if o.Mode != pipeline.ModeRun {
		run = pipeline.Preview // never a mutating call, whatever else is set
	}
	rep, runErr := run(ctx, opts)
	interrupted := rep.Interrupted || ctx.Err() != nil
	if interrupted {
		// The runner kills the process soon after its second signal: what
		// is left to write gets a short deadline of its own.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), reportGrace)
		defer cancel()
	}
	if runErr != nil {
		f.annotateConfigError(runErr)
	}
	writeReportJSON(f, o, rep)
	if runErr != nil {
		// Nothing was done: the error (printed once, by Main) is the whole
		// story; CI outputs still say so.
		f.publishError(ctx, rep)
		return startError(runErr)
	}
	f.publish(ctx, rep)
	if !rep.OK() && interrupted {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted: %s; rerun the same command to finish what is left (nothing is published twice)", failureSummary(rep)))
	}
	if !rep.OK() {
		return withCode(ExitFailed, errors.New(failureSummary(rep)))
	}
	return nil
}

// Bounds of --history: how many report files (a directory's count) and
// how many bytes in all it reads (each file at most
// pipeline.MaxHistorySize).
const (
	maxHistoryFiles = 2000
	maxHistoryBytes = 4 * pipeline.MaxHistorySize
)

// readHistory reads --history: earlier runs' report JSON files,
// comma-separated, a directory meaning every .json file below it (the
// reports of a fan-out's jobs); what a later one says wins. History only
// speeds a release up, so a path that is not there (the first run, a
// cache not restored) is no history, and a file that cannot be read is a
// warning, not a failed release.
//
// It logs nothing itself (it runs before the secrets are masked): the
// returned notes log what it found.
func readHistory(list string) (*pipeline.History, []func(pipeline.Logger)) {
	var notes []func(pipeline.Logger)
	info := func(format string, args ...any) {
		notes = append(notes, func(l pipeline.Logger) { l.Infof(format, args...) })
	}
	warn := func(format string, args ...any) {
		notes = append(notes, func(l pipeline.Logger) { l.Warningf(format, args...) })
	}
	if list == "" {
		return nil, nil
	}
	var files []string
	for _, path := range splitList(list) {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			info("--history %s: no such file (the first run, or the cache was not restored)", path)
		case err != nil:
			warn("--history %s: %v; going on without it", path, err)
		case fi.IsDir():
			_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
					files = append(files, p)
				}
				if len(files) > maxHistoryFiles {
					return filepath.SkipAll
				}
				return nil
			})
		default:
			files = append(files, path)
		}
	}
	if len(files) > maxHistoryFiles {
		warn("--history %s: more than %d report files; going on without history (point it at the previous run's reports only)", list, maxHistoryFiles)
		return nil, notes
	}
	var h *pipeline.History
	total := int64(0)
	for _, path := range files {
		file, err := os.Open(path)
		if err != nil {
			warn("--history %s: %v; going on without it", path, err)
			continue
		}
		if fi, err := file.Stat(); err == nil {
			total += fi.Size()
		}
		if total > maxHistoryBytes {
			file.Close()
			warn("--history %s: more than %d MiB of reports in all; going on with the files before %s", list, maxHistoryBytes>>20, path)
			break
		}
		one, err := pipeline.ReadHistory(path, file)
		file.Close()
		if err != nil {
			warn("%v; going on without it", err)
			continue
		}
		if h == nil {
			h = pipeline.NewHistory()
		}
		h.Merge(one)
	}
	if h == nil {
		info("no history: the tests go out in the plan's order (the most stages left first, then by name)")
	}
	return h, notes
}

// writeReportJSON writes --report-json, also for runs that could not
// start (the report then carries only the error), so CI artifacts exist.
func writeReportJSON(f *face, o ReleaseOptions, rep *pipeline.Report) {
	if o.ReportJSON == "" {
		return
	}
	path, err := emitReportJSON(f.env, o.ReportJSON, rep)
	if err != nil {
		f.logger().Warningf("write --report-json %s: %v", o.ReportJSON, err)
		return
	}
	f.reportPath = path
}

// reportMode is the Report.Mode of a release mode: offline plans are plans.
func reportMode(m pipeline.Mode) string {
	if m == pipeline.ModeOffline {
		return string(pipeline.ModePlan)
	}
	return string(m)
}

// failureSummary is the one-line error for a run where tools failed or
// did not finish: what is done, failed, pending and unknown.
func failureSummary(rep *pipeline.Report) string {
	var released, failed, blocked, pending, unknown int
	for _, t := range rep.Tools {
		switch t.Status {
		case pipeline.StatusReleased, pipeline.StatusUpToDate:
			released++
		case pipeline.StatusFailed:
			failed++
		case pipeline.StatusBlocked:
			blocked++
		case pipeline.StatusPending:
			pending++
		case pipeline.StatusUnknown:
			unknown++
		}
	}
	msg := fmt.Sprintf("%d tool(s) failed, %d blocked, %d not finished", failed, blocked, pending)
	if unknown > 0 {
		msg += fmt.Sprintf(", %d with a publish whose outcome is unknown (it was in flight: a rerun finds the version or publishes it)", unknown)
	}
	return msg + fmt.Sprintf("; %d released (see the report above)", released)
}
