package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
	"github.com/amigo-release/amigo-release/report"
)

func init() {
	register(command{name: "rollback", order: 27, summary: "deprecate, in every stage, a tool's versions newer than a target, then smoke what serves", run: runRollback})
}

const rollbackHelp = `Rolls a tool back to a target, in every stage of the plan: it deprecates the versions
newer than the target, the last stage first, each with an exact ==X.Y.Z constraint in
that stage's own numbers (each region numbers its versions itself: the target is found
by its commit), then invokes the version now serving with the tool's test inputs in
every stage that has a smoke gate, and reports.

The target (--to) is a version of the first stage (1.4.2) or a commit (a SHA, a tag, a
branch). Everything is checked before the first change, and the rollback is refused
(exit 2, naming the stage) when the target no longer serves in a stage that has
something newer (deprecated versions cannot come back), or when a version to deprecate
is pinned (keep: a pinned version is never deprecated). --dry-run checks and shows what
it would deprecate, and changes nothing.

Exit codes: 0 rolled back (or nothing to do) and every smoke test passed; 1 a
deprecation or a smoke test failed (the report says where); 2 refused or bad input,
nothing changed; 3 a server was not serving.`

// RollbackOptions are the flags of `rollback`.
type RollbackOptions struct {
	opsFlags
	Tool   string
	To     string
	DryRun bool
}

func runRollback(ctx context.Context, env *Env, args []string) error {
	var o RollbackOptions
	f := newFlagSet("rollback", "<tool> --to <version|commit> [flags]", rollbackHelp, env)
	o.define(f, true)
	f.String(&o.Tool, "tool", "", "tool", "", "NAME", "the tool to roll back (or give it as the first argument)")
	f.String(&o.To, "to", "", "to", "", "VERSION|COMMIT", "the target: a version of the first stage, or a commit")
	f.Bool(&o.DryRun, "dry-run", "AMIGO_DRY_RUN", "dry-run", false, "check and show what would be deprecated; change nothing")
	flags, pos := f.splitPositional(args)
	if err := f.parse(flags, env.Stdout); err != nil {
		return err
	}
	switch {
	case len(pos) > 1:
		return usageErrorf("rollback takes one tool, got %q (see: amigo-release rollback --help)", strings.Join(pos, " "))
	case len(pos) == 1 && o.Tool != "" && o.Tool != pos[0]:
		return usageErrorf("rollback: the tool is %q or %q? give it once", pos[0], o.Tool)
	case len(pos) == 1:
		o.Tool = pos[0]
	}
	if o.Tool == "" {
		return usageErrorf("rollback: which tool? amigo-release rollback <tool> --to <version|commit>")
	}
	if strings.TrimSpace(o.To) == "" {
		return usageErrorf("rollback %s: --to is required: a version of the first stage (e.g. 1.4.2) or a commit", o.Tool)
	}
	e, err := openOps(ctx, env, o.opsFlags, true)
	if err != nil {
		return err
	}
	defer e.close()
	secrets := pipeline.SecretValues(e.plan, env.Getenv)
	log := e.f.logger()
	rep, err := ops.Rollback(ctx, ops.RollbackOptions{
		Plan: e.plan, Repo: e.repo, Head: e.head, Tool: o.Tool, To: o.To, DryRun: o.DryRun, APIs: e.apis, Clock: e.env.Clock,
		Mask: func(s string) string { return maskAll(s, secrets) },
		Log:  func(format string, args ...any) { log.Infof(format, args...) },
	})
	if err != nil {
		if r, ok := errors.AsType[*ops.Refusal](err); ok && inCI(env.Getenv) {
			e.f.p.Annotate(platform.Annotation{Level: platform.LevelError, Title: "amigo-release: rollback refused", Message: r.Error()})
		}
		return opsError(err)
	}
	if err := e.show(o.JSON, rep, report.RollbackText(rep), report.RollbackMarkdown(rep)); err != nil {
		return err
	}
	if !rep.OK {
		return withCode(ExitFailed, fmt.Errorf("the rollback of %s did not complete: %s", o.Tool, rep.Error))
	}
	return nil
}

// maskAll replaces every secret value (long enough to mask) in s.
func maskAll(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= pipeline.MinSecretLength {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}
