package promote

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/bounds"
)

// DefaultPath is where Load looks when given an empty path, relative to the
// repository root.
const DefaultPath = ".amigo/release.yaml"

// MaxFileSize bounds a plan file (and a pyproject.toml): anything larger is
// rejected before parsing.
const MaxFileSize = bounds.MaxFileSize

// Failure policies of a stage (on_failure).
const (
	// OnFailureHalt stops every tool's remaining work in the run.
	OnFailureHalt = "halt"
	// OnFailureHaltTool stops this tool's later stages; other tools go on.
	OnFailureHaltTool = "halt_tool"
	// OnFailureContinue records the failure and lets this tool's later stages
	// that need this one run anyway.
	OnFailureContinue = "continue"
)

// Defaults applied by Parse when the plan does not say otherwise.
const (
	DefaultBranch          = "main"
	DefaultActiveCap       = 3
	DefaultConcurrency     = 4
	DefaultOnFailure       = OnFailureHaltTool
	DefaultRetryBudget     = 30 * time.Minute
	DefaultInitialInterval = 10 * time.Second
	DefaultMaxInterval     = 2 * time.Minute
	DefaultPublishTimeout  = 8 * time.Minute
	DefaultAPIKeyEnv       = "AMIGO_API_KEY"
	DefaultAPIKeyIDEnv     = "AMIGO_API_KEY_ID"
	DefaultUserIDEnv       = "AMIGO_USER_ID"
	DefaultNonConventional = "none"
)

// Limits checked by Parse.
const (
	MaxActiveCap   = 3  // the API refuses a publish with more than 3 active versions
	MaxConcurrency = 32 // tools in flight per stage
	MaxTestInputs  = 10 // test-tool and invoke take 1–10 inputs
	MaxTags        = 20 // create tool accepts at most 20 tags
)

// DefaultBumpTypes maps Conventional Commit types to bumps (DESIGN §5).
// discovery.bump.types in a plan adds to and overrides these entries.
var DefaultBumpTypes = map[string]string{"feat": "minor", "fix": "patch", "perf": "patch"}

// Plan is a decoded, validated release plan file.
type Plan struct {
	// File is the path the plan was read from (as given to Load or Parse).
	File string
	// Version is the plan format version (always 1 for now).
	Version   int
	Discovery Discovery
	Publish   Publish
	Defaults  Defaults
	// Records says which tags and GitHub Releases a release leaves.
	Records Records
	// Stages in file order. Use Order for DAG order.
	Stages []Stage
	// Tools holds per-tool overrides by tool name (may be empty, never nil).
	Tools map[string]ToolConfig
}

// Discovery says where the tool projects are and how commits become bumps.
type Discovery struct {
	// Roots are directories (relative to the repo root) searched for
	// projects (a directory with a pyproject.toml). Default ["."].
	Roots []string
	// Include and Exclude are globs (path.Match syntax, plus "**") over
	// project paths; empty Include means every project under Roots.
	Include []string
	Exclude []string
	// Shared maps a glob of shared files to the tool names that a change
	// there releases ("*" in the list means every tool).
	Shared map[string][]string
	// Names maps a project path to its tool name when the name is not the
	// project's [project].name (normalised to ^[a-z0-9_]+$).
	Names map[string]string
	Bump  Bump
}

// Bump is the Conventional Commit bump configuration.
type Bump struct {
	// Types maps a commit type to "major", "minor", "patch" or "none":
	// DefaultBumpTypes merged with the plan's entries.
	Types map[string]string
	// NonConventional is the bump of a commit message that is not a
	// Conventional Commit: "patch" or "none" (default).
	NonConventional string
}

// Publish is the policy for POST /tool/{id}/version.
type Publish struct {
	// RetryBudget bounds the total wait across 409 retries (default 30m).
	RetryBudget time.Duration
	// InitialInterval and MaxInterval shape the jittered exponential
	// backoff (defaults 10s and 2m).
	InitialInterval time.Duration
	MaxInterval     time.Duration
	// Timeout bounds one publish call (default 8m; publishing takes 1–5 min).
	Timeout time.Duration
	// DeprecateUntested deprecates at once, in the first stage too, a
	// version the server built from another commit than the tested one (the
	// branch moved between the test and the publish). Beyond the first stage
	// such a version is always deprecated at once; in the first stage it
	// stays by default (false), is never promoted, and a run from its commit
	// tests that commit before adopting it.
	DeprecateUntested bool
	// Repo is sent as the publish body's "repo" field when set (the docs page
	// shows it; the OpenAPI schema does not).
	Repo string
}

// Defaults are inherited by every stage that does not set the same key.
type Defaults struct {
	Branch       string
	Organization string
	Credentials  Credentials
	ActiveCap    int
	Concurrency  int
	OnFailure    string
}

// Credentials names the environment variables that hold a stage's secrets.
// The plan never holds secret values.
type Credentials struct {
	// APIKeyEnv, APIKeyIDEnv and UserIDEnv are read for the sign-in headers
	// x-api-key, x-api-key-id, x-user-id (defaults AMIGO_API_KEY,
	// AMIGO_API_KEY_ID, AMIGO_USER_ID).
	APIKeyEnv   string
	APIKeyIDEnv string
	UserIDEnv   string
	// TokenEnv optionally names a variable holding a ready bearer token;
	// when it is set and non-empty the API key variables are not needed.
	TokenEnv string
}

// Stage is one Amigo server (region) a tool is released to.
type Stage struct {
	Name string
	// Region is the short region name (amigo.Regions) or "" when BaseURL was
	// given directly.
	Region string
	// BaseURL is always set: the region's URL or the plan's base_url.
	BaseURL      string
	Organization string
	// Branch is the team branch: commit_branch for test-tool (default main).
	Branch      string
	Credentials Credentials
	// Needs are the stages that must be done for a tool before this one
	// starts. Default: the previous stage in the file (none for the first).
	Needs []string
	// Test runs test-tool with the project's test inputs before publishing.
	Test bool
	// Smoke invokes the new version with the test inputs after publishing.
	Smoke bool
	// Soak is how long to wait after this stage before stages that need it.
	Soak time.Duration
	// OnFailure is OnFailureHalt, OnFailureHaltTool or OnFailureContinue.
	OnFailure string
	// ActiveCap is how many non-deprecated versions to keep (1–3).
	ActiveCap int
	// Keep pins versions per tool name: never deprecated by pruning.
	Keep map[string][]amigo.Version
	// Concurrency bounds how many tools work in this stage at once.
	Concurrency int

	line, col int // position of the stage's mapping, for later errors
}

// Pinned reports whether version v of tool is pinned by keep in this stage.
func (s Stage) Pinned(tool string, v amigo.Version) bool {
	for _, p := range s.Keep[tool] {
		if p == v {
			return true
		}
	}
	return false
}

// ToolConfig is a plan's tools.<name> entry. Nil fields were not set and
// leave the project metadata (or the default) in force.
type ToolConfig struct {
	Description *string
	// Tags maps a tag key to its value (nil: a tag without value).
	Tags       map[string]*string
	Envvars    []EnvvarSpec
	TestInputs []amigo.Input
	SkipStages []string

	line, col int // position of the tools.<name> key in the plan file
}

// Pos is the line and column of the tools.<name> key in the plan file
// (0, 0 when the entry was not parsed from one).
func (t ToolConfig) Pos() (line, col int) { return t.line, t.col }

// EnvvarSpec is a tool environment variable as configured: a literal Value
// or the name of an environment variable (FromEnv) to read it from at run
// time. A secret must come from the environment.
type EnvvarSpec struct {
	Name    string
	Value   string
	FromEnv string
	Secret  bool

	line, col int // position in the plan file (0 for pyproject.toml)
}

// Load reads and parses the plan at path (DefaultPath when empty). A missing
// file, a file over MaxFileSize and every problem Parse finds are errors that
// match ErrInvalid; other I/O errors are returned as they are.
func Load(path string) (*Plan, error) {
	if path == "" {
		path = DefaultPath
	}
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readLimited reads a configuration file of at most MaxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path, Msg: "file not found",
			Fix: "create it (see promote/REFERENCE.md for a complete example) or pass the right path (--config, or AMIGO_CONFIG)"}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path)
	}
	return data, nil
}

func tooLarge(file string) *Error {
	return &Error{File: file, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize),
		Fix: "a release plan is a few kilobytes: check that the path names the plan file"}
}

// Stage returns the stage with the given name.
func (p *Plan) Stage(name string) (Stage, bool) {
	for _, s := range p.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// StageNames returns the stage names in file order.
func (p *Plan) StageNames() []string {
	out := make([]string, len(p.Stages))
	for i, s := range p.Stages {
		out[i] = s.Name
	}
	return out
}
