package changes

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

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
