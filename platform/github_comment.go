package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"
)

// PostComment writes the sticky comment: on pull_request events on that
// pull request; on push events on every pull request into the pushed branch
// that GitHub associates with the pushed commit (the merged pull request,
// after a merge). The comment is
// found by its marker through every page of comments and edited in place,
// else created.
//
// The token is the github-token input, else GITHUB_TOKEN; the API is the
// github-api-url input, else GITHUB_API_URL (GitHub Enterprise Server sets
// it to https://HOST/api/v3), else https://api.github.com. A missing token,
// 401, 403 (missing permission, fork pull requests) and 404 are warnings.
func (g *GitHub) PostComment(ctx context.Context, marker, body string) (CommentResult, error) {
	var res CommentResult
	body = g.log.redactedComment(marker, body)
	ev, err := g.Trigger()
	if err != nil {
		return res, err
	}
	if ev.Kind != PullRequest && ev.Kind != Push {
		return res, nil
	}
	owner, repo, ok := strings.Cut(ev.Repo, "/")
	if !ok || owner == "" || repo == "" {
		return res, fmt.Errorf("post PR comment: GITHUB_REPOSITORY is %q, want owner/name", ev.Repo)
	}
	token := g.Input("github-token")
	if token == "" {
		token = g.getenv("GITHUB_TOKEN")
	}
	if token == "" {
		res.Warnings = append(res.Warnings, "no PR comment: no GitHub token; pass `github-token: ${{ github.token }}` to the action (with `permissions: pull-requests: write`)")
		return res, nil
	}
	apiURL := g.Input("github-api-url")
	if apiURL == "" {
		apiURL = g.getenv("GITHUB_API_URL")
	}
	c, err := NewGitHubClient(g.cfg.http, apiURL, token)
	if err != nil {
		return res, err
	}
	gc := GitHubComments{Client: c, Owner: owner, Repo: repo}

	prs := []int{ev.PR}
	if ev.Kind == Push {
		prs, err = gc.PullRequestsFor(ctx, ev.Head, ev.Branch)
		if w, ok := githubWarning(err, "list the pull requests of commit "+ev.Head); ok {
			res.Warnings = append(res.Warnings, w)
			return res, nil
		} else if err != nil {
			return res, err
		}
	}
	for _, pr := range prs {
		cm, err := gc.Upsert(ctx, pr, marker, body)
		if w, ok := githubWarning(err, fmt.Sprintf("write the comment on pull request #%d", pr)); ok {
			res.Warnings = append(res.Warnings, w)
			continue
		} else if err != nil {
			return res, err
		}
		res.Comments = append(res.Comments, cm)
	}
	return res, nil
}

// NewGitHubClient returns a go-github client with token auth for apiURL:
// "" or https://api.github.com is github.com; any other URL is GitHub
// Enterprise (go-github appends api/v3/ when the URL has neither that path
// nor an api. host).
func NewGitHubClient(hc *http.Client, apiURL, token string) (*github.Client, error) {
	c := github.NewClient(hc).WithAuthToken(token)
	apiURL = strings.TrimSpace(apiURL)
	if apiURL == "" || strings.TrimRight(apiURL, "/") == "https://api.github.com" {
		return c, nil
	}
	c, err := c.WithEnterpriseURLs(apiURL, apiURL)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
	}
	return c, nil
}

// GitHubComments edits sticky comments on one repository's pull requests.
type GitHubComments struct {
	Client      *github.Client
	Owner, Repo string
}

// PullRequestsFor lists the numbers of the pull requests GitHub associates
// with a commit (for a commit on the default branch: the merged pull
// request that brought it), up to 100. When base is not empty, only pull
// requests into that branch count: a push to main reports on what was
// merged into main, not on an open pull request from main elsewhere.
//
// For a commit that is not on the default branch GitHub lists only open
// pull requests, so a merge into a release branch would find nothing.
// When no pull request into base is listed, the most recently updated
// closed pull requests into base (one page of 50) are searched for the one
// whose merge commit is sha.
func (g GitHubComments) PullRequestsFor(ctx context.Context, sha, base string) ([]int, error) {
	prs, _, err := g.Client.PullRequests.ListPullRequestsWithCommit(ctx, g.Owner, g.Repo, sha, &github.ListOptions{PerPage: 100})
	if err != nil {
		return nil, err
	}
	nums := make([]int, 0, len(prs))
	for _, p := range prs {
		if ref := p.GetBase().GetRef(); base != "" && ref != "" && ref != base {
			continue
		}
		nums = append(nums, p.GetNumber())
	}
	if len(nums) > 0 || base == "" {
		return nums, nil
	}
	closed, _, err := g.Client.PullRequests.List(ctx, g.Owner, g.Repo, &github.PullRequestListOptions{
		State: "closed", Base: base, Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 50},
	})
	if err != nil {
		return nil, err
	}
	for _, p := range closed {
		if p.GetMergeCommitSHA() == sha && p.MergedAt != nil {
			nums = append(nums, p.GetNumber())
		}
	}
	return nums, nil
}

// Upsert edits the comment on the pull request whose body starts with
// marker, looking through every page, or creates one. A comment written by
// a bot (the github-actions token) is edited as soon as it is found;
// others' comments with the marker are tried after the last page, and one
// that cannot be edited (403/404) is passed over, so nobody can stop the
// report by posting the marker first.
func (g GitHubComments) Upsert(ctx context.Context, pr int, marker, body string) (Comment, error) {
	var others []*github.IssueComment
	// edit reports done=false when the comment cannot be edited.
	edit := func(existing *github.IssueComment) (Comment, bool, error) {
		c, _, err := g.Client.Issues.EditComment(ctx, g.Owner, g.Repo, existing.GetID(), &github.IssueComment{Body: &body})
		if status := githubStatus(err); status == http.StatusForbidden || status == http.StatusNotFound {
			return Comment{}, false, nil
		}
		if err != nil {
			return Comment{}, false, err
		}
		return Comment{PR: pr, ID: c.GetID(), URL: c.GetHTMLURL()}, true, nil
	}
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := g.Client.Issues.ListComments(ctx, g.Owner, g.Repo, pr, opts)
		if err != nil {
			return Comment{}, err
		}
		for _, c := range cs {
			if !strings.HasPrefix(strings.TrimSpace(c.GetBody()), marker) {
				continue
			}
			if c.GetUser().GetType() != "Bot" {
				others = append(others, c)
				continue
			}
			if cm, done, err := edit(c); done || err != nil {
				return cm, err
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	for _, c := range others {
		if cm, done, err := edit(c); done || err != nil {
			return cm, err
		}
	}
	c, _, err := g.Client.Issues.CreateComment(ctx, g.Owner, g.Repo, pr, &github.IssueComment{Body: &body})
	if err != nil {
		return Comment{}, err
	}
	return Comment{PR: pr, ID: c.GetID(), URL: c.GetHTMLURL(), Created: true}, nil
}

// githubStatus is the HTTP status of a go-github error, or 0.
func githubStatus(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// githubWarning turns the API answers that must not fail a release (401,
// 403 including rate limits, 404) into a warning with the fix.
func githubWarning(err error, what string) (string, bool) {
	if err == nil {
		return "", false
	}
	status := 0
	var er *github.ErrorResponse
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rl):
		return fmt.Sprintf("no PR comment: GitHub rate limit reached while trying to %s; it resets at %s", what, rl.Rate.Reset.UTC().Format("15:04:05 MST")), true
	case errors.As(err, &ab):
		return fmt.Sprintf("no PR comment: GitHub's secondary rate limit refused to %s; rerun later", what), true
	case errors.As(err, &er) && er.Response != nil:
		status = er.Response.StatusCode
	}
	switch status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("no PR comment: GitHub answered 401 when trying to %s: the github-token is invalid or expired", what), true
	case http.StatusForbidden:
		return fmt.Sprintf("no PR comment: GitHub answered 403 when trying to %s (%s): give the job `permissions: pull-requests: write`; pull requests from forks get a read-only token, so they get no comment", what, er.Message), true
	case http.StatusNotFound:
		return fmt.Sprintf("no PR comment: GitHub answered 404 when trying to %s: the token cannot see the repository or the pull request does not exist; check github-token and github-api-url", what), true
	}
	return "", false
}
