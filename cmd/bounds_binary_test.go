package cmd

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/amigo-release/amigo-release/internal/peakrss"
)

// runBinaryRSS is runBinary that also returns the process's peak RSS in
// bytes (0 where the system does not say).
func runBinaryRSS(t *testing.T, dir string, env map[string]string, args ...string) (binResult, int64) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = []string{}
	if runtime.GOOS == "windows" {
		cmd.Env = append(cmd.Env, "SYSTEMROOT="+os.Getenv("SYSTEMROOT"))
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	peak := peakrss.Measure(cmd, t.TempDir())
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return binResult{out.String(), errb.String(), code}, peak()
}

// maxInputRSS is the goal: any single input file of 1 MiB or less
// is handled within 100 MB of memory (or refused).
const maxInputRSS = 100 << 20

// TestBinary_boundedInputs (issue 12, finding 1): a small pyproject.toml
// of deeply nested inline tables took the TOML decoder to 510 MB at 3,000
// levels (18 KB), a runtime "out of memory" at 5,000 (30 KB) and the OOM
// killer at 50,000. Now each of these, and the other costly shapes of
// TOML and YAML, exits 2 naming the file and the limit, within 100 MB.
func TestBinary_boundedInputs(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n) }
	big := func(line func(i int) string) string {
		var b strings.Builder
		for i := 0; b.Len() < 1000<<10; i++ {
			b.WriteString(line(i))
		}
		return b.String()
	}
	const head = "[project]\nname = \"weather-lookup\"\n\n"
	costLimit := fmt.Sprintf("more than %d bytes (the limit)", bounds.MaxTOMLCost)
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"3,000 nested inline tables (18 KB)", "tools/weather/pyproject.toml", head + "[tool.amigo]\ninput_schema = " + nest(3000) + "\n", "nested more than 64 (the limit)"},
		{"5,000 nested inline tables (30 KB)", "tools/weather/pyproject.toml", head + "[tool.amigo]\ninput_schema = " + nest(5000) + "\n", "nested more than 64 (the limit)"},
		{"50,000 nested inline tables (300 KB)", "tools/weather/pyproject.toml", head + "[tool.amigo]\ninput_schema = " + nest(50000) + "\n", "nested more than 64 (the limit)"},
		{"1 MB of 30-part dotted keys", "tools/weather/pyproject.toml", head + "[tool.x]\n" + big(func(i int) string { return fmt.Sprintf("k%d%s = 1\n", i, strings.Repeat(".a", 29)) }), costLimit},
		{"a long table name over many keys", "tools/weather/pyproject.toml", head + "[" + strings.Repeat("t", 200<<10) + "]\n" + big(func(i int) string { return fmt.Sprintf("k%d = 1\n", i) })[:700<<10], costLimit},
		{"1 MB flow sequence in the plan", ".amigo/release.yaml", "x: [" + strings.Repeat("1,", 500<<10-4) + "1]\n", "more than 250000 YAML values"},
		{"a plan over 1 MiB", ".amigo/release.yaml", "# " + strings.Repeat("x", 1100<<10) + "\n", "larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			git(t, repo, "init", "-q", "-b", "main")
			files := map[string]string{
				"tools/weather/pyproject.toml": head,
				".amigo/release.yaml":          "version: 1\nstages:\n  - name: us\n    region: us\n    organization: acme\n",
			}
			files[tc.file] = tc.content
			commit(t, repo, "feat: tools", files)
			r, rss := runBinaryRSS(t, repo, map[string]string{"AMIGO_REPO": repo, "AMIGO_BASE": ""}, "plan", "--offline")
			r.wantCode(t, ExitUsage)
			wantContains(t, "stderr", r.stderr, tc.file, tc.want)
			if rss > maxInputRSS {
				t.Errorf("peak RSS %d MB, want at most %d MB", rss>>20, maxInputRSS>>20)
			}
			t.Logf("%s: exit 2 in %d MB", tc.name, rss>>20)
		})
	}
}

// TestBinary_boundedInputsAtTheLimit: the costliest pyproject.toml the
// TOML check lets through, for each of the shapes whose cost grows
// fastest, is read (twice: discovery and metadata) within 100 MB.
func TestBinary_boundedInputsAtTheLimit(t *testing.T) {
	const head = "[project]\nname = \"weather-lookup\"\n\n[tool.x]\n"
	for name, line := range map[string]func(i int) string{
		"30-part dotted keys": func(i int) string { return fmt.Sprintf("k%d%s = 1\n", i, strings.Repeat(".a", 29)) },
		"30 nested inline tables": func(i int) string {
			return fmt.Sprintf("k%d = %s1%s\n", i, strings.Repeat("{a = ", 30), strings.Repeat("}", 30))
		},
		"flat keys":     func(i int) string { return fmt.Sprintf("k%d = 1\n", i) },
		"short strings": func(i int) string { return fmt.Sprintf("k%d = \"abc\"\n", i) },
	} {
		t.Run(name, func(t *testing.T) {
			// The longest run of lines the check accepts (bisected).
			var ends []int
			var b strings.Builder
			b.WriteString(head)
			for i := 0; b.Len() < bounds.MaxFileSize; i++ {
				b.WriteString(line(i))
				ends = append(ends, b.Len())
			}
			all := b.String()
			lo, hi := 0, len(ends)-1
			for lo < hi {
				mid := (lo + hi + 1) / 2
				if bounds.TOML([]byte(all[:ends[mid]])) == nil {
					lo = mid
				} else {
					hi = mid - 1
				}
			}
			b.Reset()
			b.WriteString(all[:ends[lo]])
			repo := t.TempDir()
			git(t, repo, "init", "-q", "-b", "main")
			commit(t, repo, "feat: tools", map[string]string{
				"tools/weather/pyproject.toml": b.String(),
				".amigo/release.yaml":          "version: 1\nstages:\n  - name: us\n    region: us\n    organization: acme\n",
			})
			r, rss := runBinaryRSS(t, repo, map[string]string{"AMIGO_REPO": repo, "AMIGO_BASE": ""}, "plan", "--offline")
			r.wantCode(t, ExitOK)
			if rss > maxInputRSS {
				t.Errorf("peak RSS %d MB for a %d KB file, want at most %d MB", rss>>20, b.Len()>>10, maxInputRSS>>20)
			}
			t.Logf("%s: %d KB read in %d MB", name, b.Len()>>10, rss>>20)
		})
	}
}
