package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// ensureTool finds the tool (from the analysis when it saw it) or creates
// it, and brings its description and tags up to date. A tool the analysis
// did not find in the stage's list is created without paging through the
// list again (a large organization's list is many pages at 50 a minute, on
// the critical path after the test); a 409 on create (created meanwhile)
// then finds it.
func (r *runner) ensureTool(ctx context.Context, t *toolRun, s *stageRun) (*amigo.Tool, error) {
	var tool *amigo.Tool
	err := r.step(ctx, t, s, "ensure", func() (string, error) {
		tool = s.remote.tool
		if tool == nil && !s.listed {
			found, err := s.api.FindTool(ctx, t.name)
			if err != nil {
				return "", fmt.Errorf("find tool %s: %w", t.name, err)
			}
			tool = found
		}
		if tool == nil {
			var id string
			err := r.retryCall(ctx, func(err error) bool {
				if !amigo.IsConflict(err) && !errors.Is(err, amigo.ErrUnknownOutcome) {
					return refusedBeforeWork(err)
				}
				// Created meanwhile, or by our own lost answer: look again
				// and create only if it is really not there.
				found, ferr := s.api.FindTool(ctx, t.name)
				if ferr == nil && found != nil {
					tool = found
					return false
				}
				// Not there: the 409 was an operation in progress, or the
				// lost create never happened. Try again.
				return true
			}, func() error {
				var err error
				id, err = s.api.CreateTool(ctx, amigo.CreateToolRequest{Name: t.name, Description: t.settings.Description, Tags: t.settings.Tags})
				return err
			})
			if tool != nil {
				what, err := r.updateTool(ctx, t, s, tool)
				return updated("found "+tool.ID+" (created concurrently or by a lost answer)", what), err
			}
			if err != nil {
				return "", fmt.Errorf("create tool %s: %w", t.name, err)
			}
			tool = &amigo.Tool{ID: id, Name: t.name, Description: t.settings.Description, Tags: tagList(t.settings.Tags)}
			return "created " + id, nil
		}
		what, err := r.updateTool(ctx, t, s, tool)
		return updated("exists "+tool.ID, what), err
	})
	if err == nil {
		s.remote.tool = tool
	}
	return tool, err
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

// syncEnvvars inserts missing and updates existing variables.
func (r *runner) syncEnvvars(ctx context.Context, t *toolRun, s *stageRun, tool *amigo.Tool) error {
	if len(t.settings.Envvars) == 0 {
		return nil
	}
	return r.step(ctx, t, s, "envvars", func() (string, error) {
		req, warnings := envvarPlan(tool, t.settings.Envvars)
		s.rep.Warnings = append(s.rep.Warnings, warnings...)
		err := r.retryCall(ctx, func(err error) bool {
			if !amigo.IsConflict(err) && !errors.Is(err, amigo.ErrUnknownOutcome) {
				return refusedBeforeWork(err)
			}
			// An insert may have landed (our lost answer, or a concurrent
			// run): read the tool again and resend what is still needed.
			found, ferr := s.api.FindTool(ctx, t.name)
			if ferr != nil || found == nil {
				return false
			}
			*tool = *found
			req, _ = envvarPlan(tool, t.settings.Envvars)
			return true
		}, func() error { return s.api.ModifyEnvvars(ctx, tool.ID, req) })
		if err != nil {
			return "", fmt.Errorf("sync envvars: %w", err)
		}
		for _, in := range req.Inserts {
			if in.IsSecret {
				tool.SecretEnvvars = append(tool.SecretEnvvars, in.Name)
			} else {
				tool.Envvars = append(tool.Envvars, in.Name)
			}
		}
		return fmt.Sprintf("%d inserted, %d updated (%s)", len(req.Inserts), len(req.Updates), envvarNames(t.settings.Envvars)), nil
	})
}

// checkRequiredEnvvars refuses, before any test or publish, a tool whose
// runtime contract ([tool.amigo] required envvars) names variables that are
// neither configured nor (for a stage without a test gate, which needs the
// values) already on the tool.
func (r *runner) checkRequiredEnvvars(t *toolRun, s *stageRun, tool *amigo.Tool) error {
	onTool := append(slices.Clone(tool.Envvars), tool.SecretEnvvars...)
	if s.spec.Test {
		onTool = nil
	}
	missing := t.resolved.MissingEnvvars(onTool)
	if len(missing) == 0 {
		return nil
	}
	err := fmt.Errorf("%s requires envvars %s ([tool.amigo] in %s/pyproject.toml) that are not configured: add them under tools.%s.envvars in %s or [tool.amigo-release] envvars, secrets with from_env",
		t.name, strings.Join(missing, ", "), t.path, t.name, r.opts.Plan.File)
	r.log.step(levelError, t.name, s.spec.Name, "envvars", "refused: "+err.Error(), 0)
	s.rep.Steps = append(s.rep.Steps, StepReport{Name: "envvars", Status: StatusFailed, Error: err.Error()})
	return err
}

// envvarNames lists names, marking secrets; never values.
func envvarNames(vars []envvar) string {
	names := make([]string, len(vars))
	for i, e := range vars {
		names[i] = e.Name
		if e.Secret {
			names[i] += " (secret)"
		}
	}
	return strings.Join(names, ", ")
}
