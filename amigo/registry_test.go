package amigo_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/amigo/amigotest"
)

// TestRegionsRegistry: the four documented servers by short name, each
// reachable through Config.Region, plus any custom base URL.
func TestRegionsRegistry(t *testing.T) {
	want := map[string]string{
		"us":             "https://api.amigo.ai",
		"eu-central-1":   "https://api-eu-central-1.amigo.ai",
		"ap-southeast-2": "https://api-ap-southeast-2.amigo.ai",
		"ca-central-1":   "https://api-ca-central-1.amigo.ai",
	}
	if len(amigo.Regions) != len(want) {
		t.Errorf("%d regions, want %d", len(amigo.Regions), len(want))
	}
	for name, url := range want {
		if got, ok := amigo.RegionURL(name); !ok || got != url {
			t.Errorf("RegionURL(%q) = %q, %v; want %q", name, got, ok, url)
		}
		c, err := amigo.New(amigo.Config{Region: name, Org: "acme", Token: "t"})
		if err != nil || c.BaseURL() != url {
			t.Errorf("New with Region %q: %v, base %v", name, err, c)
		}
	}
	c, err := amigo.New(amigo.Config{BaseURL: "https://amigo.internal.example/prefix/", Org: "acme", Token: "t"})
	if err != nil || c.BaseURL() != "https://amigo.internal.example/prefix" {
		t.Errorf("custom base URL: %v, %v", c, err)
	}
}

// TestClientLimitsMatchEmulator: the client paces at the same documented
// per-minute limits the emulator enforces, for every operation; otherwise
// a paced run could still get 429s.
func TestClientLimitsMatchEmulator(t *testing.T) {
	client := amigo.DefaultLimits()
	if len(client) != len(amigo.Ops) || len(amigotest.DefaultRateLimits) != len(amigo.Ops) {
		t.Errorf("limits for %d (client) and %d (emulator) operations, want %d", len(client), len(amigotest.DefaultRateLimits), len(amigo.Ops))
	}
	for _, op := range amigo.Ops {
		if got, want := client[op], amigotest.DefaultRateLimits[string(op)]; got != want || got <= 0 {
			t.Errorf("%s: client paces at %d/min, emulator allows %d/min", op, got, want)
		}
	}
	// The documented values the design names.
	for op, n := range map[amigo.Op]int{amigo.OpSignIn: 5, amigo.OpListTools: 50, amigo.OpCreateTool: 20, amigo.OpTestTool: 1,
		amigo.OpPublishVersion: 10, amigo.OpListVersions: 50, amigo.OpDeprecateVersions: 20, amigo.OpInvoke: 10, amigo.OpListInvocations: 50} {
		if client[op] != n {
			t.Errorf("%s: %d/min, documented %d/min", op, client[op], n)
		}
	}
}

// TestDefaultPublishTimeoutAtLeastSixMinutes: a publish takes up to 5
// minutes, so its default per-call timeout leaves room for it.
func TestDefaultPublishTimeoutAtLeastSixMinutes(t *testing.T) {
	if amigo.DefaultPublishTimeout < 6*time.Minute {
		t.Errorf("DefaultPublishTimeout = %s, want at least 6m", amigo.DefaultPublishTimeout)
	}
	// A context deadline is honoured on top of it.
	f := newFakeAPI(t)
	f.handle("POST /v1/{org}/tool/{id}/version", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c := f.client()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.PublishVersion(ctx, testToolID, publishReq); err == nil {
		t.Fatal("publish returned without error after its context ended")
	}
}
