package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/amigo-release/amigo-release/pipeline"
)

// maxPRLookups bounds the pull request lookups of one PullRequestsOf call
// on GitHub (one REST call per commit).
const maxPRLookups = 50

// GitHubRepository is the repository API of GitHub: git refs for tags,
// releases, and the pull requests of a commit.
type GitHubRepository struct {
	Client      *github.Client
	Owner, Repo string
	// WebURL is the repository's web address (tag links).
	WebURL string
}

var _ Repository = GitHubRepository{}

// repository builds the API from the github-token input (else
// GITHUB_TOKEN), github-api-url (else GITHUB_API_URL) and
// GITHUB_REPOSITORY.
func (g *GitHub) repository() (Repository, error) {
	owner, repo, ok := strings.Cut(g.getenv("GITHUB_REPOSITORY"), "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY is %q, want owner/name (GitHub Actions sets it)", g.getenv("GITHUB_REPOSITORY"))
	}
	token := g.Input("github-token")
	if token == "" {
		token = g.getenv("GITHUB_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no GitHub token: pass `github-token: ${{ github.token }}` to the action, with `permissions: contents: write`")
	}
	apiURL := g.Input("github-api-url")
	if apiURL == "" {
		apiURL = g.getenv("GITHUB_API_URL")
	}
	c, err := NewGitHubClient(g.cfg.http, apiURL, token)
	if err != nil {
		return nil, err
	}
	return GitHubRepository{Client: c, Owner: owner, Repo: repo, WebURL: githubLinks(g.getenv).RepoURL}, nil
}

// EnsureTag reads refs/tags/name (peeling an annotated tag) and creates it
// on commit only when it does not exist. A creation that loses a race
// (422: the ref exists) reads the tag again. It never updates or deletes
// a ref.
func (g GitHubRepository) EnsureTag(ctx context.Context, name, commit string) (TagResult, error) {
	res := TagResult{URL: g.tagURL(name)}
	existing, err := g.tagCommit(ctx, name)
	if err != nil {
		return res, err
	}
	if existing == "" {
		_, _, err = g.Client.Git.CreateRef(ctx, g.Owner, g.Repo, &github.Reference{
			Ref: github.String("refs/tags/" + name), Object: &github.GitObject{SHA: github.String(commit)}})
		if err == nil {
			res.Status, res.Existing = pipeline.TagCreated, commit
			return res, nil
		}
		if githubStatus(err) != http.StatusUnprocessableEntity {
			return res, githubRepoError(err, "create tag "+name)
		}
		// 422: someone created it meanwhile (or the commit is unknown).
		if existing, err = g.tagCommit(ctx, name); err != nil {
			return res, err
		}
		if existing == "" {
			return res, fmt.Errorf("create tag %s: GitHub refused it (422): is commit %s pushed to %s/%s?", name, commit, g.Owner, g.Repo)
		}
	}
	return res.found(existing, commit), nil
}

// tagCommit is the commit refs/tags/name names, or "" when there is no
// such tag.
func (g GitHubRepository) tagCommit(ctx context.Context, name string) (string, error) {
	ref, _, err := g.Client.Git.GetRef(ctx, g.Owner, g.Repo, "tags/"+name)
	if githubStatus(err) == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", githubRepoError(err, "read tag "+name)
	}
	if ref.GetRef() != "refs/tags/"+name {
		return "", fmt.Errorf("read tag %s: GitHub answered with ref %q", name, ref.GetRef())
	}
	sha := ref.GetObject().GetSHA()
	for i := 0; i < 5 && ref.GetObject().GetType() == "tag"; i++ {
		t, _, err := g.Client.Git.GetTag(ctx, g.Owner, g.Repo, sha)
		if err != nil {
			return "", githubRepoError(err, "read annotated tag "+name)
		}
		sha = t.GetObject().GetSHA()
		if t.GetObject().GetType() != "tag" {
			break
		}
	}
	return sha, nil
}

func (g GitHubRepository) tagURL(name string) string {
	if g.WebURL == "" {
		return ""
	}
	return g.WebURL + "/tree/" + name
}

// EnsureRelease finds the release of tag, else creates it (not marked
// latest: a monorepo's releases belong to different tools).
func (g GitHubRepository) EnsureRelease(ctx context.Context, tag, commit, title, body string) (ReleaseResult, error) {
	rel, _, err := g.Client.Repositories.GetReleaseByTag(ctx, g.Owner, g.Repo, tag)
	if err == nil {
		return ReleaseResult{URL: rel.GetHTMLURL()}, nil
	}
	if githubStatus(err) != http.StatusNotFound {
		return ReleaseResult{}, githubRepoError(err, "read the release of "+tag)
	}
	rel, _, err = g.Client.Repositories.CreateRelease(ctx, g.Owner, g.Repo, &github.RepositoryRelease{
		TagName: github.String(tag), TargetCommitish: github.String(commit), Name: github.String(title), Body: github.String(body),
		MakeLatest: github.String("false"),
	})
	if err != nil {
		return ReleaseResult{}, githubRepoError(err, "create the release of "+tag)
	}
	return ReleaseResult{URL: rel.GetHTMLURL(), Created: true}, nil
}

// PullRequestsOf asks GitHub for the pull requests of each commit (the
// first maxPRLookups commits).
func (g GitHubRepository) PullRequestsOf(ctx context.Context, shas []string) (map[string][]int, error) {
	out := map[string][]int{}
	for i, sha := range shas {
		if i >= maxPRLookups {
			break
		}
		prs, _, err := g.Client.PullRequests.ListPullRequestsWithCommit(ctx, g.Owner, g.Repo, sha, &github.ListOptions{PerPage: 10})
		if err != nil {
			return out, fmt.Errorf("list the pull requests of commit %s: %w", sha, err)
		}
		for _, p := range prs {
			out[sha] = append(out[sha], p.GetNumber())
		}
	}
	return out, nil
}

// githubRepoError adds the fix to the answers that mean a missing
// permission.
func githubRepoError(err error, what string) error {
	switch githubStatus(err) {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: GitHub answered 401: the github-token is invalid or expired", what)
	case http.StatusForbidden, http.StatusNotFound:
		msg := ""
		var er *github.ErrorResponse
		if errors.As(err, &er) {
			msg = " (" + er.Message + ")"
		}
		return fmt.Errorf("%s: GitHub answered %d%s: give the job `permissions: contents: write` (and pass github-token)", what, githubStatus(err), msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}
