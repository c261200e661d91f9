package platform

import (
	"testing"

	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/google/go-cmp/cmp"
)

func TestAnnotateFailures(t *testing.T) {
	r := sampleReport()
	r.Tools = append(r.Tools, pipeline.ToolReport{Name: "calendar", Path: "tools/cal", Status: pipeline.StatusFailed,
		Stages: []pipeline.StageReport{{Stage: "us", Status: pipeline.StatusFailed, Error: "409 after 5 attempts\nretry later",
			Steps: []pipeline.StepReport{{Name: "ensure", Status: pipeline.StatusDone}, {Name: "publish", Status: pipeline.StatusFailed}}}}})
	var gh, az lockedBuffer
	getenv := func(string) string { return "" }
	AnnotateFailures(NewGitHub(getenv, WithWriter(&gh)), r)
	AnnotateFailures(NewAzure(getenv, WithWriter(&az)), r)
	wantGH := "::error file=tools/geo_coder/pyproject.toml,title=amigo-release%3A geo_coder failed in us::test gate failed\n" +
		"::error file=tools/cal/pyproject.toml,title=amigo-release%3A calendar failed in us::us: publish failed: 409 after 5 attempts%0Aretry later\n"
	if diff := cmp.Diff(wantGH, gh.String()); diff != "" {
		t.Errorf("GitHub (-want +got):\n%s", diff)
	}
	wantAZ := "##vso[task.logissue type=error;sourcepath=tools/geo_coder/pyproject.toml]amigo-release: geo_coder failed in us: test gate failed\n" +
		"##vso[task.logissue type=error;sourcepath=tools/cal/pyproject.toml]amigo-release: calendar failed in us: us: publish failed: 409 after 5 attempts%0Aretry later\n"
	if diff := cmp.Diff(wantAZ, az.String()); diff != "" {
		t.Errorf("Azure (-want +got):\n%s", diff)
	}
}
