package fakeci

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// githubGit is the git data of the GitHub fake: tag refs, annotated tag
// objects and releases. Refs are only ever created here: any call that
// would move or delete one (PATCH or DELETE on /git/refs) fails the test.
type githubGit struct {
	refs     map[string]string // "refs/tags/x" → object SHA
	tagObjs  map[string]string // annotated tag object SHA → commit SHA
	releases []Release
}

// Release is a GitHub Release.
type Release struct {
	ID         int64  `json:"id"`
	TagName    string `json:"tag_name"`
	Target     string `json:"target_commitish"`
	Name       string `json:"name"`
	Body       string `json:"body"`
	MakeLatest string `json:"make_latest,omitempty"`
	HTMLURL    string `json:"html_url"`
}

func (f *GitHub) routeGit(mux *http.ServeMux, repo string) {
	f.git = githubGit{refs: map[string]string{}, tagObjs: map[string]string{}}
	mux.HandleFunc("GET "+repo+"/git/ref/{ref...}", f.getRef)
	mux.HandleFunc("POST "+repo+"/git/refs", f.createRef)
	mux.HandleFunc("GET "+repo+"/git/tags/{sha}", f.getTagObject)
	mux.HandleFunc("GET "+repo+"/releases/tags/{tag...}", f.getRelease)
	mux.HandleFunc("POST "+repo+"/releases", f.createRelease)
	// Moving or deleting a ref is never what the bot may do.
	mux.HandleFunc("PATCH "+repo+"/git/refs/{ref...}", f.forbiddenRefChange)
	mux.HandleFunc("DELETE "+repo+"/git/refs/{ref...}", f.forbiddenRefChange)
}

func (f *GitHub) forbiddenRefChange(w http.ResponseWriter, r *http.Request) {
	f.t.Errorf("%s %s: the bot tried to move or delete a ref", r.Method, r.URL.Path)
	http.Error(w, "refs are never moved", http.StatusForbidden)
}

func (f *GitHub) getRef(w http.ResponseWriter, r *http.Request) {
	name := "refs/" + r.PathValue("ref")
	f.mu.Lock()
	sha, ok := f.git.refs[name]
	_, annotated := f.git.tagObjs[sha]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	typ := "commit"
	if annotated {
		typ = "tag"
	}
	writeJSON(w, http.StatusOK, map[string]any{"ref": name, "object": map[string]string{"sha": sha, "type": typ}})
}

func (f *GitHub) createRef(w http.ResponseWriter, r *http.Request) {
	var in struct{ Ref, SHA string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("create ref: %v", err)
	}
	if !strings.HasPrefix(in.Ref, "refs/tags/") || len(in.SHA) != 40 {
		f.t.Errorf("create ref %q at %q: want refs/tags/… at a full SHA", in.Ref, in.SHA)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, exists := f.git.refs[in.Ref]; exists {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Reference already exists"})
		return
	}
	f.git.refs[in.Ref] = in.SHA
	writeJSON(w, http.StatusCreated, map[string]any{"ref": in.Ref, "object": map[string]string{"sha": in.SHA, "type": "commit"}})
}

func (f *GitHub) getTagObject(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	commit, ok := f.git.tagObjs[r.PathValue("sha")]
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": r.PathValue("sha"), "object": map[string]string{"sha": commit, "type": "commit"}})
}

func (f *GitHub) getRelease(w http.ResponseWriter, r *http.Request) {
	tag := r.PathValue("tag")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rel := range f.git.releases {
		if rel.TagName == tag {
			writeJSON(w, http.StatusOK, rel)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
}

func (f *GitHub) createRelease(w http.ResponseWriter, r *http.Request) {
	var in Release
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("create release: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rel := range f.git.releases {
		if rel.TagName == in.TagName {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"code": "already_exists", "field": "tag_name"}}})
			return
		}
	}
	f.nextID++
	in.ID = f.nextID
	in.HTMLURL = fmt.Sprintf("https://github.example/%s/releases/tag/%s", GitHubRepo, in.TagName)
	f.git.releases = append(f.git.releases, in)
	writeJSON(w, http.StatusCreated, in)
}

// SeedTag creates the lightweight tag name on commit, as someone else
// would have.
func (f *GitHub) SeedTag(name, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.git.refs["refs/tags/"+name] = commit
}

// SeedAnnotatedTag creates an annotated tag name (a tag object whose SHA
// is object) that points at commit.
func (f *GitHub) SeedAnnotatedTag(name, object, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.git.refs["refs/tags/"+name] = object
	f.git.tagObjs[object] = commit
}

// Tags is a copy of the tags: name (without refs/tags/) → the object the
// ref names.
func (f *GitHub) Tags() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(f.git.refs)) {
		if t, ok := strings.CutPrefix(name, "refs/tags/"); ok {
			out[t] = f.git.refs[name]
		}
	}
	return out
}

// Releases is a copy of the releases, oldest first.
func (f *GitHub) Releases() []Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.git.releases)
}
