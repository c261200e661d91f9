package cmd

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestActionRunStep_reportJSONOutput runs the action's final step with the
// real binary (as the composite action does after the download): the
// report-json output is the absolute path of the report it wrote, by
// default under RUNNER_TEMP, and the action's report-json output reads it.
func TestActionRunStep_reportJSONOutput(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	script := actionScript(t, "release")
	dir := t.TempDir()
	for _, tt := range []struct{ input, want string }{
		{"", filepath.Join(dir, "amigo-release-report.json")},
		{filepath.Join(dir, "custom.json"), filepath.Join(dir, "custom.json")},
	} {
		outFile := filepath.Join(t.TempDir(), "github_output")
		if err := os.WriteFile(outFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		env := releaseEnv("BIN", binPath, "MODE", "plan", "CONFIG", plan, "REPO_PATH", repo, "TOOLS", "", "BASE", "", "DRY_RUN", "",
			"FAIL_FAST", "", "REPORT_JSON", tt.input, "DEEPEN", "", "GITHUB_TOKEN", "",
			"GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch", "GITHUB_OUTPUT", outFile,
			"AMIGO_TIME_SCALE", strconv.Itoa(timeScale))
		out, code, _ := runScriptIn(t, script, env, dir)
		if code != 0 {
			t.Fatalf("run step exited %d:\n%s", code, out)
		}
		b := readFile(t, outFile)
		got := parseGitHubOutput(t, string(b))["report-json"]
		if got != tt.want {
			t.Errorf("report-json input %q: output %q, want %q", tt.input, got, tt.want)
		}
		rb, err := os.ReadFile(tt.want)
		if err != nil {
			t.Fatalf("the report the output names: %v", err)
		}
		decodeOneReport(t, string(rb))
	}
	o := loadAction(t).Outputs["report-json"]
	if o.Value != "${{ steps.release.outputs.report-json }}" {
		t.Errorf("action output report-json = %q, want the release step's output", o.Value)
	}
}
