package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	name   string
	failed bool
	msg    string
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Helper()      {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = format
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}

func TestAssertExt(t *testing.T) {
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(wd) })

	if err := os.MkdirAll(filepath.Join("testdata", "TestX"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "TestX", "sub.golden.md"), []byte("a\r\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := &recorder{TB: t, name: "TestX/sub"}
	AssertExt(r, []byte("a\nb\n"), ".md")
	if r.failed {
		t.Errorf("equal content (CRLF vs LF) failed: %s", r.msg)
	}

	r = &recorder{TB: t, name: "TestX/sub"}
	AssertExt(r, []byte("a\nc\n"), ".md")
	if !r.failed || !strings.Contains(r.msg, "-update") {
		t.Errorf("different content: failed=%v msg=%q, want a failure naming -update", r.failed, r.msg)
	}

	r = &recorder{TB: t, name: "TestMissing"}
	AssertExt(r, []byte("x"), ".txt")
	if !r.failed {
		t.Error("missing golden file did not fail")
	}

	*update = true
	t.Cleanup(func() { *update = false })
	r = &recorder{TB: t, name: "TestNew/deep"}
	AssertExt(r, []byte("new\n"), ".txt")
	if r.failed {
		t.Fatalf("update failed: %s", r.msg)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "TestNew", "deep.golden.txt"))
	if err != nil || string(b) != "new\n" {
		t.Errorf("update wrote %q, %v; want %q", b, err, "new\n")
	}
}
