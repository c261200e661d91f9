package ops_test

import (
	"context"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/ops"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

const org = testworld.Org

// world is a test world (testworld): a real git repository and four
// emulated regions (us, eu, ap, ca) on one scaled clock, seeded directly
// with tools and versions.
type world struct {
	*testworld.World
	t       *testing.T
	servers map[string]*amigotest.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := testworld.New(t, testworld.Options{Stages: []string{"us", "eu", "ap", "ca"}})
	return &world{World: w, t: t, servers: w.Servers}
}

func (w *world) git(args ...string) string {
	w.t.Helper()
	return w.Git(args...)
}

func (w *world) commit(msg string, files map[string]string) string {
	w.t.Helper()
	return w.Commit(msg, files)
}

// plan is a four-stage plan on the world's emulators with extra YAML per
// stage.
func (w *world) plan(extra map[string]string) *promote.Plan {
	w.t.Helper()
	text := "discovery:\n  roots: [tools]\ndefaults:\n  organization: " + org + "\n" + w.StagesYAML(nil, extra)
	p, err := promote.Parse("release.yaml", []byte(text))
	if err != nil {
		w.t.Fatalf("plan:\n%s\n%v", text, err)
	}
	return p
}

// seed creates tool in stage with versions "X.Y.Z@commit" (a leading "-"
// makes it deprecated).
func (w *world) seed(stage, tool string, versions ...string) {
	w.t.Helper()
	w.Seed(stage, tool, "tools/"+tool, versions...)
}

// apis builds paced clients for every stage, as the CLI does.
func (w *world) apis(plan *promote.Plan) map[string]ops.API {
	w.t.Helper()
	env := map[string]string{"AMIGO_API_KEY": "ak-SECRET-4242", "AMIGO_API_KEY_ID": "kid", "AMIGO_USER_ID": "ops"}
	clients := pipeline.DefaultClients(pipeline.ClientConfig{Getenv: func(k string) string { return env[k] }, Clock: w.Clock})
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
	r, err := changes.Open(w.Dir)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { r.Close() })
	return r
}

// live is "X.Y.Z" of the tool's non-deprecated versions in stage, oldest
// first.
func (w *world) live(stage, tool string) []string { return w.Active(stage, tool) }

// mutations lists the mutating requests on every emulator, refused ones
// included.
func (w *world) mutations() []string { return w.Mutations() }

// deprecations lists the successful deprecations on every emulator in the
// order they happened: "stage ==X.Y.Z".
func (w *world) deprecations() []string { return w.Deprecations() }
