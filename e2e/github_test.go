package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub records what the bot does through the GitHub REST API: it
// serves the issue comments of pull requests and the pull requests of a
// commit, under /api/v3 (GitHub Enterprise Server's layout, which
// GITHUB_API_URL selects). Any other call fails the test.
type fakeGitHub struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	nextID   int64
	comments map[int][]ghComment // by pull request
	prsOf    map[string][]ghPR   // commit SHA → pull requests
	calls    []string            // "METHOD /path"
	auth     []string            // Authorization headers seen
}

type ghComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	URL  string `json:"html_url"`
}

type ghPR struct {
	Number int `json:"number"`
	Base   struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

const ghRepo = "acme/tools"

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t, nextID: 900, comments: map[int][]ghComment{}, prsOf: map[string][]ghPR{}}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/v3/repos/acme/tools/commits/{sha}/pulls", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, 200, append([]ghPR{}, f.prsOf[r.PathValue("sha")]...))
	})
	mux.HandleFunc("GET /api/v3/repos/acme/tools/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		f.mu.Lock()
		defer f.mu.Unlock()
		reply(w, 200, append([]ghComment{}, f.comments[n]...))
	})
	mux.HandleFunc("POST /api/v3/repos/acme/tools/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("create comment: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.nextID++
		c := ghComment{ID: f.nextID, Body: in.Body, URL: fmt.Sprintf("https://github.example/acme/tools/pull/%d#issuecomment-%d", n, f.nextID)}
		f.comments[n] = append(f.comments[n], c)
		reply(w, 201, c)
	})
	mux.HandleFunc("PATCH /api/v3/repos/acme/tools/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("edit comment: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for n := range f.comments {
			for i := range f.comments[n] {
				if f.comments[n][i].ID == id {
					f.comments[n][i].Body = in.Body
					reply(w, 200, f.comments[n][i])
					return
				}
			}
		}
		reply(w, 404, map[string]string{"message": "Not Found"})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if _, pattern := mux.Handler(r); pattern == "" {
			t.Errorf("unexpected GitHub API call %s %s", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) snapshot() (map[int][]ghComment, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int][]ghComment{}
	for n, cs := range f.comments {
		out[n] = append([]ghComment{}, cs...)
	}
	return out, append([]string{}, f.calls...)
}

const ghToken = "ghs_e2e_fake_token_0123456789"

// actionEnv is the environment GitHub Actions gives the bot's step: the
// runner's variables, the event payload file, the output and summary files,
// and the action's inputs as INPUT_* variables.
func (w *world) actionEnv(gh *fakeGitHub, event string, payload any, sha, ref string) (map[string]string, string, string) {
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
		"GITHUB_API_URL":      gh.srv.URL,
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
	w := newWorld(t)
	first := w.monorepo()
	w.checkout(0)
	w.release(nil).wantCode(t, 0)

	// A pull request from feature/radar with a feat to weather.
	w.gitIn(w.origin, "checkout", "-q", "-b", "feature/radar")
	prHead := w.commit("feat(weather): radar images", touch("weather", "radar"))
	w.gitIn(w.origin, "checkout", "-q", "main")
	w.gitIn(w.work, "fetch", "-q", "origin")
	w.gitIn(w.work, "checkout", "-q", "--detach", prHead)

	gh := newFakeGitHub(t)
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
	comments, calls := gh.snapshot()
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
	gh.mu.Lock()
	gh.prsOf[merged] = []ghPR{{Number: 7}}
	gh.prsOf[merged][0].Base.Ref = "main"
	gh.mu.Unlock()
	pushPayload := map[string]any{"ref": "refs/heads/main", "before": first, "after": merged, "repository": map[string]any{"full_name": ghRepo}}
	env, outPath, sumPath := w.actionEnv(gh, "push", pushPayload, merged, "refs/heads/main")
	r = w.run(w.work, env)
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.0.0@"+short(first), "1.1.0@"+short(merged))
	w.wantLive("currency_convert", "1.0.0@"+short(first))

	comments, calls = gh.snapshot()
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
	for _, a := range gh.auth {
		if a != "Bearer "+ghToken {
			t.Errorf("GitHub call with Authorization %q", a)
		}
	}
	wantContains(t, "outputs", readFile(t, outPath), "released", `"version":"1.1.0"`, "failed")
	wantContains(t, "summary", readFile(t, sumPath), "weather_lookup", "1.1.0")
}
