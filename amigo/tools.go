package amigo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListToolsOptions are the query parameters of GET /tool/. Zero values are
// not sent.
type ListToolsOptions struct {
	IDs        []string // id: tool ids (24 hex digits), each once
	Deprecated *bool    // deprecated: true or false; nil for both
	SortBy     []string // sort_by: name or deprecated, optionally +/- prefixed: "+name", "-deprecated"
	Tags       []string // tag: "key:value" ("key:*" for any value, "key:" for none)
	// Limit is the page size, 1–20; 0 sends none (server default 10), and
	// AllTools uses 20.
	Limit int
	// ContinuationToken is the token of the previous page.
	ContinuationToken int
}

func (o ListToolsOptions) query(op Op) (url.Values, error) {
	q := url.Values{}
	for i, id := range o.IDs {
		if err := checkToolID(op, fmt.Sprintf("id[%d]", i), id); err != nil {
			return nil, err
		}
		q.Add("id", id)
	}
	if err := checkUnique(op, "id", o.IDs); err != nil {
		return nil, err
	}
	if o.Deprecated != nil {
		q.Set("deprecated", strconv.FormatBool(*o.Deprecated))
	}
	if err := checkSortBy(op, o.SortBy, toolSortFields); err != nil {
		return nil, err
	}
	for _, s := range o.SortBy {
		q.Add("sort_by", s)
	}
	for i, t := range o.Tags {
		if err := checkTagFilter(op, i, t); err != nil {
			return nil, err
		}
		q.Add("tag", t)
	}
	if err := addPage(op, q, o.Limit, 1, MaxToolsPage, o.ContinuationToken); err != nil {
		return nil, err
	}
	return q, nil
}

// ListTools returns one page of tools (GET /v1/{org}/tool/).
func (c *Client) ListTools(ctx context.Context, opts ListToolsOptions) (*ListToolsResponse, error) {
	q, err := opts.query(OpListTools)
	if err != nil {
		return nil, err
	}
	var out ListToolsResponse
	err = c.do(ctx, &request{op: OpListTools, method: http.MethodGet, path: "/tool/", query: q, out: &out, class: idempotent})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AllTools walks every page of ListTools (20 a page unless opts.Limit says
// otherwise), starting at opts.ContinuationToken.
func (c *Client) AllTools(ctx context.Context, opts ListToolsOptions) ([]Tool, error) {
	if opts.Limit == 0 {
		opts.Limit = MaxToolsPage
	}
	return collect(OpListTools, &opts.ContinuationToken, func() ([]Tool, bool, *int, error) {
		page, err := c.ListTools(ctx, opts)
		if err != nil {
			return nil, false, nil, err
		}
		return page.Tools, page.HasMore, page.ContinuationToken, nil
	})
}

// FindToolByName pages through the tools (the API has no name filter) and
// returns the non-deprecated tool called name, or nil if there is none.
// Names are unique among non-deprecated tools.
func (c *Client) FindToolByName(ctx context.Context, name string) (*Tool, error) {
	if err := checkToolName(OpListTools, name); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	notDeprecated := false
	opts := ListToolsOptions{Deprecated: &notDeprecated, Limit: MaxToolsPage}
	var found *Tool
	err := paginate(OpListTools, &opts.ContinuationToken, func() (bool, *int, error) {
		page, err := c.ListTools(ctx, opts)
		if err != nil {
			return false, nil, err
		}
		for i := range page.Tools {
			if t := page.Tools[i]; t.Name == name && !t.Deprecated {
				found = &t
				return false, nil, nil
			}
		}
		return page.HasMore, page.ContinuationToken, nil
	})
	return found, err
}

// FindToolsByName pages through all tools, deprecated ones included, and
// returns every tool called name (at most one of them not deprecated).
func (c *Client) FindToolsByName(ctx context.Context, name string) ([]Tool, error) {
	if err := checkToolName(OpListTools, name); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	all, err := c.AllTools(ctx, ListToolsOptions{})
	if err != nil {
		return nil, err
	}
	var out []Tool
	for _, t := range all {
		if t.Name == name {
			out = append(out, t)
		}
	}
	return out, nil
}

// CreateTool creates a tool (POST /v1/{org}/tool/). A 409 means a
// non-deprecated tool of that name exists (IsConflict).
func (c *Client) CreateTool(ctx context.Context, req CreateToolRequest) (*CreateToolResponse, error) {
	if err := checkToolName(OpCreateTool, req.Name); err != nil {
		return nil, err
	}
	if err := checkDescription(OpCreateTool, req.Description); err != nil {
		return nil, err
	}
	if err := checkTags(OpCreateTool, req.Tags); err != nil {
		return nil, err
	}
	if req.Tags == nil {
		req.Tags = map[string]*string{}
	}
	var out CreateToolResponse
	err := c.do(ctx, &request{op: OpCreateTool, method: http.MethodPost, path: "/tool/", body: req, out: &out, class: mutating})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ModifyTool changes a tool's description and/or tags (POST
// /v1/{org}/tool/{tool_id}); nil fields are left as they are.
func (c *Client) ModifyTool(ctx context.Context, toolID string, req ModifyToolRequest) error {
	if err := checkToolID(OpModifyTool, "tool_id", toolID); err != nil {
		return err
	}
	if req.Description != nil {
		if err := checkDescription(OpModifyTool, *req.Description); err != nil {
			return err
		}
	}
	if req.Tags != nil {
		if err := checkTags(OpModifyTool, *req.Tags); err != nil {
			return err
		}
	}
	return c.do(ctx, &request{op: OpModifyTool, method: http.MethodPost, path: "/tool/" + url.PathEscape(toolID), body: req, class: mutating})
}

// DeprecateTool deprecates a tool and all its versions (DELETE
// /v1/{org}/tool/{tool_id}). A 409 means an operation on the tool is in
// progress.
func (c *Client) DeprecateTool(ctx context.Context, toolID string) error {
	if err := checkToolID(OpDeprecateTool, "tool_id", toolID); err != nil {
		return err
	}
	return c.do(ctx, &request{op: OpDeprecateTool, method: http.MethodDelete, path: "/tool/" + url.PathEscape(toolID), class: mutating})
}

// ModifyEnvvars inserts, updates and deletes a tool's environment variables
// (POST /v1/{org}/tool/{tool_id}/envvar). Inserting an existing name is a
// 409; deleting one a version uses is a 400. Values are never put in errors.
func (c *Client) ModifyEnvvars(ctx context.Context, toolID string, req ModifyEnvvarsRequest) error {
	op := OpModifyEnvvars
	if err := checkToolID(op, "tool_id", toolID); err != nil {
		return err
	}
	for i, e := range req.Inserts {
		if err := checkEnvvarName(op, fmt.Sprintf("inserts[%d].name", i), e.Name); err != nil {
			return err
		}
	}
	for i, e := range req.Updates {
		if err := checkEnvvarName(op, fmt.Sprintf("updates[%d].name", i), e.Name); err != nil {
			return err
		}
	}
	for i, e := range req.Deletes {
		if err := checkEnvvarName(op, fmt.Sprintf("deletes[%d].name", i), e.Name); err != nil {
			return err
		}
	}
	if a, b, name, ok := RepeatedEnvvar(req); ok {
		return invalid(op, b+".name", name, fmt.Sprintf("repeats %s.name: one insert, update or delete per name and request", a))
	}
	if req.Inserts == nil {
		req.Inserts = []EnvvarInsert{}
	}
	if req.Updates == nil {
		req.Updates = []EnvvarUpdate{}
	}
	if req.Deletes == nil {
		req.Deletes = []EnvvarDelete{}
	}
	return c.do(ctx, &request{op: op, method: http.MethodPost, path: "/tool/" + url.PathEscape(toolID) + "/envvar", body: req, class: mutating})
}

// TestTool builds the tip of req.CommitBranch and runs the inputs against
// it (POST /v1/{org}/tool/test). Results are per input; a build, CI or input
// failure is a 400. Missing input maps are sent as {} and an empty
// invocation mode as "regular". It uses the long PublishTimeout. The
// documented limit is 1 call a minute.
func (c *Client) TestTool(ctx context.Context, req TestToolRequest) (*TestToolResponse, error) {
	op := OpTestTool
	if err := checkProjectPath(op, req.ProjectPath); err != nil {
		return nil, err
	}
	if err := checkInputs(op, req.Inputs); err != nil {
		return nil, err
	}
	req.Inputs = normInputs(req.Inputs)
	if req.RequiredEnvvars == nil {
		req.RequiredEnvvars = map[string]string{}
	}
	if req.RequiredSecretEnvvars == nil {
		req.RequiredSecretEnvvars = map[string]string{}
	}
	var out TestToolResponse
	err := c.do(ctx, &request{op: op, method: http.MethodPost, path: "/tool/test", body: req, out: &out, class: mutating, long: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DownloadScaffold writes the latest tool scaffold release (a .tar.gz) to
// w (GET /v1/{org}/tool/amigo_tool_scaffold.tar.gz). Failures before the
// body starts are retried; a failure while copying is returned as is, with
// part of the archive possibly written.
func (c *Client) DownloadScaffold(ctx context.Context, w io.Writer) error {
	if w == nil {
		return invalid(OpDownloadScaffold, "writer", "", "must not be nil")
	}
	return c.do(ctx, &request{op: OpDownloadScaffold, method: http.MethodGet, path: "/tool/amigo_tool_scaffold.tar.gz", sink: w, class: idempotent})
}
