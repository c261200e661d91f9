package fakeci

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// azureGit is the git data of the Azure fake: refs (with the peeled commit
// of annotated tags) and which pull requests merged which commits. Ref
// updates are honoured only as creations (old object all zeros), as Azure
// DevOps refuses an update whose old object is stale; an update that would
// move an existing ref fails the test.
type azureGit struct {
	refs    map[string]azureRef // "refs/tags/x" → ref
	prsOf   map[string][]int    // commit → pull request ids
	queries int
}

type azureRef struct{ object, peeled string }

const azureZero = "0000000000000000000000000000000000000000"

func (f *Azure) routeGit(mux *http.ServeMux) {
	f.gitData = azureGit{refs: map[string]azureRef{}, prsOf: map[string][]int{}}
	repo := "/git-host/org/" + AzureProject + "/_apis/git/repositories/" + AzureRepoID
	mux.HandleFunc("GET "+repo+"/refs", f.gitCall(f.listRefs))
	mux.HandleFunc("POST "+repo+"/refs", f.gitCall(f.updateRefs))
	mux.HandleFunc("POST "+repo+"/pullrequestquery", f.gitCall(f.pullRequestQuery))
}

// gitLocations are the location entries of the refs and the pull request
// query, for the SDK's location lookup.
func gitLocations() []any {
	return []any{
		location("2d874a60-a811-4f62-9c9f-963a6ea0a55b", "git", "refs", "{project}/_apis/{area}/repositories/{repositoryId}/refs/{*filter}"),
		location("b3a6eebe-9cf0-49ea-b6cb-1a4c5f5007b0", "git", "pullRequestQuery", "{project}/_apis/{area}/repositories/{repositoryId}/pullrequestquery"),
	}
}

// gitCall checks the api-version and answers the status set by Fail.
func (f *Azure) gitCall(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "api-version=") {
			f.t.Errorf("%s %s without api-version", r.Method, r.URL.Path)
		}
		f.mu.Lock()
		status, body := f.status, f.body
		f.mu.Unlock()
		if status != 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
		h(w, r)
	}
}

// listRefs answers GET refs?filter=<prefix>&peelTags=true (the filter is a
// prefix of the name without refs/).
func (f *Azure) listRefs(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	peel := r.URL.Query().Get("peelTags") == "true"
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(f.gitData.refs)) {
		if !strings.HasPrefix(strings.TrimPrefix(name, "refs/"), filter) {
			continue
		}
		ref := f.gitData.refs[name]
		m := map[string]string{"name": name, "objectId": ref.object}
		if peel && ref.peeled != "" {
			m["peeledObjectId"] = ref.peeled
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "value": out})
}

// updateRefs answers POST refs: each update succeeds only when its old
// object is what the ref names now (all zeros: the ref does not exist).
func (f *Azure) updateRefs(w http.ResponseWriter, r *http.Request) {
	var in []struct{ Name, OldObjectID, NewObjectID string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("update refs: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []map[string]any{}
	for _, u := range in {
		cur, exists := f.gitData.refs[u.Name]
		if u.OldObjectID != azureZero {
			f.t.Errorf("update of %s from %s to %s: the bot only ever creates refs", u.Name, u.OldObjectID, u.NewObjectID)
		}
		res := map[string]any{"name": u.Name, "oldObjectId": u.OldObjectID, "newObjectId": u.NewObjectID}
		switch {
		case exists || (u.OldObjectID != azureZero && cur.object != u.OldObjectID):
			res["success"], res["updateStatus"] = false, "staleOldObjectId"
		default:
			f.gitData.refs[u.Name] = azureRef{object: u.NewObjectID}
			res["success"], res["updateStatus"] = true, "succeeded"
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "value": out})
}

func (f *Azure) pullRequestQuery(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Queries []struct {
			Type  string   `json:"type"`
			Items []string `json:"items"`
		} `json:"queries"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("pull request query: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gitData.queries++
	results := []map[string][]map[string]int{}
	for _, q := range in.Queries {
		if q.Type != "commit" {
			f.t.Errorf("pull request query of type %q, want commit", q.Type)
		}
		res := map[string][]map[string]int{}
		for _, sha := range q.Items {
			for _, id := range f.gitData.prsOf[sha] {
				res[sha] = append(res[sha], map[string]int{"pullRequestId": id})
			}
		}
		results = append(results, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"queries": in.Queries, "results": results})
}

// SeedTag creates a lightweight tag name on commit.
func (f *Azure) SeedTag(name, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gitData.refs["refs/tags/"+name] = azureRef{object: commit}
}

// SeedAnnotatedTag creates an annotated tag: the ref names object, which
// peels to commit.
func (f *Azure) SeedAnnotatedTag(name, object, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gitData.refs["refs/tags/"+name] = azureRef{object: object, peeled: commit}
}

// SetPRsOf sets the pull requests that merged commit sha.
func (f *Azure) SetPRsOf(sha string, ids ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gitData.prsOf[sha] = ids
}

// Tags is a copy of the tags: name (without refs/tags/) → the object the
// ref names.
func (f *Azure) Tags() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for name, ref := range f.gitData.refs {
		if t, ok := strings.CutPrefix(name, "refs/tags/"); ok {
			out[t] = ref.object
		}
	}
	return out
}
