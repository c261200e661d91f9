package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/cilog"
	"github.com/amigo-release/amigo-release/internal/egress"
	"github.com/amigo-release/amigo-release/pipeline"
)

// decodeOneReport parses out as exactly one JSON report and nothing else.
func decodeOneReport(t *testing.T, out string) pipeline.Report {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var rep pipeline.Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than the JSON report (%v):\n%s", err, out)
	}
	return rep
}

// wantInertReport checks a JSON report on standard output made safe by the
// exit's JSON kind, with hostileSubject as its first tool's first commit:
// no line of the document runs as a command on either runner, none of its
// strings does when printed (`jq -r`), and the subject is the commit's own
// text, only defused (zero-width spaces put where a runner would read a
// command).
func wantInertReport(t *testing.T, stdout string, rep pipeline.Report) {
	t.Helper()
	for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
		if cmds := cilog.Parse(d, stdout); len(cmds) > 0 {
			t.Errorf("dialect %d: the report on stdout runs %q", d, cmds[0].Text)
		}
	}
	if len(rep.Tools) != 1 || len(rep.Tools[0].Commits) == 0 {
		t.Fatalf("report on stdout: %+v", rep.Tools)
	}
	subject := rep.Tools[0].Commits[0].Subject
	for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
		if cmds := cilog.Parse(d, subject+"\n"+rep.Tools[0].Reason); len(cmds) > 0 {
			t.Errorf("dialect %d: the report's subject, printed, runs %q", d, cmds[0].Text)
		}
	}
	if strings.ReplaceAll(subject, "\u200b", "") != hostileSubject || subject == hostileSubject {
		t.Errorf("subject %q: want the commit's subject %q, defused", subject, hostileSubject)
	}
}

// TestReportJSON_dashIsStdout: `--report-json -` on the built binary puts
// the JSON report, and only it, on stdout; the plan text goes to stderr;
// no file named "-" appears (the starting commit wrote one).
func TestReportJSON_dashIsStdout(t *testing.T) {
	repo := toolRepo(t)
	plan := writePlan(t, t.TempDir(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	cwd := t.TempDir()
	r := runBinary(t, cwd, map[string]string{}, "plan", "--offline", "--repo", repo, "--config", plan, "--report-json", "-")
	r.wantCode(t, ExitOK)
	rep := decodeOneReport(t, r.stdout)
	var names []string
	for _, tr := range rep.Tools {
		names = append(names, tr.Name)
	}
	if rep.Mode != "plan" || !equalSorted(names, []string{"calendar", "weather_lookup"}) {
		t.Errorf("report on stdout: mode %q, tools %v", rep.Mode, names)
	}
	wantContains(t, "stderr (the plan text moved there)", r.stderr, "weather_lookup", "calendar")
	if _, err := os.Stat(filepath.Join(cwd, "-")); err == nil {
		t.Error(`--report-json - wrote a file named "-"`)
	}

	// A run that cannot start still gives its JSON on stdout, the error on
	// stderr, exit 2.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\nstages: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, cwd, map[string]string{"AMIGO_REPORT_JSON": "-"}, "plan", "--offline", "--repo", repo, "--config", bad)
	r.wantCode(t, ExitUsage)
	rep = decodeOneReport(t, r.stdout)
	if !strings.Contains(rep.Error, bad+":2:") {
		t.Errorf("report error %q, want the plan's file:line", rep.Error)
	}
	wantContains(t, "stderr", r.stderr, bad+":2:")
}

// TestReportJSON_fileOutputIsAbsolute: a relative --report-json is written
// where the process runs, and the report-json output (AMIGO_OUTPUT on a
// terminal) is its absolute path; with "-" the output is empty.
func TestReportJSON_fileOutputIsAbsolute(t *testing.T) {
	repo := toolRepo(t)
	plan := writePlan(t, t.TempDir(), "http://127.0.0.1:1", "http://127.0.0.1:1")
	cwd := t.TempDir()
	outFile := filepath.Join(t.TempDir(), "outputs")
	env := map[string]string{"AMIGO_OUTPUT": outFile}
	r := runBinary(t, cwd, env, "plan", "--offline", "--repo", repo, "--config", plan, "--report-json", "report.json")
	r.wantCode(t, ExitOK)
	want := filepath.Join(cwd, "report.json")
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("report file: %v", err)
	}
	decodeOneReport(t, string(b))
	out := readFile(t, outFile)
	if got := parseGitHubOutput(t, string(out))["report-json"]; got != want {
		t.Errorf("report-json output = %q, want %q", got, want)
	}
	// Only the report text on stdout, as before.
	if bytes.HasPrefix([]byte(strings.TrimSpace(r.stdout)), []byte("{")) {
		t.Errorf("stdout holds JSON without --report-json -:\n%s", r.stdout)
	}

	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, cwd, env, "plan", "--offline", "--repo", repo, "--config", plan, "--report-json", "-")
	r.wantCode(t, ExitOK)
	out, err = os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := parseGitHubOutput(t, string(out))["report-json"]; !ok || got != "" {
		t.Errorf("report-json output = %q (set: %v), want set and empty for stdout", got, ok)
	}
}

// TestDemo_reportJSONStdout: `demo --report-json -` prints the JSON report
// on stdout and everything else on stderr.
func TestDemo_reportJSONStdout(t *testing.T) {
	r := runMainEnv(t, map[string]string{}, "demo", "--dir", t.TempDir(), "--report-json", "-")
	r.wantCode(t, ExitOK)
	rep := decodeOneReport(t, r.stdout)
	if rep.Mode != "run" || len(rep.Tools) != 4 {
		t.Errorf("demo report on stdout: mode %q, %d tools", rep.Mode, len(rep.Tools))
	}
	wantContains(t, "stderr", r.stderr, "released 3.0.0", "== The pull request comment it would post", "JSON report   written to standard output")
}
