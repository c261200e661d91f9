package platform

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

// Every Platform is a pipeline.Logger.
var _ pipeline.Logger = Platform(nil)

// Platform is the CI system the binary runs on, as the CLI sees it. The
// pipeline never sees it; it gets the Logger part.
type Platform interface {
	// Name is "github", "azure" or "local".
	Name() string
	// Trigger describes what triggered the run.
	Trigger() (Trigger, error)
	// Input returns a setting: on GitHub the action input (INPUT_<NAME>),
	// elsewhere the AMIGO_<NAME> variable (see each implementation).
	Input(name string) string
	// Mask hides a secret from the log from now on. Call it for every
	// secret before anything else prints.
	Mask(secret string)

	// Infof, Warningf, Errorf, Group and EndGroup are the log; they satisfy
	// pipeline.Logger. Formatted lines are defused and redacted: arguments
	// may carry untrusted text.
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	Errorf(format string, args ...any)
	Group(title string)
	EndGroup()
	// Print writes an untrusted multi-line block (test output, a stack
	// trace) so that none of it runs as a workflow command.
	Print(text string)
	// Annotate attaches an error, warning or notice to a file and line.
	Annotate(a Annotation)

	// SetOutput sets a step output (GitHub: $GITHUB_OUTPUT; Azure: an
	// output variable).
	SetOutput(name, value string) error
	// Summary adds markdown to the job summary.
	Summary(markdown string) error
	// Complete reports the step result where the CI takes it from a
	// command (Azure's task.complete); elsewhere the exit code says it.
	Complete(result Result, message string)

	// PostComment creates or edits in place the pull request comment that
	// starts with marker (see report.Marker). Problems that must not fail a
	// release (no token, 401/403/404, no pull request) come back as
	// CommentResult.Warnings with the fix; the error is for anything else.
	PostComment(ctx context.Context, marker, body string) (CommentResult, error)
	// CommentLimit is the largest comment body the platform accepts, for
	// report.Options.MaxBytes.
	CommentLimit() int
	// RunURL links this CI run, or "".
	RunURL() string
	// Err returns the first error writing the log.
	Err() error
}

// TriggerKind is what triggered a run.
type TriggerKind string

const (
	// Push: commits pushed to a branch (GitHub push, Azure IndividualCI or
	// BatchedCI).
	Push TriggerKind = "push"
	// PullRequest: a pull request build; the bot previews, never publishes.
	PullRequest TriggerKind = "pull_request"
	// Manual: anything else (workflow_dispatch, schedule, a laptop).
	Manual TriggerKind = "manual"
)

// Trigger is what triggered the run.
type Trigger struct {
	Kind TriggerKind
	// Name is the CI's own name for it: "push", "pull_request",
	// "workflow_dispatch", "IndividualCI", "PullRequest", "Manual", ….
	Name string
	// SHA is the commit the CI checked out (GITHUB_SHA,
	// BUILD_SOURCEVERSION); for pull requests usually a merge commit.
	SHA string
	// Head is the commit the event is about: a push's "after", a pull
	// request's head commit.
	Head string
	// Before is a push's "before" (empty for a new branch or when the CI
	// does not say), or a pull request's base commit.
	Before string
	// Branch is the pushed branch, or a pull request's head branch.
	Branch string
	// BaseBranch is a pull request's target branch.
	BaseBranch string
	// PR is the pull request number (GitHub) or id (Azure Repos).
	PR int
	// Repo is owner/name on GitHub, the repository name on Azure.
	Repo string
}

// Level is an annotation's severity.
type Level string

// Annotation levels.
const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

// Annotation is a message attached to a file and line, e.g. an error in
// the plan file or a project's pyproject.toml. File is relative to the
// repository root; Line and Col start at 1 (0 means unknown).
type Annotation struct {
	Level   Level
	File    string
	Line    int
	Col     int
	Title   string
	Message string
}

// Result is a step's outcome for Complete.
type Result string

// Results, named as Azure's task.complete names them.
const (
	Succeeded           Result = "Succeeded"
	SucceededWithIssues Result = "SucceededWithIssues"
	Failed              Result = "Failed"
)

// CommentResult says what PostComment did.
type CommentResult struct {
	// Comments lists the comments written, one per pull request.
	Comments []Comment
	// Warnings explain, with the fix, why a comment was not written.
	Warnings []string
}

// Comment is one comment PostComment wrote.
type Comment struct {
	PR      int
	ID      int64
	URL     string
	Created bool // false: an existing comment was edited in place
}

// Option configures a Platform.
type Option func(*config)

type config struct {
	stdout  io.Writer
	exit    *egress.Exit
	http    *http.Client
	token   func() string
	tempDir string
}

// WithExit makes the platform write through the process's exit x (see
// internal/egress): its log and workflow commands to x's standard output
// on GitHub and Azure, its log to x's standard error elsewhere (so a
// terminal's standard output keeps only the report) and when standard
// output carries a document (egress.Exit.DataOnStdout), its files through
// x, and its masks become x's secrets. This is how the CLI runs.
func WithExit(x *egress.Exit) Option { return func(c *config) { c.exit = x } }

// WithWriter sends the log and workflow commands to w, through an exit
// of the platform's own (when WithExit is not given). Without either, the
// platform has nowhere to write and discards its log.
func WithWriter(w io.Writer) Option { return func(c *config) { c.stdout = w } }

// WithHTTPClient sets the HTTP client for the GitHub and Azure DevOps APIs.
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.http = h } }

// WithTokenSource sets the source of random tokens (heredoc delimiters in
// $GITHUB_OUTPUT, stop-commands tokens); tests pass a fixed one.
func WithTokenSource(f func() string) Option { return func(c *config) { c.token = f } }

// WithTempDir sets where Azure's summary file is written (default
// AGENT_TEMPDIRECTORY, else the system temp directory).
func WithTempDir(dir string) Option { return func(c *config) { c.tempDir = dir } }

func newConfig(opts []Option) config {
	c := config{stdout: io.Discard, http: http.DefaultClient, token: RandomToken}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// safeWriter is the platform's log: through the exit it was given (log
// lines on standard output in a CI, standard error on a terminal), else
// through one of its own on the configured writer.
func (c config) safeWriter(d Dialect) *SafeWriter {
	if c.exit == nil {
		x := egress.New(c.stdout, c.stdout, egress.Options{Dialect: d, Rendered: report.RenderedForms})
		return newSafeWriter(x, x.Stdout(), d, c.token)
	}
	log := c.exit.Stdout()
	if d == Plain || c.exit.StdoutHoldsData() {
		log = c.exit.Stderr()
	}
	return newSafeWriter(c.exit, log, d, c.token)
}

// DetectCI returns the platform the process runs on: GitHub Actions when
// GITHUB_ACTIONS is "true", Azure Pipelines when TF_BUILD is "True" (any
// case), else Local. getenv is usually os.Getenv; it is the only way the
// platform reads the environment. DetectCI prints nothing.
func DetectCI(getenv func(string) string, opts ...Option) Platform {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return NewGitHub(getenv, opts...)
	case strings.EqualFold(getenv("TF_BUILD"), "true"):
		return NewAzure(getenv, opts...)
	}
	return NewLocal(getenv, opts...)
}

// envName turns an input name into the AMIGO_* variable that carries it:
// "github-token" → "AMIGO_GITHUB_TOKEN".
func envName(input string) string {
	r := strings.NewReplacer("-", "_", " ", "_", ".", "_")
	return "AMIGO_" + strings.ToUpper(r.Replace(strings.TrimSpace(input)))
}

// manualTrigger is the trigger of the event name at commit sha of repo on
// ref, as a manual run until the CI's event says more: Head is the commit
// itself and Branch the branch of ref.
func manualTrigger(name, sha, repo, ref string) Trigger {
	return Trigger{Name: name, SHA: sha, Head: sha, Repo: repo, Branch: branchName(ref), Kind: Manual}
}

// branchName strips refs/heads/ from a ref; other refs (tags, pull
// request merge refs) give "".
func branchName(ref string) string {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// foldLine makes a title or message one line.
func foldLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}
