package platform

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

// fakeAzure stands in for Azure DevOps Services: the location service
// (OPTIONS /_apis and the resource areas) that the SDK calls first, and the
// git pull request threads and comments. The git area lives on a different
// host path than the collection, as the resource area lookup allows, so the
// test proves we follow it.
type fakeAzure struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	threads []fakeThread
	nextID  int
	status  int    // when set, git calls answer this status
	body    string // with status: the body (HTML sign-in page, JSON error, …)
	calls   []string
	noAreas bool // Azure DevOps Server: no resource areas
}

type fakeThread struct {
	ID       int           `json:"id"`
	Status   string        `json:"status,omitempty"`
	Comments []fakeADOComm `json:"comments"`
}

type fakeADOComm struct {
	ID          int    `json:"id"`
	Content     string `json:"content"`
	CommentType string `json:"commentType,omitempty"`
	IsDeleted   bool   `json:"isDeleted,omitempty"`
	locked      bool   // someone else's: updates answer 403
}

const (
	adoProject = "Tools Project"
	adoRepoID  = "6f1e1f6c-2b4c-4c3c-9d2a-1b2c3d4e5f60"
)

func newFakeAzure(t *testing.T) *fakeAzure {
	t.Helper()
	f := &fakeAzure{t: t, nextID: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("OPTIONS /org/_apis", f.locations)
	mux.HandleFunc("OPTIONS /git-host/org/_apis", f.locations)
	mux.HandleFunc("GET /org/_apis/ResourceAreas", f.areas)
	mux.HandleFunc("GET /git-host/org/_apis/ResourceAreas", f.areas)
	threads := "/git-host/org/Tools Project/_apis/git/repositories/" + adoRepoID + "/pullRequests/{pr}/threads"
	mux.HandleFunc("GET "+threads, f.git(f.listThreads))
	mux.HandleFunc("POST "+threads, f.git(f.createThread))
	mux.HandleFunc("PATCH "+threads+"/{thread}/comments/{comment}", f.git(f.updateComment))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Azure DevOps call %s %s", r.Method, r.URL)
		http.Error(w, "not stubbed", http.StatusNotImplemented)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer ado-access-token" {
			t.Errorf("%s %s: Authorization %q, want the bearer System.AccessToken", r.Method, r.URL.Path, got)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// collection is SYSTEM_COLLECTIONURI.
func (f *fakeAzure) collection() string { return f.srv.URL + "/org/" }

func location(id, area, resource, template string) map[string]any {
	return map[string]any{
		"id": id, "area": area, "resourceName": resource, "routeTemplate": template,
		"resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0",
	}
}

func (f *fakeAzure) locations(w http.ResponseWriter, r *http.Request) {
	const thread = "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}"
	writeJSON(w, http.StatusOK, map[string]any{"count": 3, "value": []any{
		location("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
		location("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "threads", thread),
		location("965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", "git", "comments", thread+"/comments/{commentId}"),
	}})
}

func (f *fakeAzure) areas(w http.ResponseWriter, r *http.Request) {
	if f.noAreas {
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "value": []any{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 2, "value": []any{
		map[string]any{"id": "79134c72-4a58-4b42-976c-04e7115f32bf", "name": "core", "locationUrl": f.srv.URL + "/org/"},
		map[string]any{"id": "4e080c62-fa21-4fbc-8fef-2a10a2b38049", "name": "git", "locationUrl": f.srv.URL + "/git-host/org/"},
	}})
}

func (f *fakeAzure) git(h func(w http.ResponseWriter, r *http.Request, pr int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.status != 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.status)
			fmt.Fprint(w, f.body)
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "api-version=") {
			f.t.Errorf("%s %s without api-version", r.Method, r.URL.Path)
		}
		pr, err := strconv.Atoi(r.PathValue("pr"))
		if err != nil || pr != 42 {
			f.t.Errorf("pull request %q, want 42", r.PathValue("pr"))
		}
		h(w, r, pr)
	}
}

func (f *fakeAzure) listThreads(w http.ResponseWriter, r *http.Request, pr int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": len(f.threads), "value": f.threads})
}

func (f *fakeAzure) createThread(w http.ResponseWriter, r *http.Request, pr int) {
	var in fakeThread
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("create thread: %v", err)
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
}

func (f *fakeAzure) updateComment(w http.ResponseWriter, r *http.Request, pr int) {
	var in fakeADOComm
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("update comment: %v", err)
	}
	tid, _ := strconv.Atoi(r.PathValue("thread"))
	cid, _ := strconv.Atoi(r.PathValue("comment"))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.threads {
		for j := range f.threads[i].Comments {
			if f.threads[i].ID == tid && f.threads[i].Comments[j].ID == cid {
				if f.threads[i].Comments[j].locked {
					writeJSON(w, http.StatusForbidden, map[string]any{"$id": "1", "message": "TF401181: only the author can edit a comment", "typeKey": "UnauthorizedRequestException"})
					return
				}
				f.threads[i].Comments[j].Content = in.Content
				writeJSON(w, http.StatusOK, f.threads[i].Comments[j])
				return
			}
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "comment not found"})
}

func (f *fakeAzure) seed(contents ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range contents {
		f.threads = append(f.threads, fakeThread{ID: 100 + len(f.threads), Status: "active", Comments: []fakeADOComm{{ID: f.nextID, Content: c, CommentType: "text"}}})
		f.nextID++
	}
}

// seedLocked adds a thread whose comment someone else wrote.
func (f *fakeAzure) seedLocked(content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.threads = append(f.threads, fakeThread{ID: 100 + len(f.threads), Status: "active", Comments: []fakeADOComm{{ID: f.nextID, Content: content, CommentType: "text", locked: true}}})
	f.nextID++
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
