package changes

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The index reader (index.go) earns its keep only where every project is
// read (Request.FullDiscovery, what `run` and `plan` ask for, and
// Discover): a small push's detection reads the trees along the paths it
// touches and never opens the index. These benchmarks keep that measured.

// BenchmarkIndexRead: this package's reader of .git/index (it keeps only the
// pyproject.toml entries and the cache-tree root, and checks the checksum)
// against go-git's plumbing/format/index decoder (every entry decoded), on
// the index of the issue-14 monorepo (100,200 entries).
func BenchmarkIndexRead(b *testing.B) {
	g := generate(b, bigParams)
	file := filepath.Join(g.Dir, ".git", "index")
	b.Run("index.go", func(b *testing.B) {
		for b.Loop() {
			if st := readIndex(file); st.tree.IsZero() || len(st.files) != bigParams.Projects {
				b.Fatalf("index: tree %s, %d pyproject.toml", st.tree, len(st.files))
			}
		}
	})
	b.Run("go-git format/index", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(file)
			if err != nil {
				b.Fatal(err)
			}
			var idx index.Index
			if err := index.NewDecoder(bufio.NewReader(f)).Decode(&idx); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

// BenchmarkFullDiscovery: Discover (every project read) on both monorepos,
// with the index (a checkout of head, as in CI) and by walking every tree
// (another commit, a bare repository).
func BenchmarkFullDiscovery(b *testing.B) {
	for _, br := range benchRepos {
		g := generate(b, br.p)
		for _, useIndex := range []bool{true, false} {
			b.Run(fmt.Sprintf("%d projects/index=%v", br.p.Projects, useIndex), func(b *testing.B) {
				for b.Loop() {
					repo, err := Open(g.Dir)
					if err != nil {
						b.Fatal(err)
					}
					repo.useIndex = useIndex
					ps, _, err := Discover(repo, g.Head, DefaultOptions())
					if err != nil || len(ps) != br.p.Projects || repo.discoveredFromIndex != useIndex {
						b.Fatalf("Discover: %d projects, %v", len(ps), err)
					}
					repo.Close()
				}
			})
		}
	}
}
