package pipeline

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestMakeRoom(t *testing.T) {
	active := []amigo.ToolVersion{tv("1.2.0", "ccccccc"), tv("1.0.0", "aaaaaaa"), tv("1.1.0", "bbbbbbb")}
	gone := tv("0.9.0", "z")
	gone.Deprecated = true
	active = append(active, gone)
	pinned := func(v amigo.Version) bool { return v.String() == "1.0.0" }
	for _, c := range []struct {
		name   string
		limit  int
		commit string
		pinned func(amigo.Version) bool
		want   []string
	}{
		{"refused at 3: one goes, the oldest", 3, "head", nil, []string{"1.0.0"}},
		{"refused at 4: room already", 4, "head", nil, nil},
		{"refused at 2: two go, oldest first", 2, "head", nil, []string{"1.0.0", "1.1.0"}},
		{"a pinned version stays", 3, "head", pinned, []string{"1.1.0"}},
		{"a version serving the commit stays", 2, "aaaaaaa", nil, []string{"1.1.0", "1.2.0"}},
		{"too few may go: nothing", 1, "head", pinned, nil},
	} {
		if got := makeRoom(active, c.limit, c.commit, c.pinned); !slices.Equal(got, c.want) {
			t.Errorf("%s: makeRoom = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCapMemoryKeepsTheFewest(t *testing.T) {
	var m capMemory
	if _, ok := m.refusesAt("s"); ok {
		t.Fatal("learned before any refusal")
	}
	m.learn("s", 5)
	m.learn("s", 3)
	m.learn("s", 4)
	m.learn("other", 0) // nothing to learn from no active version
	if n, ok := m.refusesAt("s"); !ok || n != 3 {
		t.Errorf("refusesAt = %d, %v; want 3", n, ok)
	}
	if _, ok := m.refusesAt("other"); ok {
		t.Error("learned a refusal at 0 active versions")
	}
	var nilMem *capMemory
	nilMem.learn("s", 3) // a publish without memory learns nothing, and does not panic
	if serverKey("https://api.amigo.ai/") != serverKey("https://api.amigo.ai") {
		t.Error("serverKey depends on a trailing slash")
	}
}

// TestPublishMakesRoomFirstOnceLearned: a refusal teaches the run; the next
// publish on that server deprecates first and is sent once.
func TestPublishMakesRoomFirstOnceLearned(t *testing.T) {
	capMsg := "Publishing would make more than 3 active versions of the tool (3 are not deprecated); deprecate one before publishing."
	caps := &capMemory{}
	var notes []string
	note := func(s string) { notes = append(notes, s) }
	pol := retryPolicy{Budget: time.Hour, Initial: 10 * time.Second, Max: time.Minute, Clock: newStepClock()}
	const testID = "t"

	first := &fakeAPI{commit: "new", script: []error{apiErr(400, capMsg, 0), nil},
		versions: []amigo.ToolVersion{tv("1.0.0", "a"), tv("1.1.0", "b"), tv("1.2.0", "c")}}
	req := publishRequest{ToolID: testID, Commit: "new", Server: "s", Caps: caps, Body: amigo.PublishRequest{BumpType: amigo.BumpMinor}}
	req.Before, _ = first.Versions(context.Background(), testID)
	out, err := publishWithRetries(context.Background(), context.Background(), first, pol, req, note)
	if err != nil || out.Attempts != 2 || !slices.Equal(out.CapPruned, []string{"1.0.0"}) {
		t.Fatalf("first publish: %+v, %v", out, err)
	}
	if n, ok := caps.refusesAt("s"); !ok || n != 3 {
		t.Fatalf("learned %d, %v; want 3", n, ok)
	}

	second := &fakeAPI{commit: "new", script: []error{nil},
		versions: []amigo.ToolVersion{tv("2.0.0", "a"), tv("2.1.0", "b"), tv("2.2.0", "c")}}
	req.Before, _ = second.Versions(context.Background(), testID)
	out, err = publishWithRetries(context.Background(), context.Background(), second, pol, req, note)
	if err != nil || out.Attempts != 1 || !slices.Equal(out.CapPruned, []string{"2.0.0"}) || !slices.Equal(second.deprecated, []string{"2.0.0"}) {
		t.Fatalf("second publish: %+v, %v (deprecated %v)", out, err, second.deprecated)
	}
	// Another server has learned nothing: no deprecation before its publish.
	third := &fakeAPI{commit: "new", versions: []amigo.ToolVersion{tv("1.0.0", "a"), tv("1.1.0", "b"), tv("1.2.0", "c")}}
	req.Server = "elsewhere"
	req.Before, _ = third.Versions(context.Background(), testID)
	if out, err = publishWithRetries(context.Background(), context.Background(), third, pol, req, note); err != nil || len(out.CapPruned) != 0 || len(third.deprecated) != 0 {
		t.Fatalf("publish on another server: %+v, %v", out, err)
	}
}
