package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// opsFlags are the flags status, rollback and notes share with run.
type opsFlags struct {
	Config    string
	Repo      string
	Head      string
	TimeScale float64
	JSON      bool
}

// define adds --config, --repo, --head and, for the commands that call the
// API, --time-scale and --json.
func (o *opsFlags) define(f *flagSet, api bool) {
	f.String(&o.Config, "config", "AMIGO_CONFIG", "config", promote.DefaultPath, "PATH", "release plan file, relative to --repo")
	f.String(&o.Repo, "repo", "AMIGO_REPO", "working-directory", ".", "PATH", "git repository of the tools")
	if !api {
		return
	}
	f.String(&o.Head, "head", "AMIGO_HEAD", "", "HEAD", "REV", "the commit that 'behind' and the tools' settings are measured at")
	f.Bool(&o.JSON, "json", "", "", false, "print JSON instead of the table")
	f.Float(&o.TimeScale, "time-scale", "AMIGO_TIME_SCALE", "", 1, "N", "run the clock N times faster; only for an emulator started with the same --time-scale")
}

func (o *opsFlags) check() error {
	if o.TimeScale != 0 && o.TimeScale < 1 {
		return usageErrorf("--time-scale %g: want a number >= 1 (1 = real time)", o.TimeScale)
	}
	return nil
}

// opsEnv is what a day-two command has once its inputs are read: the
// face, the plan, the repository at head, and the stages' clients.
type opsEnv struct {
	env  *Env
	f    *face
	plan *promote.Plan
	repo *changes.Repo
	head string
	// apis are the stages' clients (with api set).
	apis map[string]ops.API
}

// openOps checks the flags, loads the plan and the repository (exit 2 on a
// bad one) and masks every secret the plan names before anything prints.
// With api set it also checks the stages' credentials and builds their
// clients. Call close when done.
func openOps(ctx context.Context, env *Env, o opsFlags, api bool) (*opsEnv, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.TimeScale > 1 {
		scaled := *env
		scaled.Clock = clock.NewScaled(o.TimeScale)
		env = &scaled
	}
	ro := ReleaseOptions{Config: o.Config, Repo: o.Repo}
	if o.JSON {
		// Standard output carries the JSON alone: the runner's commands
		// (the masks first) and the log go to standard error.
		env.exit.DataOnStdout()
	}
	f := newFace(env, ro)
	plan, err := promote.Load(ro.planPath())
	if err != nil {
		f.annotateConfigError(err)
		return nil, startError(fmt.Errorf("load plan: %w", err))
	}
	f.mask(pipeline.SecretValues(plan, env.Getenv)...)
	if api {
		if err := plan.CheckCredentials(env.Getenv); err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	repo, err := changes.Open(o.Repo)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	head := o.Head
	if head == "" {
		head = "HEAD"
	}
	sha, err := repo.Resolve(head)
	if err != nil || sha == "" {
		repo.Close()
		return nil, usageErrorf("resolve head %q: %v", head, err)
	}
	e := &opsEnv{env: env, f: f, plan: plan, repo: repo, head: sha}
	if api {
		if e.apis, err = e.clients(ctx); err != nil {
			repo.Close()
			return nil, err
		}
	}
	return e, nil
}

func (e *opsEnv) close() { e.repo.Close() }

// clients builds every stage's client: paced, retrying, one pacer for all,
// exactly as a release builds them.
func (e *opsEnv) clients(ctx context.Context) (map[string]ops.API, error) {
	clients := pipeline.DefaultClients(pipeline.ClientConfig{Getenv: e.env.Getenv, Clock: e.env.Clock, HTTPClient: e.env.HTTPClient})
	out := map[string]ops.API{}
	for _, st := range e.plan.Order() {
		c, err := clients(ctx, st)
		if err != nil {
			return nil, usageErrorf("stage %s: %v", st.Name, err)
		}
		out[st.Name] = ops.FromClient(c)
	}
	return out, nil
}

// show prints a result: the table (in CI through the platform's log, which
// defuses and masks; on a terminal on stdout) and, in CI, the markdown as
// the job summary; or, with --json, the JSON on stdout, made inert.
func (e *opsEnv) show(asJSON bool, v any, text, markdown string) error {
	if asJSON {
		return writeInertJSON(e.env, v)
	}
	if inCI(e.env.Getenv) {
		e.f.p.Print(text)
		if err := e.f.p.Summary(markdown); err != nil {
			e.f.p.Warningf("job summary: %v", err)
		}
		return nil
	}
	_, err := fmt.Fprint(e.env.Stdout, text)
	return err
}

// writeInertJSON writes v as indented JSON on stdout through the exit's
// JSON kind: every string masked, made visible and defused, so neither the
// document in a CI log nor `jq -r` of it runs a workflow command; it stays
// valid JSON.
func writeInertJSON(env *Env, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return env.exit.Emit(append(b, '\n'), egress.JSON)
}

// opsError maps an error of status or rollback to its exit code: a
// refusal is bad input (2); server and start-up problems as for run.
func opsError(err error) error {
	if err == nil {
		return nil
	}
	if r, ok := errors.AsType[*ops.Refusal](err); ok {
		return withCode(ExitUsage, r)
	}
	if _, ok := errors.AsType[*exitError](err); ok {
		return err
	}
	return startError(err)
}
