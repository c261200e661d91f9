package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// actionMeta is the part of action.yml the tests read.
type actionMeta struct {
	Name        string `yaml:"name"`
	Author      string `yaml:"author"`
	Description string `yaml:"description"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	If               string            `yaml:"if"`
	Uses             string            `yaml:"uses"`
	Shell            string            `yaml:"shell"`
	Run              string            `yaml:"run"`
	WorkingDirectory string            `yaml:"working-directory"`
	Env              map[string]string `yaml:"env"`
	With             map[string]string `yaml:"with"`
}

func loadAction(t *testing.T) actionMeta {
	t.Helper()
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionMeta
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// pinnedUses matches owner/repo[/path]@<40-hex SHA> # vX.Y.Z.
var pinnedUses = regexp.MustCompile(`^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$`)

// TestActionYAML checks action.yml: metadata, a composite action, every
// input and output documented and used, third-party actions pinned by SHA,
// bash on every run step (Linux, macOS and Windows runners).
func TestActionYAML(t *testing.T) {
	a := loadAction(t)
	if a.Name == "" || a.Description == "" || a.Branding.Icon == "" || a.Branding.Color == "" {
		t.Errorf("name, description and branding must be set: %+v", a)
	}
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite (never a Docker build per run)", a.Runs.Using)
	}
	wantInputs := []string{"mode", "config", "github-token", "tools", "base", "dry-run", "fail-fast", "version", "go-version", "working-directory", "report-json", "deepen", "github-api-url", "tool", "to", "history", "fan-out-jobs", "slot"}
	for _, in := range wantInputs {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("input %q missing", in)
		}
	}
	var all strings.Builder
	ids := map[string]bool{}
	for _, s := range a.Runs.Steps {
		fmt.Fprintf(&all, "%s\n%s\n%v\n%v\n%s\n", s.If, s.Run, s.Env, s.With, s.WorkingDirectory)
		if s.ID != "" {
			ids[s.ID] = true
		}
		if s.Uses != "" && !pinnedUses.MatchString(s.Uses) {
			t.Errorf("step %q uses %q: pin third-party actions by full commit SHA", s.Name, s.Uses)
		}
		if s.Run != "" && s.Shell != "bash" {
			t.Errorf("step %q: shell %q, want bash (present on Linux, macOS and Windows runners)", s.Name, s.Shell)
		}
	}
	for name, in := range a.Inputs {
		if len(strings.TrimSpace(in.Description)) < 20 {
			t.Errorf("input %q: description too short to document it: %q", name, in.Description)
		}
		if in.Required {
			t.Errorf("input %q is required; every input has a working default", name)
		}
		if !strings.Contains(all.String(), "inputs."+name+" ") && !strings.Contains(all.String(), "inputs."+name+"}") &&
			!strings.Contains(all.String(), "inputs."+name+" ==") {
			t.Errorf("input %q is documented but never used by a step", name)
		}
	}
	outRef := regexp.MustCompile(`^\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}$`)
	for _, want := range []string{"released", "changed", "matrix", "failed", "report-json"} {
		o, ok := a.Outputs[want]
		if !ok {
			t.Errorf("output %q missing", want)
			continue
		}
		if len(strings.TrimSpace(o.Description)) < 20 {
			t.Errorf("output %q: description too short: %q", want, o.Description)
		}
		m := outRef.FindStringSubmatch(o.Value)
		if m == nil || !ids[m[1]] || m[2] != want {
			t.Errorf("output %q: value %q must be ${{ steps.<existing id>.outputs.%s }}", want, o.Value, want)
		}
	}
}

// actionScript returns the run script of the step with the given id and
// the env it declares, with ${{ }} expressions dropped (tests set them).
func actionScript(t *testing.T, id string) string {
	t.Helper()
	for _, s := range loadAction(t).Runs.Steps {
		if s.ID == id {
			return s.Run
		}
	}
	t.Fatalf("no step with id %q in action.yml", id)
	return ""
}

// runScript runs a bash script with exactly env (plus PATH) and returns
// its combined output, exit code and the GITHUB_OUTPUT key/values.
func runScript(t *testing.T, script string, env map[string]string) (string, int, map[string]string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	dir := t.TempDir()
	outFile := filepath.Join(dir, "github_output")
	if err := os.WriteFile(outFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_OUTPUT=" + outFile, "RUNNER_TEMP=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			outputs[k] = v
		}
	}
	return string(out), code, outputs
}

// TestActionFetchStep runs the action's download step against a fake
// GitHub (releases and tags API): checksum verified, mismatch refused,
// missing release and branch refs fall back to building from source.
func TestActionFetchStep(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	script := actionScript(t, "fetch")
	binary := []byte("#!/bin/sh\necho fake amigo-release\n")
	sum := sha256.Sum256(binary)
	good := hex.EncodeToString(sum[:])
	sha := "1111111111111111111111111111111111111111"
	sums := map[string]string{ // tag -> SHA256SUMS
		"v1.2.3": good + "  amigo-release-linux-amd64\n" + good + "  amigo-release-windows-arm64.exe\n",
		"v6.6.6": strings.Repeat("0", 64) + "  amigo-release-linux-amd64\n",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /amigo-release/amigo-release/releases/download/{tag}/{file}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := sums[r.PathValue("tag")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch f := r.PathValue("file"); {
		case f == "SHA256SUMS":
			fmt.Fprint(w, s)
		case strings.HasPrefix(f, "amigo-release-"):
			w.Write(binary)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /api/repos/amigo-release/amigo-release/tags", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gh-token" {
			t.Errorf("tags lookup without the token: %q", r.Header.Get("Authorization"))
		}
		fmt.Fprintf(w, `[{"name":"latest","commit":{"sha":%q}},{"name":"v1","commit":{"sha":%q}},{"name":"v1.2.3","commit":{"sha":%q}},{"name":"v2","commit":{"sha":"3333333333333333333333333333333333333333"}}]`, sha, sha, sha)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	base := map[string]string{
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "GITHUB_SERVER_URL": srv.URL,
		"GITHUB_API_URL": srv.URL + "/api", "ACTION_REPOSITORY": "amigo-release/amigo-release", "LOOKUP_TOKEN": "gh-token",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		env       map[string]string
		wantCode  int
		wantBuild string
		wantOut   string
		wantBin   string
	}{
		{"release tag, checksum ok", with("ACTION_REF", "v1.2.3"), 0, "false", "using v1.2.3 amigo-release-linux-amd64", "amigo-release"},
		{"version input beats the ref", with("ACTION_REF", "main", "WANT_VERSION", "v1.2.3"), 0, "false", "using v1.2.3", "amigo-release"},
		{"windows arm64 gets the .exe", with("ACTION_REF", "v1.2.3", "RUNNER_OS", "Windows", "RUNNER_ARCH", "ARM64"), 0, "false", "amigo-release-windows-arm64.exe", "amigo-release.exe"},
		{"SHA of a release tag downloads that release", with("ACTION_REF", sha), 0, "false", "is release v1.2.3", "amigo-release"},
		{"moving major tag resolves to its release", with("ACTION_REF", "v1"), 0, "false", "ref v1 is release v1.2.3", "amigo-release"},
		{"moving tag without a release builds", with("ACTION_REF", "v2"), 0, "true", "not a release tag", ""},
		{"checksum mismatch fails", with("ACTION_REF", "v6.6.6"), 1, "", "checksum mismatch", ""},
		{"tag without release builds", with("ACTION_REF", "v9.9.9"), 0, "true", "has no release v9.9.9", ""},
		{"branch builds", with("ACTION_REF", "main"), 0, "true", "not a release tag", ""},
		{"unknown SHA builds", with("ACTION_REF", strings.Repeat("2", 40)), 0, "true", "not a release tag", ""},
		{"no ref at all builds", with(), 0, "true", "not a release tag", ""},
		{"unsupported arch", with("ACTION_REF", "v1.2.3", "RUNNER_ARCH", "ARM"), 1, "", "unsupported runner architecture ARM", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.name, "SHA of") || strings.Contains(tt.name, "moving") {
				if _, err := exec.LookPath("jq"); err != nil {
					t.Skip("jq not installed")
				}
			}
			out, code, outputs := runScript(t, script, tt.env)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			wantContains(t, "step log", out, tt.wantOut)
			if outputs["build"] != tt.wantBuild {
				t.Errorf("build=%q, want %q\n%s", outputs["build"], tt.wantBuild, out)
			}
			if tt.wantBin != "" {
				if !strings.HasSuffix(outputs["bin"], "/"+tt.wantBin) {
					t.Errorf("bin=%q, want .../%s", outputs["bin"], tt.wantBin)
				}
				got, err := os.ReadFile(outputs["bin"])
				if err != nil || string(got) != string(binary) {
					t.Errorf("downloaded binary: %q, %v", got, err)
				}
			}
		})
	}
}

// TestActionRunStep runs the action's final step with a stand-in binary
// and checks the command line it builds from the inputs.
func TestActionRunStep(t *testing.T) {
	script := actionScript(t, "release")
	dir := t.TempDir()
	fake := filepath.Join(dir, "amigo-release")
	if err := os.WriteFile(fake, []byte("#!/usr/bin/env bash\nprintf '[%s]' \"$@\"\necho\necho \"token=$GITHUB_TOKEN\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	inputs := func(kv ...string) map[string]string {
		m := map[string]string{"BIN": fake, "GITHUB_TOKEN": "tok", "MODE": "run", "CONFIG": "", "REPO_PATH": "", "TOOLS": "",
			"BASE": "", "DRY_RUN": "", "FAIL_FAST": "", "REPORT_JSON": "", "DEEPEN": "", "TOOL": "", "TO": "", "HISTORY": "", "FAN_OUT_JOBS": "", "SLOT": ""}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		want     string
	}{
		{"defaults", inputs(), 0, "[run][--report-json][" + dir + "/amigo-release-report.json]"},
		{"everything", inputs("MODE", "run", "CONFIG", "cfg.yaml", "REPO_PATH", "repo", "TOOLS", "a,b", "BASE", "abc", "DRY_RUN", "true", "FAIL_FAST", "true", "REPORT_JSON", "r.json"),
			0, "[run][--config][cfg.yaml][--repo][repo][--tools][a,b][--base][abc][--report-json][r.json][--dry-run=true][--fail-fast=true]"},
		{"deepen off", inputs("DEEPEN", "false"), 0, "[run][--deepen=false][--report-json]"},
		{"plan drops run-only flags", inputs("MODE", "plan", "DRY_RUN", "true", "FAIL_FAST", "true"), 0, "[plan][--report-json]"},
		{"AMIGO_REPORT_JSON from the workflow is kept", inputs("AMIGO_REPORT_JSON", "x.json"), 0, "[run]\n"},
		{"bad mode", inputs("MODE", "deploy"), 2, "input mode must be run, plan, rollback or status"},
		{"rollback", inputs("MODE", "rollback", "TOOL", "weather_lookup", "TO", "1.4.2", "CONFIG", "cfg.yaml", "TOOLS", "x", "BASE", "abc", "DRY_RUN", "true", "FAIL_FAST", "true"),
			0, "[rollback][weather_lookup][--to][1.4.2][--config][cfg.yaml][--dry-run=true]\n"},
		{"rollback without its target", inputs("MODE", "rollback", "TOOL", "weather_lookup"), 2, "mode rollback needs the tool and to inputs"},
		{"status", inputs("MODE", "status", "TOOLS", "a,b", "DRY_RUN", "true", "REPORT_JSON", "r.json"), 0, "[status][--tools][a,b]\n"},
		{"token reaches the binary", inputs(), 0, "token=tok"},
		{"a fan-out's plan", inputs("MODE", "plan", "HISTORY", "h.json", "FAN_OUT_JOBS", "4", "SLOT", "x", "REPORT_JSON", "r.json"),
			0, "[plan][--report-json][r.json][--history][h.json][--fan-out-jobs][4]\n"},
		{"a fan-out's job", inputs("TOOLS", "a", "HISTORY", "h.json", "FAN_OUT_JOBS", "4", "SLOT", "test=2026-06-01T12:03:00Z,entry=0/2,every=3m,jobs=2", "REPORT_JSON", "r.json"),
			0, "[run][--tools][a][--report-json][r.json][--history][h.json][--slot][test=2026-06-01T12:03:00Z,entry=0/2,every=3m,jobs=2]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The step's env maps inputs to these names; RUNNER_TEMP is dir.
			env := tt.env
			out, code, _ := runScriptIn(t, script, env, dir)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			wantContains(t, "command line", out, tt.want)
			if strings.Contains(tt.name, "plan") && strings.Contains(out, "--dry-run") {
				t.Errorf("plan got run-only flags: %s", out)
			}
		})
	}
}

// runScriptIn is runScript with RUNNER_TEMP set to dir.
func runScriptIn(t *testing.T, script string, env map[string]string, dir string) (string, int, map[string]string) {
	t.Helper()
	m := map[string]string{}
	for k, v := range env {
		m[k] = v
	}
	m["RUNNER_TEMP"] = dir
	return runScript(t, script, m)
}

// TestActionBuildStep runs the action's build-from-source fallback in this
// checkout (what a branch or SHA ref without a release does).
func TestActionBuildStep(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	var script string
	for _, s := range loadAction(t).Runs.Steps {
		if s.Name == "Build amigo-release from source" {
			script = s.Run
			if s.WorkingDirectory != "${{ github.action_path }}" {
				t.Errorf("build step runs in %q, want the action's own source", s.WorkingDirectory)
			}
		}
	}
	if script == "" {
		t.Fatal("no build step")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "amigo-release")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, code, _ := runScript(t, "cd '"+root+"' && "+script, map[string]string{
		"BIN": bin, "ACTION_REF": "feature/x", "HOME": os.Getenv("HOME"),
		"GOCACHE": goEnv(t, "GOCACHE"), "GOMODCACHE": goEnv(t, "GOMODCACHE"), "GOTOOLCHAIN": "local",
	})
	if code != 0 {
		t.Fatalf("build step exited %d:\n%s", code, out)
	}
	wantContains(t, "build step", out, "amigo-release feature/x")
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
