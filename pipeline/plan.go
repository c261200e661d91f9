package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/amigo-release/amigo-release/amigo"
)

// planTool fills a tool's stages with what a run would do, from the
// analysis' read-only view of each server (nothing when offline).
func (r *runner) planTool(t *toolRun) {
	for _, s := range t.stages {
		r.planStage(t, s)
	}
}

// planStage describes one stage: the steps of stageSteps that a run would
// take, each with what it would do.
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
	if s.remote.known {
		what := r.learnVersions(t, s, s.remote.versions)
		if s.adopting() {
			rep.Status = StatusUpToDate
		} else {
			// As the server numbers it: from the highest version the tool
			// ever had there (numbering.go).
			rep.VersionAfter = nextVersion(s.remote, amigo.BumpType(rep.Bump)).String()
		}
		r.log.step(levelInfo, t.name, s.spec.Name, "versions", what, 0)
	}
	if p := r.missingEnvvars(t, s); p != nil {
		rep.Status = StatusFailed
		rep.Error = "would be refused: " + p.Error()
		return
	}
	for _, st := range stageSteps {
		if st.plan == nil || (st.runs != nil && !st.runs(r, t, s)) {
			continue
		}
		if what, ok := st.plan(r, t, s); ok {
			rep.Steps = append(rep.Steps, StepReport{Name: st.name, Status: StatusPlanned})
			r.log.step(levelInfo, t.name, s.spec.Name, st.name, "would "+what, 0)
		}
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
