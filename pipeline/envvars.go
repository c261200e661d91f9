package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// envvar is a tool environment variable with its resolved value. Value is
// secret when Secret is set: it goes to the API and nowhere else.
type envvar struct {
	Name   string
	Value  string
	Secret bool
}

// envvarPlan is the modify-envvars request that brings a tool's variables
// to what the configuration says, and what to warn about. It inserts the
// variables the tool lacks and updates the ones it has (values are never
// readable through the API, so an update is sent for each; it is
// idempotent). It never deletes: a live version may need a variable, and
// variables set by hand stay.
func envvarPlan(tool *amigo.Tool, want []envvar) (req amigo.ModifyEnvvarsRequest, warnings []string) {
	req = amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{}, Updates: []amigo.EnvvarUpdate{}, Deletes: []amigo.EnvvarDelete{}}
	var plain, secret []string
	if tool != nil {
		plain, secret = tool.Envvars, tool.SecretEnvvars
	}
	for _, e := range want {
		isPlain, isSecret := slices.Contains(plain, e.Name), slices.Contains(secret, e.Name)
		switch {
		case !isPlain && !isSecret:
			req.Inserts = append(req.Inserts, amigo.EnvvarInsert{Name: e.Name, Value: e.Value, IsSecret: e.Secret})
		default:
			if isPlain != !e.Secret {
				have, wantKind := "plain", "secret"
				if isSecret {
					have, wantKind = "secret", "plain"
				}
				warnings = append(warnings, fmt.Sprintf("envvar %s is %s on the tool but %s in the configuration: its value was updated but its kind cannot change through the API (delete it by hand, then rerun)", e.Name, have, wantKind))
			}
			req.Updates = append(req.Updates, amigo.EnvvarUpdate{Name: e.Name, Value: e.Value})
		}
	}
	return req, warnings
}

// envvarMaps splits variables into the plain and secret maps that test-tool
// takes.
func envvarMaps(vars []envvar) (plain, secret map[string]string) {
	plain, secret = map[string]string{}, map[string]string{}
	for _, e := range vars {
		if e.Secret {
			secret[e.Name] = e.Value
		} else {
			plain[e.Name] = e.Value
		}
	}
	return plain, secret
}

// syncEnvvars is the envvars step: it inserts the variables the tool lacks
// and updates the ones it has (values are write-only in the API, so an
// update is sent for each). That the tool's runtime contract is covered is
// checked for every stage before the run starts (preflight).
func (r *runner) syncEnvvars(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	tool := s.tool
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
}

// planEnvvars says what the envvars step would send.
func (r *runner) planEnvvars(t *toolRun, s *stageRun) (string, bool) {
	req, warnings := envvarPlan(s.remote.tool, t.settings.Envvars)
	s.rep.Warnings = append(s.rep.Warnings, warnings...)
	return fmt.Sprintf("insert %d and update %d envvars (%s)", len(req.Inserts), len(req.Updates), envvarNames(t.settings.Envvars)), true
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
