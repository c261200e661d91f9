package ops_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

const org = "acme"

// world is a real git repository and four emulated regions (us, eu, ap,
// ca) on one scaled clock, seeded directly with tools and versions.
type world struct {
	t       *testing.T
	dir     string
	clk     *clock.Scaled
	servers map[string]*amigotest.Server
	stages  []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), clk: clock.NewScaled(6000), stages: []string{"us", "eu", "ap", "ca"}}
	w.servers = amigotest.NewTestRegions(t, amigotest.Options{Clock: w.clk, RepoPath: w.dir}, w.stages...)
	w.git("init", "-q", "-b", "main")
	return w
}

func (w *world) git(args ...string) string {
	w.t.Helper()
	return testkit.Git(w.t, w.dir, args...)
}

func (w *world) commit(msg string, files map[string]string) string {
	w.t.Helper()
	return testkit.OpenRepo(w.t, w.dir).Commit(msg, files)
}

// plan is a four-stage plan on the world's emulators with extra YAML per
// stage.
func (w *world) plan(extra map[string]string) *promote.Plan {
	w.t.Helper()
	var b strings.Builder
	b.WriteString("discovery:\n  roots: [tools]\ndefaults:\n  organization: " + org + "\nstages:\n")
	for _, s := range w.stages {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n", s, w.servers[s].URL())
		for _, ln := range strings.Split(strings.TrimSpace(extra[s]), "\n") {
			if ln != "" {
				b.WriteString("    " + ln + "\n")
			}
		}
	}
	p, err := promote.Parse("release.yaml", []byte(b.String()))
	if err != nil {
		w.t.Fatalf("plan:\n%s\n%v", b.String(), err)
	}
	return p
}

// seed creates tool in stage with versions "X.Y.Z@commit" (a leading "-"
// makes it deprecated).
func (w *world) seed(stage, tool string, versions ...string) {
	w.t.Helper()
	if _, err := w.servers[stage].Seed(org, tool, "tools/"+tool, versions...); err != nil {
		w.t.Fatal(err)
	}
}

// apis builds paced clients for every stage, as the CLI does.
func (w *world) apis(plan *promote.Plan) map[string]ops.API {
	w.t.Helper()
	env := map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid", "AMIGO_USER_ID": "ops"}
	clients := pipeline.DefaultClients(pipeline.ClientConfig{Getenv: func(k string) string { return env[k] }, Clock: w.clk})
	out := map[string]ops.API{}
	for _, st := range plan.Stages {
		c, err := clients(context.Background(), st)
		if err != nil {
			w.t.Fatal(err)
		}
		out[st.Name] = ops.FromClient(c)
	}
	return out
}

func (w *world) readers(plan *promote.Plan) map[string]ops.Reader {
	out := map[string]ops.Reader{}
	for k, v := range w.apis(plan) {
		out[k] = v
	}
	return out
}

func (w *world) repo() *changes.Repo {
	w.t.Helper()
	r, err := changes.Open(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { r.Close() })
	return r
}

// live is "X.Y.Z" of the tool's non-deprecated versions in stage, oldest
// first.
func (w *world) live(stage, tool string) []string {
	srv := w.servers[stage]
	tl, ok := srv.ToolByName(org, tool)
	if !ok {
		return nil
	}
	vs := srv.Versions(org, tl.ID)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version.Less(vs[j].Version) })
	var out []string
	for _, v := range vs {
		if !v.Deprecated {
			out = append(out, v.Version.String())
		}
	}
	return out
}

// mutations lists the mutating requests on every emulator.
func (w *world) mutations() []string {
	var out []string
	for _, s := range w.stages {
		for _, r := range w.servers[s].Requests() {
			if r.Mutating() {
				out = append(out, s+" "+r.Method+" "+r.Path)
			}
		}
	}
	return out
}

// deprecations lists the successful deprecations on every emulator in the
// order they happened: "stage ==X.Y.Z".
func (w *world) deprecations() []string {
	type d struct {
		at   time.Time
		what string
	}
	var all []d
	for _, s := range w.stages {
		for _, r := range w.servers[s].Requests() {
			if r.OperationID == amigotest.OpDeprecateVersions && r.Status < 300 {
				c := r.Path[strings.LastIndex(r.Path, "/")+1:]
				c = strings.ReplaceAll(c, "%3D", "=")
				all = append(all, d{r.Time, s + " " + c})
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.what
	}
	return out
}
