package cmd

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// result is what one Main call produced.
type result struct {
	code           int
	stdout, stderr string
}

// mapEnv is a getenv over a fixed map: nothing leaks in from the test
// process's own environment.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runMainEnv runs Main in-process with env vars m.
func runMainEnv(t *testing.T, m map[string]string, args ...string) result {
	t.Helper()
	return runMainCtx(t, t.Context(), Env{Getenv: mapEnv(m)}, args...)
}

func runMainCtx(t *testing.T, ctx context.Context, env Env, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	code := Main(ctx, args, env)
	return result{code, out.String(), errb.String()}
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// needTool returns the path of an external program a test drives (bash, curl,
// jq, git, shellcheck, podman...). Where it is missing the test skips, except
// under CI=true: CI installs every tool the tests need (.ci/run), so there a
// missing tool is a failure, never a quiet skip.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testsInCI() {
		t.Fatalf("%s is not installed: under CI=true every tool a test needs must be there (.ci/run installs it)", name)
	}
	t.Skipf("%s not installed (under CI=true this fails)", name)
	return ""
}

// testsInCI reports whether the tests run in CI (CI=true, as GitHub Actions, Azure
// Pipelines and .ci/run's caller set it).
func testsInCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// runExit runs cmd and returns its combined output and exit code; a
// failure to start it fails the test.
func runExit(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestNeedTool runs itself in a child process: a missing tool fails the test
// under CI=true and skips it, saying so, elsewhere.
func TestNeedTool(t *testing.T) {
	if os.Getenv("AMIGO_NEEDTOOL_CHILD") == "1" {
		needTool(t, "amigo-release-no-such-tool")
		return
	}
	for _, ci := range []string{"true", ""} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedTool$", "-test.v")
		cmd.Env = append(os.Environ(), "AMIGO_NEEDTOOL_CHILD=1", "CI="+ci)
		out, code := runExit(t, cmd)
		if ci == "true" {
			if code == 0 || !strings.Contains(out, "amigo-release-no-such-tool is not installed: under CI=true") {
				t.Errorf("CI=true: exit %d, want a failure naming the tool:\n%s", code, out)
			}
		} else if code != 0 || !strings.Contains(out, "--- SKIP: TestNeedTool") || !strings.Contains(out, "under CI=true this fails") {
			t.Errorf("CI unset: exit %d, want a skip that says so:\n%s", code, out)
		}
	}
}

// copyEnv returns a copy of m with the pairs of kv (name, value, ...) set.
func copyEnv(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// readFile returns the content of the file at path, failing t if it
// cannot be read.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
