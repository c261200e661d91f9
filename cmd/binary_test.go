package cmd

import (
	"bufio"
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
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
	if os.Getenv("AMIGO_NEEDTOOL_CHILD") == "1" { // TestNeedTool's child needs no binary
		return m.Run()
	}
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
		return runExit(t, cmd)
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

// pinnedImage is an image reference pinned by digest.
var pinnedImage = regexp.MustCompile(`^[\w./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$`)

// TestDockerfile checks the two image targets' text (TestImages, run by
// scripts/images.sh --test, checks the built images): the goreleaser pattern
// (the images copy the release binary), a builder-independent platform, the
// layout of each target, every base and the syntax frontend pinned by digest.
func TestDockerfile(t *testing.T) {
	raw := readFile(t, "../Dockerfile")
	first, _, _ := strings.Cut(string(raw), "\n")
	syntax, ok := strings.CutPrefix(first, "# syntax=")
	if !ok || !pinnedImage.MatchString(syntax) || !strings.HasPrefix(syntax, "docker/dockerfile:1") {
		t.Errorf("first line %q: want # syntax=docker/dockerfile:1.x@sha256:<digest>", first)
	}
	stages := parseDockerfile(t, "../Dockerfile")
	bases := map[string]bool{}
	for name, st := range stages {
		if _, isStage := stages[st.base]; isStage || st.base == "scratch" {
			continue
		}
		if !pinnedImage.MatchString(st.base) {
			t.Errorf("stage %s: FROM %s is not pinned by digest (image@sha256:...)", name, st.base)
		}
		bases[st.base] = true
	}
	if len(bases) != 1 {
		t.Errorf("base images %v: want one debian:bookworm-slim digest shared by every stage (Dependabot bumps them together)", bases)
	}

	rootfs, ok := stages["rootfs"]
	if !ok {
		t.Fatal("no rootfs stage")
	}
	if !strings.Contains(string(raw), "FROM --platform=$BUILDPLATFORM "+rootfs.base+" AS rootfs") {
		t.Error("the rootfs stage must run on the build platform (FROM --platform=$BUILDPLATFORM): no emulation for arm64")
	}
	run := strings.Join(rootfs.has("RUN"), "\n")
	for _, want := range []string{
		`os="${TARGETOS:-linux}"`, `arch="${TARGETARCH:-$(dpkg --print-architecture)}"`, // builders without BuildKit's automatic args
		`/dist/amigo-release-${os}-${arch}`, "chmod 1777 /rootfs/tmp", "ca-certificates",
		"install -m 0755", "/rootfs/usr/local/bin/amigo-release",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("rootfs stage's RUN lacks %q:\n%s", want, run)
		}
	}
	if strings.Contains(string(raw), "go build") {
		t.Error("the Dockerfile builds Go itself: the images copy the release binary from dist/ (scripts/build.sh)")
	}

	action, ok := stages["action"]
	if !ok {
		t.Fatal("no action target")
	}
	if action.base != "scratch" {
		t.Errorf("action target FROM %s, want scratch", action.base)
	}
	if ep := action.has("ENTRYPOINT"); len(ep) != 1 || !strings.Contains(ep[0], "/usr/local/bin/amigo-release") {
		t.Errorf("action target ENTRYPOINT = %v, want one naming /usr/local/bin/amigo-release", ep)
	}
	// GitHub: "Docker actions must be run by the default Docker user (root)".
	if u := action.has("USER"); len(u) != 0 {
		t.Errorf("action target sets USER %v: GitHub Docker actions must run as root", u)
	}
	// One COPY of the whole tree: copying a directory onto /tmp loses its 1777.
	if c := action.has("COPY"); !slices.Equal(c, []string{"--from=rootfs /rootfs/ /"}) {
		t.Errorf("action target COPY %q, want exactly [--from=rootfs /rootfs/ /]", c)
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
	if r := azure.has("RUN"); len(r) != 0 {
		t.Errorf("azure target has RUN %v: arm64 builds would need emulation", r)
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

	// The build context is the Linux release binaries and nothing else.
	ignore := readFile(t, "../.dockerignore")
	var rules []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			rules = append(rules, l)
		}
	}
	if !slices.Equal(rules, []string{"*", "!dist/amigo-release-linux-*"}) {
		t.Errorf(".dockerignore rules %q, want [* !dist/amigo-release-linux-*]", rules)
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
	req, err := http.NewRequest("POST", base+"/v1/demo/user/signin_with_api_key", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp := doReq(t, http.DefaultClient, req)
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

// TestPinImages runs scripts/pin-images.sh, the documented way to move the
// Dockerfile's digest pins, on a copy of the Dockerfile with a stand-in
// registry (PIN_RESOLVER): --check finds the stale pin, a run rewrites every
// use of it and nothing else, and an unresolvable image is an error.
func TestPinImages(t *testing.T) {
	bash := needTool(t, "bash")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{"../scripts/pin-images.sh": "scripts/pin-images.sh", "../Dockerfile": "Dockerfile"} {
		b := readFile(t, src)
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	orig, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	pins := regexp.MustCompile(`([\w./-]+:[\w.-]+)@(sha256:[0-9a-f]{64})`).FindAllStringSubmatch(string(orig), -1)
	current := map[string]string{}
	for _, m := range pins {
		current[m[1]] = m[2]
	}
	if len(current) != 2 {
		t.Fatalf("pinned images %v: want the syntax frontend and debian:bookworm-slim", current)
	}
	newDebian := "sha256:" + strings.Repeat("ab", 32)
	resolver := filepath.Join(dir, "resolve")
	script := "#!/usr/bin/env bash\ncase \"$1\" in\n"
	for ref, d := range current {
		if strings.HasPrefix(ref, "debian:") {
			d = newDebian
		}
		script += fmt.Sprintf("  %q) echo %s ;;\n", ref, d)
	}
	script += "  *) echo \"unknown $1\" >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(resolver, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(resolver string, args ...string) (string, int) {
		cmd := exec.Command(bash, append([]string{filepath.Join(dir, "scripts/pin-images.sh")}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PIN_RESOLVER=" + resolver}
		return runExit(t, cmd)
	}
	out, code := run(resolver, "--check")
	if code != 1 || !strings.Contains(out, "debian:bookworm-slim: "+current["debian:bookworm-slim"]+" -> "+newDebian) {
		t.Fatalf("--check: exit %d, want 1 naming the stale debian pin:\n%s", code, out)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); string(now) != string(orig) {
		t.Error("--check changed the Dockerfile")
	}
	if out, code = run(resolver); code != 0 {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	now, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if want := strings.ReplaceAll(string(orig), current["debian:bookworm-slim"], newDebian); string(now) != want {
		t.Errorf("updated Dockerfile is not the original with the debian digest replaced everywhere:\n%s", now)
	}
	if strings.Count(string(now), newDebian) != 2 {
		t.Errorf("new digest used %d times, want 2 (rootfs and azure stages)", strings.Count(string(now), newDebian))
	}
	if out, code = run(resolver, "--check"); code != 0 {
		t.Errorf("--check after the update: exit %d\n%s", code, out)
	}
	if out, code = run(filepath.Join(dir, "missing-resolver")); code != 1 || !strings.Contains(out, "cannot resolve") {
		t.Errorf("unresolvable: exit %d, want 1 with 'cannot resolve':\n%s", code, out)
	}
}
