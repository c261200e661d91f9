package pipeline

import (
	"context"
	"fmt"

	"github.com/amigo-release/amigo-release/amigo"
)

// smoke is the smoke step: it invokes the version the stage serves with the
// test inputs (again for a version an earlier run published: that its smoke
// passed is not known).
func (r *runner) smoke(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	var resp *amigo.InvokeResponse
	err := r.retryCall(ctx, idempotentRetry, func() error {
		var err error
		resp, err = s.api.Invoke(ctx, s.tool.ID, s.rep.VersionAfter, amigo.InvokeRequest{Inputs: t.settings.TestInputs})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("smoke invoke %s: %w", s.rep.VersionAfter, err)
	}
	s.rep.Smoke = r.testResults(resp.InvocationResults)
	for _, tr := range s.rep.Smoke {
		if !tr.Succeeded {
			return "", fmt.Errorf("smoke: input %d failed: %s: %s", tr.Input, tr.ExceptionType, tr.Message)
		}
	}
	return fmt.Sprintf("%d inputs passed", len(s.rep.Smoke)), nil
}

// planSmoke says what the smoke step would invoke.
func (r *runner) planSmoke(t *toolRun, s *stageRun) (string, bool) {
	if s.adopting() {
		return fmt.Sprintf("invoke %s again with %d inputs (not known to have passed)", s.rep.VersionAfter, len(t.settings.TestInputs)), true
	}
	return fmt.Sprintf("invoke the new version with %d inputs", len(t.settings.TestInputs)), true
}
