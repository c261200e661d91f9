package changes

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// checkObjects reads every object that `git cat-file --batch-all-objects`
// lists for gitDir (alternates included) through repo.raw and requires the
// same content: the pack reader and its fallbacks never read wrong content.
// It returns how many objects came from the pack reader.
func checkObjects(t *testing.T, dir string, repo *Repo) (total, packed int) {
	t.Helper()
	cmd := execGit(dir, "cat-file", "--batch-all-objects", "--batch")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git cat-file: %v", err)
	}
	rd := bufio.NewReader(bytes.NewReader(out))
	for {
		line, err := rd.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("cat-file header %q", line)
		}
		size, _ := strconv.Atoi(f[2])
		want := make([]byte, size+1)
		if _, err := io.ReadFull(rd, want); err != nil {
			t.Fatal(err)
		}
		want = want[:size]
		typ, err := plumbing.ParseObjectType(f[1])
		if err != nil {
			t.Fatal(err)
		}
		h := plumbing.NewHash(f[0])
		got, err := repo.raw(typ, h)
		if err != nil {
			t.Fatalf("raw(%s %s): %v", typ, h, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("raw(%s %s) differs from git cat-file", typ, h)
		}
		if repo.packs != nil {
			if _, _, err := repo.packs.read(h); err == nil {
				packed++
			}
		}
		total++
	}
	return total, packed
}

// history makes a repository with three projects and n commits, some of
// them renames and deletions, so packs hold trees, commits and delta chains.
func history(t *testing.T, n int) *testRepo {
	t.Helper()
	r := newTestRepo(t)
	for v := 0; v < n; v++ {
		p := fmt.Sprintf("p%d", v%3)
		r.write(p+"/pyproject.toml", pyproject(p), p+"/src/main.py", strings.Repeat(fmt.Sprintf("print(%d)\n", v), 50+v),
			p+"/data.bin", string(bytes.Repeat([]byte{0, 0xff, byte(v)}, 500)))
		if v%7 == 6 {
			r.git("mv", p+"/src/main.py", p+"/src/moved.py")
		}
		r.commit(fmt.Sprintf("fix(%s): change %d", p, v))
	}
	return r
}

// detectSummary runs Detect from the root commit's child to HEAD and renders it.
func detectSummary(t *testing.T, repo *Repo, base string) string {
	t.Helper()
	res := detect(t, repo, Request{Head: "HEAD", DefaultBase: base})
	var b strings.Builder
	for _, p := range res.Projects {
		fmt.Fprintf(&b, "%s %s %s %d;", p.Name, p.Status, p.Bump.label(), len(p.Commits))
	}
	return b.String()
}

// TestStorageLayouts: every object is read exactly as git reads it, and
// Detect gives the same result, whatever the object store looks like.
func TestStorageLayouts(t *testing.T) {
	t.Parallel()
	type layout struct {
		name       string
		prep       func(t *testing.T, r *testRepo) string // returns the directory to Open
		wantPacked bool
		openErr    string // Open must fail with this
	}
	layouts := []layout{
		{"loose-only", func(t *testing.T, r *testRepo) string { return r.dir }, false, ""},
		{"gc", func(t *testing.T, r *testRepo) string { r.git("gc", "-q"); return r.dir }, true, ""},
		{"repack-ad", func(t *testing.T, r *testRepo) string { r.git("repack", "-a", "-d", "-q"); return r.dir }, true, ""},
		{"deep-delta-chains", func(t *testing.T, r *testRepo) string {
			// Each version changes one more line: the best delta base of a
			// version is its neighbour, so chains grow long.
			lines := make([]string, 300)
			for i := range lines {
				lines[i] = fmt.Sprintf("line %d of a file that changes a little in every commit", i)
			}
			for v := 0; v < 60; v++ {
				lines[(v*37)%len(lines)] = fmt.Sprintf("line changed in version %d", v)
				r.write("p1/big.txt", strings.Join(lines, "\n"))
				r.commit(fmt.Sprintf("fix(p1): version %d", v))
			}
			r.git("repack", "-a", "-d", "-f", "-q", "--depth=4095", "--window=250")
			if vp := r.git("verify-pack", "-v", mustGlob(t, r.dir, ".git/objects/pack/*.idx")); !strings.Contains(vp, "chain length = 40:") {
				t.Fatalf("no long delta chains:\n%s", vp[max(0, len(vp)-400):])
			}
			return r.dir
		}, true, ""},
		{"packs-and-loose", func(t *testing.T, r *testRepo) string {
			r.git("repack", "-d", "-q")
			for v := 0; v < 5; v++ {
				r.write("p1/src/main.py", fmt.Sprintf("second pack %d\n", v))
				r.commit(fmt.Sprintf("feat(p1): second pack %d", v))
			}
			r.git("repack", "-d", "-q") // a second pack, with deltas against the first
			for v := 0; v < 3; v++ {
				r.write("p2/src/main.py", fmt.Sprintf("loose %d\n", v))
				r.commit(fmt.Sprintf("fix(p2): loose %d", v))
			}
			if packs, _ := filepath.Glob(filepath.Join(r.dir, ".git/objects/pack/*.pack")); len(packs) < 2 {
				t.Fatalf("want several packs, have %d", len(packs))
			}
			return r.dir
		}, true, ""},
		{"keep-and-promisor", func(t *testing.T, r *testRepo) string {
			r.git("repack", "-a", "-d", "-q")
			packs, _ := filepath.Glob(filepath.Join(r.dir, ".git/objects/pack/*.pack"))
			base := strings.TrimSuffix(packs[0], ".pack")
			for _, ext := range []string{".keep", ".promisor"} {
				if err := os.WriteFile(base+ext, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r.change("p0/src/main.py", "after keep\n", "feat(p0): after keep")
			r.git("repack", "-a", "-d", "-q") // the kept pack stays, a new one is made
			return r.dir
		}, true, ""},
		{"large-offsets", func(t *testing.T, r *testRepo) string {
			// Every offset but the first object's goes to the 64-bit
			// table (git refuses an index with only large offsets).
			idx := r.packWithIndex("--index-version=2,12")
			if b, _ := os.ReadFile(idx); len(b) < 8+1024+36*100 {
				t.Fatalf("index has no 64-bit offsets (%d bytes)", len(b))
			}
			return r.dir
		}, true, ""},
		{"index-v1", func(t *testing.T, r *testRepo) string {
			r.packWithIndex("--index-version=1")
			return r.dir
		}, false, "unsupported pack index version"},
		{"worktree", func(t *testing.T, r *testRepo) string {
			r.git("repack", "-a", "-d", "-q")
			wt := filepath.Join(t.TempDir(), "wt")
			r.git("worktree", "add", "-q", "--detach", wt, "HEAD")
			if fi, err := os.Stat(filepath.Join(wt, ".git")); err != nil || fi.IsDir() {
				t.Fatalf("worktree .git is not a file: %v", err)
			}
			return wt
		}, true, ""},
		{"alternates", func(t *testing.T, r *testRepo) string {
			r.git("repack", "-a", "-d", "-q")
			clone := filepath.Join(t.TempDir(), "clone")
			r.git("clone", "-q", "--shared", r.dir, clone)
			if _, err := os.Stat(filepath.Join(clone, ".git/objects/info/alternates")); err != nil {
				t.Fatal(err)
			}
			return clone
		}, true, ""},
		{"alternates-relative", func(t *testing.T, r *testRepo) string {
			r.git("repack", "-a", "-d", "-q")
			clone := filepath.Join(r.dir, "nested-clone") // inside the source, so ../ paths are short
			r.git("clone", "-q", "--shared", r.dir, clone)
			alt := filepath.Join(clone, ".git/objects/info/alternates")
			rel, err := filepath.Rel(filepath.Join(clone, ".git/objects"), filepath.Join(r.dir, ".git/objects"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(alt, []byte(rel+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Loose objects in the alternate too.
			r.change("p0/src/main.py", "loose in the alternate\n", "fix(p0): loose in the alternate")
			runGit(t, clone, nil, "fetch", "-q", "origin")
			runGit(t, clone, nil, "checkout", "-q", "--detach", "origin/main")
			return clone
		}, true, ""},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			r := history(t, 24)
			first := r.git("rev-list", "--max-parents=0", "HEAD")
			dir := l.prep(t, r)
			repo, err := Open(dir)
			if l.openErr != "" {
				if !errors.Is(err, ErrUnsupportedRepo) || !strings.Contains(err.Error(), l.openErr) {
					t.Fatalf("Open = %v, want an error with %q", err, l.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer repo.Close()
			got := detectSummary(t, repo, first)
			total, packed := checkObjects(t, dir, repo)
			if total < 100 {
				t.Fatalf("only %d objects", total)
			}
			if l.wantPacked && packed < total/2 {
				t.Errorf("%d of %d objects came from the pack reader; want most", packed, total)
			}
			// The same history, freshly cloned, detects the same.
			ref := filepath.Join(t.TempDir(), "ref")
			runGit(t, t.TempDir(), nil, "clone", "-q", "--no-local", dir, ref)
			runGit(t, ref, nil, "checkout", "-q", "--detach", runGit(t, dir, nil, "rev-parse", "HEAD"))
			rr, err := Open(ref)
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Close()
			if want := detectSummary(t, rr, first); got != want {
				t.Errorf("Detect = %s\nwant      %s", got, want)
			}
		})
	}
}

func mustGlob(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) == 0 {
		t.Fatalf("no %s in %s", pattern, dir)
	}
	return m[0]
}

// TestOpen_sha256: SHA-256 and reftable repositories are refused with a
// clear error.
func TestOpen_sha256(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runGit(t, dir, nil, "init", "-q", "--object-format=sha256", "-b", "main")
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	runGit(t, dir, nil, "add", "f")
	runGit(t, dir, nil, "commit", "-q", "-m", "x")
	_, err := Open(dir)
	if !errors.Is(err, ErrUnsupportedRepo) || !strings.Contains(err.Error(), "uses sha256 object names") || !strings.Contains(err.Error(), "only SHA-1") {
		t.Fatalf("Open(sha256 repo) = %v, want an error naming sha256", err)
	}
	// reftable refs (git 2.45+) would make the repository look empty.
	r := newTestRepo(t)
	r.change("f", "x", "x")
	r.git("config", "extensions.refStorage", "reftable")
	if _, err := Open(r.dir); !errors.Is(err, ErrUnsupportedRepo) || !strings.Contains(err.Error(), "reftable") || !strings.Contains(err.Error(), "--ref-format=files") {
		t.Fatalf("Open(reftable repo) = %v, want an error naming reftable and the fix", err)
	}
}

// TestPackReader compares every object read by the pack reader with
// go-git's own reader, on packs with offset deltas and with reference
// deltas (repack.useDeltaBaseOffset=false), and checks loose-object fallback.
func TestPackReader(t *testing.T) {
	t.Parallel()
	for _, ofs := range []bool{true, false} {
		t.Run(fmt.Sprintf("delta-base-offset=%v", ofs), func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			var big strings.Builder
			for i := 0; i < 400; i++ {
				fmt.Fprintf(&big, "line %d of a file that changes a little each version\n", i)
			}
			for v := 0; v < 30; v++ {
				r.write("a/pyproject.toml", pyproject("a"), "a/big.txt", big.String()+fmt.Sprintf("version %d\n", v),
					fmt.Sprintf("a/d%d/f.txt", v%5), strings.Repeat(fmt.Sprintf("x%d", v), 100),
					"bin.dat", string(bytes.Repeat([]byte{0, 1, 2, byte(v)}, 3000)))
				r.commit(fmt.Sprintf("fix: version %d", v))
			}
			r.git("config", "repack.useDeltaBaseOffset", fmt.Sprint(ofs))
			r.git("repack", "-a", "-d", "-f", "-q", "--depth=20", "--window=50")
			r.change("loose.txt", "a loose object", "chore: loose")
			repo := r.open()
			iter, err := repo.st.IterEncodedObjects(plumbing.AnyObject)
			if err != nil {
				t.Fatal(err)
			}
			n, packed := 0, 0
			err = iter.ForEach(func(o plumbing.EncodedObject) error {
				rd, err := o.Reader()
				if err != nil {
					return err
				}
				want, err := io.ReadAll(rd)
				rd.Close()
				if err != nil {
					return err
				}
				got, err := repo.raw(o.Type(), o.Hash())
				if err != nil {
					return fmt.Errorf("raw(%s %s): %v", o.Type(), o.Hash(), err)
				}
				if !bytes.Equal(got, want) {
					return fmt.Errorf("raw(%s %s) differs from go-git", o.Type(), o.Hash())
				}
				if _, _, err := repo.packs.read(o.Hash()); err == nil {
					packed++
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n < 100 || packed < 100 {
				t.Fatalf("compared %d objects, %d from packs; want more", n, packed)
			}
			// The pack must really hold delta chains for this to mean anything.
			idx, _ := filepath.Glob(filepath.Join(r.dir, ".git", "objects", "pack", "*.idx"))
			vp := r.git("verify-pack", "-v", idx[0])
			chains := 0
			for _, line := range strings.Split(vp, "\n") {
				var depth, objs int
				if _, err := fmt.Sscanf(line, "chain length = %d: %d objects", &depth, &objs); err == nil {
					chains += objs
				}
			}
			if chains < 20 {
				t.Fatalf("pack has too few delta chains:\n%s", vp[max(0, len(vp)-500):])
			}
			// A wrong type is not found, never misread.
			if _, err := repo.raw(plumbing.TreeObject, plumbing.NewHash(r.head())); err == nil {
				t.Error("raw(tree, <commit sha>) succeeded")
			}
		})
	}
}

// TestPackReader_damaged: damaged pack bytes give errors, never a panic or
// wrong content.
func TestPackReader_damaged(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	for v := 0; v < 12; v++ {
		r.write("a/pyproject.toml", pyproject("a"), "a/f.txt", strings.Repeat(fmt.Sprintf("line %d\n", v), 200))
		r.commit(fmt.Sprintf("fix: %d", v))
	}
	r.git("repack", "-a", "-d", "-f", "-q")
	packs, _ := filepath.Glob(filepath.Join(r.dir, ".git", "objects", "pack", "*.pack"))
	orig, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	good := r.open()
	var hashes []plumbing.Hash
	var types []plumbing.ObjectType
	iter, _ := good.st.IterEncodedObjects(plumbing.AnyObject)
	iter.ForEach(func(o plumbing.EncodedObject) error {
		hashes = append(hashes, o.Hash())
		types = append(types, o.Type())
		return nil
	})
	want := map[plumbing.Hash][]byte{}
	for i, h := range hashes {
		b, err := good.raw(types[i], h)
		if err != nil {
			t.Fatal(err)
		}
		want[h] = b
	}
	if err := os.Chmod(packs[0], 0o644); err != nil {
		t.Fatal(err)
	}
	for step := 0; step < 40; step++ {
		bad := bytes.Clone(orig)
		pos := 12 + (len(bad)-32)*step/40
		for k := 0; k < 8 && pos+k < len(bad)-20; k++ {
			bad[pos+k] ^= 0x5a
		}
		if err := os.WriteFile(packs[0], bad, 0o644); err != nil {
			t.Fatal(err)
		}
		repo, err := Open(r.dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hashes {
			got, err := repo.raw(types[i], h)
			if err == nil && !bytes.Equal(got, want[h]) {
				t.Errorf("step %d: %s %s read without error but differs", step, types[i], h)
			}
		}
		_, _ = Detect(t.Context(), repo, Request{Head: "HEAD", Options: DefaultOptions()})
		repo.Close()
	}
	// A truncated pack.
	if err := os.WriteFile(packs[0], orig[:len(orig)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// Open refuses it (its trailer no longer matches the index).
	if repo, err := Open(r.dir); err == nil {
		repo.Close()
		t.Error("Open with a truncated pack succeeded")
	} else if !strings.Contains(err.Error(), "does not match its index") {
		t.Errorf("Open with a truncated pack: %v", err)
	}
	// A damaged index is refused too (its checksum).
	if err := os.WriteFile(packs[0], orig, 0o644); err != nil {
		t.Fatal(err)
	}
	idx := strings.TrimSuffix(packs[0], ".pack") + ".idx"
	ib, _ := os.ReadFile(idx)
	ib[len(ib)/2] ^= 1
	os.Chmod(idx, 0o644)
	if err := os.WriteFile(idx, ib, 0o644); err != nil {
		t.Fatal(err)
	}
	// Objects found through it are still right (every read is hashed);
	// one it does not find is reported as a damaged store, never as a
	// commit missing from the clone.
	if repo, err := Open(r.dir); err != nil {
		t.Errorf("Open with a damaged pack index: %v", err)
	} else {
		for i, h := range hashes {
			if got, err := repo.raw(types[i], h); err == nil && !bytes.Equal(got, want[h]) {
				t.Errorf("%s read through a damaged index differs", h)
			}
		}
		missing := plumbing.NewHash(strings.Repeat("ab", 20))
		if _, err := repo.commit(missing); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "checksum mismatch") {
			t.Errorf("a missing object through a damaged index: %v, want ErrDamaged (checksum mismatch)", err)
		}
		if repo.HasCommit(missing.String()) {
			t.Error("HasCommit through a damaged index")
		}
		repo.Close()
	}
	// A damaged fan-out table (even with its checksum recomputed) is
	// refused rather than sending lookups out of the index.
	ib[len(ib)/2] ^= 1
	for _, k := range []int{0, 255} {
		bad := bytes.Clone(ib)
		binary.BigEndian.PutUint32(bad[8+4*k:], 0xfffffff0)
		sum := sha1.Sum(bad[:len(bad)-20])
		copy(bad[len(bad)-20:], sum[:])
		if err := os.WriteFile(idx, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if repo, err := Open(r.dir); err == nil {
			repo.Close()
			t.Errorf("Open with fan-out[%d] damaged succeeded", k)
		} else if !strings.Contains(err.Error(), "damaged pack index") {
			t.Errorf("Open with fan-out[%d] damaged: %v", k, err)
		}
	}
}

// TestPackReader_wrongOffset: an index whose checksum is intact but that
// sends one object to another object's data (the kind of damage only a hash
// check sees) gives an error saying the store is damaged, never the other
// content, and never a "missing commit" that would send the user to
// fetch-depth.
func TestPackReader_wrongOffset(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"tree", "commit"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := history(t, 9)
			r.git("repack", "-a", "-d", "-q")
			objs := strings.Fields(r.git("rev-list", "--objects", "--no-object-names", "--filter=object:type="+kind, "HEAD~3"))
			if kind == "commit" {
				objs = []string{r.git("rev-parse", "HEAD~1"), r.git("rev-parse", "HEAD~2")}
			}
			a, b := plumbing.NewHash(objs[0]), plumbing.NewHash(objs[1])
			packs, _ := filepath.Glob(filepath.Join(r.dir, ".git/objects/pack/*.pack"))
			first := r.git("rev-list", "--max-parents=0", "HEAD")
			pointIndexAt(t, strings.TrimSuffix(packs[0], ".pack")+".idx", a, b) // a now points at b's data
			repo := r.open()
			typ, _ := plumbing.ParseObjectType(kind)
			_, err := repo.raw(typ, a)
			if err == nil || !strings.Contains(err.Error(), a.String()) || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("raw(%s a) = %v, want a damaged-store error naming %s", kind, err, a)
			}
			reqs := []Request{{Head: "HEAD"}, {Head: "HEAD", DefaultBase: first}}
			if kind == "commit" {
				reqs = append(reqs, Request{Head: "HEAD", DefaultBase: a.String()})
			}
			for _, req := range reqs {
				req.Options = DefaultOptions()
				_, err := Detect(t.Context(), repo, req)
				if !errors.Is(err, ErrDamaged) || strings.Contains(err.Error(), "fetch-depth") {
					t.Errorf("Detect(base %q) over a damaged index = %v, want a damaged-store error", req.DefaultBase, err)
				}
			}
		})
	}
}

// TestPackReader_hugeSizes: headers that claim enormous sizes give errors
// without allocating what they claim.
func TestPackReader_hugeSizes(t *testing.T) {
	t.Parallel()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte("small"))
	zw.Close()
	p := &pack{name: "test.pack", data: append(append([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01"), z.Bytes()...), make([]byte, 20)...)}
	ps := &packSet{cache: newBaseCache(baseCacheSize)}
	for _, size := range []int64{6, 1 << 30, 1 << 39} {
		if _, err := ps.inflate(p, 12, size); err == nil {
			t.Errorf("inflate claiming %d bytes of a 5-byte object succeeded", size)
		}
	}
	if b, err := ps.inflate(p, 12, 5); err != nil || string(b) != "small" {
		t.Errorf("inflate = %q, %v", b, err)
	}
	// A delta claiming a 2^50-byte result from a 3-byte base.
	delta := []byte{3}
	delta = binary.AppendUvarint(delta, 1<<50)
	delta = append(delta, 0x91, 0, 3) // copy 3 bytes from offset 0
	if _, err := applyDelta([]byte("abc"), delta); err == nil {
		t.Error("applyDelta with a huge claimed size succeeded")
	}
	// Copies that run past the claimed size.
	delta = []byte{3, 4, 0x91, 0, 3, 0x91, 0, 3}
	if _, err := applyDelta([]byte("abc"), delta); err == nil {
		t.Error("applyDelta past its claimed size succeeded")
	}
	if out, err := applyDelta([]byte("abc"), []byte{3, 6, 0x91, 0, 3, 0x91, 0, 3}); err != nil || string(out) != "abcabc" {
		t.Errorf("applyDelta = %q, %v", out, err)
	}
}

// TestLooseObject_damaged: a loose object file holding another object's
// (valid, compressed) data, or garbage, is a damaged-store error.
func TestLooseObject_damaged(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"other object", "garbage"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			r := history(t, 6)
			first := r.git("rev-list", "--max-parents=0", "HEAD")
			a, b := r.git("rev-parse", "HEAD~1"), r.git("rev-parse", "HEAD~2")
			file := func(sha string) string { return filepath.Join(r.dir, ".git", "objects", sha[:2], sha[2:]) }
			data := []byte("not zlib at all")
			if how == "other object" {
				data, _ = os.ReadFile(file(b))
			}
			os.Chmod(file(a), 0o644)
			if err := os.WriteFile(file(a), data, 0o644); err != nil {
				t.Fatal(err)
			}
			repo := r.open()
			_, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: first, Options: DefaultOptions()})
			if !errors.Is(err, ErrDamaged) || strings.Contains(err.Error(), "fetch-depth") {
				t.Errorf("Detect = %v, want a damaged-store error", err)
			}
		})
	}
}

// TestShallow_worktree: a linked worktree of a shallow clone sees the
// clone's .git/shallow, reports a missing base with the fix, and deepens the
// shared repository (repairing the shared .git/shallow).
func TestShallow_worktree(t *testing.T) {
	t.Parallel()
	o, shas := origin(t, 6)
	clone := shallowClone(t, o.dir, "--depth", "1")
	wt := filepath.Join(t.TempDir(), "wt")
	runGit(t, clone, nil, "worktree", "add", "-q", "--detach", wt, "HEAD")
	repo := openRepo(t, wt)
	if !repo.IsShallow() {
		t.Fatal("worktree of a shallow clone is not shallow")
	}
	_, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[2], Options: DefaultOptions()})
	var me *MissingCommitError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Fatalf("Detect = %v, want a missing-commit error with the fix", err)
	}
	res, err := Detect(t.Context(), repo, Request{Head: "HEAD", DefaultBase: shas[2], Options: DefaultOptions(), Deepen: &DeepenOptions{}})
	if err != nil {
		t.Fatalf("Detect with Deepen: %v", err)
	}
	if a, _ := res.Project("tool_a"); len(a.Commits) != 3 {
		t.Errorf("tool_a commits = %d, want 3", len(a.Commits))
	}
	if got := readShallow(t, clone); got != nil {
		t.Errorf("shared .git/shallow = %q after a full deepen, want no file", got)
	}
	if n := runGit(t, wt, nil, "rev-list", "--count", "HEAD"); n != "6" {
		t.Errorf("git rev-list --count HEAD in the worktree = %s, want 6", n)
	}
}

// TestResolve_peel: names resolve through this package's reader (tags of
// tags, tag SHAs, branches with slashes), a ref to a non-commit is a clear
// error, and names resolve in a clone whose objects live in a relative
// alternate that go-git cannot follow.
func TestResolve_peel(t *testing.T) {
	t.Parallel()
	r := history(t, 4)
	first := r.git("rev-list", "--max-parents=0", "HEAD")
	head := r.head()
	r.git("tag", "-a", "-m", "inner", "v1", first)
	r.git("tag", "-a", "-m", "outer", "v1-outer", "v1")
	r.git("branch", "feature/x", first)
	tree := r.git("rev-parse", "HEAD^{tree}")
	r.git("update-ref", "refs/tree-ref", tree)
	repo := r.open()
	for rev, want := range map[string]string{
		"v1": first, "v1-outer": first, r.git("rev-parse", "v1-outer"): first, "feature/x": first,
		"refs/heads/feature/x": first, "HEAD": head, "tags/v1": first,
	} {
		if got, err := repo.Resolve(rev); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", rev, got, err, want)
		}
	}
	if _, err := repo.Resolve("tree-ref"); err == nil || !strings.Contains(err.Error(), "not a commit") {
		t.Errorf("Resolve(ref to a tree) = %v, want a not-a-commit error", err)
	}
	if _, err := repo.Resolve(tree); err == nil || !strings.Contains(err.Error(), tree+" names a tree, not a commit") {
		t.Errorf("Resolve(tree sha) = %v, want it to say the object is a tree, not a missing commit", err)
	}
	file, _, _ := strings.Cut(r.git("ls-tree", "-r", "--name-only", "HEAD"), "\n")
	blob := r.git("rev-parse", "HEAD:"+file)
	if _, err := repo.Resolve(blob); err == nil || !strings.Contains(err.Error(), "names a blob, not a commit") {
		t.Errorf("Resolve(blob sha) = %v, want it to say the object is a blob", err)
	}
}

// TestDiscover_damagedIndex: an index entry damaged on disk (its checksum
// no longer matches) is not trusted: discovery walks the trees and finds
// the right names.
func TestDiscover_damagedIndex(t *testing.T) {
	t.Parallel()
	r := newTestRepo(t)
	r.write("a/pyproject.toml", pyproject("alpha"), "b/pyproject.toml", pyproject("beta"))
	r.commit("one")
	idx := filepath.Join(r.dir, ".git", "index")
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	// Point a/pyproject.toml's entry at b's blob: both are valid objects.
	ha, _ := hexHash(r.git("rev-parse", "HEAD:a/pyproject.toml"))
	hb, _ := hexHash(r.git("rev-parse", "HEAD:b/pyproject.toml"))
	i := bytes.Index(b, ha[:])
	if i < 0 {
		t.Fatal("entry not found in the index")
	}
	copy(b[i:], hb[:])
	if err := os.WriteFile(idx, b, 0o644); err != nil {
		t.Fatal(err)
	}
	repo := r.open()
	ps, _, err := Discover(repo, "HEAD", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "alpha" || ps[1].Name != "beta" || repo.discoveredFromIndex {
		t.Errorf("Discover = %+v (from index %v), want alpha and beta from the trees", ps, repo.discoveredFromIndex)
	}
}

func hexHash(s string) (plumbing.Hash, bool) {
	return plumbing.NewHash(s), isFullSHA(s)
}

// TestPackReader_damagedWithLooseCopy: when the packed copy of an object is
// damaged but a loose copy exists, the loose copy is used (as git does).
func TestPackReader_damagedWithLooseCopy(t *testing.T) {
	t.Parallel()
	r := history(t, 6)
	a := plumbing.NewHash(r.git("rev-parse", "HEAD~1^{tree}"))
	b := plumbing.NewHash(r.git("rev-parse", "HEAD~2^{tree}"))
	loose := filepath.Join(r.dir, ".git", "objects", a.String()[:2], a.String()[2:])
	saved, err := os.ReadFile(loose)
	if err != nil {
		t.Fatal(err)
	}
	want := r.git("cat-file", "tree", a.String())
	r.git("repack", "-a", "-d", "-q")
	if _, err := os.Stat(loose); err == nil {
		t.Fatal("repack kept the loose object")
	}
	// Damage the packed copy of a (its index entry points at b's data).
	pointIndexAt(t, mustGlob(t, r.dir, ".git/objects/pack/*.idx"), a, b)
	repo := r.open()
	if _, err := repo.raw(plumbing.TreeObject, a); !errors.Is(err, ErrDamaged) {
		t.Fatalf("without a loose copy: %v, want ErrDamaged", err)
	}
	os.MkdirAll(filepath.Dir(loose), 0o755)
	if err := os.WriteFile(loose, saved, 0o444); err != nil {
		t.Fatal(err)
	}
	got, err := repo.raw(plumbing.TreeObject, a)
	if err != nil || string(got) != want {
		t.Fatalf("with a loose copy: %v (content equal: %v)", err, string(got) == want)
	}
}

// packWithIndex packs the repository into one pack and writes that pack's
// index again with git index-pack and the given version flag; it returns
// the index's path.
func (r *testRepo) packWithIndex(version string) string {
	r.t.Helper()
	r.git("repack", "-a", "-d", "-q")
	packs, _ := filepath.Glob(filepath.Join(r.dir, ".git/objects/pack/*.pack"))
	if len(packs) != 1 {
		r.t.Fatalf("want one pack after repack -a, have %d", len(packs))
	}
	idx := strings.TrimSuffix(packs[0], ".pack") + ".idx"
	os.Chmod(idx, 0o644)
	os.Remove(idx)
	r.git("index-pack", version, "-o", idx, packs[0])
	return idx
}

// pointIndexAt rewrites the version 2 pack index at idxPath so that object
// a's entry holds object b's offset (a's packed copy then reads as b's
// data, as in a damaged pack), with the index's checksum made right again.
func pointIndexAt(t *testing.T, idxPath string, a, b plumbing.Hash) {
	t.Helper()
	idx, err := os.ReadFile(idxPath)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.BigEndian.Uint32(idx[8+255*4:]))
	names := idx[8+1024 : 8+1024+20*n]
	offs := idx[8+1024+24*n : 8+1024+28*n]
	pos := func(h plumbing.Hash) int {
		for i := 0; i < n; i++ {
			if bytes.Equal(names[20*i:20*i+20], h[:]) {
				return i
			}
		}
		t.Fatalf("%s not in index", h)
		return -1
	}
	ia, ib := pos(a), pos(b)
	copy(offs[4*ia:4*ia+4], offs[4*ib:4*ib+4])
	sum := sha1.Sum(idx[:len(idx)-20])
	copy(idx[len(idx)-20:], sum[:])
	os.Chmod(idxPath, 0o644)
	if err := os.WriteFile(idxPath, idx, 0o644); err != nil {
		t.Fatal(err)
	}
}
