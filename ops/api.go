package ops

import (
	"context"

	"github.com/amigo-release/amigo-release/amigo"
)

// Reader is the read-only slice of one stage's Amigo API that Status uses.
type Reader interface {
	// ListTools returns every non-deprecated tool of the organization.
	ListTools(ctx context.Context) ([]amigo.Tool, error)
	// AllVersions returns every version of the tool, deprecated ones too.
	AllVersions(ctx context.Context, toolID string) ([]amigo.ToolVersion, error)
}

// API is what Rollback uses of one stage: Reader plus deprecating versions
// and invoking one (the smoke test).
type API interface {
	Reader
	// DeprecateVersions deprecates by PEP 440 constraint (Rollback only
	// sends exact "==X.Y.Z").
	DeprecateVersions(ctx context.Context, toolID, constraint string) error
	Invoke(ctx context.Context, toolID, version string, req amigo.InvokeRequest) (*amigo.InvokeResponse, error)
}

// FromClient adapts an *amigo.Client (paced, retrying) to API.
func FromClient(c *amigo.Client) API { return clientAPI{c} }

type clientAPI struct{ c *amigo.Client }

func (a clientAPI) ListTools(ctx context.Context) ([]amigo.Tool, error) {
	notDeprecated := false
	return a.c.AllTools(ctx, amigo.ListToolsOptions{Deprecated: &notDeprecated})
}

func (a clientAPI) AllVersions(ctx context.Context, toolID string) ([]amigo.ToolVersion, error) {
	return a.c.AllVersions(ctx, toolID, amigo.ListVersionsOptions{})
}

func (a clientAPI) DeprecateVersions(ctx context.Context, toolID, constraint string) error {
	return a.c.DeprecateVersions(ctx, toolID, constraint)
}

func (a clientAPI) Invoke(ctx context.Context, toolID, version string, req amigo.InvokeRequest) (*amigo.InvokeResponse, error) {
	return a.c.Invoke(ctx, toolID, version, req)
}

// newestActive returns the newest non-deprecated version by semver, or
// nil.
func newestActive(vs []amigo.ToolVersion) *amigo.ToolVersion {
	var best *amigo.ToolVersion
	for i := range vs {
		if vs[i].Deprecated {
			continue
		}
		if best == nil || best.Version.Less(vs[i].Version) {
			best = &vs[i]
		}
	}
	return best
}
