package amigo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Fields SearchInvocations can search in (query_against).
const (
	SearchExceptionMessage    = "invocation_status.exception_message"
	SearchExceptionType       = "invocation_status.exception_type"
	SearchExceptionStackTrace = "invocation_status.exception_stack_trace"
	SearchOutput              = "invocation_status.output"
)

// InvocationFilter holds the filters shared by ListInvocations and
// SearchInvocations. Zero values are not sent. Each list takes a value at
// most once (the contract's uniqueItems).
type InvocationFilter struct {
	ToolIDs                     []string               // tool_id
	SourceTypes                 []InvocationSourceType // invocation_source_type
	ConversationIDs             []string               // conversation_id (24 hex digits)
	SimulationUnitTestSetRunIDs []string               // simulation_unit_test_set_run_id (24 hex digits)
	Succeeded                   *bool                  // succeeded: true or false; nil for both
}

func (f InvocationFilter) add(op Op, q url.Values) error {
	for i, id := range f.ToolIDs {
		if err := checkToolID(op, fmt.Sprintf("tool_id[%d]", i), id); err != nil {
			return err
		}
		q.Add("tool_id", id)
	}
	for i, s := range f.SourceTypes {
		if s != SourceRegularConversation && s != SourceSimulationConversation {
			return invalid(op, fmt.Sprintf("invocation_source_type[%d]", i), string(s), `must be "regular-conversation" or "simulation-conversation"`)
		}
		q.Add("invocation_source_type", string(s))
	}
	for i, id := range f.ConversationIDs {
		if !toolIDRe.MatchString(id) {
			return invalid(op, fmt.Sprintf("conversation_id[%d]", i), id, "must be 24 lower-case hex digits")
		}
		q.Add("conversation_id", id)
	}
	for i, id := range f.SimulationUnitTestSetRunIDs {
		if !toolIDRe.MatchString(id) {
			return invalid(op, fmt.Sprintf("simulation_unit_test_set_run_id[%d]", i), id, "must be 24 lower-case hex digits")
		}
		q.Add("simulation_unit_test_set_run_id", id)
	}
	if err := checkUnique(op, "tool_id", f.ToolIDs); err != nil {
		return err
	}
	if err := checkUnique(op, "invocation_source_type", f.SourceTypes); err != nil {
		return err
	}
	if err := checkUnique(op, "conversation_id", f.ConversationIDs); err != nil {
		return err
	}
	if err := checkUnique(op, "simulation_unit_test_set_run_id", f.SimulationUnitTestSetRunIDs); err != nil {
		return err
	}
	if f.Succeeded != nil {
		q.Set("succeeded", strconv.FormatBool(*f.Succeeded))
	}
	return nil
}

// ListInvocationsOptions are the query parameters of GET
// /tool/invocation.
type ListInvocationsOptions struct {
	InvocationFilter
	// Versions are PEP 440 constraints (version), one per ToolIDs entry.
	Versions []string
	// SortBy (sort_by) are created_at, version.major, version.minor,
	// version.patch, tool_id, invocation_source.type or
	// invocation_status.succeeded, optionally +/- prefixed: "-created_at".
	SortBy []string
	// Limit is the page size, 0–100; 0 sends none (server default 100).
	Limit             int
	ContinuationToken int
}

func (o ListInvocationsOptions) query(op Op) (url.Values, error) {
	q := url.Values{}
	if err := o.InvocationFilter.add(op, q); err != nil {
		return nil, err
	}
	if len(o.Versions) > 0 && len(o.Versions) != len(o.ToolIDs) {
		return nil, invalid(op, "version", "", fmt.Sprintf("has %d constraints for %d tool ids: give one per tool_id, in the same order", len(o.Versions), len(o.ToolIDs)))
	}
	for i, v := range o.Versions {
		if err := checkConstraint(op, fmt.Sprintf("version[%d]", i), v); err != nil {
			return nil, err
		}
		q.Add("version", v)
	}
	if err := checkSortBy(op, o.SortBy, invocationSortFields); err != nil {
		return nil, err
	}
	for _, s := range o.SortBy {
		q.Add("sort_by", s)
	}
	if err := addPage(op, q, o.Limit, 0, MaxInvocations, o.ContinuationToken); err != nil {
		return nil, err
	}
	return q, nil
}

// ListInvocations returns one page of the invocation history (GET
// /v1/{org}/tool/invocation).
func (c *Client) ListInvocations(ctx context.Context, opts ListInvocationsOptions) (*ListInvocationsResponse, error) {
	op := OpListInvocations
	q, err := opts.query(op)
	if err != nil {
		return nil, err
	}
	var out ListInvocationsResponse
	if err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "/tool/invocation", query: q, out: &out, class: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllInvocations walks every page of ListInvocations (100 a page unless
// opts.Limit says otherwise).
func (c *Client) AllInvocations(ctx context.Context, opts ListInvocationsOptions) ([]Invocation, error) {
	if opts.Limit == 0 {
		opts.Limit = MaxInvocations
	}
	return collect(OpListInvocations, &opts.ContinuationToken, func() ([]Invocation, bool, *int, error) {
		page, err := c.ListInvocations(ctx, opts)
		if err != nil {
			return nil, false, nil, err
		}
		return page.ToolInvocations, page.HasMore, page.ContinuationToken, nil
	})
}

// SearchInvocationsOptions are the query parameters of GET
// /tool/invocation/search.
type SearchInvocationsOptions struct {
	// Query is the text to search for (required).
	Query string
	// QueryAgainst are the fields to search (Search* constants); empty
	// means all four.
	QueryAgainst []string
	InvocationFilter
}

// SearchInvocations searches the invocation history by text (GET
// /v1/{org}/tool/invocation/search).
func (c *Client) SearchInvocations(ctx context.Context, opts SearchInvocationsOptions) (*SearchInvocationsResponse, error) {
	op := OpSearchInvocations
	if opts.Query == "" {
		return nil, invalid(op, "query", "", "must not be empty")
	}
	q := url.Values{}
	q.Set("query", opts.Query)
	against := opts.QueryAgainst
	if len(against) == 0 {
		against = []string{SearchExceptionMessage, SearchExceptionType, SearchExceptionStackTrace, SearchOutput}
	}
	seen := map[string]bool{}
	for i, f := range against {
		switch f {
		case SearchExceptionMessage, SearchExceptionType, SearchExceptionStackTrace, SearchOutput:
		default:
			return nil, invalid(op, fmt.Sprintf("query_against[%d]", i), f, "must be one of invocation_status.exception_message, .exception_type, .exception_stack_trace, .output")
		}
		if seen[f] {
			return nil, invalid(op, fmt.Sprintf("query_against[%d]", i), f, "is repeated: list each field once")
		}
		seen[f] = true
		q.Add("query_against", f)
	}
	if err := opts.InvocationFilter.add(op, q); err != nil {
		return nil, err
	}
	var out SearchInvocationsResponse
	if err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "/tool/invocation/search", query: q, out: &out, class: idempotent}); err != nil {
		return nil, err
	}
	return &out, nil
}
