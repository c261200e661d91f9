package platform

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/report"
	"github.com/google/go-cmp/cmp"
)

// azureEnv is the environment of an Azure Pipelines container job step.
func azureEnv(t *testing.T, reason string) map[string]string {
	t.Helper()
	return map[string]string{
		"GITHUB_ACTIONS":                    "",
		"TF_BUILD":                          "True",
		"BUILD_REASON":                      reason,
		"BUILD_SOURCEVERSION":               "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
		"BUILD_SOURCEBRANCH":                "refs/heads/main",
		"BUILD_SOURCEVERSIONMESSAGE":        "Merged PR 42: feat(weather): add wind speed",
		"BUILD_REPOSITORY_NAME":             "tools",
		"BUILD_REPOSITORY_ID":               fakeci.AzureRepoID,
		"BUILD_REPOSITORY_PROVIDER":         "TfsGit",
		"BUILD_BUILDID":                     "977",
		"SYSTEM_COLLECTIONURI":              "https://dev.azure.com/acme/",
		"SYSTEM_TEAMPROJECT":                fakeci.AzureProject,
		"SYSTEM_ACCESSTOKEN":                "ado-access-token",
		"SYSTEM_PULLREQUEST_PULLREQUESTID":  "42",
		"SYSTEM_PULLREQUEST_SOURCEBRANCH":   "refs/heads/feature/wind",
		"SYSTEM_PULLREQUEST_TARGETBRANCH":   "refs/heads/main",
		"SYSTEM_PULLREQUEST_SOURCECOMMITID": "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80",
		"AGENT_TEMPDIRECTORY":               t.TempDir(),
		"AMIGO_CONFIG":                      "amigo-release.yaml",
		"AMIGO_API_KEY":                     "s3cr3t-api-key",
	}
}

// TestAzure_likeTheAgent runs the platform the way the CLI does in an Azure
// Pipelines step and checks every ##vso line byte for byte.
func TestAzure_likeTheAgent(t *testing.T) {
	vars := azureEnv(t, "IndividualCI")
	p, out := detectAs(t, vars, "azure")
	key := p.Input("api-key")
	p.Mask(key)
	if got := p.Input("config"); got != "amigo-release.yaml" {
		t.Errorf("Input(config) = %q", got)
	}
	r := sampleReport()
	p.Group("weather_lookup ##vso[task.complete result=Failed]")
	p.Infof("##vso[task.setvariable variable=released;isOutput=true]forged")
	p.Infof("key is %s", key)
	p.Warningf("100%% sure; see ]here[\nnext")
	p.Print("output\n##[error]fake\n")
	p.EndGroup()
	p.Annotate(Annotation{Level: LevelError, File: "plans/x;y].yaml", Line: 12, Col: 3, Title: "stage", Message: "unknown stage \"eu\""})
	if err := WriteOutputs(p, r); err != nil {
		t.Fatal(err)
	}
	if err := p.Summary(report.Summary(r)); err != nil {
		t.Fatal(err)
	}
	p.Complete(Failed, "1 of 3 tools failed\n##vso[task.complete result=Succeeded]")

	summaries, _ := filepath.Glob(filepath.Join(vars["AGENT_TEMPDIRECTORY"], "amigo-release-summary-*.md"))
	if len(summaries) != 1 {
		t.Fatalf("summary files = %v, want one", summaries)
	}
	if got := readFile(t, summaries[0]); got != report.Summary(r) {
		t.Errorf("summary file differs from report.Summary")
	}
	want := "##vso[task.setsecret]s3cr3t-api-key\n" +
		"##[group]weather_lookup ##\u200bvso[task.complete result=Failed]\n" +
		"##\u200bvso[task.setvariable variable=released;isOutput=true]forged\n" +
		"key is ***\n" +
		"##vso[task.logissue type=warning]100%AZP25 sure; see ]here[%0Anext\n" +
		"output\n" +
		"##\u200b[error]fake\n" +
		"##[endgroup]\n" +
		"##vso[task.logissue type=error;sourcepath=plans/x%3By%5D.yaml;linenumber=12;columnnumber=3]stage: unknown stage \"eu\"\n" +
		`##vso[task.setvariable variable=released;isOutput=true][{"tool":"weather_lookup","stage":"us","version":"1.3.0"},{"tool":"weather_lookup","stage":"eu-central-1","version":"1.3.0"}]` + "\n" +
		`##vso[task.setvariable variable=changed;isOutput=true]["weather_lookup","geo_coder","docs_only"]` + "\n" +
		`##vso[task.setvariable variable=matrix;isOutput=true]{"include":[{"tool":"weather_lookup","project_path":"tools/weather_lookup"},{"tool":"geo_coder","project_path":"tools/geo_coder"}]}` + "\n" +
		"##vso[task.setvariable variable=failed;isOutput=true]true\n" +
		"##vso[task.setvariable variable=report_json;isOutput=true]\n" +
		`##vso[task.setvariable variable=azure_matrix;isOutput=true]{"geo_coder":{"tool":"geo_coder","project_path":"tools/geo_coder"},"weather_lookup":{"tool":"weather_lookup","project_path":"tools/weather_lookup"}}` + "\n" +
		"##vso[task.uploadsummary]" + summaries[0] + "\n" +
		"##vso[task.complete result=Failed;]1 of 3 tools failed%0A##\u200bvso[task.complete result=Succeeded]\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	for i, l := range strings.Split(out.String(), "\n")[1:] {
		if strings.Contains(l, "s3cr3t-api-key") {
			t.Errorf("line %d leaks the secret: %q", i+2, l)
		}
	}
	if got, want := p.RunURL(), "https://dev.azure.com/acme/Tools%20Project/_build/results?buildId=977"; got != want {
		t.Errorf("RunURL = %q, want %q", got, want)
	}
}

func TestAzure_Event(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   Trigger
	}{
		{"IndividualCI", Trigger{Kind: Push, Name: "IndividualCI", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main", Repo: "tools"}},
		{"BatchedCI", Trigger{Kind: Push, Name: "BatchedCI", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main", Repo: "tools"}},
		{"Manual", Trigger{Kind: Manual, Name: "Manual", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main", Repo: "tools"}},
		{"PullRequest", Trigger{Kind: PullRequest, Name: "PullRequest", SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Head: "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80", Branch: "feature/wind", BaseBranch: "main", PR: 42, Repo: "tools"}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			env := newStrictEnv(t, azureEnv(t, tc.reason))
			got, err := NewAzure(env.Getenv).Trigger()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Event() (-want +got):\n%s", diff)
			}
		})
	}
	vars := azureEnv(t, "PullRequest")
	vars["SYSTEM_PULLREQUEST_PULLREQUESTID"] = ""
	env := newStrictEnv(t, vars)
	if _, err := NewAzure(env.Getenv).Trigger(); err == nil || !strings.Contains(err.Error(), "SYSTEM_PULLREQUEST_PULLREQUESTID") {
		t.Errorf("PR build without an id: %v, want an error naming the variable", err)
	}
}

func TestAzure_SetOutput_badName(t *testing.T) {
	env := newStrictEnv(t, map[string]string{})
	p := NewAzure(env.Getenv, WithWriter(&lockedBuffer{}))
	if err := p.SetOutput("a;b]c", "v"); err == nil {
		t.Error("SetOutput accepted a name that would break the command")
	}
}

// newAzureCommentPlatform is an Azure platform on a PR build pointed at fake.
func newAzureCommentPlatform(t *testing.T, fake *fakeci.Azure, edit func(map[string]string)) (*Azure, *lockedBuffer) {
	t.Helper()
	vars := azureEnv(t, "PullRequest")
	vars["SYSTEM_COLLECTIONURI"] = fake.CollectionURL()
	if edit != nil {
		edit(vars)
	}
	env := newStrictEnv(t, vars)
	out := &lockedBuffer{}
	return NewAzure(env.Getenv, WithWriter(out), WithHTTPClient(fake.Client())), out
}

func TestAzure_PostComment_createdThenUpdated(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	fake.Seed("Looks good", "> "+report.Marker("")+" quoted")
	p, out := newAzureCommentPlatform(t, fake, nil)
	marker := report.Marker("")
	ctx := context.Background()

	first := report.Markdown(sampleReport(), report.Options{Preview: true, MaxBytes: p.CommentLimit()})
	res, err := p.PostComment(ctx, marker, first)
	if err != nil || len(res.Warnings) > 0 || len(res.Comments) != 1 || !res.Comments[0].Created {
		t.Fatalf("first PostComment = %+v, %v; want a created thread", res, err)
	}
	second := first + "\nupdated"
	res, err = p.PostComment(ctx, marker, second)
	if err != nil || len(res.Warnings) > 0 || len(res.Comments) != 1 || res.Comments[0].Created {
		t.Fatalf("second PostComment = %+v, %v; want an edit in place", res, err)
	}
	if diff := cmp.Diff([]string{"Looks good", "> " + marker + " quoted", second}, fake.Contents()); diff != "" {
		t.Errorf("thread comments (-want +got):\n%s", diff)
	}
	if want := fake.CollectionURL() + "Tools%20Project/_git/tools/pullrequest/42?discussionId=102"; res.Comments[0].URL != want {
		t.Errorf("comment URL %q, want %q", res.Comments[0].URL, want)
	}
	if st := fake.Threads()[2].Status; st != "closed" {
		t.Errorf("new thread status %q, want closed (never blocks completion)", st)
	}
	if !strings.HasPrefix(out.String(), "##vso[task.setsecret]ado-access-token\n") {
		t.Errorf("the access token was not masked first: %q", out.String())
	}
}

func TestAzure_PostComment_onPremNoResourceAreas(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	fake.NoResourceAreas()
	p, _ := newAzureCommentPlatform(t, fake, func(v map[string]string) {
		v["SYSTEM_COLLECTIONURI"] = fake.GitURL()
	})
	res, err := p.PostComment(context.Background(), report.Marker(""), report.Marker("")+"\nx")
	// With no resource areas the SDK rule is: the collection URL itself.
	if err != nil || len(res.Comments) != 1 {
		t.Fatalf("PostComment = %+v, %v", res, err)
	}
}

func TestAzure_PostComment_unauthorized(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"401 with an HTML sign-in page", 401, "<html>Sign in</html>"},
		{"403 JSON error", 403, `{"$id":"1","message":"TF401027: You need the Git 'PullRequestContribute' permission","typeKey":"GitNeedsPermissionException"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeci.NewAzure(t, "ado-access-token")
			fake.Fail(tc.status, tc.body)
			p, _ := newAzureCommentPlatform(t, fake, nil)
			res, err := p.PostComment(context.Background(), report.Marker(""), "body")
			if err != nil {
				t.Fatalf("PostComment error %v; %d must be a warning", err, tc.status)
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], AzureTokenFix) {
				t.Errorf("warnings = %q, want the fix %q", res.Warnings, AzureTokenFix)
			}
		})
	}
}

func TestAzure_PostComment_noToken(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	p, _ := newAzureCommentPlatform(t, fake, func(v map[string]string) { v["SYSTEM_ACCESSTOKEN"] = "" })
	res, err := p.PostComment(context.Background(), report.Marker(""), "body")
	want := "map SYSTEM_ACCESSTOKEN into the step: env: SYSTEM_ACCESSTOKEN: $(System.AccessToken); and grant the build identity 'Contribute to pull requests' on the repository"
	if err != nil || len(res.Warnings) != 1 || !strings.HasSuffix(res.Warnings[0], want) {
		t.Errorf("PostComment = %+v, %v; want a warning ending %q", res, err, want)
	}
	if len(fake.Calls()) != 0 {
		t.Errorf("called Azure DevOps without a token: %v", fake.Calls())
	}
}

func TestAzure_PostComment_ciBuildOfAMerge(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	marker := report.Marker("")
	fake.Seed(marker + "\nthe preview")
	p, _ := newAzureCommentPlatform(t, fake, func(v map[string]string) { v["BUILD_REASON"] = "IndividualCI" })
	res, err := p.PostComment(context.Background(), marker, marker+"\nreleased")
	if err != nil || len(res.Comments) != 1 || res.Comments[0].PR != 42 || res.Comments[0].Created {
		t.Fatalf("PostComment = %+v, %v; want the preview on merged PR 42 edited", res, err)
	}
	if got := fake.Contents(); len(got) != 1 || got[0] != marker+"\nreleased" {
		t.Errorf("comments = %q", got)
	}
}

func TestAzure_PostComment_ciBuildWithoutPR(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	p, _ := newAzureCommentPlatform(t, fake, func(v map[string]string) {
		v["BUILD_REASON"] = "IndividualCI"
		v["BUILD_SOURCEVERSIONMESSAGE"] = "fix: direct push"
	})
	res, err := p.PostComment(context.Background(), report.Marker(""), "body")
	if err != nil || len(res.Comments)+len(res.Warnings) != 0 || len(fake.Calls()) != 0 {
		t.Errorf("PostComment on a CI build = %+v, %v, calls %v; want nothing", res, err, fake.Calls())
	}
}

func TestAzure_PostComment_githubHostedRepo(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	p, _ := newAzureCommentPlatform(t, fake, func(v map[string]string) { v["BUILD_REPOSITORY_PROVIDER"] = "GitHub" })
	res, err := p.PostComment(context.Background(), report.Marker(""), "body")
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "Azure Repos") {
		t.Errorf("PostComment = %+v, %v; want a warning about Azure Repos", res, err)
	}
}

func TestAzure_Summary_unwritableDir(t *testing.T) {
	env := newStrictEnv(t, map[string]string{})
	p := NewAzure(env.Getenv, WithWriter(&lockedBuffer{}), WithTempDir(filepath.Join(t.TempDir(), "missing")))
	if err := p.Summary("x"); err == nil {
		t.Error("Summary into a missing directory returned no error")
	}
}

// TestAzure_PostComment_markerCopiedBySomeoneElse: a comment by someone
// else that starts with the marker (Azure lets only authors edit) is
// passed over; the bot's own comment after it is edited, else a thread is
// created.
func TestAzure_PostComment_markerCopiedBySomeoneElse(t *testing.T) {
	marker := report.Marker("")
	fake := fakeci.NewAzure(t, "ado-access-token")
	fake.SeedLocked(marker + "\nfake report")
	p, _ := newAzureCommentPlatform(t, fake, nil)
	res, err := p.PostComment(context.Background(), marker, marker+"\nfirst")
	if err != nil || len(res.Warnings) != 0 || len(res.Comments) != 1 || !res.Comments[0].Created {
		t.Fatalf("PostComment = %+v, %v; want a created thread", res, err)
	}
	res, err = p.PostComment(context.Background(), marker, marker+"\nsecond")
	if err != nil || len(res.Warnings) != 0 || len(res.Comments) != 1 || res.Comments[0].Created {
		t.Fatalf("PostComment = %+v, %v; want our own thread edited", res, err)
	}
	if diff := cmp.Diff([]string{marker + "\nfake report", marker + "\nsecond"}, fake.Contents()); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

// TestAzure_SetOutput_secret: an output that holds a masked secret is a
// secret variable; others are plain output variables.
func TestAzure_SetOutput_secret(t *testing.T) {
	var out lockedBuffer
	p := NewAzure(func(string) string { return "" }, WithWriter(&out))
	p.Mask("s3cr3t-api-key")
	if err := p.SetOutput("token", "Bearer s3cr3t-api-key"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetOutput("failed", "false"); err != nil {
		t.Fatal(err)
	}
	want := "##vso[task.setsecret]s3cr3t-api-key\n" +
		"##vso[task.setvariable variable=token;isOutput=true;issecret=true]Bearer s3cr3t-api-key\n" +
		"##vso[task.setvariable variable=failed;isOutput=true]false\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestAzure_secretsRedactedFromBodies(t *testing.T) {
	fake := fakeci.NewAzure(t, "ado-access-token")
	p, _ := newAzureCommentPlatform(t, fake, nil)
	p.Mask("s3cr3t_value")
	r := sampleReport()
	r.Tools[1].Stages[0].Error = "printed s3cr3t_value"
	r.Warnings = []string{"s3cr3t_value leaked"}
	if _, err := p.PostComment(context.Background(), report.Marker(""), report.Markdown(r, report.Options{})); err != nil {
		t.Fatal(err)
	}
	if err := p.Summary(report.Summary(r)); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(p.getenv("AGENT_TEMPDIRECTORY"), "amigo-release-summary-*.md"))
	if len(files) != 1 {
		t.Fatalf("summary files %v", files)
	}
	for name, body := range map[string]string{"comment": fake.Contents()[0], "summary": readFile(t, files[0])} {
		if strings.Contains(body, "s3cr3t") || !strings.Contains(body, "•••") {
			t.Errorf("%s not redacted:\n%s", name, body)
		}
	}
}
