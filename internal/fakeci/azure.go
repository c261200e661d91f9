package fakeci

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
)

// The project, repository and pull request whose threads the Azure fake
// serves (SYSTEM_TEAMPROJECT, BUILD_REPOSITORY_ID,
// SYSTEM_PULLREQUEST_PULLREQUESTID).
const (
	AzureProject = "Tools Project"
	AzureRepoID  = "6f1e1f6c-2b4c-4c3c-9d2a-1b2c3d4e5f60"
	AzurePR      = 42
)

// Azure stands in for Azure DevOps Services: the location service
// (OPTIONS /_apis and the resource areas) that the SDK calls first, and the
// git pull request threads and comments. The git area lives on a different
// host path (GitURL) than the collection (CollectionURL), as the resource
// area lookup allows, so a test proves the client follows it; without
// resource areas (NoResourceAreas, like Azure DevOps Server) the collection
// must be GitURL itself.
type Azure struct {
	server
	threads []Thread
	nextID  int
	status  int    // when set, git calls answer this status
	body    string // with status: the body (HTML sign-in page, JSON error, …)
	noAreas bool
	gitData azureGit // refs and pull request queries (azure_git.go)
}

// Thread is a pull request thread.
type Thread struct {
	ID       int             `json:"id"`
	Status   string          `json:"status,omitempty"`
	Comments []ThreadComment `json:"comments"`
}

// ThreadComment is a comment in a thread.
type ThreadComment struct {
	ID          int    `json:"id"`
	Content     string `json:"content"`
	CommentType string `json:"commentType,omitempty"`
	IsDeleted   bool   `json:"isDeleted,omitempty"`
	// Locked comments are someone else's: updates answer 403.
	Locked bool `json:"-"`
}

// NewAzure starts a fake Azure DevOps that wants "Bearer "+token (the
// System.AccessToken) on every call.
func NewAzure(t testing.TB, token string) *Azure {
	t.Helper()
	f := &Azure{nextID: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("OPTIONS /org/_apis", f.locations)
	mux.HandleFunc("OPTIONS /git-host/org/_apis", f.locations)
	mux.HandleFunc("GET /org/_apis/ResourceAreas", f.areas)
	mux.HandleFunc("GET /git-host/org/_apis/ResourceAreas", f.areas)
	threads := "/git-host/org/" + AzureProject + "/_apis/git/repositories/" + AzureRepoID + "/pullRequests/{pr}/threads"
	mux.HandleFunc("GET "+threads, f.git(f.listThreads))
	mux.HandleFunc("POST "+threads, f.git(f.createThread))
	mux.HandleFunc("PATCH "+threads+"/{thread}/comments/{comment}", f.git(f.updateComment))
	f.routeGit(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Azure DevOps call %s %s", r.Method, r.URL)
		http.Error(w, "not stubbed", http.StatusNotImplemented)
	})
	f.start(t, token, "System.AccessToken", mux)
	return f
}

// CollectionURL is SYSTEM_COLLECTIONURI, whose resource areas point the
// git area at GitURL.
func (f *Azure) CollectionURL() string { return f.srv.URL + "/org/" }

// GitURL is where the git area lives: the collection URL to use after
// NoResourceAreas.
func (f *Azure) GitURL() string { return f.srv.URL + "/git-host/org/" }

// NoResourceAreas makes the location service list no resource areas, as
// Azure DevOps Server does.
func (f *Azure) NoResourceAreas() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noAreas = true
}

// Fail makes the git calls answer status with body (an HTML sign-in page,
// a JSON error, …) as text/html.
func (f *Azure) Fail(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func location(id, area, resource, template string) map[string]any {
	return map[string]any{
		"id": id, "area": area, "resourceName": resource, "routeTemplate": template,
		"resourceVersion": 1, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0",
	}
}

func (f *Azure) locations(w http.ResponseWriter, r *http.Request) {
	const thread = "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}"
	value := append([]any{
		location("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
		location("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "threads", thread),
		location("965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", "git", "comments", thread+"/comments/{commentId}"),
	}, gitLocations()...)
	writeJSON(w, http.StatusOK, map[string]any{"count": len(value), "value": value})
}

func (f *Azure) areas(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	noAreas := f.noAreas
	f.mu.Unlock()
	if noAreas {
		writeJSON(w, http.StatusOK, map[string]any{"count": 0, "value": []any{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": 2, "value": []any{
		map[string]any{"id": "79134c72-4a58-4b42-976c-04e7115f32bf", "name": "core", "locationUrl": f.CollectionURL()},
		map[string]any{"id": "4e080c62-fa21-4fbc-8fef-2a10a2b38049", "name": "git", "locationUrl": f.GitURL()},
	}})
}

// git checks a git call (api-version, pull request AzurePR) and answers
// the status set by Fail instead of h.
func (f *Azure) git(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return f.gitCall(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("pr") != strconv.Itoa(AzurePR) {
			f.t.Errorf("pull request %q, want %d", r.PathValue("pr"), AzurePR)
		}
		h(w, r)
	})
}

func (f *Azure) listThreads(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"count": len(f.threads), "value": f.threads})
}

func (f *Azure) createThread(w http.ResponseWriter, r *http.Request) {
	var in Thread
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

func (f *Azure) updateComment(w http.ResponseWriter, r *http.Request) {
	var in ThreadComment
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("update comment: %v", err)
	}
	tid, _ := strconv.Atoi(r.PathValue("thread"))
	cid, _ := strconv.Atoi(r.PathValue("comment"))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.threads {
		for j := range f.threads[i].Comments {
			c := &f.threads[i].Comments[j]
			if f.threads[i].ID != tid || c.ID != cid {
				continue
			}
			if c.Locked {
				writeJSON(w, http.StatusForbidden, map[string]any{"$id": "1", "message": "TF401181: only the author can edit a comment", "typeKey": "UnauthorizedRequestException"})
				return
			}
			c.Content = in.Content
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "comment not found"})
}

// Seed adds one active thread a content, each with one comment by the bot.
func (f *Azure) Seed(contents ...string) {
	for _, c := range contents {
		f.seed(c, false)
	}
}

// SeedLocked adds a thread whose comment someone else wrote.
func (f *Azure) SeedLocked(content string) { f.seed(content, true) }

func (f *Azure) seed(content string, locked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.threads = append(f.threads, Thread{ID: 100 + len(f.threads), Status: "active", Comments: []ThreadComment{{ID: f.nextID, Content: content, CommentType: "text", Locked: locked}}})
	f.nextID++
}

// Threads is a copy of the pull request's threads, oldest first.
func (f *Azure) Threads() []Thread {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.threads)
	for i := range out {
		out[i].Comments = slices.Clone(out[i].Comments)
	}
	return out
}

// Contents is the content of every comment in every thread, in order.
func (f *Azure) Contents() []string {
	var out []string
	for _, th := range f.Threads() {
		for _, c := range th.Comments {
			out = append(out, c.Content)
		}
	}
	return out
}
