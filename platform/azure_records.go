package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"

	"github.com/amigo-release/amigo-release/pipeline"
)

// AzureTagFix is the fix printed when the pipeline may not create tags.
const AzureTagFix = "map SYSTEM_ACCESSTOKEN into the step (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken)) and grant the build identity 'Contribute' and 'Create tag' on the repository"

const zeroObjectID = "0000000000000000000000000000000000000000"

// AzureRepository is the repository API of Azure Repos: the refs API for
// tags and the pull request query for the pull requests of commits.
type AzureRepository struct {
	AzureThreads // collection, project, repository, token, HTTP client
	// WebURL is the repository's web address (tag links).
	WebURL string
}

var _ Repository = AzureRepository{}

func (a *Azure) repository() (Repository, error) {
	if p := a.getenv("BUILD_REPOSITORY_PROVIDER"); p != "" && p != "TfsGit" {
		return nil, fmt.Errorf("the repository is hosted on %s, not Azure Repos: tags are made through the Azure Repos API only", p)
	}
	token := a.getenv("SYSTEM_ACCESSTOKEN")
	if token == "" {
		return nil, errors.New("SYSTEM_ACCESSTOKEN is not set; " + AzureTagFix)
	}
	a.Mask(token)
	collection, project, repoID := a.getenv("SYSTEM_COLLECTIONURI"), a.getenv("SYSTEM_TEAMPROJECT"), a.getenv("BUILD_REPOSITORY_ID")
	if collection == "" || project == "" || repoID == "" {
		return nil, fmt.Errorf("SYSTEM_COLLECTIONURI (%q), SYSTEM_TEAMPROJECT (%q) and BUILD_REPOSITORY_ID (%q) must all be set; Azure Pipelines sets them in every job", collection, project, repoID)
	}
	return AzureRepository{
		AzureThreads: AzureThreads{Collection: collection, Project: project, RepositoryID: repoID, Token: token, HTTPClient: a.cfg.http},
		WebURL:       azureLinks(a.getenv).RepoURL,
	}, nil
}

// gitClient is the SDK's git client with a status recorder.
func (r AzureRepository) gitClient(ctx context.Context) (*git.ClientImpl, *statusRecorder, error) {
	gc, rec, err := r.recordedClient(ctx)
	if err != nil {
		return nil, rec, azureRepoError(rec.explain(err), "reach Azure DevOps")
	}
	return gc, rec, nil
}

// EnsureTag reads refs/tags/name (peeled) and creates it on commit only
// when it does not exist: the update names the all-zero old object, which
// Azure DevOps refuses for an existing ref, so no call can move a tag.
func (r AzureRepository) EnsureTag(ctx context.Context, name, commit string) (TagResult, error) {
	res := TagResult{URL: r.tagURL(name)}
	gc, rec, err := r.gitClient(ctx)
	if err != nil {
		return res, err
	}
	existing, err := r.tagCommit(ctx, gc, rec, name)
	if err != nil {
		return res, err
	}
	if existing == "" {
		ref := "refs/tags/" + name
		out, err := gc.UpdateRefs(ctx, git.UpdateRefsArgs{
			RefUpdates:   &[]git.GitRefUpdate{{Name: &ref, OldObjectId: strPtr(zeroObjectID), NewObjectId: &commit}},
			RepositoryId: &r.RepositoryID, Project: &r.Project,
		})
		if err != nil {
			return res, azureRepoError(rec.explain(err), "create tag "+name)
		}
		if results := deref(out); len(results) == 1 && results[0].Success != nil && *results[0].Success {
			res.Status, res.Existing = pipeline.TagCreated, commit
			return res, nil
		}
		// Refused: someone created it meanwhile, or the commit is unknown.
		if existing, err = r.tagCommit(ctx, gc, rec, name); err != nil {
			return res, err
		}
		if existing == "" {
			why := ""
			if results := deref(out); len(results) == 1 && results[0].UpdateStatus != nil {
				why = " (" + string(*results[0].UpdateStatus) + ")"
			}
			return res, fmt.Errorf("create tag %s: Azure DevOps refused it%s: is commit %s pushed to the repository?", name, why, commit)
		}
	}
	return res.found(existing, commit), nil
}

// tagCommit is the commit refs/tags/name names, or "". The refs filter is
// a prefix: only the exact name counts.
func (r AzureRepository) tagCommit(ctx context.Context, gc *git.ClientImpl, rec *statusRecorder, name string) (string, error) {
	filter, peel := "tags/"+name, true
	resp, err := gc.GetRefs(ctx, git.GetRefsArgs{RepositoryId: &r.RepositoryID, Project: &r.Project, Filter: &filter, PeelTags: &peel})
	if err != nil {
		return "", azureRepoError(rec.explain(err), "read tag "+name)
	}
	for _, ref := range resp.Value {
		if ref.Name == nil || *ref.Name != "refs/tags/"+name {
			continue
		}
		if ref.PeeledObjectId != nil && *ref.PeeledObjectId != "" {
			return *ref.PeeledObjectId, nil
		}
		if ref.ObjectId != nil {
			return *ref.ObjectId, nil
		}
	}
	return "", nil
}

func (r AzureRepository) tagURL(name string) string {
	if r.WebURL == "" {
		return ""
	}
	return r.WebURL + "?version=GT" + url.QueryEscape(name)
}

// EnsureRelease is not available: Azure DevOps has no releases of a
// repository.
func (AzureRepository) EnsureRelease(context.Context, string, string, string, string) (ReleaseResult, error) {
	return ReleaseResult{}, ErrNoReleases
}

// PullRequestsOf asks the pull request query which pull requests merged
// each commit (one call for all of them).
func (r AzureRepository) PullRequestsOf(ctx context.Context, shas []string) (map[string][]int, error) {
	out := map[string][]int{}
	if len(shas) == 0 {
		return out, nil
	}
	if len(shas) > 100 {
		shas = shas[:100]
	}
	gc, rec, err := r.gitClient(ctx)
	if err != nil {
		return out, err
	}
	items := append([]string(nil), shas...)
	typ := git.GitPullRequestQueryTypeValues.Commit
	q, err := gc.GetPullRequestQuery(ctx, git.GetPullRequestQueryArgs{
		Queries:      &git.GitPullRequestQuery{Queries: &[]git.GitPullRequestQueryInput{{Items: &items, Type: &typ}}},
		RepositoryId: &r.RepositoryID, Project: &r.Project,
	})
	if err != nil {
		return out, azureRepoError(rec.explain(err), "query the pull requests of the commits")
	}
	for _, res := range deref(q.Results) {
		for sha, prs := range res {
			for _, p := range prs {
				if p.PullRequestId != nil {
					out[strings.ToLower(sha)] = append(out[strings.ToLower(sha)], *p.PullRequestId)
				}
			}
		}
	}
	return out, nil
}

func strPtr(s string) *string { return &s }

// azureRepoError adds the fix to 401/403 answers.
func azureRepoError(err error, what string) error {
	if err == nil {
		return nil
	}
	if status := azureStatus(err); status == http.StatusUnauthorized || status == http.StatusForbidden {
		return fmt.Errorf("%s: Azure DevOps answered %d; %s", what, status, AzureTagFix)
	}
	return fmt.Errorf("%s: %w", what, err)
}
