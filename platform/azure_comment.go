package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
)

// AzureTokenFix is the exact fix printed when the pipeline cannot comment.
const AzureTokenFix = "map SYSTEM_ACCESSTOKEN into the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken); and grant the build identity 'Contribute to pull requests' on the repository"

// PostComment writes the sticky comment as a pull request thread on Azure
// Repos: on PullRequest builds on that pull request; on CI builds of a
// commit whose message is Azure Repos' default merge message ("Merged PR
// 123: …", in BUILD_SOURCEVERSIONMESSAGE) on that merged pull request;
// otherwise nowhere. The comment that starts with marker is edited in
// place, else a thread is created (with status closed, so it never blocks
// completion under a "resolve all comments" policy). It reads
// SYSTEM_ACCESSTOKEN, SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT,
// BUILD_REPOSITORY_ID and BUILD_REPOSITORY_PROVIDER. A missing token and
// 401/403 answers are warnings carrying AzureTokenFix.
func (a *Azure) PostComment(ctx context.Context, marker, body string) (CommentResult, error) {
	var res CommentResult
	ev, err := a.Trigger()
	if err != nil {
		return res, err
	}
	if ev.Kind == Push {
		ev.PR = mergedPR(a.getenv("BUILD_SOURCEVERSIONMESSAGE"))
	}
	if ev.PR == 0 {
		return res, nil
	}
	if p := a.getenv("BUILD_REPOSITORY_PROVIDER"); p != "" && p != "TfsGit" {
		res.Warnings = append(res.Warnings, "no PR comment: the repository is hosted on "+p+", not Azure Repos; Azure Pipelines pull request comments need an Azure Repos repository")
		return res, nil
	}
	token := a.getenv("SYSTEM_ACCESSTOKEN")
	if token == "" {
		res.Warnings = append(res.Warnings, "no PR comment: SYSTEM_ACCESSTOKEN is not set; "+AzureTokenFix)
		return res, nil
	}
	a.Mask(token)
	body = a.log.redactedComment(marker, body)
	collection, project, repoID := a.getenv("SYSTEM_COLLECTIONURI"), a.getenv("SYSTEM_TEAMPROJECT"), a.getenv("BUILD_REPOSITORY_ID")
	if collection == "" || project == "" || repoID == "" {
		return res, fmt.Errorf("post PR comment: SYSTEM_COLLECTIONURI (%q), SYSTEM_TEAMPROJECT (%q) and BUILD_REPOSITORY_ID (%q) must all be set; Azure Pipelines sets them in every job", collection, project, repoID)
	}
	th := AzureThreads{Collection: collection, Project: project, RepositoryID: repoID, Token: token, HTTPClient: a.cfg.http}
	cm, err := th.Upsert(ctx, ev.PR, marker, body)
	if status := azureStatus(err); status == http.StatusUnauthorized || status == http.StatusForbidden {
		res.Warnings = append(res.Warnings, fmt.Sprintf("no PR comment: Azure DevOps answered %d on pull request %d; %s", status, ev.PR, AzureTokenFix))
		return res, nil
	} else if err != nil {
		return res, fmt.Errorf("post PR comment on pull request %d: %w", ev.PR, err)
	}
	if name := a.getenv("BUILD_REPOSITORY_NAME"); name != "" && cm.ID != 0 {
		cm.URL = fmt.Sprintf("%s/%s/_git/%s/pullrequest/%d?discussionId=%d",
			strings.TrimRight(collection, "/"), url.PathEscape(project), url.PathEscape(name), ev.PR, cm.ID)
	}
	res.Comments = append(res.Comments, cm)
	return res, nil
}

var mergedPRMessage = regexp.MustCompile(`^Merged PR (\d+):`)

// mergedPR is the pull request id in Azure Repos' default merge commit
// message, or 0.
func mergedPR(message string) int {
	m := mergedPRMessage.FindStringSubmatch(message)
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}

// AzureThreads edits sticky comments on one Azure Repos repository's pull
// requests through the azure-devops-go-api git client.
type AzureThreads struct {
	Collection   string // https://dev.azure.com/org/
	Project      string
	RepositoryID string
	Token        string // System.AccessToken, sent as a bearer token
	HTTPClient   *http.Client
}

// Upsert edits the comment that starts with marker in place, else creates
// a thread holding body. A marker comment that cannot be edited (403/404:
// someone else's) is passed over. The Comment's ID is the thread's id.
func (t AzureThreads) Upsert(ctx context.Context, pr int, marker, body string) (Comment, error) {
	gc, rec, err := t.recordedClient(ctx)
	if err != nil {
		return Comment{}, rec.explain(err)
	}
	threads, err := gc.GetThreads(ctx, git.GetThreadsArgs{RepositoryId: &t.RepositoryID, PullRequestId: &pr, Project: &t.Project})
	if err != nil {
		return Comment{}, rec.explain(err)
	}
	for _, th := range deref(threads) {
		if th.Id == nil || (th.IsDeleted != nil && *th.IsDeleted) {
			continue
		}
		for _, c := range deref(th.Comments) {
			if c.Id == nil || (c.IsDeleted != nil && *c.IsDeleted) || c.Content == nil {
				continue
			}
			if !strings.HasPrefix(strings.TrimSpace(*c.Content), marker) {
				continue
			}
			_, err := gc.UpdateComment(ctx, git.UpdateCommentArgs{
				Comment:      &git.Comment{Content: &body},
				RepositoryId: &t.RepositoryID, PullRequestId: &pr, ThreadId: th.Id, CommentId: c.Id, Project: &t.Project,
			})
			if err = rec.explain(err); err == nil {
				return Comment{PR: pr, ID: int64(*th.Id)}, nil
			}
			if status := azureStatus(err); status == http.StatusForbidden || status == http.StatusNotFound {
				// Someone else's comment that copied the marker (only
				// authors may edit): look further, else create a thread.
				continue
			}
			return Comment{}, err
		}
	}
	text, closed := git.CommentTypeValues.Text, git.CommentThreadStatusValues.Closed
	th, err := gc.CreateThread(ctx, git.CreateThreadArgs{
		CommentThread: &git.GitPullRequestCommentThread{
			Comments: &[]git.Comment{{Content: &body, CommentType: &text}},
			Status:   &closed,
		},
		RepositoryId: &t.RepositoryID, PullRequestId: &pr, Project: &t.Project,
	})
	if err != nil {
		return Comment{}, rec.explain(err)
	}
	id := int64(0)
	if th.Id != nil {
		id = int64(*th.Id)
	}
	return Comment{PR: pr, ID: id, Created: true}, nil
}

// recordedClient is the git client over t.HTTPClient's transport with a
// statusRecorder, whose explain adds the HTTP status the SDK drops.
func (t AzureThreads) recordedClient(ctx context.Context) (*git.ClientImpl, *statusRecorder, error) {
	rec := &statusRecorder{next: http.DefaultTransport}
	if t.HTTPClient != nil && t.HTTPClient.Transport != nil {
		rec.next = t.HTTPClient.Transport
	}
	hc := &http.Client{Transport: rec}
	if t.HTTPClient != nil {
		hc.Timeout = t.HTTPClient.Timeout
	}
	gc, err := t.client(ctx, hc)
	return gc, rec, err
}

// client finds the git area's location the way the SDK's
// Connection.GetClientByResourceAreaId does (resource areas of the
// collection; none on Azure DevOps Server means the collection itself),
// with our HTTP client, which the SDK's git.NewClient cannot take.
func (t AzureThreads) client(ctx context.Context, hc *http.Client) (*git.ClientImpl, error) {
	conn := &azuredevops.Connection{
		AuthorizationString:     "Bearer " + t.Token,
		BaseUrl:                 strings.ToLower(strings.TrimRight(t.Collection, "/")),
		SuppressFedAuthRedirect: true,
		UserAgent:               "amigo-release",
	}
	base := azuredevops.NewClientWithOptions(conn, conn.BaseUrl, azuredevops.WithHTTPClient(hc))
	areas, err := base.GetResourceAreas(ctx)
	if err != nil {
		return nil, err
	}
	loc := conn.BaseUrl
	for _, a := range deref(areas) {
		if a.Id != nil && *a.Id == git.ResourceAreaId && a.LocationUrl != nil && *a.LocationUrl != "" {
			loc = strings.ToLower(strings.TrimRight(*a.LocationUrl, "/"))
		}
	}
	return &git.ClientImpl{Client: *azuredevops.NewClientWithOptions(conn, loc, azuredevops.WithHTTPClient(hc))}, nil
}

func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}

// statusRecorder remembers the last error status, because the SDK drops
// it when an error body is not its JSON shape (an HTML sign-in page on 401).
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if resp != nil && resp.StatusCode >= 300 {
		s.mu.Lock()
		s.last = resp.StatusCode
		s.mu.Unlock()
	}
	return resp, err
}

// explain wraps err with the HTTP status it came with, when the SDK's
// error does not carry it.
func (s *statusRecorder) explain(err error) error {
	if err == nil || azureStatus(err) != 0 {
		return err
	}
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	if last == 0 {
		return err
	}
	return &azureHTTPError{status: last, err: err}
}

type azureHTTPError struct {
	status int
	err    error
}

func (e *azureHTTPError) Error() string {
	return fmt.Sprintf("HTTP %d: %v", e.status, e.err)
}
func (e *azureHTTPError) Unwrap() error { return e.err }

// azureStatus returns the HTTP status an Azure DevOps SDK error carries, or 0.
func azureStatus(err error) int {
	if err == nil {
		return 0
	}
	var he *azureHTTPError
	if errors.As(err, &he) {
		return he.status
	}
	var pw *azuredevops.WrappedError
	if errors.As(err, &pw) && pw.StatusCode != nil {
		return *pw.StatusCode
	}
	var w azuredevops.WrappedError
	if errors.As(err, &w) && w.StatusCode != nil {
		return *w.StatusCode
	}
	return 0
}
