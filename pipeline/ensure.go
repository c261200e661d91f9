package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// ensure is the ensure step: it finds the tool (from the analysis when it
// saw it) or creates it, and brings its description and tags up to date.
// A tool the analysis did not find in the stage's list is created without
// paging through the list again (a large organization's list is many pages
// at 50 a minute, on the critical path after the test); a 409 on create
// (created meanwhile) then finds it.
func (r *runner) ensure(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	tool := s.remote.tool
	if tool == nil && !s.listed {
		if err := r.read(ctx, func() (err error) { tool, err = s.api.FindTool(ctx, t.name); return err }); err != nil {
			return "", fmt.Errorf("find tool %s: %w", t.name, err)
		}
	}
	if tool != nil {
		s.tool = tool
		what, err := r.updateTool(ctx, t, s, tool)
		return updated("exists "+tool.ID, what), err
	}
	var id string
	err := r.retryCall(ctx, func(err error) bool {
		if !amigo.IsConflict(err) && !errors.Is(err, amigo.ErrUnknownOutcome) {
			return refusedBeforeWork(err)
		}
		// Created meanwhile, or by our own lost answer: look again and
		// create only if it is really not there.
		found, ferr := s.api.FindTool(ctx, t.name)
		if ferr == nil && found != nil {
			tool = found
			return false
		}
		// Not there: the 409 was an operation in progress, or the lost
		// create never happened. Try again.
		return true
	}, func() error {
		var err error
		id, err = s.api.CreateTool(ctx, amigo.CreateToolRequest{Name: t.name, Description: t.settings.Description, Tags: t.settings.Tags})
		return err
	})
	if tool != nil {
		s.tool = tool
		what, err := r.updateTool(ctx, t, s, tool)
		return updated("found "+tool.ID+" (created concurrently or by a lost answer)", what), err
	}
	if err != nil {
		return "", fmt.Errorf("create tool %s: %w", t.name, err)
	}
	s.tool = &amigo.Tool{ID: id, Name: t.name, Description: t.settings.Description, Tags: tagList(t.settings.Tags)}
	s.created = true
	r.sawTool(s.spec, t.name, id)
	return "created " + id, nil
}

// planEnsure says whether a run would create or update the tool.
func (r *runner) planEnsure(t *toolRun, s *stageRun) (string, bool) {
	switch {
	case !s.remote.known && s.remote.tool == nil:
		return "find or create the tool", true
	case s.remote.tool == nil:
		return "create the tool", true
	}
	if _, changed := toolUpdate(s.remote.tool, t.settings.Description, t.settings.Tags); changed {
		return "update the tool's description and tags", true
	}
	return "", false
}

// updated appends what updateTool did to an ensure step's message.
func updated(msg, what string) string {
	if what != "" {
		msg += "; updated its " + what
	}
	return msg
}

// updateTool sends modify-tool when the description or tags differ, and
// says which it updated.
func (r *runner) updateTool(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) (string, error) {
	req, changed := toolUpdate(tool, t.settings.Description, t.settings.Tags)
	if !changed {
		return "", nil
	}
	if err := r.retryCall(ctx, idempotentRetry, func() error { return s.api.ModifyTool(ctx, tool.ID, req) }); err != nil {
		return "", fmt.Errorf("update description/tags of %s: %w", t.name, err)
	}
	var what []string
	if req.Description != nil {
		tool.Description = *req.Description
		what = append(what, "description")
	}
	if req.Tags != nil {
		tool.Tags = tagList(*req.Tags)
		what = append(what, "tags")
	}
	return strings.Join(what, " and "), nil
}

// toolUpdate returns the modify-tool request that brings tool to the wanted
// description and tags, and whether anything differs. Nil wanted tags leave
// the tool's tags alone.
func toolUpdate(tool *amigo.Tool, desc string, tags map[string]*string) (amigo.ModifyToolRequest, bool) {
	var req amigo.ModifyToolRequest
	changed := false
	if desc != "" && desc != tool.Description {
		d := desc
		req.Description = &d
		changed = true
	}
	if tags != nil && !maps.EqualFunc(tagMap(tool.Tags), tags, func(a, b *string) bool {
		return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
	}) {
		tg := maps.Clone(tags)
		req.Tags = &tg
		changed = true
	}
	return req, changed
}

func tagMap(tags []amigo.Tag) map[string]*string {
	m := make(map[string]*string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func tagList(m map[string]*string) []amigo.Tag {
	out := make([]amigo.Tag, 0, len(m))
	for k, v := range m {
		out = append(out, amigo.Tag{Key: k, Value: v})
	}
	return out
}
