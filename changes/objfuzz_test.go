package changes

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// FuzzObjectParsers: the raw commit and tree parsers, delta application and
// the .git/index reader never panic on any input, and delta results always
// have the size their header claims.
func FuzzObjectParsers(f *testing.F) {
	f.Add([]byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter A <a> 1700000000 +0000\n\nmsg"), []byte("abc"))
	f.Add([]byte("100644 f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"), []byte{3, 6, 0x91, 0, 3, 0x91, 0, 3})
	f.Add([]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x01"), []byte{3, 2, 2, 'x', 'y'})
	f.Add([]byte{}, []byte{0x80})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if c, err := parseCommit(plumbing.ZeroHash, a); err == nil && c.tree.IsZero() {
			t.Fatal("commit without a tree parsed")
		}
		if ents, err := parseTree(a); err == nil {
			for _, e := range ents {
				if bytes.IndexByte([]byte(e.name), 0) >= 0 {
					t.Fatalf("tree entry name with NUL: %q", e.name)
				}
			}
		}
		if out, err := applyDelta(a, b); err == nil {
			size, rest, _ := deltaVarint(b)
			dst, _, _ := deltaVarint(rest)
			if size != int64(len(a)) || int64(len(out)) != dst {
				t.Fatalf("delta result %d bytes, header says %d (base %d/%d)", len(out), dst, len(a), size)
			}
		}
		idx := filepath.Join(dir, "index")
		if err := os.WriteFile(idx, append(append([]byte("DIRC"), a...), b...), 0o644); err == nil {
			_ = readIndex(idx)
		}
	})
}
