package changes

import (
	"bufio"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// rangeObject is an object a detection reads.
type rangeObject struct {
	t plumbing.ObjectType
	h plumbing.Hash
}

// rangeObjects lists the commits and trees new in base..head, in the
// order git lists them: what a detection of that push reads.
func rangeObjects(tb testing.TB, dir, base, head string) []rangeObject {
	tb.Helper()
	list := runGit(tb, dir, nil, "rev-list", "--objects", "--no-object-names", base+".."+head)
	cmd := execGit(dir, "cat-file", "--batch-check=%(objecttype) %(objectname)")
	cmd.Stdin = strings.NewReader(list + "\n")
	out, err := cmd.Output()
	if err != nil {
		tb.Fatal(err)
	}
	var objs []rangeObject
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		typ, hex, _ := strings.Cut(sc.Text(), " ")
		t, err := plumbing.ParseObjectType(typ)
		if err == nil && (t == plumbing.CommitObject || t == plumbing.TreeObject) {
			objs = append(objs, rangeObject{t, plumbing.NewHash(hex)})
		}
	}
	return objs
}

// BenchmarkObjectRead keeps the reason for pack.go measured: it reads the
// commits and trees of the 1,000-commit push of the issue-3 monorepo, each
// once, through this package's pack reader (memory-mapped packs, a
// delta-base cache, every object hashed against its name, as Repo.raw
// does) and through go-git's own object storage (with Repo's 16 MiB object
// cache, and with go-git's default 96 MiB), each from a fresh open.
func BenchmarkObjectRead(b *testing.B) {
	g := generate(b, benchParams)
	objs := rangeObjects(b, g.Dir, g.Base1000, g.Head)
	dotgit := filepath.Join(g.Dir, ".git")
	b.Run("pack.go", func(b *testing.B) {
		for b.Loop() {
			ps := openPacks(dotgit)
			for _, o := range objs {
				typ, data, err := ps.read(o.h)
				if err != nil || plumbing.ObjectType(typ) != o.t || objectHash(o.t, data) != o.h {
					b.Fatalf("%s: %v", o.h, err)
				}
			}
			ps.close()
		}
		b.ReportMetric(float64(len(objs)), "objects/op")
	})
	for _, c := range []struct {
		name string
		size cache.FileSize
	}{{"go-git storage, 16 MiB cache", objectCacheSize}, {"go-git storage, 96 MiB cache", cache.DefaultMaxSize}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				st := filesystem.NewStorageWithOptions(osfs.New(dotgit), cache.NewObjectLRU(c.size), filesystem.Options{KeepDescriptors: true})
				for _, o := range objs {
					obj, err := st.EncodedObject(o.t, o.h)
					if err != nil {
						b.Fatal(err)
					}
					rd, err := obj.Reader()
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rd); err != nil {
						b.Fatal(err)
					}
					rd.Close()
				}
				st.Close()
			}
			b.ReportMetric(float64(len(objs)), "objects/op")
		})
	}
}
