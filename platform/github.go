package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/sethvargo/go-githubactions"
)

// GitHub is GitHub Actions. Inputs, masks, groups and annotations go
// through go-githubactions; outputs and the step summary are written to the
// files the runner names ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY) by this
// package, with a random heredoc delimiter (go-githubactions v1.3.1 uses a
// fixed one, which a value could contain to inject outputs, and panics on a
// failed write).
type GitHub struct {
	getenv func(string) string
	cfg    config
	log    *SafeWriter
	action *githubactions.Action
}

var _ Platform = (*GitHub)(nil)

// NewGitHub returns the GitHub Actions platform reading the environment
// through getenv.
func NewGitHub(getenv func(string) string, opts ...Option) *GitHub {
	cfg := newConfig(opts)
	log := cfg.safeWriter(GitHubActions)
	return &GitHub{
		getenv: getenv,
		cfg:    cfg,
		log:    log,
		action: githubactions.New(
			githubactions.WithGetenv(getenv),
			githubactions.WithWriter(lineWriter{log}),
			githubactions.WithHTTPClient(cfg.http),
		),
	}
}

// Name returns "github".
func (*GitHub) Name() string { return "github" }

// Input returns the action input name: INPUT_<NAME> as go-githubactions
// reads it (upper case, spaces as _, hyphens kept), else the same with
// hyphens as _ (composite actions pass inputs through env: keys), else the
// AMIGO_<NAME> variable. Values are trimmed.
func (g *GitHub) Input(name string) string {
	if v := g.action.GetInput(name); v != "" {
		return v
	}
	if alt := strings.ReplaceAll(name, "-", "_"); alt != name {
		if v := g.action.GetInput(alt); v != "" {
			return v
		}
	}
	return strings.TrimSpace(g.getenv(envName(name)))
}

// Mask prints ::add-mask:: for the secret (for a multi-line secret, for
// each line) and masks it in everything that leaves the process.
func (g *GitHub) Mask(secret string) { g.log.Redact(secret) }

// Infof prints a log line (defused, redacted).
func (g *GitHub) Infof(format string, args ...any) { g.log.Println(fmt.Sprintf(format, args...)) }

// Warningf prints a ::warning:: annotation.
func (g *GitHub) Warningf(format string, args ...any) {
	g.action.Warningf("%s", fmt.Sprintf(format, args...))
}

// Errorf prints an ::error:: annotation.
func (g *GitHub) Errorf(format string, args ...any) {
	g.action.Errorf("%s", fmt.Sprintf(format, args...))
}

// Group starts a collapsible ::group:: (the title is escaped).
func (g *GitHub) Group(title string) { g.action.Group(foldLine(title)) }

// EndGroup ends the group.
func (g *GitHub) EndGroup() { g.action.EndGroup() }

// Print writes an untrusted block inside ::stop-commands::.
func (g *GitHub) Print(text string) { g.log.Block(text) }

// Annotate prints ::error file=…,line=…,col=…,title=…::message (or
// ::warning / ::notice). The exit masks secrets in every part.
func (g *GitHub) Annotate(a Annotation) {
	fields := map[string]string{}
	if a.File != "" {
		fields["file"] = a.File
	}
	if a.Line > 0 {
		fields["line"] = strconv.Itoa(a.Line)
	}
	if a.Col > 0 {
		fields["col"] = strconv.Itoa(a.Col)
	}
	if a.Title != "" {
		fields["title"] = foldLine(a.Title)
	}
	act := g.action.WithFieldsMap(fields)
	switch a.Level {
	case LevelWarning:
		act.Warningf("%s", a.Message)
	case LevelNotice:
		act.Noticef("%s", a.Message)
	default:
		act.Errorf("%s", a.Message)
	}
}

// SetOutput appends name<<delimiter / value / delimiter to $GITHUB_OUTPUT
// with a fresh random delimiter that neither name nor value contains, as
// the Actions toolkit does (ghadelimiter_<random>).
func (g *GitHub) SetOutput(name, value string) error {
	path := g.getenv("GITHUB_OUTPUT")
	if path == "" {
		return errors.New("set output " + name + ": GITHUB_OUTPUT is not set (the runner sets it in every step; is this a GitHub Actions step?)")
	}
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return fmt.Errorf("set output %q: an output name cannot be empty or contain newlines, '=' or '<'", name)
	}
	delim := "ghadelimiter_" + g.cfg.token()
	for strings.Contains(value, delim) || strings.Contains(name, delim) {
		delim = "ghadelimiter_" + RandomToken()
	}
	return g.log.x.AppendFile(path, []byte(name+"<<"+delim+eol+value+eol+delim+eol), egress.Data)
}

// eol ends lines in the runner's files as the Actions toolkit does (os.EOL).
var eol = map[bool]string{true: "\r\n", false: "\n"}[runtime.GOOS == "windows"]

// Summary appends markdown to $GITHUB_STEP_SUMMARY (masked: see
// egress.Markdown).
func (g *GitHub) Summary(markdown string) error {
	path := g.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return errors.New("write job summary: GITHUB_STEP_SUMMARY is not set")
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	return g.log.x.AppendFile(path, []byte(markdown), egress.Markdown)
}

// Complete does nothing on GitHub: the exit code is the step's result.
func (*GitHub) Complete(Result, string) {}

// CommentLimit is GitHub's 65,536 characters.
func (*GitHub) CommentLimit() int { return 65536 }

// RunURL is $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID.
func (g *GitHub) RunURL() string {
	server, repo, id := g.getenv("GITHUB_SERVER_URL"), g.getenv("GITHUB_REPOSITORY"), g.getenv("GITHUB_RUN_ID")
	if repo == "" || id == "" {
		return ""
	}
	if server == "" {
		server = "https://github.com"
	}
	return strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + id
}

// Err returns the first error writing the log.
func (g *GitHub) Err() error { return g.log.Err() }

// ghPayload is the part of the event payload at GITHUB_EVENT_PATH we read.
type ghPayload struct {
	Before      string `json:"before"`
	After       string `json:"after"`
	Ref         string `json:"ref"`
	Number      int    `json:"number"`
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
			SHA string `json:"sha"`
		} `json:"base"`
	} `json:"pull_request"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

const zeroSHA = "0000000000000000000000000000000000000000"

// Trigger reads GITHUB_EVENT_NAME, GITHUB_SHA, GITHUB_REF, GITHUB_REPOSITORY
// and the payload at GITHUB_EVENT_PATH.
func (g *GitHub) Trigger() (Trigger, error) {
	ev := manualTrigger(g.getenv("GITHUB_EVENT_NAME"), g.getenv("GITHUB_SHA"), g.getenv("GITHUB_REPOSITORY"), g.getenv("GITHUB_REF"))
	var p ghPayload
	if path := g.getenv("GITHUB_EVENT_PATH"); path != "" {
		b, err := readEvent(path)
		if err != nil {
			return ev, fmt.Errorf("read the event payload (GITHUB_EVENT_PATH): %w", err)
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return ev, fmt.Errorf("parse the event payload %s: %w", path, err)
		}
	}
	if ev.Repo == "" {
		ev.Repo = p.Repository.FullName
	}
	switch ev.Name {
	case "push":
		ev.Kind = Push
		if p.Before != zeroSHA {
			ev.Before = p.Before
		}
		if p.After != "" && p.After != zeroSHA {
			ev.Head = p.After
		}
		if b := branchName(p.Ref); b != "" {
			ev.Branch = b
		}
	case "pull_request", "pull_request_target":
		ev.Kind = PullRequest
		if p.PullRequest == nil {
			return ev, fmt.Errorf("the %s event payload has no pull_request object (GITHUB_EVENT_PATH=%q)", ev.Name, g.getenv("GITHUB_EVENT_PATH"))
		}
		ev.PR = p.PullRequest.Number
		if ev.PR == 0 {
			ev.PR = p.Number
		}
		ev.Head = p.PullRequest.Head.SHA
		ev.Before = p.PullRequest.Base.SHA
		ev.Branch = p.PullRequest.Head.Ref
		ev.BaseBranch = p.PullRequest.Base.Ref
	}
	return ev, nil
}

// MaxEventSize bounds the event payload read from GITHUB_EVENT_PATH:
// GitHub caps webhook payloads at 25 MB.
const MaxEventSize = 25 << 20

// readEvent reads the event payload, refusing one over MaxEventSize.
func readEvent(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return bounds.ReadAll(f, MaxEventSize, path)
}
