package testworld_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/internal/testkit/testworld"
	"github.com/amigo-release/amigo-release/promote"
)

// client is an amigo client of a world's stage.
func client(t *testing.T, w *testworld.World, stage string, hc *http.Client) *amigo.Client {
	t.Helper()
	c, err := amigo.New(amigo.Config{BaseURL: w.URL(stage), Org: w.Org, APIKey: "ak-test", APIKeyID: "kid", UserID: "u", HTTPClient: hc, Clock: w.Clock})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The world's stages are emulators over real HTTP that build from its
// repository; Seed leaves a tool as a release would (its pyproject's
// description, deprecated versions), and the accessors read the emulators'
// own state and logs.
func TestNew_stagesOverHTTP(t *testing.T) {
	w := testworld.New(t, testworld.Options{Stages: []string{"us", "eu"}})
	if !testkit.IsRepo(w.Dir) || w.Net != nil || w.Cluster != nil || w.GitHub != nil || w.Azure != nil {
		t.Fatalf("world %+v: want a repository and nothing but the emulators", w)
	}
	first := w.Commit("feat: weather", testkit.Project("weather", "weather", ""))
	id := w.Seed("eu", "weather", "tools/weather", "1.0.0@"+first, "-1.1.0@"+first, "1.2.0@"+first)
	if tl, ok := w.Server("eu").ToolByName(w.Org, "weather"); !ok || tl.ID != id || tl.Description != testkit.Description("weather") {
		t.Fatalf("seeded tool = %+v, %v; want ID %s described as its pyproject says", tl, ok, id)
	}
	if got := w.Active("eu", "weather"); !slices.Equal(got, []string{"1.0.0", "1.2.0"}) {
		t.Errorf("active in eu = %v, want [1.0.0 1.2.0]", got)
	}
	if got := w.Versions("us", "weather"); got != nil {
		t.Errorf("us has versions %v of a tool seeded in eu only", got)
	}
	if !strings.HasPrefix(w.URL("us"), "http://127.0.0.1:") || w.URL("us") == w.URL("eu") {
		t.Errorf("URLs us %s, eu %s: want two HTTP servers", w.URL("us"), w.URL("eu"))
	}

	c := client(t, w, "eu", nil)
	vs, err := c.AllVersions(t.Context(), id, amigo.ListVersionsOptions{})
	if err != nil || len(vs) != 3 {
		t.Fatalf("versions over HTTP = %v, %v; want the 3 seeded", vs, err)
	}
	if n := w.Count("eu", amigotest.OpListVersions, http.StatusOK); n != 1 || len(w.Mutations()) != 0 {
		t.Errorf("%d listings logged, mutations %v; want 1 and none", n, w.Mutations())
	}
	v, err := amigo.ParseVersion("1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeprecateVersions(t.Context(), id, amigo.ExactConstraint(v)); err != nil {
		t.Fatal(err)
	}
	if m := w.Mutations(); len(m) != 1 || !strings.HasPrefix(m[0], "eu DELETE ") {
		t.Errorf("mutations = %q, want the one deprecation in eu", m)
	}
	if d := w.Deprecations(); !slices.Equal(d, []string{"eu ==1.0.0"}) {
		t.Errorf("deprecations = %q, want [eu ==1.0.0]", d)
	}
}

// StagesYAML is a stages: section that the plan parser accepts, each stage
// at its emulator with its own keys.
func TestNew_stagesYAMLParses(t *testing.T) {
	w := testworld.New(t, testworld.Options{Stages: []string{"us", "eu", "ap"}})
	text := "defaults:\n  organization: acme\n" + w.StagesYAML([]string{"us", "ap"}, map[string]string{"us": "test: true\nsoak: 1h"})
	p, err := promote.Parse("release.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(p.Stages) != 2 || p.Stages[0].Name != "us" || p.Stages[1].Name != "ap" ||
		p.Stages[0].BaseURL != w.URL("us") || p.Stages[1].BaseURL != w.URL("ap") || !p.Stages[0].Test || p.Stages[1].Test {
		t.Errorf("stages = %+v, want us (test-gated) and ap at their emulators", p.Stages)
	}
}

// Regions serve the stages as one demo cluster does (one listener, a
// region a path), with the fake CI servers asked for.
func TestNew_regionsOfOneClusterAndFakeCI(t *testing.T) {
	w := testworld.New(t, testworld.Options{Org: "demo", Stages: []string{"us", "eu"},
		Regions: map[string]string{"us": "us", "eu": "eu-central-1"}, GitHubToken: "ghs_x", AzureToken: "ado_x"})
	if w.Cluster == nil || w.URL("eu") != w.Cluster.URL("eu-central-1") || w.Server("eu") != w.Cluster.Servers["eu-central-1"] {
		t.Fatalf("eu at %s: want the cluster's eu-central-1", w.URL("eu"))
	}
	w.Commit("feat: weather", testkit.Project("weather", "weather", ""))
	id := w.Seed("eu", "weather", "tools/weather", "1.0.0@"+w.Repo.Head())
	if tl, err := client(t, w, "eu", nil).FindToolByName(t.Context(), "weather"); err != nil || tl == nil || tl.ID != id {
		t.Fatalf("weather in eu over the cluster = %+v, %v; want %s", tl, err, id)
	}
	if w.GitHub == nil || w.Azure == nil || !strings.HasPrefix(w.GitHub.APIURL(), "http://") || !strings.HasPrefix(w.Azure.CollectionURL(), "http://") {
		t.Fatalf("fake CI: GitHub %v, Azure %v", w.GitHub, w.Azure)
	}
}

// On an in-memory network the stages are reached by the network's client
// only, in a synctest bubble on its clock.
func TestNew_inMemoryNetwork(t *testing.T) {
	repo := testkit.NewRepo(t) // git runs outside the bubble
	repo.Commit("feat: weather", testkit.Project("weather", "weather", ""))
	synctest.Test(t, func(t *testing.T) {
		net := amigotest.NewPipeNet()
		defer net.Close()
		w := testworld.New(t, testworld.Options{Stages: []string{"us"}, Net: net, Clock: clock.Real{}, Dir: repo.Dir})
		if w.Repo.Head() != repo.Head() {
			t.Fatalf("the world made a new repository in %s", repo.Dir)
		}
		w.Seed("us", "weather", "tools/weather", "1.0.0@"+repo.Head())
		if tl, err := client(t, w, "us", net.Client()).FindToolByName(t.Context(), "weather"); err != nil || tl == nil {
			t.Fatalf("weather over the in-memory network = %v, %v", tl, err)
		}
	})
}
