package cmd

import (
	"context"

	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/report"
)

func init() {
	register(command{name: "status", order: 25, summary: "show what serves where: per tool and stage the serving version, its commit, the cap, pins and drift (read-only)", run: runStatus})
}

const statusHelp = `Shows, read-only, for each tool (or --tools) and each stage of the plan: the
version serving there (the newest non-deprecated by semver), the commit it was built
from, whether head contains that commit and how many commits it is behind (all of them,
and those that touch the tool), the active versions against the stage's active_cap, the
versions the plan pins there (keep), and the drift between regions: a commit numbered
differently per region, or a stage serving another commit than the first stage.

It makes only read calls (list tools, list versions), paced like every other call, so it
is safe in CI and on a laptop. It needs the plan's credential variables. In GitHub
Actions and Azure Pipelines the table also goes to the job summary. --json prints the
same as JSON.`

// StatusOptions are the flags of `status`.
type StatusOptions struct {
	opsFlags
	Tools string
}

func runStatus(ctx context.Context, env *Env, args []string) error {
	var o StatusOptions
	f := newFlagSet("status", "[flags]", statusHelp, env)
	o.define(f, true)
	f.String(&o.Tools, "tools", "AMIGO_TOOLS", "tools", "", "LIST", "comma-separated tool names to show")
	f.describeDefault("tools", "every tool project at --head")
	if err := f.parse(args, env.Stdout); err != nil {
		return err
	}
	e, err := openOps(ctx, env, o.opsFlags, true)
	if err != nil {
		return err
	}
	defer e.close()
	readers := map[string]ops.Reader{}
	for k, v := range e.apis {
		readers[k] = v
	}
	st, err := ops.Status(ctx, ops.StatusOptions{Plan: e.plan, Repo: e.repo, Head: e.head, Tools: splitList(o.Tools), Readers: readers})
	if err != nil {
		return opsError(err)
	}
	return e.show(o.JSON, st, report.StatusText(st), report.StatusMarkdown(st))
}
