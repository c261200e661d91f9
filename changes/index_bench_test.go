package changes

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The index reader (index.go) earns its keep only where every project is
// read (Request.FullDiscovery, what `run` and `plan` ask for, and
// Discover): a small push's detection reads the trees along the paths it
// touches and never opens the index. These benchmarks keep that measured.

// BenchmarkIndexRead: this package's reader of .git/index against the same
// job done with go-git's plumbing/format/index decoder, on the index of the
// issue-14 monorepo (100,200 entries): check the checksum, keep the
// pyproject.toml entries, take the cache-tree root, refuse what cannot be
// trusted. Both must give the same answer; the figures are in index.go.
func BenchmarkIndexRead(b *testing.B) {
	g := generate(b, bigParams)
	file := filepath.Join(g.Dir, ".git", "index")
	want := readIndex(file)
	if want.tree.IsZero() || len(want.files) != bigParams.Projects {
		b.Fatalf("index.go: tree %s, %d pyproject.toml", want.tree, len(want.files))
	}
	if got, err := readIndexGoGit(file); err != nil || !reflect.DeepEqual(got, want) {
		b.Fatalf("go-git format/index: %v; the readers disagree", err)
	}
	b.Run("index.go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readIndex(file)
		}
	})
	b.Run("go-git format/index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := readIndexGoGit(file); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// readIndexGoGit is readIndex written with go-git's index decoder (which
// decodes every entry and extension and checks the checksum).
func readIndexGoGit(file string) (*indexState, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var idx index.Index
	if err := index.NewDecoder(bufio.NewReader(f)).Decode(&idx); err != nil {
		return nil, err
	}
	st := &indexState{}
	for _, e := range idx.Entries {
		if e.Stage != 0 || e.IntentToAdd || e.Mode == filemode.Dir {
			return &indexState{}, nil
		}
		if e.Name == PyprojectFile || strings.HasSuffix(e.Name, "/"+PyprojectFile) {
			st.files = append(st.files, indexFile{path: e.Name, mode: e.Mode, hash: e.Hash})
		}
	}
	if idx.Cache == nil || len(idx.Cache.Entries) == 0 || idx.Cache.Entries[0].Path != "" || idx.Cache.Entries[0].Entries != len(idx.Entries) {
		return &indexState{}, nil
	}
	st.tree = idx.Cache.Entries[0].Hash
	return st, nil
}

// TestIndexReaders_agree: readIndex and go-git's decoder (readIndexGoGit)
// read the same pyproject.toml entries and tree from a real checkout's
// index, so the benchmark compares two readers of one result.
func TestIndexReaders_agree(t *testing.T) {
	t.Parallel()
	g := generateIn(t, genParams{Projects: 12, FilesPer: 3, Commits: 30, MergeEvery: 5, RenamePercent: 10}, t.TempDir())
	file := filepath.Join(g.Dir, ".git", "index")
	want := readIndex(file)
	if want.tree.IsZero() || len(want.files) != 12 {
		t.Fatalf("readIndex: tree %s, %d pyproject.toml; want a tree and 12", want.tree, len(want.files))
	}
	got, err := readIndexGoGit(file)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("go-git's decoder: %+v, %v; readIndex: %+v", got, err, want)
	}
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
