package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
)

// The repository the fake GitHub serves, and the github-token input it
// wants as the bearer token.
const (
	ghRepo  = fakeci.GitHubRepo
	ghToken = "ghs_e2e_fake_token_0123456789"
)

// actionEnv is the environment GitHub Actions gives the bot's step: the
// runner's variables, the event payload file, the output and summary files,
// and the action's inputs as INPUT_* variables.
func (w *world) actionEnv(gh *fakeci.GitHub, event string, payload any, sha, ref string) (map[string]string, string, string) {
	w.t.Helper()
	dir := w.t.TempDir()
	evPath := filepath.Join(dir, "event.json")
	b, _ := json.Marshal(payload)
	if err := os.WriteFile(evPath, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
	out, sum := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md")
	for _, p := range []string{out, sum} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"CI":                  "true",
		"GITHUB_EVENT_NAME":   event,
		"GITHUB_EVENT_PATH":   evPath,
		"GITHUB_SHA":          sha,
		"GITHUB_REF":          ref,
		"GITHUB_REPOSITORY":   ghRepo,
		"GITHUB_SERVER_URL":   "https://github.example",
		"GITHUB_API_URL":      gh.URL(),
		"GITHUB_RUN_ID":       "4242",
		"GITHUB_OUTPUT":       out,
		"GITHUB_STEP_SUMMARY": sum,
		"INPUT_MODE":          "run",
		"INPUT_CONFIG":        ".amigo/release.yaml",
		"INPUT_GITHUB-TOKEN":  ghToken,
		"AMIGO_TIME_SCALE":    fmt.Sprint(scale),
	}
	for k, v := range creds {
		env[k] = v
	}
	return env, out, sum
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPRPreviewThenMergeUpdatesComment: a pull request build plans and
// posts the preview (nothing published, whatever the mode); the push of
// the merge releases and edits the same comment in place.
func TestPRPreviewThenMergeUpdatesComment(t *testing.T) {
	w, first := releasedWorld(t)

	// A pull request from feature/radar with a feat to weather.
	w.gitIn(w.origin, "checkout", "-q", "-b", "feature/radar")
	prHead := w.commit("feat(weather): radar images", testkit.Touch("weather", "radar"))
	w.gitIn(w.origin, "checkout", "-q", "main")
	w.gitIn(w.work, "fetch", "-q", "origin")
	w.gitIn(w.work, "checkout", "-q", "--detach", prHead)

	gh := fakeci.NewGitHub(t, ghToken)
	prPayload := map[string]any{
		"action": "synchronize", "number": 7,
		"pull_request": map[string]any{"number": 7,
			"head": map[string]any{"sha": prHead, "ref": "feature/radar"},
			"base": map[string]any{"sha": first, "ref": "main"}},
		"repository": map[string]any{"full_name": ghRepo},
	}
	env, outPath, _ := w.actionEnv(gh, "pull_request", prPayload, prHead, "refs/pull/7/merge")
	before := w.mutations()
	r := w.run(w.work, env)
	r.wantCode(t, 0)
	if after := w.mutations(); len(after) != len(before) {
		t.Fatalf("the pull request build changed the emulators:\n%s", strings.Join(after[len(before):], "\n"))
	}
	comments, calls := gh.Snapshot()
	if len(comments[7]) != 1 {
		t.Fatalf("PR #7 has %d comments after the preview, want 1 (calls %v)", len(comments[7]), calls)
	}
	preview := comments[7][0]
	wantContains(t, "preview comment", preview.Body, "<!-- amigo-release:", "weather_lookup", "1.1.0")
	if strings.Contains(preview.Body, "currency_convert") {
		t.Errorf("the preview mentions an unchanged tool:\n%s", preview.Body)
	}
	for _, secret := range []string{creds["AMIGO_API_KEY"], ghToken} {
		for _, ln := range strings.Split(r.stdout+r.stderr, "\n") {
			if strings.Contains(ln, secret) && !strings.HasPrefix(ln, "::add-mask::") { // add-mask must name it
				t.Errorf("a secret was printed: %q", ln)
			}
		}
	}
	wantContains(t, "stdout", r.stdout, "::add-mask::")
	wantContains(t, "outputs", readFile(t, outPath), "changed", "weather_lookup")

	// Merge (a merge commit on main) and push: the release edits the comment.
	w.gitIn(w.origin, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from acme/feature/radar", "feature/radar")
	merged := w.gitIn(w.origin, "rev-parse", "HEAD")
	w.pull()
	gh.SetPRsOf(merged, fakeci.PR{Number: 7, Base: "main"})
	pushPayload := map[string]any{"ref": "refs/heads/main", "before": first, "after": merged, "repository": map[string]any{"full_name": ghRepo}}
	env, outPath, sumPath := w.actionEnv(gh, "push", pushPayload, merged, "refs/heads/main")
	r = w.run(w.work, env)
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "1.1.0@"+changes.DisplaySHA(merged))
	w.wantLive("currency_convert", "1.0.0@"+changes.DisplaySHA(first))

	comments, calls = gh.Snapshot()
	if len(comments[7]) != 1 {
		t.Fatalf("PR #7 has %d comments after the merge, want the one comment edited (calls %v)", len(comments[7]), calls)
	}
	final := comments[7][0]
	if final.ID != preview.ID || final.Body == preview.Body {
		t.Errorf("the merge's release did not edit the preview comment in place: id %d→%d", preview.ID, final.ID)
	}
	wantContains(t, "release comment", final.Body, "<!-- amigo-release:", "released 1.1.0", "weather_lookup")
	creates, edits := 0, 0
	for _, c := range calls {
		switch {
		case strings.HasPrefix(c, "POST ") && strings.HasSuffix(c, "/comments"):
			creates++
		case strings.HasPrefix(c, "PATCH "):
			edits++
		}
	}
	if creates != 1 || edits != 1 {
		t.Errorf("comment created %d and edited %d times, want 1 and 1: %v", creates, edits, calls)
	}
	for _, a := range gh.Authorizations() {
		if a != "Bearer "+ghToken {
			t.Errorf("GitHub call with Authorization %q", a)
		}
	}
	wantContains(t, "outputs", readFile(t, outPath), "released", `"version":"1.1.0"`, "failed")
	wantContains(t, "summary", readFile(t, sumPath), "weather_lookup", "1.1.0")
}
