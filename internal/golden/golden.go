// Package golden compares test output with golden files under testdata/ and
// rewrites them when the test binary runs with -update:
//
//	go test ./report -run TestMarkdown -update
//
// A golden file lives at testdata/<t.Name()>.golden<ext>; a subtest becomes
// a folder (testdata/TestMarkdown/full_release.golden.md), and the .md
// extension lets GitHub render the expected comment in review diffs.
//
// Only test binaries that import this package know the -update flag, so run
// -update per package (go test ./report -update), never on ./... .
// It is a test helper: it is not meant for production code.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with the current output")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Path is the golden file for t and ext: testdata/<t.Name()>.golden<ext>.
func Path(t testing.TB, ext string) string {
	return filepath.Join("testdata", filepath.FromSlash(t.Name())+".golden"+ext)
}

// Assert compares got with testdata/<t.Name()>.golden.md; see AssertExt.
func Assert(t testing.TB, got []byte) {
	t.Helper()
	AssertExt(t, got, ".md")
}

// AssertExt compares got with the golden file testdata/<t.Name()>.golden<ext>
// (CRLF normalised to LF on both sides). With -update it writes got to the
// file instead (creating folders for subtests) and passes. On a mismatch it
// fails with a line diff and the command that regenerates the file.
func AssertExt(t testing.TB, got []byte, ext string) {
	t.Helper()
	path := Path(t, ext)
	got = normalize(got)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden: %v\nrun: go test . -run '^%s$' -update", err, topName(t))
	}
	want = normalize(want)
	if bytes.Equal(got, want) {
		return
	}
	diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n"))
	t.Errorf("output differs from %s (-want +got):\n%s\nrun: go test . -run '^%s$' -update, then review the diff", path, diff, topName(t))
}

func topName(t testing.TB) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	return name
}

func normalize(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
}
