package amigo_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

// pager serves items[token:token+limit] the way the API pages: an integer
// continuation token, has_more, and a maximum page size. It records the
// limits asked for.
func pager(t *testing.T, total, maxLimit int, write func(w http.ResponseWriter, from, to int, more bool, next *int)) (http.HandlerFunc, *[]int) {
	var limits []int
	return func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit < 1 || limit > maxLimit {
			t.Errorf("limit %d outside 1..%d", limit, maxLimit)
			limit = maxLimit
		}
		limits = append(limits, limit)
		from, _ := strconv.Atoi(r.URL.Query().Get("continuation_token"))
		to := min(from+limit, total)
		var next *int
		if to < total {
			next = &to
		}
		write(w, from, to, to < total, next)
	}, &limits
}

func TestAllToolsAcrossPages(t *testing.T) {
	f := newFakeAPI(t)
	h, limits := toolPager(t, 45, func(i int) (string, bool) { return fmt.Sprintf("tool_%02d", i), false })
	f.handle("GET /v1/{org}/tool/", h)
	c := f.client()
	all, err := c.AllTools(context.Background(), amigo.ListToolsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 45 || all[0].Name != "tool_00" || all[44].Name != "tool_44" {
		t.Errorf("got %d tools (%v ... )", len(all), all[:1])
	}
	if fmt.Sprint(*limits) != "[20 20 20]" {
		t.Errorf("page limits = %v, want [20 20 20]", *limits)
	}
}

// toolPager pages through total tools the way the API does (see pager);
// tool i is called name(i) and is deprecated when name says so.
func toolPager(t *testing.T, total int, name func(i int) (string, bool)) (http.HandlerFunc, *[]int) {
	return pager(t, total, amigo.MaxToolsPage, func(w http.ResponseWriter, from, to int, more bool, next *int) {
		tools := []amigo.Tool{}
		for i := from; i < to; i++ {
			n, deprecated := name(i)
			tools = append(tools, toolNamed(i, n, deprecated))
		}
		writeJSON(w, http.StatusOK, amigo.ListToolsResponse{Tools: tools, HasMore: more, ContinuationToken: next})
	})
}

func toolNamed(i int, name string, deprecated bool) amigo.Tool {
	return amigo.Tool{
		ID: fmt.Sprintf("%024x", i+1), OrgID: testOrg, Name: name, Description: "d", Deprecated: deprecated,
		Envvars: []string{}, SecretEnvvars: []string{}, Tags: []amigo.Tag{},
		Creator: amigo.UserInfo{OrgID: testOrg, UserID: testUser}, UpdatedBy: amigo.UserInfo{OrgID: testOrg, UserID: testUser},
	}
}

func TestFindToolByNameAcrossPages(t *testing.T) {
	f := newFakeAPI(t)
	// 50 tools; "needle" is deprecated at index 3 and live at index 47 (page 3).
	names := func(i int) (string, bool) {
		switch i {
		case 3:
			return "needle", true
		case 47:
			return "needle", false
		}
		return fmt.Sprintf("hay_%02d", i), false
	}
	var deprecatedParam []string
	h, limits := toolPager(t, 50, names) // this server ignores the deprecated filter
	f.handle("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		deprecatedParam = append(deprecatedParam, r.URL.Query().Get("deprecated"))
		h(w, r)
	})
	c := f.client()
	ctx := context.Background()
	tool, err := c.FindToolByName(ctx, "needle")
	if err != nil {
		t.Fatal(err)
	}
	if tool == nil || tool.ID != fmt.Sprintf("%024x", 48) || tool.Deprecated {
		t.Fatalf("FindToolByName = %+v, want the live tool at index 47", tool)
	}
	if len(*limits) != 3 || deprecatedParam[0] != "false" {
		t.Errorf("pages = %v, deprecated = %v; want 3 pages filtered on deprecated=false", *limits, deprecatedParam)
	}

	missing, err := c.FindToolByName(ctx, "absent")
	if err != nil || missing != nil {
		t.Errorf("FindToolByName(absent) = %+v, %v; want nil, nil", missing, err)
	}

	both, err := c.FindToolsByName(ctx, "needle")
	if err != nil || len(both) != 2 || !both[0].Deprecated || both[1].Deprecated {
		t.Errorf("FindToolsByName = %+v, %v; want the deprecated and the live tool", both, err)
	}
}

func TestFindToolByNameStopsAtFirstMatch(t *testing.T) {
	f := newFakeAPI(t)
	h, limits := toolPager(t, 100, func(i int) (string, bool) { return fmt.Sprintf("t%03d", i), false })
	f.handle("GET /v1/{org}/tool/", h)
	c := f.client()
	tool, err := c.FindToolByName(context.Background(), "t025")
	if err != nil || tool == nil || tool.Name != "t025" {
		t.Fatalf("FindToolByName = %+v, %v", tool, err)
	}
	if len(*limits) != 2 {
		t.Errorf("pages fetched = %d, want 2", len(*limits))
	}
}

func TestAllVersionsAcrossPages(t *testing.T) {
	f := newFakeAPI(t)
	h, limits := pager(t, 120, amigo.MaxVersionsPage, func(w http.ResponseWriter, from, to int, more bool, next *int) {
		vs := []amigo.ToolVersion{}
		for i := from; i < to; i++ {
			vs = append(vs, amigo.ToolVersion{ID: fmt.Sprint(i), OrgID: testOrg, ToolID: testToolID, Version: amigo.Version{Major: 1, Patch: i},
				RequiredEnvvars: []string{}, RequiredSecretEnvvars: []string{}, InputSchema: map[string]any{}})
		}
		writeJSON(w, http.StatusOK, amigo.ListVersionsResponse{ToolVersions: vs, HasMore: more, ContinuationToken: next})
	})
	f.handle("GET /v1/{org}/tool/{id}/version", h)
	c := f.client()
	all, err := c.AllVersions(context.Background(), testToolID, amigo.ListVersionsOptions{Deprecated: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 120 || all[119].Version.String() != "1.0.119" {
		t.Errorf("got %d versions", len(all))
	}
	if fmt.Sprint(*limits) != "[50 50 50]" {
		t.Errorf("page limits = %v, want [50 50 50]", *limits)
	}
	calls := f.calls()
	if !strings.Contains(calls[2].RawQuery, "deprecated=false") || !strings.Contains(calls[2].RawQuery, "continuation_token=100") {
		t.Errorf("third page query %q lost the filter or token", calls[2].RawQuery)
	}
}

func TestAllInvocationsAcrossPages(t *testing.T) {
	f := newFakeAPI(t)
	h, limits := pager(t, 250, amigo.MaxInvocations, func(w http.ResponseWriter, from, to int, more bool, next *int) {
		inv := []amigo.Invocation{}
		for i := from; i < to; i++ {
			inv = append(inv, sampleInvocation(i))
		}
		writeJSON(w, http.StatusOK, amigo.ListInvocationsResponse{ToolInvocations: inv, HasMore: more, ContinuationToken: next})
	})
	f.handle("GET /v1/{org}/tool/invocation", h)
	c := f.client()
	all, err := c.AllInvocations(context.Background(), amigo.ListInvocationsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 || all[249].Inputs["i"] != float64(249) {
		t.Errorf("got %d invocations", len(all))
	}
	if fmt.Sprint(*limits) != "[100 100 100]" {
		t.Errorf("page limits = %v, want [100 100 100]", *limits)
	}
}

func TestPaginationRefusesToLoop(t *testing.T) {
	f := newFakeAPI(t)
	var n int
	f.handle("GET /v1/{org}/tool/", func(w http.ResponseWriter, r *http.Request) {
		n++
		tok := 20 // always the same token: a broken server
		writeJSON(w, http.StatusOK, amigo.ListToolsResponse{Tools: []amigo.Tool{}, HasMore: true, ContinuationToken: &tok})
	})
	c := f.client()
	_, err := c.AllTools(context.Background(), amigo.ListToolsOptions{})
	if err == nil || !strings.Contains(err.Error(), "repeated continuation_token 20") {
		t.Errorf("err = %v, want a loop error", err)
	}
	if n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestPaginationMissingToken(t *testing.T) {
	f := newFakeAPI(t)
	f.handle("GET /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, amigo.ListVersionsResponse{ToolVersions: []amigo.ToolVersion{}, HasMore: true})
	})
	c := f.client()
	_, err := c.AllVersions(context.Background(), testToolID, amigo.ListVersionsOptions{})
	if err == nil || !strings.Contains(err.Error(), "has_more but sent no continuation_token") {
		t.Errorf("err = %v", err)
	}
}
