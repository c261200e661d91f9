// Package testworld starts the world a release test runs in, wired
// together and torn down with the test: a git repository of tool projects
// (testkit.Repo), one Amigo emulator per stage that builds from it
// (amigotest) on one clock, served over real HTTP, over an in-memory
// network for a testing/synctest bubble, or as the regions of one
// demo.Cluster the way `amigo-release demo` serves them; and, when asked,
// the fake GitHub and Azure DevOps servers of internal/fakeci.
//
//	w := testworld.New(t, testworld.Options{Stages: []string{"us", "eu"}})
//	first := w.Commit("feat: weather", testkit.Project("weather", "weather", ""))
//	w.Seed("eu", "weather", "tools/weather", "1.0.0@"+first)
//	... run the pipeline, the binary or ops against w.URL(stage) ...
//	w.Active("eu", "weather") // ["1.0.0", ...]
//
// It is its own package, not part of testkit, because amigotest's own
// tests use testkit: testkit cannot import amigotest. Tests only, as
// testkit (internal/conventions keeps both out of the binary).
package testworld

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// Org is the organization a world's accessors look at unless
// Options.Org names another.
const Org = "acme"

// DefaultScale is the clock of a world that names none: a simulated minute
// takes 10 real milliseconds.
const DefaultScale = 6000

// Options configure New.
type Options struct {
	// Org is the organization Seed, Versions, Active and Deprecations look
	// at (default Org).
	Org string
	// Stages are the stage names, one emulator each (default "us").
	Stages []string
	// Emulator is the template of every stage's emulator options; Clock
	// and RepoPath are the world's. Each stage's Seed differs, so that IDs
	// differ between stages as between real regions.
	Emulator amigotest.Options
	// Clock is the clock of the emulators (default clock.NewScaled(
	// DefaultScale); in a synctest bubble, clock.Real{}, the bubble's).
	Clock clock.Clock
	// Dir is where the repository is made (default a new temp dir; made
	// when missing); an existing repository there is used as it is.
	Dir string
	// Net, when set, serves the emulators on this in-memory network (for a
	// testing/synctest bubble), stage s at "s.amigo.test:80", instead of
	// one httptest server each.
	Net *amigotest.PipeNet
	// Regions, when set, serves the stages as regions of one demo.Cluster
	// (one listener, region r under /r) as `amigo-release demo` and the
	// built binary's tests see them: Regions[stage] is the stage's region.
	Regions map[string]string
	// GitHubToken and AzureToken, when set, start a fake GitHub REST server
	// and a fake Azure DevOps server accepting that token.
	GitHubToken, AzureToken string
}

// World is a test's repository, emulators and fake CI servers. Everything
// it starts stops when the test ends.
type World struct {
	// Repo is the repository every emulator builds from (Dir); its
	// methods (Commit, Git, Head, Merge...) are the world's.
	*testkit.Repo
	T     testing.TB
	Org   string
	Clock clock.Clock
	// Stages are the stage names in order; Servers the stage's emulators.
	Stages  []string
	Servers map[string]*amigotest.Server
	// Net is the in-memory network of Options.Net (nil over TCP).
	Net *amigotest.PipeNet
	// Cluster is the demo cluster of Options.Regions (nil otherwise).
	Cluster *demo.Cluster
	// GitHub and Azure are the fake CI servers (nil unless asked for).
	GitHub *fakeci.GitHub
	Azure  *fakeci.Azure

	urls map[string]string
}

// New starts a world for the test.
func New(t testing.TB, o Options) *World {
	t.Helper()
	if len(o.Stages) == 0 {
		o.Stages = []string{"us"}
	}
	if o.Clock == nil {
		o.Clock = clock.NewScaled(DefaultScale)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Org == "" {
		o.Org = Org
	}
	w := &World{T: t, Org: o.Org, Clock: o.Clock, Stages: o.Stages, Net: o.Net,
		Servers: map[string]*amigotest.Server{}, urls: map[string]string{}}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if testkit.IsRepo(o.Dir) {
		w.Repo = testkit.OpenRepo(t, o.Dir)
	} else {
		w.Repo = testkit.InitRepo(t, o.Dir)
	}
	emu := o.Emulator
	emu.Clock, emu.RepoPath = o.Clock, o.Dir
	switch {
	case o.Regions != nil:
		w.startCluster(emu, o.Regions)
	case o.Net != nil:
		base := emu.Seed
		if base == 0 {
			base = 1
		}
		for i, s := range o.Stages {
			so := emu
			so.Seed = base + int64(i)*7919 // as NewTestRegions: IDs differ per stage
			w.Servers[s] = amigotest.NewPipeTestServer(t, o.Net, s+".amigo.test:80", so)
			w.urls[s] = w.Servers[s].URL()
		}
	default:
		w.Servers = amigotest.NewTestRegions(t, emu, o.Stages...)
		for s, srv := range w.Servers {
			w.urls[s] = srv.URL()
		}
	}
	if o.GitHubToken != "" {
		w.GitHub = fakeci.NewGitHub(t, o.GitHubToken)
	}
	if o.AzureToken != "" {
		w.Azure = fakeci.NewAzure(t, o.AzureToken)
	}
	return w
}

func (w *World) startCluster(emu amigotest.Options, regions map[string]string) {
	w.T.Helper()
	names := make([]string, len(w.Stages))
	for i, s := range w.Stages {
		if names[i] = regions[s]; names[i] == "" {
			w.T.Fatalf("testworld: stage %s has no region in Options.Regions", s)
		}
	}
	c, err := demo.StartCluster(demo.ClusterOptions{Regions: names, Emulator: emu})
	if err != nil {
		w.T.Fatal(err)
	}
	w.T.Cleanup(func() { c.Close() })
	w.Cluster = c
	for i, s := range w.Stages {
		w.Servers[s] = c.Servers[names[i]]
		w.urls[s] = c.URL(names[i])
	}
}

// URL is the base URL of a stage's emulator (its plan's base_url).
func (w *World) URL(stage string) string {
	u, ok := w.urls[stage]
	if !ok {
		w.T.Fatalf("testworld: no stage %s (stages %v)", stage, w.Stages)
	}
	return u
}

// Server is a stage's emulator.
func (w *World) Server(stage string) *amigotest.Server {
	srv, ok := w.Servers[stage]
	if !ok {
		w.T.Fatalf("testworld: no stage %s (stages %v)", stage, w.Stages)
	}
	return srv
}

// Seed leaves tool and its versions in stage as an earlier release of the
// project in dir would have (see the function Seed), and returns the
// tool's ID.
func (w *World) Seed(stage, tool, dir string, versions ...string) string {
	w.T.Helper()
	return Seed(w.T, w.Server(stage), w.Org, tool, dir, versions...)
}

// Seed leaves tool and its versions in srv's organization org as an
// earlier release of the project in dir would have:
// amigotest.(*Server).Seed's "X.Y.Z@commit", a leading "-" deprecated. A
// tool it creates has the description testkit.Project writes, so that a
// run finds its settings unchanged. It returns the tool's ID.
func Seed(t testing.TB, srv *amigotest.Server, org, tool, dir string, versions ...string) string {
	t.Helper()
	id, err := srv.Seed(org, amigotest.SeedTool{Name: tool, Description: testkit.Description(tool)}, dir, versions...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Versions are tool's versions in stage (deprecated included), oldest
// first; none when the stage has no such tool.
func (w *World) Versions(stage, tool string) []amigo.ToolVersion {
	srv := w.Server(stage)
	tl, ok := srv.ToolByName(w.Org, tool)
	if !ok {
		return nil
	}
	return slices.SortedFunc(slices.Values(srv.Versions(w.Org, tl.ID)), func(a, b amigo.ToolVersion) int { return a.Version.Compare(b.Version) })
}

// Active is "X.Y.Z" of tool's non-deprecated versions in stage, oldest
// first.
func (w *World) Active(stage, tool string) []string {
	var out []string
	for _, v := range w.Versions(stage, tool) {
		if !v.Deprecated {
			out = append(out, v.Version.String())
		}
	}
	return out
}

// Count is how many requests of operation op stage's emulator logged, only
// those answered with status unless it is 0.
func (w *World) Count(stage, op string, status int) int {
	n := 0
	for _, r := range w.Server(stage).Requests() {
		if r.OperationID == op && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// Mutations lists every mutating request any stage's emulator logged,
// refused ones included, as "stage METHOD PATH status" in each stage's
// order, stages in order.
func (w *World) Mutations() []string {
	var out []string
	for _, s := range w.Stages {
		for _, r := range w.Server(s).Requests() {
			if r.Mutating() {
				out = append(out, fmt.Sprintf("%s %s %s %d", s, r.Method, r.Path, r.Status))
			}
		}
	}
	return out
}

// Deprecations lists the successful deprecations on every emulator in the
// order they happened, as "stage ==X.Y.Z".
func (w *World) Deprecations() []string {
	type d struct {
		at   time.Time
		what string
	}
	var all []d
	for _, s := range w.Stages {
		for _, r := range w.Server(s).Requests() {
			if r.OperationID == amigotest.OpDeprecateVersions && r.Status < 300 {
				c := r.Path[strings.LastIndex(r.Path, "/")+1:]
				all = append(all, d{r.Time, s + " " + strings.ReplaceAll(c, "%3D", "=")})
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

// StagesYAML is the stages: section of a plan on the world's emulators:
// each of stages (all the world's when nil) with its base_url and the
// YAML lines of extra[stage], indented under it.
func (w *World) StagesYAML(stages []string, extra map[string]string) string {
	if stages == nil {
		stages = w.Stages
	}
	var b strings.Builder
	b.WriteString("stages:\n")
	for _, s := range stages {
		fmt.Fprintf(&b, "  - name: %s\n    base_url: %s\n", s, w.URL(s))
		for _, ln := range strings.Split(strings.TrimSpace(extra[s]), "\n") {
			if ln != "" {
				b.WriteString("    " + ln + "\n")
			}
		}
	}
	return b.String()
}
