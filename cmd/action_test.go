package cmd

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
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
	b := readFile(t, "../action.yml")
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
	wantInputs := []string{"mode", "config", "github-token", "tools", "base", "dry-run", "fail-fast", "version", "go-version", "working-directory", "report-json", "deepen", "github-api-url", "tool", "to", "verify-attestation", "history", "fan-out-jobs", "slot"}
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
	bash := needTool(t, "bash")
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
	out, code := runExit(t, cmd)
	b := readFile(t, outFile)
	outputs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			outputs[k] = v
		}
	}
	return out, code, outputs
}

// fakeRelease is one release on the fake GitHub: its SHA256SUMS and the
// assets it really has (a name listed in sums may be missing).
type fakeRelease struct {
	sums   string
	assets map[string][]byte
}

// fakeActionServer is the GitHub the download step talks to: release
// downloads (with injectable failures) and the action repository's tags over
// git's smart HTTP protocol (the real `git http-backend`).
type fakeActionServer struct {
	*httptest.Server
	mu       sync.Mutex
	fail     map[string][]int // path -> statuses to answer before serving it
	hits     map[string]int
	gitAuths []string // Authorization headers the git endpoint got
}

func (f *fakeActionServer) failNext(path string, statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[path] = append(f.fail[path], statuses...)
}

func newFakeActionServer(t *testing.T, releases map[string]fakeRelease, gitRoot string) *fakeActionServer {
	t.Helper()
	gitBin := needTool(t, "git")
	f := &fakeActionServer{fail: map[string][]int{}, hits: map[string]int{}}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + gitRoot, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/amigo-release/amigo-release.git/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.gitAuths = append(f.gitAuths, r.Header.Get("Authorization"))
		f.mu.Unlock()
		backend.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /amigo-release/amigo-release/releases/download/{tag}/{file}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		var status int
		if q := f.fail[r.URL.Path]; len(q) > 0 {
			status, f.fail[r.URL.Path] = q[0], q[1:]
		}
		f.mu.Unlock()
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		rel, ok := releases[r.PathValue("tag")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.PathValue("file") == "SHA256SUMS" {
			fmt.Fprint(w, rel.sums)
			return
		}
		b, ok := rel.assets[r.PathValue("file")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// actionRepo makes the action's repository as a bare repo under
// root/amigo-release/amigo-release.git: commit A carries v1.2.3 (annotated),
// v1.2.3-rc.1 and the moving v1; B carries the moving v2 and no release;
// C carries v3.0.0 after 150 other release tags (no page limit); D carries
// v2.9.0 and v2.10.0 (numeric order, not text). It returns the SHAs of A, C, D.
func actionRepo(t *testing.T, root string) (a, c, d string) {
	t.Helper()
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	a = commit(t, work, "a", map[string]string{"f": "a"})
	git(t, work, "tag", "-a", "-m", "release", "v1.2.3")
	git(t, work, "tag", "v1.2.3-rc.1")
	git(t, work, "tag", "v1")
	git(t, work, "tag", "latest")
	commit(t, work, "b", map[string]string{"f": "b"})
	git(t, work, "tag", "v2")
	old := commit(t, work, "old", map[string]string{"f": "old"})
	var refs strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&refs, "create refs/tags/v0.%d.0 %s\n", i, old)
	}
	cmd := exec.Command("git", "update-ref", "--stdin")
	cmd.Dir, cmd.Stdin = work, strings.NewReader(refs.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-ref: %v\n%s", err, out)
	}
	c = commit(t, work, "c", map[string]string{"f": "c"})
	git(t, work, "tag", "v3.0.0")
	d = commit(t, work, "d", map[string]string{"f": "d"})
	git(t, work, "tag", "v2.9.0")
	git(t, work, "tag", "v2.10.0")
	bare := filepath.Join(root, "amigo-release", "amigo-release.git")
	git(t, work, "clone", "-q", "--bare", work, bare)
	return a, c, d
}

// pathWithout returns a PATH holding every program of this PATH but the
// named ones (a runner without jq, without git, ...), plus extra dirs first.
func pathWithout(t *testing.T, drop []string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	seen := map[string]bool{}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if seen[e.Name()] || slices.Contains(drop, e.Name()) {
				continue
			}
			seen[e.Name()] = true
			os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	return strings.Join(append(extra, dir), string(os.PathListSeparator))
}

// fakeGH writes a stand-in GitHub CLI that logs its arguments and
// GH_TOKEN/GH_HOST to log and answers `attestation verify` with exit code.
func fakeGH(t *testing.T, code int, log string) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf("#!/usr/bin/env bash\nfor a in \"$@\"; do [ \"$a\" = --help ] && exit 0; done\n"+
		"echo \"gh $* token=${GH_TOKEN:-} host=${GH_HOST:-}\" >>%q\n"+
		"[ %d = 0 ] || { echo 'X failed to verify the attestation: no matching attestations found' >&2; exit %d; }\n", log, code, code)
	if err := os.WriteFile(filepath.Join(dir, "gh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestActionFetchStep runs the action's download step against a fake GitHub
// (release downloads and the action repository's tags over git's HTTP
// protocol): checksum and provenance verified, a mismatch refused, release
// lookup for SHAs and moving tags through every tag, network faults retried
// with backoff, and every way it can fail saying what happened and the fix:
// an error when the version input cannot be honoured, a warning and a build
// of the action's own ref (the same code) otherwise.
func TestActionFetchStep(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("drives git http-backend as CGI and PATHs of symlinks; the ci workflow's action job runs the step on Windows runners")
	}
	needTool(t, "curl")
	script := actionScript(t, "fetch")
	binary := []byte("#!/bin/sh\necho fake amigo-release\n")
	sum := sha256.Sum256(binary)
	good := hex.EncodeToString(sum[:])
	line := func(name string) string { return good + "  " + name + "\n" }
	releases := map[string]fakeRelease{
		"v1.2.3": {line("amigo-release-linux-amd64") + line("amigo-release-windows-arm64.exe"),
			map[string][]byte{"amigo-release-linux-amd64": binary, "amigo-release-windows-arm64.exe": binary}},
		"v1.3.0":  {line("amigo-release-linux-amd64"), map[string][]byte{}}, // listed, never uploaded
		"v3.0.0":  {line("amigo-release-linux-amd64"), map[string][]byte{"amigo-release-linux-amd64": binary}},
		"v2.10.0": {line("amigo-release-linux-amd64"), map[string][]byte{"amigo-release-linux-amd64": binary}},
		"v6.6.6":  {strings.Repeat("0", 64) + "  amigo-release-linux-amd64\n", map[string][]byte{"amigo-release-linux-amd64": binary}},
	}
	gitRoot := t.TempDir()
	shaA, shaC, shaD := actionRepo(t, gitRoot)
	// Each case has a fake GitHub of its own (its injected failures and
	// the requests it saw are the case's alone), so the cases run in
	// parallel. The table names it fakeGitHub and the URL where nothing
	// listens refused; a case's env and wanted output get the real URLs in
	// their place. All the servers start before refused is chosen, so none
	// of them can take its port.
	const fakeGitHub, refused = "http://fake-github.test", "http://refused.test"
	ghLog := filepath.Join(t.TempDir(), "gh.log") // the table's cases do not read it
	ghOK, ghBad := fakeGH(t, 0, ghLog), fakeGH(t, 1, ghLog)
	noGH := pathWithout(t, []string{"gh"})
	sums := "/amigo-release/amigo-release/releases/download/v1.2.3/SHA256SUMS"
	asset := "/amigo-release/amigo-release/releases/download/v1.2.3/amigo-release-linux-amd64"

	base := map[string]string{
		"RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "GITHUB_SERVER_URL": fakeGitHub, "PATH": noGH,
		"ACTION_REPOSITORY": "amigo-release/amigo-release", "LOOKUP_TOKEN": "gh-token", "AMIGO_FETCH_BACKOFF": "0",
	}
	with := func(kv ...string) map[string]string { return copyEnv(base, kv...) }
	tests := []struct {
		name      string
		env       map[string]string
		fail      map[string][]int // path -> statuses the server answers first
		wantCode  int
		wantBuild string
		wantOut   []string
		notOut    []string
		wantBin   string
	}{
		{name: "release tag, checksum ok", env: with("ACTION_REF", "v1.2.3"), wantBuild: "false", wantBin: "amigo-release",
			wantOut: []string{"using v1.2.3 amigo-release-linux-amd64 (sha256 " + good + " matches SHA256SUMS; build provenance not checked (no gh"}},
		{name: "version input beats the ref", env: with("ACTION_REF", "main", "WANT_VERSION", "v1.2.3"), wantBuild: "false", wantOut: []string{"using v1.2.3"}, wantBin: "amigo-release"},
		{name: "version without v is taken with a warning", env: with("ACTION_REF", "main", "WANT_VERSION", "1.2.3"), wantBuild: "false", wantBin: "amigo-release",
			wantOut: []string{"::warning::amigo-release: version '1.2.3' has no leading v: using release v1.2.3 (write version: v1.2.3)", "using v1.2.3"}},
		{name: "version that does not exist is an error", env: with("ACTION_REF", "v1.2.3", "WANT_VERSION", "v9.9.9"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: amigo-release/amigo-release has no release v9.9.9 (" + fakeGitHub + "/amigo-release/amigo-release/releases/download/v9.9.9/SHA256SUMS: HTTP 404): check the version input against " + fakeGitHub + "/amigo-release/amigo-release/releases"},
			notOut:  []string{"building"}},
		{name: "version that is no release tag is an error", env: with("WANT_VERSION", "latest"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: input version 'latest' is not a release tag: use one such as v1.2.3"}},
		{name: "windows arm64 gets the .exe", env: with("ACTION_REF", "v1.2.3", "RUNNER_OS", "Windows", "RUNNER_ARCH", "ARM64"), wantBuild: "false", wantOut: []string{"amigo-release-windows-arm64.exe"}, wantBin: "amigo-release.exe"},
		{name: "SHA of a release tag downloads that release, stable over rc", env: with("ACTION_REF", shaA), wantBuild: "false", wantOut: []string{"ref " + shaA + " is release v1.2.3\n"}, wantBin: "amigo-release"},
		{name: "moving major tag resolves to its release", env: with("ACTION_REF", "v1"), wantBuild: "false", wantOut: []string{"ref v1 is release v1.2.3\n", "using v1.2.3"}, wantBin: "amigo-release"},
		{name: "release found among 150 tags (no page limit)", env: with("ACTION_REF", shaC), wantBuild: "false", wantOut: []string{"is release v3.0.0", "using v3.0.0"}, wantBin: "amigo-release"},
		{name: "the highest release on a commit, in numeric order", env: with("ACTION_REF", shaD), wantBuild: "false", wantOut: []string{"is release v2.10.0\n", "using v2.10.0"}, wantBin: "amigo-release"},
		{name: "no jq needed for a moving tag", env: with("ACTION_REF", "v1", "PATH", pathWithout(t, []string{"jq", "gh"})), wantBuild: "false", wantOut: []string{"ref v1 is release v1.2.3"}, wantBin: "amigo-release"},
		{name: "moving tag without a release builds", env: with("ACTION_REF", "v2"), wantBuild: "true", wantOut: []string{"amigo-release: ref v2 is not a release (no vX.Y.Z tag on its commit"}, notOut: []string{"::warning::"}},
		{name: "branch builds", env: with("ACTION_REF", "main"), wantBuild: "true", wantOut: []string{"ref main is not a release"}, notOut: []string{"::warning::"}},
		{name: "unknown SHA builds", env: with("ACTION_REF", strings.Repeat("2", 40)), wantBuild: "true", wantOut: []string{"is not a release"}},
		{name: "no ref at all builds", env: with(), wantBuild: "true", wantOut: []string{"no action ref (a local action, uses: ./): building from source"}},
		{name: "without git a moving tag builds, with a warning", env: with("ACTION_REF", "v1", "PATH", pathWithout(t, []string{"git", "gh"})), wantBuild: "true",
			wantOut: []string{"::warning::amigo-release: git is not installed, so ref v1 cannot be matched to its release: building from source (install git, or pin a release tag"}},
		{name: "tag listing retried, then a warning and a build", env: with("ACTION_REF", "v1", "GITHUB_SERVER_URL", refused), wantBuild: "true",
			wantOut: []string{"listing the tags of " + refused + "/amigo-release/amigo-release failed", "::warning::amigo-release: could not list the tags of " + refused + "/amigo-release/amigo-release after 4 tries"}},
		{name: "checksum mismatch fails", env: with("ACTION_REF", "v6.6.6"), wantCode: 1, wantOut: []string{"::error::amigo-release: checksum mismatch for amigo-release-linux-amd64 of v6.6.6"}},
		{name: "tag without release builds, with a warning", env: with("ACTION_REF", "v9.9.9"), wantBuild: "true",
			wantOut: []string{"::warning::amigo-release: amigo-release/amigo-release has no release v9.9.9 (", "HTTP 404): building v9.9.9 from source instead"}},
		{name: "unreachable server: retries, then the ref builds", env: with("ACTION_REF", "v1.2.3", "GITHUB_SERVER_URL", refused), wantBuild: "true",
			wantOut: []string{"retrying in 0s (try 2 of 4)", "retrying in 0s (try 4 of 4)", "::warning::amigo-release: could not download " + refused + "/amigo-release/amigo-release/releases/download/v1.2.3/SHA256SUMS (curl: (7) ", ", after 4 tries): building v1.2.3 from source instead"},
			notOut:  []string{"000", "try 5"}},
		{name: "unreachable server with a version input is an error", env: with("WANT_VERSION", "v1.2.3", "GITHUB_SERVER_URL", refused), wantCode: 1,
			wantOut: []string{"::error::amigo-release: could not download " + refused, "after 4 tries): the release server did not answer: rerun the job"},
			notOut:  []string{"000"}},
		{name: "SHA256SUMS 503s retried with doubling backoff", env: with("ACTION_REF", "v1.2.3", "AMIGO_FETCH_BACKOFF", "1"), fail: map[string][]int{sums: {503, 503}},
			wantBuild: "false", wantBin: "amigo-release", wantOut: []string{"SHA256SUMS: HTTP 503; retrying in 1s (try 2 of 4)", "SHA256SUMS: HTTP 503; retrying in 2s (try 3 of 4)", "using v1.2.3"}},
		{name: "binary 502 and 429 retried", env: with("ACTION_REF", "v1.2.3"), fail: map[string][]int{asset: {502, 429}},
			wantBuild: "false", wantBin: "amigo-release", wantOut: []string{"amigo-release-linux-amd64: HTTP 502; retrying", "amigo-release-linux-amd64: HTTP 429; retrying", "using v1.2.3"}},
		{name: "5xx past the retries with a version input is an error", env: with("WANT_VERSION", "v1.2.3", "AMIGO_FETCH_TRIES", "2"), fail: map[string][]int{sums: {500, 500}}, wantCode: 1,
			wantOut: []string{"::error::amigo-release: could not download " + fakeGitHub + sums + " (HTTP 500, after 2 tries)"}},
		{name: "403 is not retried", env: with("WANT_VERSION", "v1.2.3"), fail: map[string][]int{sums: {403}}, wantCode: 1,
			wantOut: []string{"::error::amigo-release: downloading " + fakeGitHub + sums + " was refused (HTTP 403): check that"}, notOut: []string{"retrying"}},
		{name: "no binary for this platform, version input: an error naming the platforms", env: with("WANT_VERSION", "v1.2.3", "RUNNER_ARCH", "ARM64"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: release v1.2.3 has no binary for this Linux ARM64 runner (amigo-release-linux-arm64 is not in its SHA256SUMS; it has linux-amd64, windows-arm64): use a runner of one of those platforms"},
			notOut:  []string{"curl: (22)"}},
		{name: "no binary for this platform, own ref: a warning and a build", env: with("ACTION_REF", "v1.2.3", "RUNNER_ARCH", "ARM64"), wantBuild: "true",
			wantOut: []string{"::warning::amigo-release: release v1.2.3 has no binary for this Linux ARM64 runner", "building v1.2.3 from source instead"}},
		{name: "asset listed but missing", env: with("WANT_VERSION", "v1.3.0"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: release v1.3.0 lists amigo-release-linux-amd64 in SHA256SUMS but has no such asset (", "HTTP 404): the release is incomplete"}},
		{name: "attestation verified with gh", env: with("ACTION_REF", "v1.2.3", "PATH", ghOK+string(os.PathListSeparator)+noGH), wantBuild: "false", wantBin: "amigo-release",
			wantOut: []string{"build provenance verified (gh attestation verify --repo amigo-release/amigo-release)"}},
		{name: "attestation failure refuses the binary", env: with("ACTION_REF", "v1.2.3", "PATH", ghBad+string(os.PathListSeparator)+noGH), wantCode: 1,
			wantOut: []string{"::error::amigo-release: gh attestation verify amigo-release-linux-amd64 --repo amigo-release/amigo-release failed: X failed to verify the attestation: no matching attestations found", "set verify-attestation: false to rely on the checksum alone"},
			notOut:  []string{"using v1.2.3"}},
		{name: "verify-attestation false skips gh", env: with("ACTION_REF", "v1.2.3", "VERIFY_ATTESTATION", "false", "PATH", ghBad+string(os.PathListSeparator)+noGH), wantBuild: "false", wantBin: "amigo-release",
			wantOut: []string{"(sha256 " + good + " matches SHA256SUMS)"}},
		{name: "verify-attestation true without gh is an error", env: with("ACTION_REF", "v1.2.3", "VERIFY_ATTESTATION", "true"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: verify-attestation: true needs the GitHub CLI with attestation support (gh 2.49 or later)"}},
		{name: "bad verify-attestation", env: with("ACTION_REF", "v1.2.3", "VERIFY_ATTESTATION", "maybe"), wantCode: 1,
			wantOut: []string{"::error::amigo-release: input verify-attestation must be auto, true or false, not 'maybe'"}},
		{name: "unsupported arch", env: with("ACTION_REF", "v1.2.3", "RUNNER_ARCH", "ARM"), wantCode: 1, wantOut: []string{"unsupported runner architecture ARM"}},
	}
	servers := make([]*fakeActionServer, len(tests)+1) // the last for "token reaches git and gh"
	for i := range servers {
		servers[i] = newFakeActionServer(t, releases, gitRoot)
	}
	refusedAt := "http://" + amigotest.RefusedAddr(t)
	// ours gives case i its fake GitHub, and env with the real URLs.
	ours := func(i int, env map[string]string) (*fakeActionServer, map[string]string, *strings.Replacer) {
		srv := servers[i]
		urls := strings.NewReplacer(fakeGitHub, srv.URL, refused, refusedAt)
		env = maps.Clone(env)
		for k, v := range env {
			env[k] = urls.Replace(v)
		}
		return srv, env, urls
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, env, urls := ours(i, tt.env)
			for path, statuses := range tt.fail {
				srv.failNext(path, statuses...)
			}
			out, code, outputs := runScript(t, script, env)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			for _, w := range tt.wantOut {
				wantContains(t, "step log", out, urls.Replace(w))
			}
			for _, n := range tt.notOut {
				if strings.Contains(out, n) {
					t.Errorf("step log contains %q:\n%s", n, out)
				}
			}
			if outputs["build"] != map[int]string{0: tt.wantBuild, 1: ""}[code] {
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

	// The tag lookup sends the token to the git server (private action
	// repositories), as actions/checkout does; gh gets it and the host too.
	t.Run("token reaches git and gh", func(t *testing.T) {
		t.Parallel()
		ghLog := filepath.Join(t.TempDir(), "gh.log")
		srv, env, _ := ours(len(tests), with("ACTION_REF", "v1", "PATH", fakeGH(t, 0, ghLog)+string(os.PathListSeparator)+noGH))
		out, code, _ := runScript(t, script, env)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		basic := "basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:gh-token"))
		if len(srv.gitAuths) == 0 || !slices.ContainsFunc(srv.gitAuths, func(a string) bool { return strings.EqualFold(a, basic) }) {
			t.Errorf("git requests' Authorization %q, want %q", srv.gitAuths, basic)
		}
		wantContains(t, "step log", out, "::add-mask::"+strings.TrimPrefix(basic, "basic "))
		log := readFile(t, ghLog)
		host := strings.TrimPrefix(srv.URL, "http://")
		wantContains(t, "gh call", string(log), "gh attestation verify ", "/amigo-release-bin/amigo-release-linux-amd64 --repo amigo-release/amigo-release token=gh-token host="+host)
	})
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
		return copyEnv(map[string]string{"BIN": fake, "GITHUB_TOKEN": "tok", "MODE": "run", "CONFIG": "", "REPO_PATH": "", "TOOLS": "",
			"BASE": "", "DRY_RUN": "", "FAIL_FAST": "", "REPORT_JSON": "", "DEEPEN": "", "TOOL": "", "TO": "", "HISTORY": "", "FAN_OUT_JOBS": "", "SLOT": ""}, kv...)
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
	return runScript(t, script, copyEnv(env, "RUNNER_TEMP", dir))
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
