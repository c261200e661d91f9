package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
	"github.com/amigo-release/amigo-release/promote"
	"github.com/amigo-release/amigo-release/report"
)

// face is how one release meets its user through package platform: the
// log (workflow commands on GitHub and Azure, plain lines on a terminal),
// masks, the triggering event, and where the report ends up (terminal
// text, step outputs, job summary, the sticky pull request comment).
type face struct {
	env   *Env
	p     platform.Platform
	ev    platform.Event
	evErr error
	o     ReleaseOptions
	// reportPath is the absolute path of the JSON report file written
	// (the report-json output), "" when none was.
	reportPath string
	notes      linkState // the release notes' links (records.go)
}

// newFace detects the platform. In a CI the log goes to stdout (the
// runners read workflow commands there); on a terminal the log goes to
// stderr and the report to stdout, so `plan > plan.txt` keeps only the plan.
// With --report-json - the JSON report owns stdout: the log goes to stderr
// everywhere (GitHub's runner and Azure's agent read workflow commands on
// both streams) and so does the report text.
func newFace(env *Env, o ReleaseOptions) *face {
	if env.exit == nil {
		env.fill()
	}
	if o.reportToStdout() {
		env.exit.DataOnStdout()
	}
	p := platform.Detect(env.Getenv, platform.WithExit(env.exit), platform.WithHTTPClient(env.HTTPClient))
	f := &face{env: env, p: p, o: o}
	// The CI tokens are secrets too: mask them before anything prints.
	f.mask(p.Input("github-token"), env.Getenv("GITHUB_TOKEN"), env.Getenv("SYSTEM_ACCESSTOKEN"))
	f.ev, f.evErr = p.Event()
	return f
}

func inCI(getenv func(string) string) bool {
	return getenv("GITHUB_ACTIONS") == "true" || strings.EqualFold(getenv("TF_BUILD"), "true")
}

// logger is the pipeline's view of the platform.
func (f *face) logger() pipeline.Logger { return f.p }

// mask hides secret values from every later line, before anything prints.
func (f *face) mask(values ...string) {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			f.p.Mask(v)
		}
	}
}

// deepenOptions says how change detection may fetch missing history from
// origin: in GitHub Actions with the job's token, sent only to the GitHub
// server's host; in Azure Pipelines with SYSTEM_ACCESSTOKEN, only to the
// collection's host; elsewhere with no credentials (git's own ssh agent
// or a public remote).
func (f *face) deepenOptions() *changes.DeepenOptions {
	get := f.env.Getenv
	switch {
	case get("GITHUB_ACTIONS") == "true":
		token := f.p.Input("github-token")
		if token == "" {
			token = get("GITHUB_TOKEN")
		}
		server := get("GITHUB_SERVER_URL")
		if server == "" {
			server = "https://github.com"
		}
		if token != "" {
			return &changes.DeepenOptions{Username: "x-access-token", Password: token, Host: hostOf(server)}
		}
	case strings.EqualFold(get("TF_BUILD"), "true"):
		if token := get("SYSTEM_ACCESSTOKEN"); token != "" {
			return &changes.DeepenOptions{Username: "build", Password: token, Host: hostOf(get("SYSTEM_COLLECTIONURI"))}
		}
	}
	return &changes.DeepenOptions{}
}

// hostOf is the host of a URL. For a URL without one it returns the
// reserved, never-matching "invalid.invalid", so the credentials go
// nowhere (an empty DeepenOptions.Host would mean any host).
func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "invalid.invalid"
	}
	return u.Hostname()
}

// isPullRequest reports a pull request build: nothing is published then.
func (f *face) isPullRequest() bool { return f.ev.Kind == platform.PullRequest }

// eventBefore is the commit before the push (or the pull request's base),
// the pipeline's fallback base for a tool with no release in local history.
func (f *face) eventBefore() string { return f.ev.Before }

// checkEvent turns an unreadable event payload into a usage error: without
// it the bot cannot tell a pull request from a push, so it must not run.
func (f *face) checkEvent() error {
	if f.evErr != nil {
		return usageErrorf("read the CI event: %v", f.evErr)
	}
	return nil
}

// annotateConfigError makes an error that stopped the run an annotation in
// a CI: plan-file problems on their file and line (the annotation lands on
// the file in the pull request), anything else as one annotation of its
// own. On a terminal the error itself, printed by Main, already names the
// file, line and fix: an annotation would print it a second time.
func (f *face) annotateConfigError(err error) {
	if !inCI(f.env.Getenv) {
		return
	}
	if se, ok := errors.AsType[*pipeline.StartError](err); ok {
		// One annotation per problem, as the error has one line each.
		for _, p := range se.Problems {
			f.annotateProblem(p.Err, p.Error())
		}
		return
	}
	f.annotateProblem(err, err.Error())
}

// annotateProblem annotates one error: plan and metadata problems on their
// file and line (the annotation lands on the file in the pull request),
// anything else as one annotation of its own, saying text.
func (f *face) annotateProblem(err error, text string) {
	if pr, ok := errors.AsType[*changes.Problem](err); ok {
		// A project that cannot be a tool: on its pyproject.toml (already
		// relative to the repository), the text without the file again.
		where := strings.TrimSuffix(pr.Error(), pr.Message)
		f.p.Annotate(platform.Annotation{Level: platform.LevelError, File: pr.Pyproject, Line: pr.Line,
			Title: "amigo-release: not a tool project", Message: strings.TrimPrefix(text, where)})
		return
	}
	if _, ok := errors.AsType[*changes.OptionError](err); ok {
		f.p.Annotate(platform.Annotation{Level: platform.LevelError, File: f.repoRelative(f.o.planPath()),
			Title: "amigo-release: invalid configuration", Message: strings.TrimPrefix(text, f.o.planPath()+": ")})
		return
	}
	var list []*promote.Error
	if pe, ok := errors.AsType[*promote.Error](err); ok {
		list = append(list, pe)
	}
	if pes, ok := errors.AsType[promote.Errors](err); ok {
		list = append(list[:0], pes...)
	}
	if len(list) == 0 {
		// Not the plan's fault (a repository, a revision, a server): one
		// annotation without a file, so the failed step says why.
		f.p.Annotate(platform.Annotation{Level: platform.LevelError, Title: "amigo-release: the release could not start", Message: text})
		return
	}
	for _, e := range list {
		msg := e.Msg
		if e.Path != "" {
			msg = e.Path + ": " + msg
		}
		if e.Fix != "" {
			msg += "; fix: " + e.Fix
		}
		f.p.Annotate(platform.Annotation{Level: platform.LevelError, File: f.repoRelative(e.File), Line: e.Line, Col: e.Column,
			Title: "amigo-release: invalid configuration", Message: msg})
	}
}

// repoRelative makes a path relative to the repository root, as the CI
// annotations want; paths outside it stay as they are.
func (f *face) repoRelative(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	root, err := filepath.Abs(f.o.Repo)
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	return filepath.ToSlash(rel)
}

// commentKey names this release's sticky comment: one per plan file and
// tool filter, so fan-out jobs and per-environment plans do not overwrite
// each other, while a pull request's preview and the merge's release (same
// plan, same filter) share one comment.
func (f *face) commentKey() string {
	key := f.o.Config
	if f.o.Tools != "" {
		key += "/" + strings.Join(splitList(f.o.Tools), "+")
	}
	return key
}

// publish renders the report everywhere it goes. Problems here are
// warnings: the release itself is done.
func (f *face) publish(ctx context.Context, rep *pipeline.Report) {
	text := renderText(rep)
	switch {
	case inCI(f.env.Getenv):
		f.p.Print(text)
	case f.o.reportToStdout():
		fmt.Fprint(f.env.Stderr, text)
	default:
		fmt.Fprint(f.env.Stdout, text)
	}
	platform.AnnotateFailures(f.p, rep)
	f.writeOutputs(rep)
	links := f.reportLinks(ctx, rep) // records.go: commit and pull request links of the notes
	if err := f.p.Summary(report.SummaryWith(rep, report.Options{Links: links})); err != nil {
		f.p.Warningf("job summary: %v", err)
	}
	if f.wantsComment(rep) {
		key := f.commentKey()
		body := report.Markdown(rep, report.Options{RunURL: f.p.RunURL(), Marker: key, Preview: f.isPullRequest(), MaxBytes: f.p.CommentLimit(), Links: links})
		res, err := f.p.PostComment(ctx, report.Marker(key), body)
		for _, w := range res.Warnings {
			f.p.Warningf("%s", w)
		}
		if err != nil {
			f.p.Warningf("pull request comment: %v", err)
		}
		for _, c := range res.Comments {
			verb := "updated"
			if c.Created {
				verb = "posted"
			}
			f.p.Infof("%s the comment on pull request #%d: %s", verb, c.PR, c.URL)
		}
	}
	f.complete(rep.OK(), len(rep.Warnings) > 0)
}

// wantsComment: previews on pull requests, results on pushes (a real
// run, not a dry run or a plan).
func (f *face) wantsComment(rep *pipeline.Report) bool {
	switch f.ev.Kind {
	case platform.PullRequest:
		return true
	case platform.Push:
		return rep.Mode == string(pipeline.ModeRun) && !rep.DryRun
	}
	return false
}

// publishError records a run that could not start: outputs that say so
// (failed=true), no summary table and no comment.
func (f *face) publishError(_ context.Context, rep *pipeline.Report) {
	f.writeOutputs(rep)
	f.complete(false, false)
}

// writeOutputs sets the step outputs of rep, with the path of the JSON
// report file this run wrote (report-json).
func (f *face) writeOutputs(rep *pipeline.Report) {
	o := platform.OutputsOf(rep)
	o.ReportJSON = f.reportPath
	if err := o.Write(f.p); err != nil {
		f.p.Warningf("step outputs: %v", err)
	}
}

func (f *face) complete(ok, warnings bool) {
	switch {
	case !ok:
		f.p.Complete(platform.Failed, "amigo-release: the release did not complete")
	case warnings:
		f.p.Complete(platform.SucceededWithIssues, "amigo-release: released with warnings")
	default:
		f.p.Complete(platform.Succeeded, "")
	}
}

// renderText is the terminal view of a report: the plan sentence for plans
// and dry runs, the results table for runs.
func renderText(rep *pipeline.Report) string {
	if rep.Mode == string(pipeline.ModePlan) || rep.DryRun {
		return report.PlanText(rep)
	}
	return report.Text(rep)
}
