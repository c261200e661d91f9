package platform

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/amigo-release/amigo-release/internal/egress"
)

// Azure is Azure Pipelines: ##vso[...] logging commands on stdout, values
// escaped by Azure's rules (EscapeAzureData, EscapeAzureProperty), inputs
// from AMIGO_* variables, and pull request threads through the Azure
// DevOps REST API.
type Azure struct {
	getenv func(string) string
	cfg    config
	log    *SafeWriter
}

var _ Platform = (*Azure)(nil)

// NewAzure returns the Azure Pipelines platform reading the environment
// through getenv.
func NewAzure(getenv func(string) string, opts ...Option) *Azure {
	cfg := newConfig(opts)
	return &Azure{getenv: getenv, cfg: cfg, log: cfg.safeWriter(AzurePipelines)}
}

// Name returns "azure".
func (*Azure) Name() string { return "azure" }

// Input returns the AMIGO_<NAME> variable ("github-token" →
// AMIGO_GITHUB_TOKEN), trimmed.
func (a *Azure) Input(name string) string { return strings.TrimSpace(a.getenv(envName(name))) }

// Mask prints ##vso[task.setsecret] for the secret (for a multi-line one,
// for each line) and masks it in everything that leaves the process.
func (a *Azure) Mask(secret string) { a.log.Redact(secret) }

// Infof prints a log line (defused, redacted).
func (a *Azure) Infof(format string, args ...any) { a.log.Println(fmt.Sprintf(format, args...)) }

// Warningf prints ##vso[task.logissue type=warning].
func (a *Azure) Warningf(format string, args ...any) {
	a.Annotate(Annotation{Level: LevelWarning, Message: fmt.Sprintf(format, args...)})
}

// Errorf prints ##vso[task.logissue type=error].
func (a *Azure) Errorf(format string, args ...any) {
	a.Annotate(Annotation{Level: LevelError, Message: fmt.Sprintf(format, args...)})
}

// Group prints ##[group]title.
func (a *Azure) Group(title string) {
	a.log.command("##[group]" + EscapeAzureData(foldLine(title)))
}

// EndGroup prints ##[endgroup].
func (a *Azure) EndGroup() { a.log.command("##[endgroup]") }

// Print writes an untrusted block, every line defused.
func (a *Azure) Print(text string) { a.log.Block(text) }

// Annotate prints ##vso[task.logissue type=…;sourcepath=…;linenumber=…;
// columnnumber=…]title: message. Azure shows notices as plain lines.
// The exit masks secrets in the message and file and defuses their
// "##[" and "##vso[".
func (a *Azure) Annotate(an Annotation) {
	msg := an.Message
	if an.Title != "" {
		msg = foldLine(an.Title) + ": " + msg
	}
	if an.Level == LevelNotice {
		a.log.Println(msg)
		return
	}
	typ := "error"
	if an.Level == LevelWarning {
		typ = "warning"
	}
	props := "type=" + typ
	if an.File != "" {
		props += ";sourcepath=" + EscapeAzureProperty(an.File)
	}
	if an.Line > 0 {
		props += ";linenumber=" + strconv.Itoa(an.Line)
	}
	if an.Col > 0 {
		props += ";columnnumber=" + strconv.Itoa(an.Col)
	}
	a.log.command("##vso[task.logissue " + props + "]" + EscapeAzureData(msg))
}

var azureVarName = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

// SetOutput prints ##vso[task.setvariable variable=name;isOutput=true]value;
// later jobs read it as dependencies.<job>.outputs['<step>.<name>']. A
// value that holds a masked secret is set with issecret=true: the agent
// hides it in the log and passes it on only to steps that map it
// explicitly.
func (a *Azure) SetOutput(name, value string) error {
	if !azureVarName.MatchString(name) {
		return fmt.Errorf("set output %q: Azure variable names use letters, digits, '.' and '_'", name)
	}
	if a.log.holdsSecret(value) {
		// The exit leaves a secret variable's value to the agent.
		a.log.command("##vso[task.setvariable variable=" + name + ";isOutput=true;issecret=true]" + EscapeAzureData(value))
		return nil
	}
	a.log.command("##vso[task.setvariable variable=" + name + ";isOutput=true]" + EscapeAzureData(value))
	return nil
}

// Summary writes markdown to a file and prints ##vso[task.uploadsummary]
// with its path; Azure shows it on the run's Extensions tab. Each call adds
// a file (amigo-release-summary-N.md).
func (a *Azure) Summary(markdown string) error {
	dir := a.cfg.tempDir
	if dir == "" {
		dir = a.getenv("AGENT_TEMPDIRECTORY")
	}
	if dir == "" {
		dir = os.TempDir()
	}
	name, err := a.log.x.TempFile(dir, "amigo-release-summary-*.md", []byte(markdown), egress.Markdown)
	if err != nil {
		return fmt.Errorf("write job summary: %w", err)
	}
	a.log.command("##vso[task.uploadsummary]" + EscapeAzureData(filepath.Clean(name)))
	return nil
}

// Complete prints ##vso[task.complete result=…;]message.
func (a *Azure) Complete(result Result, message string) {
	switch result {
	case Succeeded, SucceededWithIssues, Failed:
	default:
		result = Failed
	}
	a.log.command("##vso[task.complete result=" + string(result) + ";]" + EscapeAzureData(message))
}

// CommentLimit is Azure DevOps' 150,000 characters per comment.
func (*Azure) CommentLimit() int { return 150000 }

// RunURL is $(System.CollectionUri)$(System.TeamProject)/_build/results?buildId=$(Build.BuildId).
func (a *Azure) RunURL() string {
	coll, project, id := a.getenv("SYSTEM_COLLECTIONURI"), a.getenv("SYSTEM_TEAMPROJECT"), a.getenv("BUILD_BUILDID")
	if coll == "" || project == "" || id == "" {
		return ""
	}
	return strings.TrimRight(coll, "/") + "/" + url.PathEscape(project) + "/_build/results?buildId=" + url.QueryEscape(id)
}

// Err returns the first error writing the log.
func (a *Azure) Err() error { return a.log.Err() }

// Trigger reads BUILD_REASON, BUILD_SOURCEVERSION, BUILD_SOURCEBRANCH,
// BUILD_REPOSITORY_NAME and, on pull request builds,
// SYSTEM_PULLREQUEST_PULLREQUESTID, SYSTEM_PULLREQUEST_SOURCEBRANCH,
// SYSTEM_PULLREQUEST_TARGETBRANCH and SYSTEM_PULLREQUEST_SOURCECOMMITID.
// Azure does not say what a push's "before" was: Before stays empty.
func (a *Azure) Trigger() (Trigger, error) {
	ev := manualTrigger(a.getenv("BUILD_REASON"), a.getenv("BUILD_SOURCEVERSION"), a.getenv("BUILD_REPOSITORY_NAME"), a.getenv("BUILD_SOURCEBRANCH"))
	switch ev.Name {
	case "IndividualCI", "BatchedCI":
		ev.Kind = Push
	case "PullRequest":
		ev.Kind = PullRequest
		id := a.getenv("SYSTEM_PULLREQUEST_PULLREQUESTID")
		n, err := strconv.Atoi(id)
		if err != nil || n <= 0 {
			return ev, errors.New("a PullRequest build without a valid SYSTEM_PULLREQUEST_PULLREQUESTID (" + strconv.Quote(id) + ")")
		}
		ev.PR = n
		ev.Branch = branchName(a.getenv("SYSTEM_PULLREQUEST_SOURCEBRANCH"))
		ev.BaseBranch = branchName(a.getenv("SYSTEM_PULLREQUEST_TARGETBRANCH"))
		if h := a.getenv("SYSTEM_PULLREQUEST_SOURCECOMMITID"); h != "" {
			ev.Head = h
		}
	}
	return ev, nil
}
