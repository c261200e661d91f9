package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/fakeci"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

const recordsTail = "records:\n  tags: true\n  releases: true\n"

// hostileFeat is a feature commit whose subject tries every injection.
const hostileFeat = "feat(weather): radar <script>alert(1)</script> @acme/admins ::set-output name=x::y ##vso[task.complete]"

// refCreations counts the tag creations the GitHub fake saw.
func refCreations(gh *fakeci.GitHub) int {
	n := 0
	for _, c := range gh.Calls() {
		if c == "POST /api/v3/repos/"+ghRepo+"/git/refs" {
			n++
		}
	}
	return n
}

// TestTagsAndReleasesOnGitHub: a tag and a GitHub Release per tool version
// once it serves in the first stage, through the git refs API with the
// workflow token; created once across reruns (the rerun finds them); an
// existing tag on another commit is never moved (a warning names both
// commits, and no release is made on it); the notes are grouped, linked to
// the pull request, and escaped, in the release, the comment and the
// summary.
func TestTagsAndReleasesOnGitHub(t *testing.T) {
	w := newWorld(t)
	first := w.commit("feat: three tools", testkit.Files(
		w.plan(nil, recordsTail),
		testkit.Project("weather", "weather_lookup", ""),
		testkit.Project("currency", "currency_convert", ""),
	))
	w.checkout(0)
	gh := fakeci.NewGitHub(t, ghToken)
	push := func(before, after string) (result, string, string) {
		payload := map[string]any{"ref": "refs/heads/main", "before": before, "after": after, "repository": map[string]any{"full_name": ghRepo}}
		env, _, sum := w.actionEnv(gh, "push", payload, after, "refs/heads/main")
		env["INPUT_REPORT-JSON"] = filepath.Join(w.t.TempDir(), "report.json")
		r := w.run(w.work, env)
		return r, readFile(t, sum), env["INPUT_REPORT-JSON"]
	}

	r, _, _ := push("", first)
	r.wantCode(t, 0)
	tags := gh.Tags()
	if tags["weather_lookup/v1.0.0"] != first || tags["currency_convert/v1.0.0"] != first || len(tags) != 2 || refCreations(gh) != 2 {
		t.Fatalf("tags after the first release: %v (%d creations)", tags, refCreations(gh))
	}
	if rs := gh.Releases(); len(rs) != 2 || !strings.Contains(rs[0].Body, "### Features") || !strings.Contains(rs[0].Body, "three tools") {
		t.Fatalf("releases after the first release: %+v", rs)
	}

	// Someone tagged currency 1.0.1 by hand on the old commit; the next
	// release of currency will be 1.0.1.
	gh.SeedTag("currency_convert/v1.0.1", first)
	w.commit("fix(weather)!: drop the v1 units", testkit.Touch("weather", "units"))
	radar := w.commit(hostileFeat, testkit.Files(testkit.Touch("weather", "radar"), map[string]string{"tools/weather/radar.py": "r = 1\n"}))
	head := w.commit("fix(currency): rounding", testkit.Touch("currency", "rounding"))
	w.pull()
	gh.SetPRsOf(head, fakeci.PR{Number: 7, Base: "main"})
	gh.SetPRsOf(radar, fakeci.PR{Number: 7, Base: "main"})
	// The first run stops in eu: us serves the new versions (tagged), eu
	// fails; the rerun finds us up to date and the tags in place.
	w.server("eu").FailNext(amigotest.OpPublishVersion, 2, http.StatusBadRequest, `{"detail":"Tool build has failed."}`)
	r, _, _ = push(first, head)
	r.wantCode(t, 1)
	if got := gh.Tags()["weather_lookup/v2.0.0"]; got != head || refCreations(gh) != 3 {
		t.Fatalf("after the failed run: weather_lookup/v2.0.0 = %q, %d creations; want it on %s, created once", got, refCreations(gh), head)
	}
	r, sum, reportPath := push(first, head)
	r.wantCode(t, 0)
	w.wantLive("weather_lookup", "1.0.0@"+changes.DisplaySHA(first), "2.0.0@"+changes.DisplaySHA(head))
	if n := refCreations(gh); n != 3 {
		t.Errorf("%d tag creations after the rerun, want 3 (the rerun finds its tag; the conflicting one is never touched)", n)
	}
	if got := gh.Tags()["currency_convert/v1.0.1"]; got != first {
		t.Errorf("the hand-made tag now names %s, want still %s: a tag is never moved", got, first)
	}
	wantContains(t, "log", r.stdout, fmt.Sprintf("tag currency_convert/v1.0.1 already names commit %s, not the released commit %s", first, head))
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "JSON report", string(b), `"tag": "weather_lookup/v2.0.0"`, `"tag_status": "exists"`, `"tag_status": "conflict"`)

	var weatherRel *fakeci.Release
	rs := gh.Releases()
	for i := range rs {
		if rs[i].TagName == "weather_lookup/v2.0.0" {
			weatherRel = &rs[i]
		}
		if rs[i].TagName == "currency_convert/v1.0.1" {
			t.Errorf("a release was made on the conflicting tag: %+v", rs[i])
		}
	}
	if weatherRel == nil || len(rs) != 3 {
		t.Fatalf("releases %+v; want weather_lookup/v2.0.0 once", rs)
	}
	body := weatherRel.Body
	wantContains(t, "release body", body, "## weather\\_lookup 2.0.0", "### ⚠️ Breaking changes", "drop the v1 units", "### Features",
		"&lt;script&gt;alert(1)&lt;/script&gt; @\u200dacme/admins", "[#7](https://github.example/acme/tools/pull/7)",
		"(https://github.example/acme/tools/commit/"+radar+")")
	for _, doc := range []struct{ name, text string }{{"release body", body}, {"summary", sum}, {"comment", strings.Join(gh.Bodies(7), "\n")}} {
		for _, bad := range []string{"<script>", "@acme/admins", "##vso[task.complete]"} {
			if strings.Contains(doc.text, bad) {
				t.Errorf("%s holds %q unescaped", doc.name, bad)
			}
		}
	}
	wantContains(t, "summary", sum, "Release notes for <code>weather_lookup</code> <code>2.0.0</code>", "**⚠️ Breaking changes**", "[GitHub Release](https://github.example/acme/tools/releases/tag/weather_lookup/v2.0.0)")
	wantContains(t, "comment", strings.Join(gh.Bodies(7), "\n"), "Release notes for <code>weather_lookup</code>", "**Features**")
}

// TestTagsOnAzure: the same tags through the Azure DevOps refs API with
// SYSTEM_ACCESSTOKEN: created once across a rerun, an existing tag on
// another commit left as it is, and releases (which Azure lacks) a warning.
func TestTagsOnAzure(t *testing.T) {
	w := newWorld(t)
	first := w.commit("feat: tools", testkit.Files(w.plan(nil, recordsTail), testkit.Project("weather", "weather_lookup", ""), testkit.Project("currency", "currency_convert", "")))
	w.checkout(0)
	ado := fakeci.NewAzure(t, "ado-token-0123456789")
	ado.NoResourceAreas()
	ado.SeedTag("currency_convert/v1.0.0", "1111111111111111111111111111111111111111")
	env := map[string]string{
		"TF_BUILD": "True", "BUILD_REASON": "IndividualCI", "BUILD_SOURCEVERSION": first, "BUILD_SOURCEBRANCH": "refs/heads/main",
		"BUILD_REPOSITORY_NAME": "tools", "BUILD_REPOSITORY_ID": fakeci.AzureRepoID, "BUILD_REPOSITORY_PROVIDER": "TfsGit",
		"BUILD_BUILDID": "7", "SYSTEM_COLLECTIONURI": ado.GitURL(), "SYSTEM_TEAMPROJECT": fakeci.AzureProject,
		"SYSTEM_ACCESSTOKEN": "ado-token-0123456789", "AGENT_TEMPDIRECTORY": t.TempDir(),
	}
	w.server("ap").FailNext(amigotest.OpPublishVersion, 2, http.StatusBadRequest, `{"detail":"Tool build has failed."}`)
	w.release(env).wantCode(t, 1)
	r := w.release(env)
	r.wantCode(t, 0)
	tags := ado.Tags()
	if tags["weather_lookup/v1.0.0"] != first || tags["currency_convert/v1.0.0"] != "1111111111111111111111111111111111111111" {
		t.Errorf("tags %v", tags)
	}
	creates := 0
	for _, c := range ado.Calls() {
		if strings.HasPrefix(c, "POST ") && strings.HasSuffix(c, "/refs") {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d ref creations over two runs, want 1 (weather once; currency's tag exists)", creates)
	}
	wantContains(t, "log", r.stdout, "##vso[task.logissue type=warning", "already names commit 1111111111111111111111111111111111111111", "Azure DevOps has no releases")
	for _, tr := range r.report.Tools {
		if tr.Name == "weather_lookup" && (tr.Record == nil || tr.Record.TagStatus != pipeline.TagExists) {
			t.Errorf("rerun record of weather_lookup: %+v", tr.Record)
		}
	}
}

// TestTagsOffByDefaultAndLocal: without records in the plan no tag call is
// made; with records on a terminal (no CI API) the run says how to tag by
// hand and still succeeds.
func TestTagsOffByDefaultAndLocal(t *testing.T) {
	w := newWorld(t)
	head := w.commit("feat: tools", testkit.Files(w.plan(nil, recordsTail), testkit.Project("weather", "weather_lookup", "")))
	w.checkout(0)
	r := w.release(nil)
	r.wantCode(t, 0)
	wantContains(t, "log", r.stderr, "tag weather_lookup/v1.0.0 not created", "git tag weather_lookup/v1.0.0 "+head+" && git push origin weather_lookup/v1.0.0")
	if rec := toolReport(t, r.report, "weather_lookup").Record; rec == nil || rec.TagStatus != pipeline.TagSkipped {
		t.Errorf("record %+v", rec)
	}

	w2 := newWorld(t)
	h2 := w2.commit("feat: tools", testkit.Files(w2.plan(nil, ""), testkit.Project("weather", "weather_lookup", "")))
	w2.checkout(0)
	gh := fakeci.NewGitHub(t, ghToken)
	env, _, _ := w2.actionEnv(gh, "push", map[string]any{"ref": "refs/heads/main", "after": h2, "repository": map[string]any{"full_name": ghRepo}}, h2, "refs/heads/main")
	w2.run(w2.work, env).wantCode(t, 0)
	for _, c := range gh.Calls() {
		if strings.Contains(c, "/git/") || strings.Contains(c, "/releases") {
			t.Errorf("records are off by default, yet: %s", c)
		}
	}
}
