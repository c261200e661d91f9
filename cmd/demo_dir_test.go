package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo_dirIsCreated: `demo --dir` with a directory that does not exist
// yet creates it (and its parents) and leaves the JSON report in it; a
// --dir that cannot be a directory is bad input (exit 2) naming it.
func TestDemo_dirIsCreated(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "not", "there", "yet")
	r := runMainEnv(t, map[string]string{}, "demo", "--dir", parent)
	r.wantCode(t, ExitOK)
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatalf("--dir was not created: %v", err)
	}
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".json") {
		t.Errorf("--dir holds %v, want only the JSON report", demoEntryNames(entries))
	}

	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runMainEnv(t, map[string]string{}, "demo", "--dir", filepath.Join(file, "sub"))
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "--dir "+filepath.Join(file, "sub")+":", "give a directory that exists or can be created")
}
