package cmd

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/demo"
	"github.com/amigo-release/amigo-release/pipeline"
)

// TestDemo runs `amigo-release demo` in-process: exit 0, the result table,
// the pull request comment, a JSON report that says what the sample
// history calls for, the emulators' state, and nothing left behind but the
// JSON report.
func TestDemo(t *testing.T) {
	parent := t.TempDir()
	jsonPath := filepath.Join(t.TempDir(), "demo.json")
	r := runMainEnv(t, map[string]string{}, "demo", "--dir", parent, "--report-json", jsonPath)
	r.wantCode(t, ExitOK)

	// The terminal table (report.Text) and the comment (report.Markdown).
	wantContains(t, "stdout", r.stdout,
		"== Release: the run command's own path",
		"TOOL", "BUMP", "US", "EU", "AP", "CA",
		"released 3.0.0", "released 1.3.0", "released 1.0.0", "no-release",
		"result: 3 of 4 tools released",
		"== The pull request comment it would post (Markdown) ==",
		"<!-- amigo-release:.amigo/release.yaml -->",
		"| Tool | Bump | Reason | us | eu | ap | ca | Duration |",
		"| `weather_lookup` | minor |",
		"**⚠️ Breaking changes**",
		"JSON report   "+jsonPath,
		"weather_lookup\n  us              active 1.1.0, 1.2.0, 1.3.0; deprecated 1.0.0\n  eu-central-1    active 1.0.0 (pinned), 1.1.0, 1.2.0, 1.3.0\n",
		"currency_convert\n  us              active 2.0.0, 2.1.0, 3.0.0; deprecated 1.0.0\n",
		"Removed       ",
		// The status command after the release: what serves where.
		"== What serves where, as the status command reads it",
		"TOOL              STAGE  SERVING  COMMIT   HEAD",
		"4/3: 1.3.0 1.2.0 1.1.0 1.0.0 (pinned versions kept over the cap)  1.0.0",
		"(1 for the tool)",
	)
	// The run's log (stderr) shows the gates.
	wantContains(t, "stderr", r.stderr, "us test: 2 inputs passed", "eu soak: waited 10m00s", "smoke: 1 inputs passed", "us prune: deprecated 1.0.0")
	// The secret of flight_status never prints.
	secret := demo.Env()["DEMO_FLIGHT_API_KEY"]
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Errorf("the secret envvar value %q was printed", secret)
	}

	// The JSON report: what the sample's history calls for, in every stage.
	b := readFile(t, jsonPath)
	var rep pipeline.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	if rep.Mode != "run" || len(rep.Stages) != 4 {
		t.Errorf("report mode %q with %d stages, want run with 4", rep.Mode, len(rep.Stages))
	}
	want := map[string]struct {
		status  pipeline.Status
		version string
		bump    string
	}{
		"weather_lookup":   {pipeline.StatusReleased, "1.3.0", "minor"},
		"currency_convert": {pipeline.StatusReleased, "3.0.0", "major"},
		"flight_status":    {pipeline.StatusReleased, "1.0.0", ""},
		"timezone_info":    {pipeline.StatusNoRelease, "", ""},
	}
	if len(rep.Tools) != len(want) {
		t.Errorf("report has %d tools, want %d", len(rep.Tools), len(want))
	}
	for _, tr := range rep.Tools {
		w, ok := want[tr.Name]
		if !ok {
			t.Errorf("unexpected tool %s in the report", tr.Name)
			continue
		}
		if tr.Status != w.status {
			t.Errorf("%s: status %s, want %s (%s)", tr.Name, tr.Status, w.status, tr.Error)
		}
		if w.bump != "" && tr.Bump != w.bump {
			t.Errorf("%s: bump %q, want %q", tr.Name, tr.Bump, w.bump)
		}
		if w.version == "" {
			continue
		}
		if len(tr.Stages) != 4 {
			t.Errorf("%s: %d stages in the report, want 4", tr.Name, len(tr.Stages))
		}
		for _, s := range tr.Stages {
			if s.Status != pipeline.StatusReleased || s.VersionAfter != w.version {
				t.Errorf("%s in %s: %s %s, want released %s", tr.Name, s.Stage, s.Status, s.VersionAfter, w.version)
			}
		}
	}

	// Nothing left behind in --dir: the temporary directory is gone.
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("--dir %s still holds %v after the demo", parent, demoEntryNames(entries))
	}
}

// TestDemoDefaultReport: without --report-json the JSON report is the one
// file left, beside the removed temporary directory, where stdout says.
func TestDemoDefaultReport(t *testing.T) {
	if testing.Short() {
		t.Skip("TestDemo covers the demo under -short")
	}
	parent := t.TempDir()
	r := runMainEnv(t, map[string]string{"AMIGO_DEMO_DIR": parent}, "demo")
	r.wantCode(t, ExitOK)
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "amigo-release-demo-") || !strings.HasSuffix(entries[0].Name(), ".json") {
		t.Fatalf("--dir holds %v, want only the amigo-release-demo-*.json report", demoEntryNames(entries))
	}
	path := filepath.Join(parent, entries[0].Name())
	wantContains(t, "stdout", r.stdout, "JSON report   "+path)
	if _, err := readDemoReport(path); err != nil {
		t.Errorf("the JSON report does not parse: %v", err)
	}
}

// TestDemoKeep: with --keep the emulator serves after the release (the
// printed curl works with the demo token) and the repository stays; Ctrl-C
// (the context) stops it with exit 0.
func TestDemoKeep(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan result, 1)
	go func() {
		done <- runMainCtx(t, ctx, Env{Getenv: mapEnv(nil), Ready: func(u string) { ready <- u }}, "demo", "--keep", "--dir", parent)
	}()
	var base string
	select {
	case base = <-ready:
	case r := <-done:
		t.Fatalf("demo --keep returned before serving: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	case <-time.After(2 * time.Minute):
		t.Fatal("demo --keep never became ready")
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/eu-central-1/v1/"+demo.Org+"/tool/?limit=20", nil)
	req.Header.Set("Authorization", "Bearer "+demo.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the kept emulator does not answer: %v", err)
	}
	var page struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("list tools on the kept emulator: %d %v", resp.StatusCode, err)
	}
	got := map[string]bool{}
	for _, tl := range page.Tools {
		got[tl.Name] = true
	}
	for _, n := range []string{"weather_lookup", "currency_convert", "flight_status", "timezone_info"} {
		if !got[n] {
			t.Errorf("the kept eu-central-1 emulator has no tool %s (has %v)", n, got)
		}
	}
	cancel()
	r := <-done
	r.wantCode(t, ExitOK)
	wantContains(t, "stdout", r.stdout, "The emulator keeps serving (Ctrl-C stops it):", "curl -s "+base+"/us/v1/demo/tool/",
		"amigo-release plan --repo ", "--time-scale 600", "Stopped the emulator.",
		// PATH (empty here) has no amigo-release: say how to build one.
		"go build -o ", "amigo-release is not on PATH",
		// a fresh machine has no git identity: the commit carries one.
		"git -c user.name=demo -c user.email=demo@example.invalid commit -qam")
	for _, ln := range strings.Split(r.stdout, "\n") {
		if strings.Contains(ln, "amigo-release plan --repo") && !strings.Contains(ln, "--time-scale 600") {
			t.Errorf("a printed plan command lacks the emulator's --time-scale (it would pace in real minutes): %s", ln)
		}
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Fatalf("--keep left %v, want the one kept directory", demoEntryNames(entries))
	}
	kept := filepath.Join(parent, entries[0].Name())
	for _, p := range []string{"repo/.git", "repo/" + demo.PlanPath, "repo/tools/weather/pyproject.toml", "report.json"} {
		if _, err := os.Stat(filepath.Join(kept, p)); err != nil {
			t.Errorf("--keep: %v", err)
		}
	}
}

func TestDemoBadFlags(t *testing.T) {
	r := runMainEnv(t, nil, "demo", "--time-scale", "0.5")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "--time-scale 0.5")
	r = runMainEnv(t, nil, "demo", "--help")
	r.wantCode(t, ExitOK)
	wantContains(t, "help", r.stdout, "--keep", "AMIGO_DEMO_KEEP", "--report-json", "--dir", "--addr", "--time-scale")
}

func demoEntryNames(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestDemoBuildHint(t *testing.T) {
	dir := t.TempDir()
	if got := demoBuildHint(mapEnv(map[string]string{"PATH": dir}), "/w"); !strings.Contains(got, "go build -o /w/bin/amigo-release .") || !strings.Contains(got, "export PATH=/w/bin:") {
		t.Errorf("no amigo-release on PATH: hint %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "amigo-release"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := demoBuildHint(mapEnv(map[string]string{"PATH": dir}), "/w"); got != "" {
		t.Errorf("amigo-release is on PATH, yet the hint is %q", got)
	}
}

// Ctrl-C in the middle of the demo's release: exit 130, a message that
// fits a demo (its emulators are gone: start over, not "rerun to finish"),
// and the temporary repository removed.
func TestDemoInterrupted(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hc := &http.Client{Transport: &cancelOnPublish{cancel: cancel}}
	r := runMainCtx(t, ctx, Env{Getenv: mapEnv(nil), HTTPClient: hc}, "demo", "--dir", parent, "--report-json", filepath.Join(t.TempDir(), "r.json"))
	r.wantCode(t, ExitInterrupted)
	wantContains(t, "stderr", r.stderr, "demo interrupted", "run the demo again")
	if strings.Contains(r.stderr, "rerun the same command to finish") {
		t.Errorf("the demo tells the user to finish a release whose emulators are gone:\n%s", r.stderr)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("the interrupted demo left %d entries in --dir: %v", len(left), left)
	}
}
