package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/report"
)

const (
	commitA = "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
	commitB = "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"
	tagObj  = "1111111111111111111111111111111111111111"
)

// tagServer is a fake CI server's side of the tag story: tags seeded as
// another party would have pushed them, the tags it holds, the calls it got.
type tagServer interface {
	SeedAnnotatedTag(name, object, commit string)
	SeedTag(name, commit string)
	Tags() map[string]string
	Calls() []string
}

// checkTags runs the same tag story against any Repository: created once,
// found on a second call without a second creation, an annotated tag on the
// commit is the same commit, and a tag on another commit is reported as a
// conflict naming that commit and is left as it was. isCreate tells the
// server's calls that create a ref.
func checkTags(t *testing.T, repo Repository, fake tagServer, isCreate func(call string) bool) {
	t.Helper()
	seedAnnotated := func() { fake.SeedAnnotatedTag("calendar/v2.0.0", tagObj, commitA) }
	seedOther := func() { fake.SeedTag("geo/v1.0.0", commitB) }
	tags := fake.Tags
	creates := func() int {
		n := 0
		for _, c := range fake.Calls() {
			if isCreate(c) {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	res, err := repo.EnsureTag(ctx, "weather_lookup/v1.3.0", commitA)
	if err != nil || res.Status != pipeline.TagCreated || res.Existing != commitA {
		t.Fatalf("first EnsureTag = %+v, %v; want created", res, err)
	}
	res, err = repo.EnsureTag(ctx, "weather_lookup/v1.3.0", commitA)
	if err != nil || res.Status != pipeline.TagExists {
		t.Fatalf("second EnsureTag = %+v, %v; want exists", res, err)
	}
	if n := creates(); n != 1 {
		t.Errorf("%d ref creations, want 1", n)
	}
	seedAnnotated() // calendar/v2.0.0: an annotated tag object peeling to commitA
	res, err = repo.EnsureTag(ctx, "calendar/v2.0.0", commitA)
	if err != nil || res.Status != pipeline.TagExists {
		t.Errorf("annotated tag on the commit: %+v, %v; want exists", res, err)
	}
	seedOther() // geo/v1.0.0 on commitB
	res, err = repo.EnsureTag(ctx, "geo/v1.0.0", commitA)
	if err != nil || res.Status != pipeline.TagConflict || res.Existing != commitB {
		t.Errorf("tag on another commit: %+v, %v; want a conflict naming %s", res, err, commitB)
	}
	if got := tags()["geo/v1.0.0"]; got != commitB {
		t.Errorf("the conflicting tag now names %s: it was moved", got)
	}
	if n := creates(); n != 1 {
		t.Errorf("%d ref creations after the conflict, want still 1", n)
	}
}

func TestGitHubRepository_tagsReleasesPRs(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	p := newCommentPlatform(t, fake, "push", "push.json")
	repo, err := RepositoryOf(p)
	if err != nil {
		t.Fatal(err)
	}
	checkTags(t, repo, fake, func(c string) bool { return c == "POST /api/v3/repos/acme/tools/git/refs" })

	ctx := context.Background()
	rel, err := repo.EnsureRelease(ctx, "weather_lookup/v1.3.0", commitA, "weather_lookup 1.3.0", "## notes")
	if err != nil || !rel.Created || !strings.Contains(rel.URL, "/releases/tag/weather_lookup/v1.3.0") {
		t.Fatalf("EnsureRelease = %+v, %v", rel, err)
	}
	again, err := repo.EnsureRelease(ctx, "weather_lookup/v1.3.0", commitA, "weather_lookup 1.3.0", "## other notes")
	if err != nil || again.Created || again.URL != rel.URL {
		t.Errorf("second EnsureRelease = %+v, %v; want the release found", again, err)
	}
	rs := fake.Releases()
	if len(rs) != 1 || rs[0].Body != "## notes" || rs[0].Name != "weather_lookup 1.3.0" || rs[0].MakeLatest != "false" || rs[0].Target != commitA {
		t.Errorf("releases %+v", rs)
	}

	fake.SetPRsOf(commitA, fakeci.PR{Number: 12, Base: "main"})
	prs, err := repo.PullRequestsOf(ctx, []string{commitA, commitB})
	if err != nil || len(prs) != 1 || len(prs[commitA]) != 1 || prs[commitA][0] != 12 {
		t.Errorf("PullRequestsOf = %v, %v", prs, err)
	}

	fake.Fail(403, nil, "Resource not accessible by integration")
	_, err = repo.EnsureTag(ctx, "x/v1.0.0", commitA)
	if err == nil || !strings.Contains(err.Error(), "permissions: contents: write") {
		t.Errorf("403: %v; want the permission fix", err)
	}
}

func TestGitHubRepository_noToken(t *testing.T) {
	vars := githubEnv(t, "push", "push.json")
	vars["INPUT_GITHUB_TOKEN"], vars["AMIGO_GITHUB_TOKEN"], vars["GITHUB_TOKEN"] = "", "", ""
	vars["INPUT_GITHUB-TOKEN"] = ""
	p := NewGitHub(newStrictEnv(t, vars).Getenv, WithWriter(&lockedBuffer{}))
	if _, err := RepositoryOf(p); err == nil || !strings.Contains(err.Error(), "contents: write") {
		t.Errorf("no token: %v", err)
	}
	if _, err := RepositoryOf(NewLocal(func(string) string { return "" }, WithWriter(&lockedBuffer{}))); !errors.Is(err, ErrNoRepositoryAPI) {
		t.Errorf("local: %v", err)
	}
}

func TestAzureRepository_tagsAndPRs(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	p, _ := newAzureCommentPlatform(t, fake, nil)
	repo, err := RepositoryOf(p)
	if err != nil {
		t.Fatal(err)
	}
	checkTags(t, repo, fake, func(c string) bool { return strings.HasPrefix(c, "POST ") && strings.HasSuffix(c, "/refs") })
	ctx := context.Background()
	if _, err := repo.EnsureRelease(ctx, "weather_lookup/v1.3.0", commitA, "t", "b"); !errors.Is(err, ErrNoReleases) {
		t.Errorf("Azure EnsureRelease: %v, want ErrNoReleases", err)
	}
	fake.SetPRsOf(commitB, 42, 43)
	prs, err := repo.PullRequestsOf(ctx, []string{commitA, commitB})
	if err != nil || len(prs) != 1 || len(prs[commitB]) != 2 {
		t.Errorf("PullRequestsOf = %v, %v", prs, err)
	}
	fake.Fail(403, `{"message":"TF401027: You need the Git 'CreateTag' permission"}`)
	if _, err := repo.EnsureTag(ctx, "x/v1.0.0", commitA); err == nil || !strings.Contains(err.Error(), "Create tag") {
		t.Errorf("403: %v; want the permission fix", err)
	}
}

func TestRemoteLinks(t *testing.T) {
	gh := report.Links{RepoURL: "https://github.com/acme/tools", PullPath: "pull"}
	az := report.Links{RepoURL: "https://dev.azure.com/acme/Tools/_git/tools", PullPath: "pullrequest"}
	for remote, want := range map[string]report.Links{
		"https://github.com/acme/tools.git":                       gh,
		"https://x-access-token:ghs_secret@github.com/acme/tools": gh,
		"git@github.com:acme/tools.git":                           gh,
		"ssh://git@github.com/acme/tools":                         gh,
		"https://acme@dev.azure.com/acme/Tools/_git/tools":        az,
		"git@ssh.dev.azure.com:v3/acme/Tools/tools":               az,
		"https://gitlab.com/acme/tools.git":                       {},
		"/srv/git/tools.git":                                      {},
		"":                                                        {},
		"https://github.com/acme":                                 {},
	} {
		if got := RemoteLinks(remote); got.RepoURL != want.RepoURL || got.PullPath != want.PullPath {
			t.Errorf("RemoteLinks(%q) = %+v, want %+v", remote, got, want)
		}
	}
}
