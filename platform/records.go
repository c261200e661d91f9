package platform

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

// Repository is the CI host's API for the repository itself: tags,
// releases, and which pull request a commit came from. GitHub (the REST
// API with the workflow token) and Azure DevOps (the Git API with
// SYSTEM_ACCESSTOKEN) implement it; see RepositoryOf.
type Repository interface {
	// EnsureTag makes refs/tags/name name commit. A tag that already
	// names the commit is left as it is (pipeline.TagExists); a tag that
	// names another commit is never moved (pipeline.TagConflict, Existing says which). It
	// only ever creates a ref: no call it makes can move or delete one.
	EnsureTag(ctx context.Context, name, commit string) (TagResult, error)
	// EnsureRelease creates the release of tag (title, markdown body)
	// unless the tag already has one, which is left as it is.
	EnsureRelease(ctx context.Context, tag, commit, title, body string) (ReleaseResult, error)
	// PullRequestsOf says, per commit, the pull requests the host knows it
	// came from (commits it knows nothing of are left out).
	PullRequestsOf(ctx context.Context, shas []string) (map[string][]int, error)
}

// TagResult is what EnsureTag found or did.
type TagResult struct {
	// Status is pipeline.TagCreated, TagExists or TagConflict.
	Status string
	// Existing is the commit the tag names, after EnsureTag.
	Existing string
	// URL links the tag on the host's web UI.
	URL string
}

// found is the outcome of a tag that exists and names existing: the same
// commit, or a conflict that is left alone.
func (r TagResult) found(existing, commit string) TagResult {
	r.Existing = existing
	if strings.EqualFold(existing, commit) {
		r.Status = pipeline.TagExists
	} else {
		r.Status = pipeline.TagConflict
	}
	return r
}

// ReleaseResult is what EnsureRelease found or did.
type ReleaseResult struct {
	URL     string
	Created bool
}

// ErrNoRepositoryAPI: outside GitHub Actions and Azure Pipelines there is
// no CI host to create tags or releases through.
var ErrNoRepositoryAPI = errors.New("no CI platform API here (tags and releases are made through GitHub's or Azure DevOps' API, from GitHub Actions or Azure Pipelines)")

// ErrNoReleases: the host has no releases (Azure DevOps).
var ErrNoReleases = errors.New("Azure DevOps has no releases: the tag and the job summary's notes are the record")

// RepositoryOf returns p's repository API, or ErrNoRepositoryAPI for a
// platform without one (a terminal). A missing token is an error with the
// fix.
func RepositoryOf(p Platform) (Repository, error) {
	switch x := p.(type) {
	case *GitHub:
		return x.repository()
	case *Azure:
		return x.repository()
	}
	return nil, ErrNoRepositoryAPI
}

// LinksOf returns how to link commits and pull requests: from the CI's own
// variables on GitHub Actions and Azure Pipelines, else from the origin
// remote's URL when it is on github.com or Azure DevOps (credentials in
// the URL are dropped). The zero Links when neither says.
func LinksOf(p Platform, getenv func(string) string, remoteURL string) report.Links {
	switch p.(type) {
	case *GitHub:
		if l := githubLinks(getenv); l.RepoURL != "" {
			return l
		}
	case *Azure:
		if l := azureLinks(getenv); l.RepoURL != "" {
			return l
		}
	}
	return RemoteLinks(remoteURL)
}

func githubLinks(getenv func(string) string) report.Links {
	server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY")
	if repo == "" {
		return report.Links{}
	}
	if server == "" {
		server = "https://github.com"
	}
	return report.Links{RepoURL: strings.TrimRight(server, "/") + "/" + repo, PullPath: "pull"}
}

func azureLinks(getenv func(string) string) report.Links {
	coll, project, name := getenv("SYSTEM_COLLECTIONURI"), getenv("SYSTEM_TEAMPROJECT"), getenv("BUILD_REPOSITORY_NAME")
	if coll == "" || project == "" || name == "" {
		return report.Links{}
	}
	return report.Links{RepoURL: strings.TrimRight(coll, "/") + "/" + url.PathEscape(project) + "/_git/" + url.PathEscape(name), PullPath: "pullrequest"}
}

var (
	scpLike    = regexp.MustCompile(`^(?:[\w.-]+@)?([\w.-]+):(.+)$`)
	azureSSHv3 = regexp.MustCompile(`^v3/([^/]+)/([^/]+)/([^/]+)$`)
)

// RemoteLinks derives links from a git remote URL on github.com
// (https://github.com/o/r, git@github.com:o/r.git, ssh://git@github.com/o/r)
// or Azure DevOps (https://[user@]dev.azure.com/org/project/_git/repo,
// git@ssh.dev.azure.com:v3/org/project/repo). Other hosts give the zero
// Links: their URL shapes cannot be told from the remote alone.
func RemoteLinks(remote string) report.Links {
	remote = strings.TrimSpace(remote)
	host, path := "", ""
	if u, err := url.Parse(remote); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" || u.Scheme == "ssh") {
		host, path = u.Hostname(), strings.TrimPrefix(u.Path, "/")
	} else if m := scpLike.FindStringSubmatch(remote); m != nil && !strings.Contains(m[1], "/") {
		host, path = m[1], strings.TrimPrefix(m[2], "/")
	}
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	switch {
	case host == "github.com":
		parts := strings.Split(path, "/")
		if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
			return report.Links{RepoURL: "https://github.com/" + path, PullPath: "pull"}
		}
	case host == "ssh.dev.azure.com":
		if m := azureSSHv3.FindStringSubmatch(path); m != nil {
			return report.Links{RepoURL: "https://dev.azure.com/" + m[1] + "/" + m[2] + "/_git/" + m[3], PullPath: "pullrequest"}
		}
	case host == "dev.azure.com":
		parts := strings.Split(path, "/")
		if len(parts) == 4 && parts[2] == "_git" {
			return report.Links{RepoURL: "https://dev.azure.com/" + path, PullPath: "pullrequest"}
		}
	}
	return report.Links{}
}
