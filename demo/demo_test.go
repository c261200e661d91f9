package demo

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

func TestSampleHistoryAndPlan(t *testing.T) {
	dir := t.TempDir()
	urls := map[string]string{}
	for _, r := range Regions {
		urls[r] = "http://127.0.0.1:1/" + r
	}
	s, err := WriteSample(dir, urls)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := promote.Load(dir + "/" + PlanPath)
	if err != nil {
		t.Fatalf("the sample plan does not load: %v", err)
	}
	if got := plan.StageNames(); strings.Join(got, ",") != "us,eu,ap,ca" {
		t.Errorf("stages %v", got)
	}
	eu, _ := plan.Stage("eu")
	if eu.Soak == 0 || len(eu.Keep["weather_lookup"]) != 1 {
		t.Errorf("eu stage: soak %v, keep %v; want a soak and a pin", eu.Soak, eu.Keep)
	}
	us, _ := plan.Stage("us")
	if !us.Test {
		t.Error("the first stage has no test gate")
	}

	// The history as package changes sees it, from the last release.
	repo, err := changes.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	opts := changes.DefaultOptions()
	opts.Roots = []string{"tools"}
	opts.NonConventional = changes.None
	bases := map[string]string{"weather_lookup": s.Released, "currency_convert": s.Released, "timezone_info": s.Released}
	res, err := changes.Detect(context.Background(), repo, changes.Request{Head: "HEAD", Bases: bases, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range res.Projects {
		got[p.Name] = string(p.Status) + "/" + p.Bump.String()
	}
	want := map[string]string{"weather_lookup": "changed/minor", "currency_convert": "changed/major", "flight_status": "changed/minor", "timezone_info": "no-release/"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s, want %s (all: %v)", name, got[name], w, got)
		}
	}
	if s.Head != s.Commits[len(s.Commits)-1].SHA || len(s.Tools) < 3 {
		t.Errorf("head %s, %d tools", s.Head, len(s.Tools))
	}
}

func TestClusterServesRegionsAndSeeds(t *testing.T) {
	dir := t.TempDir()
	c, err := StartCluster(ClusterOptions{Emulator: amigotest.Options{RepoPath: dir, StaticTokens: map[string]string{Token: "demo-user"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := WriteSample(dir, c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(c); err != nil {
		t.Fatal(err)
	}
	for _, r := range Regions {
		body := get(t, c.URL(r)+"/v1/"+Org+"/tool/?limit=20", 200)
		for _, n := range []string{"weather_lookup", "currency_convert", "timezone_info"} {
			if !strings.Contains(body, `"name":"`+n+`"`) {
				t.Errorf("%s: %s not seeded: %s", r, n, body)
			}
		}
		if strings.Contains(body, "flight_status") {
			t.Errorf("%s: flight_status must be new", r)
		}
	}
	get(t, c.BaseURL+"/nowhere/v1/"+Org+"/tool/", 404)
	tl, _ := c.Servers["ca-central-1"].ToolByName(Org, "weather_lookup")
	if got := c.Servers["ca-central-1"].ActiveVersions(Org, tl.ID); strings.Join(got, ",") != "1.0.0,1.1.0,1.2.0" {
		t.Errorf("seeded active versions %v", got)
	}
	if len(c.MutatingRequests()) != 0 {
		t.Errorf("reads counted as mutations: %v", c.MutatingRequests())
	}
	if !strings.Contains(s.State(c), "eu-central-1    active 1.0.0 (pinned), 1.1.0, 1.2.0") {
		t.Errorf("State:\n%s", s.State(c))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(c.URL("us") + "/v1/" + Org + "/tool/"); err == nil {
		t.Error("the cluster still serves after Close")
	}
}

func get(t *testing.T, url string, status int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, status, b)
	}
	return string(b)
}
