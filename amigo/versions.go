package amigo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// PublishVersion builds the tip of the team branch and publishes it as a
// new version (POST /v1/{org}/tool/{tool_id}/version). It takes 1–5
// minutes, uses the long PublishTimeout, and is never retried except on 429
// (refused before any work). A dropped connection or timeout returns an
// *UnknownOutcomeError: list the versions before publishing again. 409 (an
// operation in progress), 400 (older commit, missing envvars, too many
// active versions, build failure) and 503 come back as *APIError.
func (c *Client) PublishVersion(ctx context.Context, toolID string, req PublishRequest) (*PublishResponse, error) {
	op := OpPublishVersion
	if err := checkToolID(op, "tool_id", toolID); err != nil {
		return nil, err
	}
	if err := checkProjectPath(op, req.ProjectPath); err != nil {
		return nil, err
	}
	if !req.BumpType.Valid() {
		return nil, invalid(op, "bump_type", string(req.BumpType), `must be "major", "minor" or "patch" (the first version needs "major")`)
	}
	var out PublishResponse
	err := c.do(ctx, &request{op: op, method: http.MethodPost, path: "/tool/" + url.PathEscape(toolID) + "/version", body: req, out: &out, class: mutating, long: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListVersionsOptions are the query parameters of GET
// /tool/{tool_id}/version. Zero values are not sent.
type ListVersionsOptions struct {
	Deprecated *bool  // deprecated: true or false; nil for both
	Versions   string // versions: a PEP 440 constraint, e.g. ">=1.2,<2" ("": no filter)
	// SortBy (sort_by) are created_at, version.major, version.minor,
	// version.patch or deprecated, optionally +/- prefixed: "-created_at".
	SortBy   []string
	Creators []string // creator: "org_id,user_id", each once
	// Limit is the page size, 0–50; 0 sends none (server default 50).
	Limit int
	// ContinuationToken is the token of the previous page.
	ContinuationToken int
}

func (o ListVersionsOptions) query(op Op) (url.Values, error) {
	q := url.Values{}
	if o.Deprecated != nil {
		q.Set("deprecated", strconv.FormatBool(*o.Deprecated))
	}
	if o.Versions != "" {
		if err := checkConstraint(op, "versions", o.Versions); err != nil {
			return nil, err
		}
		q.Set("versions", o.Versions)
	}
	if err := checkSortBy(op, o.SortBy, versionSortFields); err != nil {
		return nil, err
	}
	for _, s := range o.SortBy {
		q.Add("sort_by", s)
	}
	for i, cr := range o.Creators {
		if org, user, ok := strings.Cut(cr, ","); !ok || org == "" || user == "" {
			return nil, invalid(op, fmt.Sprintf("creator[%d]", i), cr, `must be "org_id,user_id"`)
		}
		q.Add("creator", cr)
	}
	if err := checkUnique(op, "creator", o.Creators); err != nil {
		return nil, err
	}
	if err := addPage(op, q, o.Limit, 0, MaxVersionsPage, o.ContinuationToken); err != nil {
		return nil, err
	}
	return q, nil
}

// ListVersions returns one page of a tool's versions (GET
// /v1/{org}/tool/{tool_id}/version).
func (c *Client) ListVersions(ctx context.Context, toolID string, opts ListVersionsOptions) (*ListVersionsResponse, error) {
	op := OpListVersions
	if err := checkToolID(op, "tool_id", toolID); err != nil {
		return nil, err
	}
	q, err := opts.query(op)
	if err != nil {
		return nil, err
	}
	var out ListVersionsResponse
	err = c.do(ctx, &request{op: op, method: http.MethodGet, path: "/tool/" + url.PathEscape(toolID) + "/version", query: q, out: &out, class: idempotent})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AllVersions walks every page of ListVersions (50 a page unless
// opts.Limit says otherwise).
func (c *Client) AllVersions(ctx context.Context, toolID string, opts ListVersionsOptions) ([]ToolVersion, error) {
	if opts.Limit == 0 {
		opts.Limit = MaxVersionsPage
	}
	return collect(OpListVersions, &opts.ContinuationToken, func() ([]ToolVersion, bool, *int, error) {
		page, err := c.ListVersions(ctx, toolID, opts)
		if err != nil {
			return nil, false, nil, err
		}
		return page.ToolVersions, page.HasMore, page.ContinuationToken, nil
	})
}

// ExactConstraint returns the PEP 440 constraint that matches exactly v:
// "==X.Y.Z".
func ExactConstraint(v Version) string { return "==" + v.String() }

// isExact reports whether a constraint names one version: "==X.Y.Z" or
// "===X.Y.Z" (no wildcard).
func isExact(constraint string) bool {
	s := strings.TrimSpace(constraint)
	switch {
	case strings.HasPrefix(s, "==="):
		s = s[3:]
	case strings.HasPrefix(s, "=="):
		s = s[2:]
	default:
		return false
	}
	return exactVersionRe.MatchString(strings.TrimSpace(s))
}

var exactVersionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// DeprecateVersions deprecates every version of the tool that matches a
// PEP 440 constraint (DELETE /v1/{org}/tool/{tool_id}/version/{versions}),
// e.g. ExactConstraint(v) = "==1.2.3". An exact constraint is idempotent and
// retried like a GET; any other constraint is retried only on 429. A
// constraint without clauses ("", ",") is refused before sending: it would
// match every version.
func (c *Client) DeprecateVersions(ctx context.Context, toolID, constraint string) error {
	op := OpDeprecateVersions
	if err := checkToolID(op, "tool_id", toolID); err != nil {
		return err
	}
	if err := checkConstraint(op, "versions", constraint); err != nil {
		return err
	}
	if c, _ := ParseConstraint(constraint); c.IsEmpty() {
		// Stricter than the server, on purpose: an empty path segment is no
		// deprecation at all (the URL ends in /version/ and is redirected),
		// and one of only commas matches, and would deprecate, every version.
		return invalid(op, "versions", constraint, `must name the versions to deprecate, e.g. "==1.2.3" (an empty constraint matches every version)`)
	}
	class := mutating
	if isExact(constraint) {
		class = idempotent
	}
	return c.do(ctx, &request{op: op, method: http.MethodDelete, path: "/tool/" + url.PathEscape(toolID) + "/version/" + url.PathEscape(constraint), class: class})
}

// Invoke runs a published version of a tool on 1–10 inputs (POST
// /v1/{org}/tool/{tool_id}/version/{version}/invoke); version is
// "X.Y.Z". Results are per input.
func (c *Client) Invoke(ctx context.Context, toolID, version string, req InvokeRequest) (*InvokeResponse, error) {
	op := OpInvoke
	if err := checkToolID(op, "tool_id", toolID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(version) == "" {
		return nil, invalid(op, "version", "", `must be a version such as "1.2.3"`)
	}
	if err := checkInputs(op, req.Inputs); err != nil {
		return nil, err
	}
	req.Inputs = normInputs(req.Inputs)
	var out InvokeResponse
	err := c.do(ctx, &request{op: op, method: http.MethodPost, path: "/tool/" + url.PathEscape(toolID) + "/version/" + url.PathEscape(version) + "/invoke", body: req, out: &out, class: mutating})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
