package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// fakeGitHub is an in-memory GitHub REST API for issue comments and the
// pull requests of a commit, mounted under /api/v3 like GitHub Enterprise
// (go-github's setup(): a request that loses the prefix fails the test).
type fakeGitHub struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	nextID   int64
	comments map[int][]fakeComment // by PR number
	prsOf    map[string][]fakePR   // commit → pull requests
	closed   []fakeClosedPR        // closed pull requests, most recently updated first
	pageSize int
	status   int               // when set, every request answers this status
	headers  map[string]string // with status: extra response headers
	message  string            // with status: the error message
	calls    []string
}

type fakePR struct {
	number int
	base   string
}

// fakeClosedPR is a closed pull request: merged when mergeSHA is set.
type fakeClosedPR struct {
	number   int
	base     string
	mergeSHA string
	merged   bool
}

type fakeComment struct {
	ID   int64    `json:"id"`
	Body string   `json:"body"`
	URL  string   `json:"html_url"`
	User fakeUser `json:"user"`
	// locked comments answer 403 to edits (someone else's comment).
	locked bool
}

type fakeUser struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

var (
	botUser   = fakeUser{"github-actions[bot]", "Bot"}
	humanUser = fakeUser{"mallory", "User"}
)

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, nextID: 1000, comments: map[int][]fakeComment{}, prsOf: map[string][]fakePR{}, pageSize: 100}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/tools/issues/{n}/comments", f.list)
	mux.HandleFunc("POST /repos/acme/tools/issues/{n}/comments", f.create)
	mux.HandleFunc("PATCH /repos/acme/tools/issues/comments/{id}", f.edit)
	mux.HandleFunc("GET /repos/acme/tools/commits/{sha}/pulls", f.pulls)
	mux.HandleFunc("GET /repos/acme/tools/pulls", f.listPulls)
	root := http.NewServeMux()
	root.Handle("/api/v3/", http.StripPrefix("/api/v3", f.guard(mux)))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected GitHub call %s %s (absolute URL or missing handler?)", r.Method, r.URL)
		http.Error(w, "not stubbed", http.StatusNotImplemented)
	})
	f.srv = httptest.NewServer(root)
	t.Cleanup(f.srv.Close)
	return f
}

// apiURL is what GITHUB_API_URL holds on GitHub Enterprise Server.
func (f *fakeGitHub) apiURL() string { return f.srv.URL + "/api/v3" }

func (f *fakeGitHub) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		status := f.status
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer ghs_test_token" {
			f.t.Errorf("%s %s: Authorization %q, want the bearer token", r.Method, r.URL.Path, got)
		}
		if status != 0 {
			for k, v := range f.headers {
				w.Header().Set(k, v)
			}
			msg := f.message
			if msg == "" {
				msg = fmt.Sprintf("fake %d", status)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":%q,"documentation_url":"https://docs.github.com/rest"}`, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per == 0 || per > f.pageSize {
		per = f.pageSize
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page == 0 {
		page = 1
	}
	f.mu.Lock()
	all := f.comments[n]
	f.mu.Unlock()
	lo, hi := (page-1)*per, page*per
	if lo > len(all) {
		lo = len(all)
	}
	if hi > len(all) {
		hi = len(all)
	}
	if hi < len(all) {
		w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/repos/acme/tools/issues/%d/comments?per_page=%d&page=%d>; rel="next"`, f.srv.URL, n, per, page+1))
	}
	writeJSON(w, http.StatusOK, all[lo:hi])
}

func (f *fakeGitHub) create(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("create comment: %v", err)
	}
	f.mu.Lock()
	f.nextID++
	c := fakeComment{ID: f.nextID, Body: in.Body, URL: fmt.Sprintf("https://github.example/acme/tools/pull/%d#issuecomment-%d", n, f.nextID), User: botUser}
	f.comments[n] = append(f.comments[n], c)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, c)
}

func (f *fakeGitHub) edit(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("edit comment: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				if cs[i].locked {
					writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
					return
				}
				cs[i].Body = in.Body
				f.comments[n] = cs
				writeJSON(w, http.StatusOK, cs[i])
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

func (f *fakeGitHub) pulls(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	prs := f.prsOf[r.PathValue("sha")]
	f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range prs {
		out = append(out, map[string]any{"number": p.number, "state": "closed", "merged_at": "2026-11-26T00:59:00Z", "base": map[string]any{"ref": p.base}})
	}
	writeJSON(w, http.StatusOK, out)
}

// listPulls answers GET /pulls?state=closed&base=…: the closed pull
// requests into base.
func (f *fakeGitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != "closed" || q.Get("base") == "" {
		f.t.Errorf("GET /pulls?%s: want state=closed and a base", r.URL.RawQuery)
	}
	f.mu.Lock()
	prs := f.closed
	f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range prs {
		if p.base != q.Get("base") {
			continue
		}
		pr := map[string]any{"number": p.number, "state": "closed", "merge_commit_sha": p.mergeSHA, "base": map[string]any{"ref": p.base}}
		if p.merged {
			pr["merged_at"] = "2026-11-26T00:59:00Z"
		}
		out = append(out, pr)
	}
	writeJSON(w, http.StatusOK, out)
}

// seed adds comments by the bot, as earlier runs would have.
func (f *fakeGitHub) seed(pr int, bodies ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range bodies {
		f.nextID++
		f.comments[pr] = append(f.comments[pr], fakeComment{ID: f.nextID, Body: b, User: botUser})
	}
}

// seedBy adds a comment by someone else; locked ones refuse edits (403).
func (f *fakeGitHub) seedBy(pr int, user fakeUser, locked bool, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.comments[pr] = append(f.comments[pr], fakeComment{ID: f.nextID, Body: body, User: user, locked: locked})
}

func (f *fakeGitHub) bodies(pr int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.comments[pr] {
		out = append(out, c.Body)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
