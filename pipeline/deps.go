package pipeline

import (
	"context"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/promote"
)

// API is the slice of the Amigo Tool API that a release uses, for one stage
// (one server and organization). *amigo.Client satisfies it through
// FromClient; tests may pass anything that behaves like the API.
type API interface {
	// SignIn checks the stage's credentials with the server before
	// anything else: it signs in with the API key, or makes one
	// authenticated read with a bearer token.
	SignIn(ctx context.Context) error
	// FindTool returns the non-deprecated tool with this name, or nil when
	// there is none (paging through the whole list).
	FindTool(ctx context.Context, name string) (*amigo.Tool, error)
	// ListTools returns every non-deprecated tool of the organization.
	ListTools(ctx context.Context) ([]amigo.Tool, error)
	CreateTool(ctx context.Context, req amigo.CreateToolRequest) (string, error)
	ModifyTool(ctx context.Context, toolID string, req amigo.ModifyToolRequest) error
	ModifyEnvvars(ctx context.Context, toolID string, req amigo.ModifyEnvvarsRequest) error
	TestTool(ctx context.Context, req amigo.TestToolRequest) (*amigo.TestToolResponse, error)
	// PublishVersion publishes; an unknown outcome matches amigo.ErrUnknownOutcome.
	PublishVersion(ctx context.Context, toolID string, req amigo.PublishRequest) (*amigo.PublishResponse, error)
	// Versions returns every non-deprecated version of the tool.
	Versions(ctx context.Context, toolID string) ([]amigo.ToolVersion, error)
	// HighestVersion returns the tool's highest version ever published,
	// deprecated ones included (nil when it has none): the server numbers
	// the next publish from it.
	HighestVersion(ctx context.Context, toolID string) (*amigo.ToolVersion, error)
	// DeprecateVersions deprecates by PEP 440 constraint (the pipeline only
	// sends exact "==X.Y.Z").
	DeprecateVersions(ctx context.Context, toolID, constraint string) error
	Invoke(ctx context.Context, toolID, version string, req amigo.InvokeRequest) (*amigo.InvokeResponse, error)
}

// ClientFactory builds the API of one stage. Run calls it once per stage.
// DefaultClientFactory builds real amigo clients from the stage's BaseURL,
// Organization and credential variables; tests and the demo return clients
// pointed at emulators.
type ClientFactory func(ctx context.Context, stage promote.Stage) (API, error)

// Logger receives the run's log lines. *githubactions.Action satisfies it;
// NewTextLogger writes plain text. The pipeline calls it from one goroutine
// at a time and groups each tool's lines between Group and EndGroup; no
// secret value is ever passed to it.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	Errorf(format string, args ...any)
	Group(title string)
	EndGroup()
}
