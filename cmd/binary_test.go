package cmd

import (
	"bufio"
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/peakrss"
)

// binPath is the amigo-release binary TestMain builds once for this
// package's tests, the way the Dockerfile and scripts/build.sh build it.
var binPath string

const testVersion = "v0.0.0-cmdtest"

func TestMain(m *testing.M) {
	peakrss.Spawn()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "amigo-release-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "amigo-release")
	if runtime.GOOS == "windows" {
		binPath += ".exe"
	}
	pkg := "github.com/amigo-release/amigo-release/internal/buildinfo"
	ldflags := fmt.Sprintf("-s -w -buildid= -X %s.version=%s -X %s.commit=0123456789abcdef0123456789abcdef01234567 -X %s.date=2026-11-26T00:00:00Z", pkg, testVersion, pkg, pkg)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", binPath, ".")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building amigo-release for the tests: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// TestBinary_static checks the release build is a static executable: no
// ELF interpreter and no shared libraries, so it runs FROM scratch.
func TestBinary_static(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF check on Linux only")
	}
	f, err := elf.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has an ELF interpreter (PT_INTERP): it is dynamically linked")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a PT_DYNAMIC segment: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	if path, err := exec.LookPath("file"); err == nil {
		out, err := exec.Command(path, binPath).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "statically linked") {
			t.Errorf("file(1) says: %s", out)
		}
	}
	// The action image is this binary plus CA certificates (about 0.2 MB).
	st, err := os.Stat(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 24<<20 {
		t.Errorf("binary is %d MB; the action image must stay under 25 MB", st.Size()>>20)
	}
	t.Logf("static binary: %.1f MB", float64(st.Size())/(1<<20))
}

// TestBinary_emptyEnvironment runs the binary as `env -i` would: no PATH,
// no HOME, nothing. version, --help and every subcommand's --help work.
func TestBinary_emptyEnvironment(t *testing.T) {
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(binPath, args...)
		cmd.Env = []string{} // empty, not inherited
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("version")
	if code != 0 {
		t.Fatalf("version exited %d:\n%s", code, out)
	}
	wantContains(t, "version", out, "amigo-release "+testVersion, "commit: 0123456789abcdef0123456789abcdef01234567", "built:  2026-11-26T00:00:00Z", "go:     go")
	out, code = run("--help")
	if code != 0 {
		t.Fatalf("--help exited %d:\n%s", code, out)
	}
	for _, c := range commands() {
		if strings.HasPrefix(c.name, "test-") {
			continue
		}
		wantContains(t, "--help", out, "  "+c.name)
		o, code := run(c.name, "--help")
		if code != 0 {
			t.Errorf("%s --help exited %d:\n%s", c.name, code, o)
		}
		wantContains(t, c.name+" --help", o, "Usage: amigo-release "+c.name)
	}
	out, code = run()
	if code != ExitUsage {
		t.Errorf("no arguments: exit %d, want %d\n%s", code, ExitUsage, out)
	}
}

// dockerStage is one FROM ... AS name block of the Dockerfile.
type dockerStage struct {
	name, base string
	lines      []string // instructions, continuation lines joined
}

func (s dockerStage) has(instr string) []string {
	var out []string
	for _, l := range s.lines {
		if strings.HasPrefix(strings.ToUpper(l), instr+" ") {
			out = append(out, strings.TrimSpace(l[len(instr):]))
		}
	}
	return out
}

func parseDockerfile(t *testing.T, path string) map[string]dockerStage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]dockerStage{}
	var cur *dockerStage
	var pending string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = pending + line
		pending = ""
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			var base, name string
			for i := 1; i < len(fields); i++ {
				if strings.HasPrefix(fields[i], "--") {
					continue
				}
				if base == "" {
					base = fields[i]
				} else if strings.EqualFold(fields[i], "AS") && i+1 < len(fields) {
					name = fields[i+1]
				}
			}
			if cur != nil {
				stages[cur.name] = *cur
			}
			cur = &dockerStage{name: name, base: base}
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
		}
	}
	if cur != nil {
		stages[cur.name] = *cur
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// TestDockerfile checks the two image targets without a Docker engine.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "../Dockerfile")
	build, ok := stages["build"]
	if !ok {
		t.Fatal("no build stage")
	}
	var goBuild string
	for _, r := range build.has("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "buildinfo.version=${VERSION}", "buildinfo.commit=${COMMIT}", "buildinfo.date=${DATE}", "-buildid="} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("build stage's go build lacks %q: %s", want, goBuild)
		}
	}

	action, ok := stages["action"]
	if !ok {
		t.Fatal("no action target")
	}
	if action.base != "scratch" && !strings.Contains(action.base, "distroless/static") {
		t.Errorf("action target FROM %s, want scratch or distroless/static", action.base)
	}
	if ep := action.has("ENTRYPOINT"); len(ep) != 1 || !strings.Contains(ep[0], "amigo-release") {
		t.Errorf("action target ENTRYPOINT = %v, want one naming amigo-release", ep)
	}
	users := action.has("USER")
	if len(users) == 0 {
		t.Error("action target has no USER: it would run as root")
	}
	for _, u := range users {
		if name := strings.Split(u, ":")[0]; name == "0" || name == "root" {
			t.Errorf("action target USER %s is root", u)
		}
	}
	if !strings.Contains(strings.Join(action.has("COPY"), "\n"), "ca-certificates.crt") {
		t.Error("action target does not copy CA certificates")
	}

	azure, ok := stages["azure"]
	if !ok {
		t.Fatal("no azure target")
	}
	if !strings.HasPrefix(azure.base, "debian:") && !strings.HasPrefix(azure.base, "ubuntu:") {
		t.Errorf("azure target FROM %s, want a glibc base with bash (debian or ubuntu)", azure.base)
	}
	if ep := azure.has("ENTRYPOINT"); len(ep) != 0 {
		t.Errorf("azure target has ENTRYPOINT %v; Azure container jobs require none", ep)
	}
	if u := azure.has("USER"); len(u) != 0 {
		t.Errorf("azure target sets USER %v; Azure needs a user that can run groupadd/useradd", u)
	}
	var onPath bool
	for _, c := range azure.has("COPY") {
		if strings.HasSuffix(c, " /usr/local/bin/amigo-release") {
			onPath = true
		}
	}
	if !onPath {
		t.Error("azure target does not put amigo-release in /usr/local/bin (on PATH)")
	}
}

// TestBinary_emulatorStopsOnSIGINT starts the real binary's emulator,
// reads its base URL from the banner, calls it, sends SIGINT, and expects
// a clean exit 0.
func TestBinary_emulatorStopsOnSIGINT(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	cmd := exec.Command(binPath, "emulator", "--addr", "127.0.0.1:0", "--repo", t.TempDir())
	cmd.Env = []string{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	var base string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Amigo Tool API emulator listening on "); ok {
			base = strings.Fields(rest)[0]
			break
		}
	}
	if base == "" {
		t.Fatalf("no banner with the base URL (scan error %v)", sc.Err())
	}
	go func() {
		for sc.Scan() { // keep draining so the process never blocks on stdout
		}
	}()
	resp, err := http.Post(base+"/v1/demo/user/signin_with_api_key", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("sign-in without key headers: status %d, want 401 or 422", resp.StatusCode)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("emulator after SIGINT: %v, want exit 0", err)
	}
}
