package cmd

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fakeGitHub is the slice of the GitHub REST API the bot uses (issue
// comments, pull requests of a commit), mounted under /api/v3 as on GitHub
// Enterprise Server; any other call fails the test.
type fakeGitHub struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	nextID   int64
	comments map[int][]ghComment // by PR
	prsOf    map[string][]int    // commit SHA → PRs
	calls    []string
}

type ghComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	URL  string `json:"html_url"`
}

const ghToken = "ghs_fake_token_for_tests_0123456789"

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{t: t, nextID: 500, comments: map[int][]ghComment{}, prsOf: map[string][]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/tools/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, append([]ghComment{}, f.comments[n]...))
	})
	mux.HandleFunc("POST /repos/acme/tools/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
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
		writeJSON(w, http.StatusCreated, c)
	})
	mux.HandleFunc("PATCH /repos/acme/tools/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("edit comment: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for n, cs := range f.comments {
			for i := range cs {
				if cs[i].ID == id {
					cs[i].Body = in.Body
					writeJSON(w, http.StatusOK, f.comments[n][i])
					return
				}
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	})
	mux.HandleFunc("GET /repos/acme/tools/commits/{sha}/pulls", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := []map[string]any{}
		for _, n := range f.prsOf[r.PathValue("sha")] {
			out = append(out, map[string]any{"number": n, "state": "closed"})
		}
		writeJSON(w, http.StatusOK, out)
	})
	root := http.NewServeMux()
	root.Handle("/api/v3/", http.StripPrefix("/api/v3", mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected GitHub call %s %s", r.Method, r.URL)
		http.Error(w, "not stubbed", http.StatusNotImplemented)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer "+ghToken {
			t.Errorf("%s %s: Authorization %q, want the github-token input", r.Method, r.URL.Path, got)
		}
		root.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) commentsOn(pr int) []ghComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ghComment{}, f.comments[pr]...)
}

// fakeAzure is the slice of Azure DevOps the bot uses: the location
// service the SDK asks first, and pull request threads and comments.
type fakeAzure struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	threads []adoThread
	nextID  int
	status  int // when set, git calls answer this status
}

type adoThread struct {
	ID       int          `json:"id"`
	Status   string       `json:"status,omitempty"`
	Comments []adoComment `json:"comments"`
}

type adoComment struct {
	ID          int    `json:"id"`
	Content     string `json:"content"`
	CommentType string `json:"commentType,omitempty"`
}

const (
	adoToken   = "ado-system-access-token-0123456789"
	adoProject = "Tools"
	adoRepoID  = "6f1e1f6c-2b4c-4c3c-9d2a-1b2c3d4e5f60"
	adoPR      = 42
)

func newFakeAzure(t *testing.T) *fakeAzure {
	t.Helper()
	f := &fakeAzure{t: t, nextID: 1}
	loc := func(id, area, resource, template string) map[string]any {
		return map[string]any{"id": id, "area": area, "resourceName": resource, "routeTemplate": template,
			"resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0"}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("OPTIONS /org/_apis", func(w http.ResponseWriter, r *http.Request) {
		const thread = "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}"
		writeJSON(w, http.StatusOK, map[string]any{"count": 3, "value": []any{
			loc("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
			loc("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "threads", thread),
			loc("965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", "git", "comments", thread+"/comments/{commentId}"),
		}})
	})
	mux.HandleFunc("GET /org/_apis/ResourceAreas", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "value": []any{}})
	})
	threads := "/org/" + adoProject + "/_apis/git/repositories/" + adoRepoID + "/pullRequests/{pr}/threads"
	git := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("pr") != strconv.Itoa(adoPR) {
				t.Errorf("pull request %q, want %d", r.PathValue("pr"), adoPR)
			}
			if f.status != 0 {
				writeJSON(w, f.status, map[string]any{"message": "denied"})
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET "+threads, git(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"count": len(f.threads), "value": f.threads})
	}))
	mux.HandleFunc("POST "+threads, git(func(w http.ResponseWriter, r *http.Request) {
		var in adoThread
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("create thread: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		in.ID = 100 + len(f.threads)
		for i := range in.Comments {
			in.Comments[i].ID = f.nextID
			f.nextID++
		}
		f.threads = append(f.threads, in)
		writeJSON(w, http.StatusOK, in)
	}))
	mux.HandleFunc("PATCH "+threads+"/{thread}/comments/{comment}", git(func(w http.ResponseWriter, r *http.Request) {
		var in adoComment
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("update comment: %v", err)
		}
		tid, _ := strconv.Atoi(r.PathValue("thread"))
		cid, _ := strconv.Atoi(r.PathValue("comment"))
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := range f.threads {
			for j := range f.threads[i].Comments {
				if f.threads[i].ID == tid && f.threads[i].Comments[j].ID == cid {
					f.threads[i].Comments[j].Content = in.Content
					writeJSON(w, http.StatusOK, f.threads[i].Comments[j])
					return
				}
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "comment not found"})
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Azure DevOps call %s %s", r.Method, r.URL)
		http.Error(w, "not stubbed", http.StatusNotImplemented)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+adoToken {
			t.Errorf("%s %s: Authorization %q, want the System.AccessToken", r.Method, r.URL.Path, got)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAzure) contents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, th := range f.threads {
		for _, c := range th.Comments {
			out = append(out, c.Content)
		}
	}
	return out
}

// parseGitHubOutput reads a $GITHUB_OUTPUT file (name<<DELIM / value /
// DELIM, or name=value lines).
func parseGitHubOutput(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if name, delim, ok := strings.Cut(l, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: no closing %s for %s", delim, name)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(l, "="); ok {
			out[name] = val
			continue
		}
		t.Fatalf("GITHUB_OUTPUT: bad line %q", l)
	}
	return out
}
