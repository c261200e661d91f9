package changes

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"path/filepath"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// indexFile is an index entry named pyproject.toml.
type indexFile struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// indexState is what Repo learned from .git/index: the tree it describes
// (the root of its cache-tree extension, when valid) and its pyproject.toml
// entries.
type indexState struct {
	tree  plumbing.Hash // zero: the index is unusable
	files []indexFile
}

// indexPyprojects returns the pyproject.toml files of tree root from the
// index, when the index describes exactly that tree: its cache-tree root is
// valid, covers every entry and has root's hash. In CI the index is the
// checkout of the head commit, so discovery needs no tree walk (the walk
// decodes every tree of the repository). ok is false whenever the index
// cannot be trusted (missing, other version, conflicts, intent-to-add,
// sparse or split index, another tree checked out, staged changes); callers
// then walk the trees.
func (r *Repo) indexPyprojects(root plumbing.Hash) ([]indexFile, bool) {
	if !r.useIndex {
		return nil, false
	}
	if r.index == nil {
		r.index = readIndex(filepath.Join(r.dot, "index"))
	}
	if r.index.tree.IsZero() || r.index.tree != root {
		return nil, false
	}
	return r.index.files, true
}

// readIndex reads file by hand rather than with go-git's
// plumbing/format/index, which decodes every entry into its own allocation
// (names, times, hashes) to use a few thousand of them. BenchmarkIndexRead
// (index_bench_test.go) does the same job both ways on the 2,000-project
// monorepo's index (100,200 entries, 10 MB) and checks that they agree:
// median of 6 runs, 2 cores at load average 9.5-10 (2026-12-06),
// this reader 55.5 ms, 0.31 MB and 2,021 allocations; go-git 337 ms,
// 39 MB and 1,683,762 allocations (6 times slower, 126 times the memory).
// Discovery reads the index once per run where every project is read (run,
// plan, validate), so go-git's decoder would cost a CI job that much more.
func readIndex(file string) *indexState {
	bad := &indexState{}
	// Mapped, not read: the index of a large checkout is tens of
	// megabytes, and only its pyproject.toml entries are kept (copied).
	b, unmap, err := mapFile(file)
	if unmap != nil {
		defer unmap()
	}
	if err != nil || len(b) < 12+20 || string(b[:4]) != "DIRC" {
		return bad
	}
	// The trailing checksum (all zeros when index.skipHash is set): a
	// damaged entry could otherwise name another pyproject.toml blob.
	if sum := b[len(b)-20:]; !bytes.Equal(sum, make([]byte, 20)) {
		if h := sha1.Sum(b[:len(b)-20]); !bytes.Equal(h[:], sum) {
			return bad
		}
	}
	ver := binary.BigEndian.Uint32(b[4:8])
	n := int(binary.BigEndian.Uint32(b[8:12]))
	if ver < 2 || ver > 4 {
		return bad
	}
	end := len(b) - 20 // trailing checksum
	pos := 12
	var name []byte // v4: the previous name, rebuilt in place
	var files []indexFile
	for i := 0; i < n; i++ {
		if pos+62 > end {
			return bad
		}
		mode := binary.BigEndian.Uint32(b[pos+24 : pos+28])
		var h plumbing.Hash
		copy(h[:], b[pos+40:pos+60])
		flags := binary.BigEndian.Uint16(b[pos+60 : pos+62])
		hdr := 62
		if flags&0x4000 != 0 {
			if ver < 3 || pos+64 > end {
				return bad
			}
			ext := binary.BigEndian.Uint16(b[pos+62 : pos+64])
			if ext&0x2000 != 0 { // intent-to-add: not in the tree
				return bad
			}
			hdr = 64
		}
		if flags&0x3000 != 0 || mode == 0o40000 { // conflict stage, sparse directory
			return bad
		}
		p := pos + hdr
		if ver == 4 {
			strip, k := ofsDeltaOffset(b[:end], int64(p))
			if k == 0 || int(strip) > len(name) {
				return bad
			}
			p += int(k)
			nul := bytes.IndexByte(b[p:end], 0)
			if nul < 0 {
				return bad
			}
			name = append(name[:len(name)-int(strip)], b[p:p+nul]...)
			pos = p + nul + 1
		} else {
			nul := bytes.IndexByte(b[p:end], 0)
			if nul < 0 {
				return bad
			}
			name = b[p : p+nul]
			pos += (hdr + nul + 8) &^ 7
		}
		if bytes.HasSuffix(name, []byte(PyprojectFile)) && (len(name) == len(PyprojectFile) || name[len(name)-len(PyprojectFile)-1] == '/') {
			files = append(files, indexFile{path: string(name), mode: filemode.FileMode(mode), hash: h})
		}
	}
	st := &indexState{files: files}
	for pos+8 <= end {
		sig := string(b[pos : pos+4])
		size := int(binary.BigEndian.Uint32(b[pos+4 : pos+8]))
		if size < 0 || pos+8+size > end {
			return bad
		}
		data := b[pos+8 : pos+8+size]
		switch sig {
		case "link", "sdir": // split or sparse index
			return bad
		case "TREE":
			// Root entry: "" NUL count SP subtrees LF [hash if count >= 0].
			if len(data) < 1 || data[0] != 0 {
				return bad
			}
			lf := bytes.IndexByte(data, '\n')
			if lf < 0 {
				return bad
			}
			f := bytes.Fields(data[1:lf])
			if len(f) != 2 {
				return bad
			}
			count, err := strconv.Atoi(string(f[0]))
			if err != nil || count != n || len(data) < lf+1+20 {
				return bad // invalidated (-1) or not covering every entry
			}
			copy(st.tree[:], data[lf+1:lf+21])
		}
		pos += 8 + size
	}
	return st
}
