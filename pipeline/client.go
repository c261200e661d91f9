package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/promote"
)

// FromClient adapts an *amigo.Client to API.
func FromClient(c *amigo.Client) API { return clientAPI{c} }

type clientAPI struct{ c *amigo.Client }

// SignIn signs in with the API key, or, for a client with a bearer token
// (which cannot sign in), makes one authenticated read.
func (a clientAPI) SignIn(ctx context.Context) error {
	_, err := a.c.SignIn(ctx)
	if errors.Is(err, amigo.ErrStaticToken) {
		notDeprecated := false
		_, err = a.c.ListTools(ctx, amigo.ListToolsOptions{Deprecated: &notDeprecated, Limit: 1})
	}
	return err
}

func (a clientAPI) FindTool(ctx context.Context, name string) (*amigo.Tool, error) {
	return a.c.FindToolByName(ctx, name)
}

func (a clientAPI) ListTools(ctx context.Context) ([]amigo.Tool, error) {
	notDeprecated := false
	return a.c.AllTools(ctx, amigo.ListToolsOptions{Deprecated: &notDeprecated})
}

// ToolsByID returns the non-deprecated tools with these ids (toolsByID),
// asking for 20 at a time.
func (a clientAPI) ToolsByID(ctx context.Context, ids []string) ([]amigo.Tool, error) {
	notDeprecated := false
	var out []amigo.Tool
	for chunk := range slices.Chunk(ids, amigo.MaxToolsPage) {
		tools, err := a.c.AllTools(ctx, amigo.ListToolsOptions{IDs: chunk, Deprecated: &notDeprecated})
		if err != nil {
			return nil, err
		}
		out = append(out, tools...)
	}
	return out, nil
}

func (a clientAPI) CreateTool(ctx context.Context, req amigo.CreateToolRequest) (string, error) {
	resp, err := a.c.CreateTool(ctx, req)
	if err != nil {
		return "", err
	}
	return resp.ID, nil
}

func (a clientAPI) ModifyTool(ctx context.Context, toolID string, req amigo.ModifyToolRequest) error {
	return a.c.ModifyTool(ctx, toolID, req)
}

func (a clientAPI) ModifyEnvvars(ctx context.Context, toolID string, req amigo.ModifyEnvvarsRequest) error {
	return a.c.ModifyEnvvars(ctx, toolID, req)
}

func (a clientAPI) TestTool(ctx context.Context, req amigo.TestToolRequest) (*amigo.TestToolResponse, error) {
	return a.c.TestTool(ctx, req)
}

// TakeTestTurn waits for the client's next test-tool turn (testTurns).
func (a clientAPI) TakeTestTurn(ctx context.Context) (func(context.Context) context.Context, func(), error) {
	t, err := a.c.TakeTurn(ctx, amigo.OpTestTool)
	if err != nil {
		return nil, nil, err
	}
	return func(c context.Context) context.Context { return amigo.WithTurn(c, t) }, t.Release, nil
}

func (a clientAPI) PublishVersion(ctx context.Context, toolID string, req amigo.PublishRequest) (*amigo.PublishResponse, error) {
	return a.c.PublishVersion(ctx, toolID, req)
}

func (a clientAPI) Versions(ctx context.Context, toolID string) ([]amigo.ToolVersion, error) {
	notDeprecated := false
	return a.c.AllVersions(ctx, toolID, amigo.ListVersionsOptions{Deprecated: &notDeprecated})
}

func (a clientAPI) HighestVersion(ctx context.Context, toolID string) (*amigo.ToolVersion, error) {
	page, err := a.c.ListVersions(ctx, toolID, amigo.ListVersionsOptions{
		SortBy: []string{"-version.major", "-version.minor", "-version.patch"}, Limit: 1,
	})
	if err != nil || len(page.ToolVersions) == 0 {
		return nil, err
	}
	return &page.ToolVersions[0], nil
}

func (a clientAPI) DeprecateVersions(ctx context.Context, toolID, constraint string) error {
	return a.c.DeprecateVersions(ctx, toolID, constraint)
}

func (a clientAPI) Invoke(ctx context.Context, toolID, version string, req amigo.InvokeRequest) (*amigo.InvokeResponse, error) {
	return a.c.Invoke(ctx, toolID, version, req)
}

// ClientConfig configures the clients DefaultClientFactory builds.
type ClientConfig struct {
	// Getenv reads the credential variables the plan names (required: the
	// factory never reads the process environment on its own).
	Getenv func(string) string
	// Clock drives pacing, token expiry and retry waits; default clock.Real{}.
	Clock clock.Clock
	// HTTPClient sends the requests; default a fresh http.Client.
	HTTPClient *http.Client
	// OnEvent sees every client retry, 429, pacing wait and unknown outcome.
	OnEvent func(stage string, e amigo.ClientEvent)
	// PublishTimeout bounds one publish or test-tool exchange in wall-clock
	// time (the plan's publish.timeout); 0 keeps the client's default.
	PublishTimeout time.Duration
	// Share, in a job of a fan-out, is its part of the limits it shares
	// with the other jobs (amigo.PacerConfig.Share).
	Share *amigo.Share
}

// DefaultClientFactory returns a ClientFactory that builds an *amigo.Client
// per stage from the stage's BaseURL and Organization and the credential
// variables it names (a bearer token when TokenEnv is set and non-empty, an
// API key otherwise). All clients share one Pacer, which keeps one bucket per
// server, user and endpoint, so two stages on one server as one user share
// that server's limits.
func DefaultClientFactory(cfg ClientConfig) ClientFactory {
	clients := DefaultClients(cfg)
	return func(ctx context.Context, st promote.Stage) (API, error) {
		c, err := clients(ctx, st)
		if err != nil {
			return nil, err
		}
		return FromClient(c), nil
	}
}

// DefaultClients is DefaultClientFactory's builder of the *amigo.Client
// itself, for the commands that need more of the API than a release
// (status and rollback read deprecated versions too): the same
// credentials and one shared Pacer.
func DefaultClients(cfg ClientConfig) func(ctx context.Context, st promote.Stage) (*amigo.Client, error) {
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	var once sync.Once
	var pacer *amigo.Pacer
	var pacerErr error
	return func(ctx context.Context, st promote.Stage) (*amigo.Client, error) {
		once.Do(func() { pacer, pacerErr = amigo.NewPacer(amigo.PacerConfig{Clock: clk, Share: cfg.Share}) })
		if pacerErr != nil {
			return nil, pacerErr
		}
		getenv := cfg.Getenv
		if getenv == nil {
			return nil, fmt.Errorf("stage %s: no environment to read credentials from", st.Name)
		}
		c := amigo.Config{
			BaseURL:    st.BaseURL,
			Org:        st.Organization,
			Clock:      clk,
			HTTPClient: cfg.HTTPClient,
			Pacer:      pacer,

			PublishTimeout: cfg.PublishTimeout,
		}
		cr := st.Credentials
		c.Sources.Org = fmt.Sprintf("the organization of stage %s (stages[].organization or defaults.organization in the plan)", st.Name)
		if cr.TokenEnv != "" && getenv(cr.TokenEnv) != "" {
			c.Token = getenv(cr.TokenEnv)
			c.Sources.Credentials = "the bearer token in " + cr.TokenEnv
		} else {
			c.APIKey, c.APIKeyID, c.UserID = getenv(cr.APIKeyEnv), getenv(cr.APIKeyIDEnv), getenv(cr.UserIDEnv)
			c.Sources.Credentials = cr.APIKeyEnv + " / " + cr.APIKeyIDEnv + " / " + cr.UserIDEnv
		}
		if cfg.OnEvent != nil {
			name := st.Name
			c.OnEvent = func(e amigo.ClientEvent) { cfg.OnEvent(name, e) }
		}
		client, err := amigo.New(c)
		if err != nil {
			return nil, err
		}
		return client, nil
	}
}
