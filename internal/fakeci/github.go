package fakeci

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// GitHubRepo is the repository (GITHUB_REPOSITORY) the GitHub fake serves.
const GitHubRepo = "acme/tools"

// GitHub is an in-memory GitHub REST API for issue comments and the pull
// requests of a commit, mounted under /api/v3 like GitHub Enterprise
// Server: a request that loses the prefix, or any call it does not serve,
// fails the test.
type GitHub struct {
	server
	nextID   int64
	comments map[int][]Comment // by PR number
	prsOf    map[string][]PR   // commit → pull requests
	closed   []ClosedPR        // closed pull requests, most recently updated first
	pageSize int
	status   int               // when set, every API call answers this status
	headers  map[string]string // with status: extra response headers
	message  string            // with status: the error message
	git      githubGit         // tags and releases (github_git.go)
}

// PR is a pull request as GitHub lists it for a commit.
type PR struct {
	Number int
	Base   string // the branch it merges into
}

// ClosedPR is a closed pull request: merged when Merged is set, and then
// MergeSHA is its merge commit.
type ClosedPR struct {
	Number   int
	Base     string
	MergeSHA string
	Merged   bool
}

// Comment is an issue comment.
type Comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	URL  string `json:"html_url"`
	User User   `json:"user"`
	// Locked comments answer 403 to edits (someone else's comment).
	Locked bool `json:"-"`
}

// User is a comment's author.
type User struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

var (
	// Bot is the author of the comments the github-actions token writes.
	Bot = User{"github-actions[bot]", "Bot"}
	// Human is someone else.
	Human = User{"mallory", "User"}
)

// NewGitHub starts a fake GitHub that wants "Bearer "+token on every call.
func NewGitHub(t testing.TB, token string) *GitHub {
	t.Helper()
	f := &GitHub{nextID: 1000, comments: map[int][]Comment{}, prsOf: map[string][]PR{}, pageSize: 100}
	repo := "/repos/" + GitHubRepo
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+repo+"/issues/{n}/comments", f.list)
	mux.HandleFunc("POST "+repo+"/issues/{n}/comments", f.create)
	mux.HandleFunc("PATCH "+repo+"/issues/comments/{id}", f.edit)
	mux.HandleFunc("GET "+repo+"/commits/{sha}/pulls", f.pulls)
	mux.HandleFunc("GET "+repo+"/pulls", f.listPulls)
	f.routeGit(mux, repo)
	mux.HandleFunc("/", f.unexpected)
	root := http.NewServeMux()
	root.Handle("/api/v3/", http.StripPrefix("/api/v3", f.failing(mux)))
	root.HandleFunc("/", f.unexpected)
	f.start(t, token, "github-token", root)
	return f
}

// APIURL is what GITHUB_API_URL holds on GitHub Enterprise Server; URL,
// the server's root, is what go-github adds /api/v3 to.
func (f *GitHub) APIURL() string { return f.srv.URL + "/api/v3" }

func (f *GitHub) unexpected(w http.ResponseWriter, r *http.Request) {
	f.t.Errorf("unexpected GitHub call %s %s (absolute URL or missing handler?)", r.Method, r.URL)
	http.Error(w, "not stubbed", http.StatusNotImplemented)
}

// failing answers the status set by Fail instead of next.
func (f *GitHub) failing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		status, headers, msg := f.status, f.headers, f.message
		f.mu.Unlock()
		if status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		if msg == "" {
			msg = fmt.Sprintf("fake %d", status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":%q,"documentation_url":"https://docs.github.com/rest"}`, msg)
	})
}

// Fail makes every API call answer status with the extra headers and a
// GitHub error whose message is message ("fake <status>" when empty).
func (f *GitHub) Fail(status int, headers map[string]string, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.headers, f.message = status, headers, message
}

// SetPageSize caps how many comments a page lists (100 by default).
func (f *GitHub) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// SetPRsOf sets the pull requests GitHub associates with the commit sha.
func (f *GitHub) SetPRsOf(sha string, prs ...PR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prsOf[sha] = prs
}

// SetClosed sets the closed pull requests, most recently updated first.
func (f *GitHub) SetClosed(prs ...ClosedPR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = prs
}

func (f *GitHub) list(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.mu.Lock()
	all := slices.Clone(f.comments[n])
	size := f.pageSize
	f.mu.Unlock()
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per == 0 || per > size {
		per = size
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page == 0 {
		page = 1
	}
	lo, hi := min((page-1)*per, len(all)), min(page*per, len(all))
	if hi < len(all) {
		w.Header().Set("Link", fmt.Sprintf(`<%s/repos/%s/issues/%d/comments?per_page=%d&page=%d>; rel="next"`, f.APIURL(), GitHubRepo, n, per, page+1))
	}
	writeJSON(w, http.StatusOK, all[lo:hi])
}

func (f *GitHub) create(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("create comment: %v", err)
	}
	f.mu.Lock()
	f.nextID++
	c := Comment{ID: f.nextID, Body: in.Body, URL: fmt.Sprintf("https://github.example/%s/pull/%d#issuecomment-%d", GitHubRepo, n, f.nextID), User: Bot}
	f.comments[n] = append(f.comments[n], c)
	f.mu.Unlock()
	writeJSON(w, http.StatusCreated, c)
}

func (f *GitHub) edit(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct{ Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("edit comment: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cs := range f.comments {
		for i := range cs {
			if cs[i].ID != id {
				continue
			}
			if cs[i].Locked {
				writeJSON(w, http.StatusForbidden, map[string]string{"message": "Resource not accessible by integration"})
				return
			}
			cs[i].Body = in.Body
			writeJSON(w, http.StatusOK, cs[i])
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

// pulls answers GET /commits/{sha}/pulls.
func (f *GitHub) pulls(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	prs := f.prsOf[r.PathValue("sha")]
	f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range prs {
		out = append(out, map[string]any{"number": p.Number, "state": "closed", "merged_at": "2026-11-26T00:59:00Z", "base": map[string]any{"ref": p.Base}})
	}
	writeJSON(w, http.StatusOK, out)
}

// listPulls answers GET /pulls?state=closed&base=…: the closed pull
// requests into base.
func (f *GitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != "closed" || q.Get("base") == "" {
		f.t.Errorf("GET /pulls?%s: want state=closed and a base", r.URL.RawQuery)
	}
	f.mu.Lock()
	prs := f.closed
	f.mu.Unlock()
	out := []map[string]any{}
	for _, p := range prs {
		if p.Base != q.Get("base") {
			continue
		}
		pr := map[string]any{"number": p.Number, "state": "closed", "merge_commit_sha": p.MergeSHA, "base": map[string]any{"ref": p.Base}}
		if p.Merged {
			pr["merged_at"] = "2026-11-26T00:59:00Z"
		}
		out = append(out, pr)
	}
	writeJSON(w, http.StatusOK, out)
}

// Seed adds comments by the bot to pull request pr, as earlier runs would
// have.
func (f *GitHub) Seed(pr int, bodies ...string) {
	for _, b := range bodies {
		f.SeedBy(pr, Bot, false, b)
	}
}

// SeedBy adds a comment by user; locked ones refuse edits (403).
func (f *GitHub) SeedBy(pr int, user User, locked bool, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.comments[pr] = append(f.comments[pr], Comment{ID: f.nextID, Body: body, User: user, Locked: locked})
}

// Comments is a copy of pull request pr's comments, oldest first.
func (f *GitHub) Comments(pr int) []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.comments[pr])
}

// Bodies is the bodies of pull request pr's comments, oldest first.
func (f *GitHub) Bodies(pr int) []string {
	var out []string
	for _, c := range f.Comments(pr) {
		out = append(out, c.Body)
	}
	return out
}

// Snapshot is a copy of every pull request's comments and of the calls so
// far, taken together.
func (f *GitHub) Snapshot() (map[int][]Comment, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := maps.Clone(f.comments)
	for n, cs := range out {
		out[n] = slices.Clone(cs)
	}
	return out, slices.Clone(f.calls)
}
