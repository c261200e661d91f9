package cmd

import (
	"context"
	"fmt"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

// face is how a release meets its user: where logs go, which values are
// masked, what the triggering event says, and where the report ends up.
type face interface {
	logger() pipeline.Logger
	// mask registers secret values before anything can print them.
	mask(values ...string)
	// isPullRequest reports a pull request build: run then only plans.
	isPullRequest() bool
	// eventBefore is the push event's before commit, or "".
	eventBefore() string
	// annotateConfigError points the CI at the file and line of a bad
	// plan or project file, when the error names one.
	annotateConfigError(err error)
	// publish renders the report: terminal text, outputs, summary, comment.
	publish(ctx context.Context, rep *pipeline.Report)
	// publishError records a run that could not start (rep.Error is set):
	// outputs that say so, no comment.
	publishError(ctx context.Context, rep *pipeline.Report)
	close()
}

// localFace is the plain CLI: logs on stderr, the report on stdout.
type localFace struct {
	env *Env
	log *pipeline.TextLogger
}

func newLocalFace(env *Env) *localFace {
	return &localFace{env: env, log: pipeline.NewTextLogger(env.Stderr)}
}

func (f *localFace) logger() pipeline.Logger                        { return f.log }
func (f *localFace) mask(...string)                                 {}
func (f *localFace) isPullRequest() bool                            { return false }
func (f *localFace) eventBefore() string                            { return "" }
func (f *localFace) annotateConfigError(error)                      {}
func (f *localFace) close()                                         {}
func (f *localFace) publishError(context.Context, *pipeline.Report) {}
func (f *localFace) publish(_ context.Context, rep *pipeline.Report) {
	fmt.Fprint(f.env.Stdout, renderText(rep))
}

// renderText is the terminal view of a report: the plan sentence for plans,
// the results table for runs.
func renderText(rep *pipeline.Report) string {
	if rep.Mode == string(pipeline.ModePlan) || rep.DryRun {
		return report.PlanText(rep)
	}
	return report.Text(rep)
}

// newFace picks the face for the environment. GitHub Actions and Azure
// Pipelines faces come from package platform.
func newFace(env *Env) face {
	return newLocalFace(env)
}
