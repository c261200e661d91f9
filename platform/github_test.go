package platform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/report"
	"github.com/google/go-cmp/cmp"
)

// githubEnv is the environment of a GitHub Actions step: temp output and
// summary files, an event payload, action inputs.
func githubEnv(t *testing.T, event, payload string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	return map[string]string{
		"GITHUB_ACTIONS":       "true",
		"GITHUB_EVENT_NAME":    event,
		"GITHUB_EVENT_PATH":    eventPath(t, payload),
		"GITHUB_SHA":           "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
		"GITHUB_REF":           "refs/heads/main",
		"GITHUB_REPOSITORY":    "acme/tools",
		"GITHUB_SERVER_URL":    "https://github.com",
		"GITHUB_RUN_ID":        "4242",
		"GITHUB_OUTPUT":        filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY":  filepath.Join(dir, "summary"),
		"INPUT_CONFIG":         " amigo-release.yaml ",
		"INPUT_MODE":           "",
		"AMIGO_MODE":           "run",
		"INPUT_GITHUB-TOKEN":   "ghs_test_token",
		"INPUT_GITHUB-API-URL": "",
		"INPUT_GITHUB_API_URL": "",
		"AMIGO_GITHUB_API_URL": "",
		"GITHUB_API_URL":       "",
		"INPUT_AMIGO-API-KEY":  "s3cr3t-api-key",
	}
}

// TestGitHub_likeTheRunner runs the platform the way the CLI does inside a
// GitHub Actions step and checks stdout, $GITHUB_OUTPUT and
// $GITHUB_STEP_SUMMARY byte for byte.
func TestGitHub_likeTheRunner(t *testing.T) {
	vars := githubEnv(t, "push", "push.json")
	p, out := detectAs(t, vars, "github")

	apiKey := p.Input("amigo-api-key")
	p.Mask(apiKey)
	p.Mask(p.Input("github-token"))
	if got := p.Input("config"); got != "amigo-release.yaml" {
		t.Errorf("Input(config) = %q, want the trimmed INPUT_CONFIG", got)
	}
	if got := p.Input("mode"); got != "run" {
		t.Errorf("Input(mode) = %q, want AMIGO_MODE as fallback", got)
	}

	r := sampleReport()
	p.Group("weather_lookup")
	p.Infof("%s", r.Tools[0].Commits[0].Subject)
	p.Infof("signing in with %s", apiKey)
	p.Warningf("upstream said %s", "50% done\n::error::x")
	p.Print("pytest output\n::add-mask::x\n##vso[task.setvariable variable=a]b\n")
	p.EndGroup()
	p.Annotate(Annotation{Level: LevelError, File: "tools/geo_coder/pyproject.toml", Line: 3, Title: "bad version: x", Message: "version \"x\" is not semver"})
	p.Errorf("geo_coder failed, key %s", apiKey)
	outs := OutputsOf(r)
	outs.ReportJSON = "/runner/_temp/amigo-release-report.json"
	if err := outs.Write(p); err != nil {
		t.Fatal(err)
	}
	summary := report.Summary(r)
	if err := p.Summary(summary); err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}

	wantOut := "::add-mask::s3cr3t-api-key\n" +
		"::add-mask::ghs_test_token\n" +
		"::group::weather_lookup\n" +
		"\u200b::set-output name=x::y\n" +
		"signing in with ***\n" +
		"::warning::upstream said 50%25 done%0A::error::x\n" +
		"::stop-commands::tok1\n" +
		"pytest output\n" +
		"\u200b::add-mask::x\n" +
		"##\u200bvso[task.setvariable variable=a]b\n" +
		"::tok1::\n" +
		"::endgroup::\n" +
		"::error file=tools/geo_coder/pyproject.toml,line=3,title=bad version%3A x::version \"x\" is not semver\n" +
		"::error::geo_coder failed, key ***\n"
	if diff := cmp.Diff(wantOut, out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		if i < 2 {
			if !strings.HasPrefix(l, "::add-mask::") {
				t.Errorf("line %d is %q; masks must come before anything else", i+1, l)
			}
			continue
		}
		for _, secret := range []string{"s3cr3t-api-key", "ghs_test_token"} {
			if strings.Contains(l, secret) {
				t.Errorf("line %d leaks a secret: %q", i+1, l)
			}
		}
	}

	wantOutputs := "released<<ghadelimiter_tok2\n" +
		`[{"tool":"weather_lookup","stage":"us","version":"1.3.0"},{"tool":"weather_lookup","stage":"eu-central-1","version":"1.3.0"}]` + "\n" +
		"ghadelimiter_tok2\n" +
		"changed<<ghadelimiter_tok3\n" +
		`["weather_lookup","geo_coder","docs_only"]` + "\n" +
		"ghadelimiter_tok3\n" +
		"matrix<<ghadelimiter_tok4\n" +
		`{"include":[{"tool":"weather_lookup","project_path":"tools/weather_lookup"},{"tool":"geo_coder","project_path":"tools/geo_coder"}]}` + "\n" +
		"ghadelimiter_tok4\n" +
		"failed<<ghadelimiter_tok5\n" +
		"true\n" +
		"ghadelimiter_tok5\n" +
		"report-json<<ghadelimiter_tok6\n" +
		"/runner/_temp/amigo-release-report.json\n" +
		"ghadelimiter_tok6\n"
	if diff := cmp.Diff(wantOutputs, readFile(t, vars["GITHUB_OUTPUT"])); diff != "" {
		t.Errorf("$GITHUB_OUTPUT (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(summary, readFile(t, vars["GITHUB_STEP_SUMMARY"])); diff != "" {
		t.Errorf("$GITHUB_STEP_SUMMARY (-want +got):\n%s", diff)
	}
	if got, want := p.RunURL(), "https://github.com/acme/tools/actions/runs/4242"; got != want {
		t.Errorf("RunURL = %q, want %q", got, want)
	}
}

func TestGitHub_SetOutput_delimiterInValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	env := newStrictEnv(t, map[string]string{"GITHUB_OUTPUT": path})
	p := NewGitHub(env.Getenv, WithWriter(&lockedBuffer{}), WithTokenSource(func() string { return "fixed" }))
	value := "a\nghadelimiter_fixed\nevil=1"
	if err := p.SetOutput("x", value); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	first, _, _ := strings.Cut(got, "\n")
	delim := strings.TrimPrefix(first, "x<<")
	if delim == "ghadelimiter_fixed" || !strings.HasPrefix(delim, "ghadelimiter_") {
		t.Fatalf("delimiter %q: want a fresh one that the value does not contain", delim)
	}
	if want := "x<<" + delim + "\n" + value + "\n" + delim + "\n"; got != want {
		t.Errorf("output file = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "a\nb", "a=b"} {
		if err := p.SetOutput(bad, "v"); err == nil {
			t.Errorf("SetOutput(%q) accepted a bad name", bad)
		}
	}
}

func TestGitHub_SetOutput_noFile(t *testing.T) {
	env := newStrictEnv(t, map[string]string{"GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""})
	p := NewGitHub(env.Getenv, WithWriter(&lockedBuffer{}))
	if err := p.SetOutput("x", "y"); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("SetOutput without GITHUB_OUTPUT: %v, want an error naming it", err)
	}
	if err := p.Summary("x"); err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
		t.Errorf("Summary without GITHUB_STEP_SUMMARY: %v, want an error naming it", err)
	}
}

func TestGitHub_Event(t *testing.T) {
	tests := []struct {
		name, event, payload string
		want                 Trigger
	}{
		{"push", "push", "push.json", Trigger{
			Kind: Push, Name: "push", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
			Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Before: "1111111111111111111111111111111111111111",
			Branch: "main", Repo: "acme/tools",
		}},
		{"push of a new branch", "push", "push_new_branch.json", Trigger{
			Kind: Push, Name: "push", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
			Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "release/2026-11", Repo: "acme/tools",
		}},
		{"pull request", "pull_request", "pull_request.json", Trigger{
			Kind: PullRequest, Name: "pull_request", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
			Head: "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80", Before: "1111111111111111111111111111111111111111",
			Branch: "feature/wind", BaseBranch: "main", PR: 7, Repo: "acme/tools",
		}},
		{"workflow_dispatch", "workflow_dispatch", "workflow_dispatch.json", Trigger{
			Kind: Manual, Name: "workflow_dispatch", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
			Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main", Repo: "acme/tools",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newStrictEnv(t, githubEnv(t, tt.event, tt.payload))
			got, err := NewGitHub(env.Getenv).Trigger()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Event() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitHub_Event_badPayload(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"unparsable": bad, "missing": filepath.Join(t.TempDir(), "nope.json")} {
		t.Run(name, func(t *testing.T) {
			vars := githubEnv(t, "push", "push.json")
			vars["GITHUB_EVENT_PATH"] = path
			env := newStrictEnv(t, vars)
			_, err := NewGitHub(env.Getenv).Trigger()
			if err == nil || !strings.Contains(err.Error(), "GITHUB_EVENT_PATH") && !strings.Contains(err.Error(), path) {
				t.Errorf("Event() error = %v, want one naming the payload file", err)
			}
		})
	}
}

// newCommentPlatform is a GitHub platform pointed at fake for event.
func newCommentPlatform(t *testing.T, fake *fakeci.GitHub, event, payload string) *GitHub {
	t.Helper()
	vars := githubEnv(t, event, payload)
	vars["GITHUB_API_URL"] = fake.APIURL()
	vars["INPUT_GITHUB_TOKEN"] = ""
	vars["AMIGO_GITHUB_TOKEN"] = ""
	vars["GITHUB_TOKEN"] = ""
	env := newStrictEnv(t, vars)
	return NewGitHub(env.Getenv, WithWriter(&lockedBuffer{}), WithHTTPClient(fake.Client()))
}

func TestGitHub_PostComment_createdThenUpdated(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	fake.Seed(7, "LGTM", "> <!-- amigo-release:default --> quoted by a reviewer")
	p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
	marker := report.Marker("")
	ctx := context.Background()

	first := report.Markdown(sampleReport(), report.Options{Preview: true})
	res, err := p.PostComment(ctx, marker, first)
	if err != nil || len(res.Warnings) > 0 {
		t.Fatalf("PostComment = %+v, %v", res, err)
	}
	if len(res.Comments) != 1 || !res.Comments[0].Created || res.Comments[0].PR != 7 {
		t.Fatalf("first PostComment wrote %+v, want one created comment on #7", res.Comments)
	}

	second := first + "\nupdated"
	res, err = p.PostComment(ctx, marker, second)
	if err != nil || len(res.Warnings) > 0 {
		t.Fatalf("PostComment = %+v, %v", res, err)
	}
	if len(res.Comments) != 1 || res.Comments[0].Created {
		t.Fatalf("second PostComment wrote %+v, want an edit", res.Comments)
	}
	want := []string{"LGTM", "> <!-- amigo-release:default --> quoted by a reviewer", second}
	if diff := cmp.Diff(want, fake.Bodies(7)); diff != "" {
		t.Errorf("comments on #7 (-want +got):\n%s", diff)
	}
}

func TestGitHub_PostComment_foundOnPage2(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	fake.SetPageSize(2)
	marker := report.Marker("main")
	fake.Seed(7, "one", "two", "three", marker+"\nold body", "five")
	p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
	res, err := p.PostComment(context.Background(), marker, marker+"\nnew body")
	if err != nil || len(res.Comments) != 1 || res.Comments[0].Created {
		t.Fatalf("PostComment = %+v, %v; want an edit of the comment on page 2", res, err)
	}
	want := []string{"one", "two", "three", marker + "\nnew body", "five"}
	if diff := cmp.Diff(want, fake.Bodies(7)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	var lists int
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c, "GET ") {
			lists++
		}
	}
	if lists != 2 {
		t.Errorf("listed %d pages, want 2 (stop at the page with the marker): %v", lists, fake.Calls())
	}
}

func TestGitHub_PostComment_forbiddenAndNotFound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		message string
		want    string
	}{
		{"403 forbidden", 403, nil, "Resource not accessible by integration", "pull-requests: write"},
		{"404 not found", 404, nil, "", "cannot see the repository"},
		{"401 unauthorized", 401, nil, "Bad credentials", "invalid or expired"},
		{"403 rate limit", 403, map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1795654800"}, "API rate limit exceeded", "rate limit reached"},
		{"403 secondary rate limit", 403, map[string]string{"Retry-After": "60"}, "You have exceeded a secondary rate limit", "secondary rate limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeci.NewGitHub(t, "ghs_test_token")
			fake.Fail(tc.status, tc.headers, tc.message)
			p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
			res, err := p.PostComment(context.Background(), report.Marker(""), "body")
			if err != nil {
				t.Fatalf("PostComment returned error %v; %d must be a warning", err, tc.status)
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tc.want) {
				t.Errorf("warnings = %q, want one containing %q", res.Warnings, tc.want)
			}
			if len(res.Comments) != 0 {
				t.Errorf("comments = %+v, want none", res.Comments)
			}
		})
	}
}

func TestGitHub_PostComment_serverError(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	fake.Fail(500, nil, "")
	p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
	if _, err := p.PostComment(context.Background(), report.Marker(""), "body"); err == nil {
		t.Error("a 500 came back without an error")
	}
}

func TestGitHub_PostComment_pushCommentsOnAssociatedPRs(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	// #11 is an open pull request from main into a release branch that
	// also contains the commit: not what this push to main released.
	fake.SetPRsOf("9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", fakeci.PR{Number: 7, Base: "main"}, fakeci.PR{Number: 11, Base: "release/1.x"}, fakeci.PR{Number: 9, Base: "main"})
	res, released := postReleased(t, fake, 9, "push.json")
	if len(res.Comments) != 2 || !res.Comments[0].Created || res.Comments[1].Created {
		t.Errorf("comments = %+v, want created on #7 and edited on #9", res.Comments)
	}
	if got := fake.Bodies(7); len(got) != 1 || got[0] != released {
		t.Errorf("#7 = %q", got)
	}
	if got := fake.Bodies(9); len(got) != 1 || got[0] != released {
		t.Errorf("#9 = %q, want the preview replaced by the results", got)
	}
	if got := fake.Bodies(11); len(got) != 0 {
		t.Errorf("#11 (into another branch) got comments %q", got)
	}
}

func TestGitHub_PostComment_pushWithoutPR(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	p := newCommentPlatform(t, fake, "push", "push.json")
	res, err := p.PostComment(context.Background(), report.Marker(""), "x")
	if err != nil || len(res.Comments) != 0 || len(res.Warnings) != 0 {
		t.Errorf("PostComment = %+v, %v; want nothing done", res, err)
	}
}

func TestGitHub_PostComment_noToken(t *testing.T) {
	vars := githubEnv(t, "pull_request", "pull_request.json")
	vars["INPUT_GITHUB-TOKEN"] = ""
	vars["INPUT_GITHUB_TOKEN"] = ""
	vars["AMIGO_GITHUB_TOKEN"] = ""
	vars["GITHUB_TOKEN"] = ""
	env := newStrictEnv(t, vars)
	p := NewGitHub(env.Getenv, WithWriter(&lockedBuffer{}))
	res, err := p.PostComment(context.Background(), report.Marker(""), "x")
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "github-token") {
		t.Errorf("PostComment = %+v, %v; want a warning naming github-token", res, err)
	}
}

func TestNewGitHubClient(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "https://api.github.com/",
		"https://api.github.com":         "https://api.github.com/",
		"https://ghe.example.com/api/v3": "https://ghe.example.com/api/v3/",
		"https://ghe.example.com":        "https://ghe.example.com/api/v3/",
		"https://api.acme.ghe.com":       "https://api.acme.ghe.com/",
	} {
		c, err := NewGitHubClient(nil, in, "t")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.BaseURL.String(); got != want {
			t.Errorf("NewGitHubClient(%q).BaseURL = %q, want %q", in, got, want)
		}
	}
}

// TestGitHub_PostComment_pushToReleaseBranch: GitHub lists only open pull
// requests for a commit that is not on the default branch, so the merge
// into a release branch is found among the closed pull requests into it by
// its merge commit.
func TestGitHub_PostComment_pushToReleaseBranch(t *testing.T) {
	const sha = "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	// The open pull request release → main holds the commit too.
	fake.SetPRsOf(sha, fakeci.PR{Number: 20, Base: "main"})
	fake.SetClosed(
		fakeci.ClosedPR{Number: 18, Base: "release/2026-11", MergeSHA: "1111111111111111111111111111111111111111", Merged: true},
		fakeci.ClosedPR{Number: 19, Base: "release/2026-11", MergeSHA: sha, Merged: false}, // closed unmerged: a test merge commit
		fakeci.ClosedPR{Number: 17, Base: "release/2026-11", MergeSHA: sha, Merged: true},
		fakeci.ClosedPR{Number: 16, Base: "main", MergeSHA: sha, Merged: true},
	)
	res, released := postReleased(t, fake, 17, "push_new_branch.json")
	if len(res.Comments) != 1 || res.Comments[0].PR != 17 || res.Comments[0].Created {
		t.Fatalf("comments = %+v, want the preview on merged #17 edited", res.Comments)
	}
	if got := fake.Bodies(17); len(got) != 1 || got[0] != released {
		t.Errorf("#17 = %q", got)
	}
	for _, n := range []int{16, 18, 19, 20} {
		if got := fake.Bodies(n); len(got) != 0 {
			t.Errorf("#%d got comments %q", n, got)
		}
	}
}

// TestGitHub_PostComment_markerCopiedBySomeoneElse: a human's comment that
// starts with the marker neither takes the bot's place nor, when it cannot
// be edited, stops the report.
func TestGitHub_PostComment_markerCopiedBySomeoneElse(t *testing.T) {
	marker := report.Marker("")
	t.Run("bot comment after it is the one edited", func(t *testing.T) {
		fake := fakeci.NewGitHub(t, "ghs_test_token")
		fake.SeedBy(7, fakeci.Human, false, marker+"\nfake report by mallory")
		fake.Seed(7, marker+"\nold report")
		p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
		res, err := p.PostComment(context.Background(), marker, marker+"\nnew report")
		if err != nil || len(res.Comments) != 1 || res.Comments[0].Created {
			t.Fatalf("PostComment = %+v, %v; want an edit", res, err)
		}
		want := []string{marker + "\nfake report by mallory", marker + "\nnew report"}
		if diff := cmp.Diff(want, fake.Bodies(7)); diff != "" {
			t.Errorf("comments (-want +got):\n%s", diff)
		}
	})
	t.Run("an uneditable one is passed over", func(t *testing.T) {
		fake := fakeci.NewGitHub(t, "ghs_test_token")
		fake.SeedBy(7, fakeci.Human, true, marker+"\nfake report by mallory")
		p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
		res, err := p.PostComment(context.Background(), marker, marker+"\nreport")
		if err != nil || len(res.Warnings) != 0 || len(res.Comments) != 1 || !res.Comments[0].Created {
			t.Fatalf("PostComment = %+v, %v; want a new comment", res, err)
		}
		want := []string{marker + "\nfake report by mallory", marker + "\nreport"}
		if diff := cmp.Diff(want, fake.Bodies(7)); diff != "" {
			t.Errorf("comments (-want +got):\n%s", diff)
		}
	})
}

// TestGitHub_secretsRedactedFromBodies: a masked secret that a tool printed
// into its test output or a server echoed into an error does not reach the
// PR comment or the job summary, in whatever form the report escaped it.
func TestGitHub_secretsRedactedFromBodies(t *testing.T) {
	const secret = "sk_live_4f9a<x>"
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
	p.Mask(secret)
	r := sampleReport()
	r.Tools[1].Error = "server said: bad key " + secret
	r.Tools[1].Stages[0].Error = "env: AMIGO_KEY=" + secret + "\nexit 1"
	r.Warnings = []string{secret + " is about to expire"}
	res, err := p.PostComment(context.Background(), report.Marker(""), report.Markdown(r, report.Options{}))
	if err != nil || len(res.Comments) != 1 {
		t.Fatalf("PostComment = %+v, %v", res, err)
	}
	if err := p.Summary(report.Summary(r)); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{"comment": fake.Bodies(7)[0], "summary": readFile(t, p.getenv("GITHUB_STEP_SUMMARY"))}
	for name, body := range bodies {
		for _, form := range append(report.RenderedForms(secret), "sk_live", `sk\_live`) {
			if strings.Contains(body, form) {
				t.Errorf("%s shows the secret as %q", name, form)
			}
		}
		if n := strings.Count(body, "•••"); n < 3 {
			t.Errorf("%s has %d redactions, want 3 or more:\n%s", name, n, body)
		}
	}
}

// TestGitHub_PostComment_secretInMarker: a secret that equals part of the
// marker key is redacted from the body but not from the marker, so the
// next run edits the same comment.
func TestGitHub_PostComment_secretInMarker(t *testing.T) {
	fake := fakeci.NewGitHub(t, "ghs_test_token")
	p := newCommentPlatform(t, fake, "pull_request", "pull_request.json")
	p.Mask("prod")
	marker := report.Marker("prod.yaml")
	for _, body := range []string{"first prod", "second prod"} {
		if _, err := p.PostComment(context.Background(), marker, marker+"\n"+body); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{marker + "\nsecond •••"}, fake.Bodies(7)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

// postReleased posts the comment of a released push (event file event)
// over the preview seeded on pull request preview; it fails t on an error
// or a warning and returns the result and the body it posted.
func postReleased(t *testing.T, fake *fakeci.GitHub, preview int, event string) (CommentResult, string) {
	t.Helper()
	marker := report.Marker("")
	fake.Seed(preview, marker+"\nthe preview")
	p := newCommentPlatform(t, fake, "push", event)
	body := marker + "\nreleased"
	res, err := p.PostComment(context.Background(), marker, body)
	if err != nil || len(res.Warnings) > 0 {
		t.Fatalf("PostComment = %+v, %v", res, err)
	}
	return res, body
}
