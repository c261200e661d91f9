package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// planTool fills a tool's stages with what a run would do, from the
// analysis' read-only view of each server (nothing when offline).
func (r *runner) planTool(t *toolRun) {
	for _, s := range t.stages {
		r.planStage(t, s)
	}
}

func (r *runner) planStage(t *toolRun, s *stageRun) {
	rep := s.rep
	switch {
	case t.rep.Error != "":
		rep.Status = StatusFailed
		rep.Error = "tool settings: " + t.rep.Error
		return
	case slices.Contains(t.settings.SkipStages, s.spec.Name):
		rep.Status = StatusSkipped
		return
	}
	rep.Status = StatusPlanned
	planned := func(name, what string) {
		rep.Steps = append(rep.Steps, StepReport{Name: name, Status: StatusPlanned})
		r.log.step(levelInfo, t.name, s.spec.Name, name, "would "+what, 0)
	}
	rs := s.remote
	if !rs.known {
		planned("ensure", "find or create the tool")
		r.planGates(t, s, planned, "")
		return
	}
	var onTool []string
	if rs.tool == nil {
		planned("ensure", "create the tool")
	} else {
		onTool = append(slices.Clone(rs.tool.Envvars), rs.tool.SecretEnvvars...)
		if _, changed := toolUpdate(rs.tool, t.settings.Description, t.settings.Tags); changed {
			planned("ensure", "update the tool's description and tags")
		}
	}
	nv := newest(rs.versions)
	if nv != nil {
		rep.VersionBefore = nv.Version.String()
	}
	if v := versionWithCommit(rs.versions, t.commit); v != nil {
		rep.Status = StatusUpToDate
		rep.VersionAfter = v.Version.String()
		rep.CommitHash = v.ToolCommitHash
		r.log.step(levelInfo, t.name, s.spec.Name, "publish", "up to date: "+rep.VersionAfter+" already serves "+short(t.commit), 0)
		// As in a run: the gates after the publish are finished again.
		if s.spec.Smoke {
			planned("smoke", fmt.Sprintf("invoke %s again with %d inputs (not known to have passed)", rep.VersionAfter, len(t.settings.TestInputs)))
		}
		if s.spec.Soak > 0 && (v.CreatedAt == nil || r.clk.Now().Sub(*v.CreatedAt) < s.spec.Soak) {
			planned("soak", "wait what is left of the "+formatDuration(s.spec.Soak)+" soak since "+rep.VersionAfter+" was created")
		}
		return
	}
	if len(t.settings.Envvars) > 0 {
		req, warnings := envvarPlan(rs.tool, t.settings.Envvars)
		rep.Warnings = append(rep.Warnings, warnings...)
		planned("envvars", fmt.Sprintf("insert %d and update %d envvars (%s)", len(req.Inserts), len(req.Updates), envvarNames(t.settings.Envvars)))
	}
	if s.spec.Test {
		onTool = nil
	}
	if missing := t.resolved.MissingEnvvars(onTool); len(missing) > 0 {
		rep.Status = StatusFailed
		rep.Error = fmt.Sprintf("would be refused: %s requires envvars %s that are not configured", t.name, strings.Join(missing, ", "))
		return
	}
	bump := bumpFor(t.bump, rs.versions)
	rep.Bump = string(bump)
	next := nextVersion(rs, bump)
	rep.VersionAfter = next.String()
	r.planGates(t, s, planned, fmt.Sprintf("%s (%s)", rep.VersionAfter, bump))
	after := append(slices.Clone(rs.versions), amigo.ToolVersion{Version: next, ToolCommitHash: t.commit})
	rep.Pruned = pruneSelection(after, s.spec.ActiveCap, rep.VersionAfter, func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) })
	if len(rep.Pruned) > 0 {
		planned("prune", "deprecate "+strings.Join(rep.Pruned, ", "))
	}
}

// planGates lists test, publish, verify, smoke and soak.
func (r *runner) planGates(t *toolRun, s *stageRun, planned func(name, what string), version string) {
	if s.spec.Test {
		planned("test", fmt.Sprintf("test %d inputs on branch %s", len(t.settings.TestInputs), s.spec.Branch))
	}
	if version == "" {
		version = "a new version (" + string(bumpFor(t.bump, nil)) + " if the tool has none, else " + string(t.bump) + ")"
	}
	planned("publish", "publish "+version)
	planned("verify", "verify the published commit is "+short(t.commit))
	if s.spec.Smoke {
		planned("smoke", fmt.Sprintf("invoke the new version with %d inputs", len(t.settings.TestInputs)))
	}
	if s.spec.Soak > 0 {
		planned("soak", "wait "+formatDuration(s.spec.Soak))
	}
}

// errReadOnly is returned by a mutating call in plan mode.
var errReadOnly = errors.New("plan mode: mutating call refused")

// readOnlyAPI lets reads through and refuses every mutating call, so that
// plan mode cannot change anything even by mistake.
type readOnlyAPI struct{ API }

func (readOnlyAPI) CreateTool(context.Context, amigo.CreateToolRequest) (string, error) {
	return "", fmt.Errorf("create-tool: %w", errReadOnly)
}
func (readOnlyAPI) ModifyTool(context.Context, string, amigo.ModifyToolRequest) error {
	return fmt.Errorf("modify-tool: %w", errReadOnly)
}
func (readOnlyAPI) ModifyEnvvars(context.Context, string, amigo.ModifyEnvvarsRequest) error {
	return fmt.Errorf("modify-tool-envvars: %w", errReadOnly)
}
func (readOnlyAPI) TestTool(context.Context, amigo.TestToolRequest) (*amigo.TestToolResponse, error) {
	return nil, fmt.Errorf("test-tool: %w", errReadOnly)
}
func (readOnlyAPI) PublishVersion(context.Context, string, amigo.PublishRequest) (*amigo.PublishResponse, error) {
	return nil, fmt.Errorf("publish-tool-version: %w", errReadOnly)
}
func (readOnlyAPI) DeprecateVersions(context.Context, string, string) error {
	return fmt.Errorf("deprecate-tool-version: %w", errReadOnly)
}
func (readOnlyAPI) Invoke(context.Context, string, string, amigo.InvokeRequest) (*amigo.InvokeResponse, error) {
	return nil, fmt.Errorf("invoke-tool-version: %w", errReadOnly)
}
