package changes

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/bounds"
)

// TestReadFile_refusesALargeBlobWithoutInflatingIt: a pyproject.toml of
// 64 MB of one repeated byte is a few kilobytes in a pack. ReadFile (what
// run, plan, status and rollback read a tool's settings with) and
// discovery refuse it from the size its header records, as loose objects,
// packed, and packed as a delta of another version, without allocating
// the file: the reader is bounded before the blob is inflated, not after.
func TestReadFile_refusesALargeBlobWithoutInflatingIt(t *testing.T) {
	r := newTestRepo(t)
	r.write("tools/ok/pyproject.toml", pyproject("ok"))
	// The 64 MB are written from one buffer: building them as strings
	// copied them three more times, a second of the test spent on setup.
	const prefix = "[project]\nname = \"big\"\n# "
	big := bytes.Repeat([]byte("a"), len(prefix)+64<<20+2)
	copy(big, prefix)
	bigFile := filepath.Join(r.dir, "tools", "big", "pyproject.toml")
	if err := os.MkdirAll(filepath.Dir(bigFile), 0o755); err != nil {
		t.Fatal(err)
	}
	big[len(big)-2] = '\n'
	if err := os.WriteFile(bigFile, big[:len(big)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	r.commit("feat: big")
	big[len(big)-2], big[len(big)-1] = 'b', '\n'
	if err := os.WriteFile(bigFile, big, 0o644); err != nil {
		t.Fatal(err)
	}
	big = nil
	head := r.commit("feat: bigger")
	for _, layout := range []string{"loose", "packed", "packed as deltas"} {
		switch layout {
		case "packed":
			r.git("repack", "-adq", "--depth=0")
		case "packed as deltas":
			r.git("repack", "-adfq", "--depth=50", "--window=10")
		}
		t.Run(layout, func(t *testing.T) {
			repo := r.open()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := repo.ReadFile(head, "tools/big/pyproject.toml")
			runtime.ReadMemStats(&after)
			if le, ok := errors.AsType[*bounds.LimitError](err); !ok || le.Limit != MaxFileSize || !strings.Contains(err.Error(), "the file holds 67108") {
				t.Fatalf("ReadFile: %v, want a *bounds.LimitError naming the file's size and %d", err, MaxFileSize)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("refusing the file allocated %d MB: it was inflated", grew>>20)
			}
			if _, err := repo.ReadFile(head, "tools/ok/pyproject.toml"); err != nil {
				t.Errorf("a small file: %v", err)
			}
			projects, problems, err := Discover(repo, head, Options{Roots: []string{"tools"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(projects) != 1 || projects[0].Name != "ok" {
				t.Errorf("projects %+v, want ok alone", projects)
			}
			if len(problems) != 1 || !strings.Contains(problems[0].Error(), "more than 1048576 bytes (the limit)") || !strings.Contains(problems[0].Error(), "tools/big") {
				t.Errorf("problems %v, want tools/big refused for its size", problems)
			}
		})
	}
}
