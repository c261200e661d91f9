package changes

import (
	"bytes"
	"compress/zlib"
	"container/list"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// packSet reads objects straight from the repository's pack files (memory
// mapped where the platform allows), resolving deltas with a bounded cache
// of delta bases. go-git's own reader re-decodes delta chains, which made it
// 3–5× slower than git here; this reader does inflate (checking zlib's
// Adler-32 and the stream's end) and delta application (checking sizes),
// and Repo.raw hashes every object it returns against its name. Objects it
// cannot find (loose objects) fall back to go-git's storage.
type packSet struct {
	packs []*pack
	// dirs are the object directories: the repository's and its alternates'.
	dirs []string
	// bad lists pack indexes that exist but cannot be used (damaged,
	// unsupported version, not matching their pack): Open refuses them.
	bad   []error
	cache *baseCache
	inf   io.ReadCloser // reused inflater
	src   bytes.Reader  // reused inflater input
	// verified is set once verifyIndexes ran; verifyErr is its result.
	verified  bool
	verifyErr error
}

type pack struct {
	name    string
	data    []byte // the .pack file
	unmap   func() error
	fanout  [256]uint32
	names   []byte // 20 bytes per object, sorted
	offsets []byte // 4 bytes per object
	large   []byte // 8 bytes per large offset
	idx     []byte // the whole .idx file, for its checksum
}

// Pack object types.
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

// baseCacheSize bounds the delta base cache (git's core.deltaBaseCacheLimit
// defaults to 96 MiB; 8 MiB holds about a hundred versions of a 2,000-entry
// tree, plenty for walks that read each tree once, and keeps peak memory
// within the goal of scripts/bench-changes.sh).
const baseCacheSize = 8 << 20

// inflateChunk is the largest object inflated into a buffer of the size
// its header claims; larger ones grow as their data arrives.
const inflateChunk = 1 << 20

// maxDeltaChain bounds delta resolution (git's default depth is 50; repacks
// with --depth 4095 exist), so a damaged pack cannot loop forever.
const maxDeltaChain = 10000

// openPacks maps every pack with a version-2 index in dir/objects/pack and
// in the object directories that objects/info/alternates names (recursively,
// as git does, up to 5 levels). Indexes it cannot use are listed in bad
// (Open refuses the repository); ones removed meanwhile (a concurrent gc)
// are skipped.
func openPacks(dotgit string) *packSet {
	ps := &packSet{cache: newBaseCache(baseCacheSize)}
	seen := map[string]bool{}
	var add func(objects string, depth int)
	add = func(objects string, depth int) {
		objects = filepath.Clean(objects)
		if seen[objects] || depth > 5 {
			return
		}
		seen[objects] = true
		ps.dirs = append(ps.dirs, objects)
		idxs, _ := filepath.Glob(filepath.Join(objects, "pack", "pack-*.idx"))
		sort.Strings(idxs)
		for _, idx := range idxs {
			p, err := openPack(idx)
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) { // not removed by a concurrent gc
					ps.bad = append(ps.bad, fmt.Errorf("%s: %w", idx, err))
				}
				continue
			}
			ps.packs = append(ps.packs, p)
		}
		b, err := os.ReadFile(filepath.Join(objects, "info", "alternates"))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			if !filepath.IsAbs(line) {
				line = filepath.Join(objects, line)
			}
			add(line, depth+1)
		}
	}
	add(filepath.Join(dotgit, "objects"), 0)
	return ps
}

func (ps *packSet) close() {
	for _, p := range ps.packs {
		if p.unmap != nil {
			_ = p.unmap()
		}
	}
	ps.packs = nil
	ps.cache = newBaseCache(baseCacheSize)
}

func openPack(idxPath string) (*pack, error) {
	idx, unmapIdx, err := mapFile(idxPath)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*pack, error) {
		if unmapIdx != nil {
			_ = unmapIdx()
		}
		return nil, err
	}
	if len(idx) < 8+256*4 || !bytes.Equal(idx[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(idx[4:8]) != 2 {
		return fail(errors.New("unsupported pack index version (only version 2 is read; " +
			"rewrite it with `git index-pack --index-version=2` or `git repack -a -d`)"))
	}
	p := &pack{name: filepath.Base(idxPath)}
	for i := 0; i < 256; i++ {
		p.fanout[i] = binary.BigEndian.Uint32(idx[8+4*i:])
		// A damaged fan-out table would send lookups out of the tables.
		if i > 0 && p.fanout[i] < p.fanout[i-1] {
			return fail(errors.New("damaged pack index (fan-out table not sorted)"))
		}
	}
	if p.fanout[255] > uint32(len(idx)/28) {
		return fail(errors.New("damaged pack index (more objects than it has room for)"))
	}
	n := int(p.fanout[255])
	pos := 8 + 256*4
	need := pos + n*20 + n*4 + n*4
	if len(idx) < need+40 {
		return fail(errors.New("truncated pack index"))
	}
	p.names = idx[pos : pos+n*20]
	pos += n * 20
	pos += n * 4 // CRC32s
	p.offsets = idx[pos : pos+n*4]
	pos += n * 4
	p.large = idx[pos : len(idx)-40]
	if len(p.large)%8 != 0 {
		return fail(errors.New("damaged pack index (bad size)"))
	}
	// The index's own checksum is checked only when a lookup misses
	// (verifyIndexes): what is found is safe without it, since every object
	// read is hashed (Repo.raw), and hashing a large index on every Open
	// would cost more than a small push's whole detection (git does not
	// check it on reads either).
	p.idx = idx
	data, unmap, err := mapFile(strings.TrimSuffix(idxPath, ".idx") + ".pack")
	if err != nil {
		return fail(err)
	}
	bad := ""
	switch {
	case len(data) < 32 || string(data[:4]) != "PACK":
		bad = "not a pack file"
	case !bytes.Equal(data[len(data)-20:], idx[len(idx)-40:len(idx)-20]):
		bad = "the pack does not match its index (checksum differs): run `git index-pack` on it or re-clone"
	}
	if bad != "" {
		if unmap != nil {
			_ = unmap()
		}
		return fail(errors.New(bad))
	}
	p.data = data
	p.unmap = func() error {
		var err error
		if unmap != nil {
			err = unmap()
		}
		if unmapIdx != nil {
			if e := unmapIdx(); err == nil {
				err = e
			}
		}
		return err
	}
	return p, nil
}

// verifyIndexes checks every pack index's checksum, once: before an object
// is reported missing, so that a damaged name table is never taken for a
// commit the clone lacks.
func (ps *packSet) verifyIndexes() error {
	if !ps.verified {
		var errs []error
		for _, p := range ps.packs {
			if sum := sha1.Sum(p.idx[:len(p.idx)-20]); !bytes.Equal(sum[:], p.idx[len(p.idx)-20:]) {
				errs = append(errs, fmt.Errorf("%s: damaged pack index (checksum mismatch): run `git index-pack` on its pack or re-clone", strings.TrimSuffix(p.name, ".idx")+".idx"))
			}
		}
		ps.verifyErr, ps.verified = errors.Join(errs...), true
	}
	return ps.verifyErr
}

// find returns the offset of h in p, or -1.
func (p *pack) find(h plumbing.Hash) int64 {
	lo := 0
	if h[0] > 0 {
		lo = int(p.fanout[h[0]-1])
	}
	hi := int(p.fanout[h[0]])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c := bytes.Compare(p.names[mid*20:mid*20+20], h[:])
		switch {
		case c == 0:
			off := binary.BigEndian.Uint32(p.offsets[mid*4:])
			if off&0x80000000 == 0 {
				return int64(off)
			}
			k := int(off & 0x7fffffff)
			if (k+1)*8 > len(p.large) {
				return -1
			}
			return int64(binary.BigEndian.Uint64(p.large[k*8:]))
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return -1
}

// readLoose reads loose object h from the object directories: its type
// and content (the caller checks the hash).
func (ps *packSet) readLoose(h plumbing.Hash) (plumbing.ObjectType, []byte, error) {
	zr, err := ps.openLoose(h)
	if err != nil {
		return 0, nil, err
	}
	defer zr.Close()
	b, err := io.ReadAll(io.LimitReader(zr, maxLooseObject))
	if err != nil {
		return 0, nil, fmt.Errorf("loose object %s: %w", h, err)
	}
	nul := bytes.IndexByte(b, 0)
	if nul < 0 {
		return 0, nil, fmt.Errorf("loose object %s: no header", h)
	}
	typ, size, ok := strings.Cut(string(b[:nul]), " ")
	t, err := plumbing.ParseObjectType(typ)
	if !ok || err != nil || size != fmt.Sprint(len(b)-nul-1) {
		return 0, nil, fmt.Errorf("loose object %s: bad header %q", h, b[:min(nul, 40)])
	}
	return t, b[nul+1:], nil
}

// openLoose opens loose object h in the first object directory that
// holds it and returns a reader of its inflated bytes (header first);
// plumbing.ErrObjectNotFound when no directory holds it.
func (ps *packSet) openLoose(h plumbing.Hash) (io.ReadCloser, error) {
	hex := h.String()
	for _, dir := range ps.dirs {
		f, err := os.Open(filepath.Join(dir, hex[:2], hex[2:]))
		if err != nil {
			continue
		}
		zr, err := zlib.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("loose object %s: %w", h, err)
		}
		return looseObject{zr, f}, nil
	}
	return nil, plumbing.ErrObjectNotFound
}

// looseObject reads an inflated loose object; Close closes its file.
type looseObject struct {
	io.Reader
	f *os.File
}

func (o looseObject) Close() error { return o.f.Close() }

// size returns the size object h has once inflated, as the pack that
// holds it records it (for a delta, the result size at the head of the
// delta data), inflating at most a few bytes; errNotInPacks when no pack
// holds it.
func (ps *packSet) size(h plumbing.Hash) (int64, error) {
	for _, p := range ps.packs {
		off := p.find(h)
		if off < 0 {
			continue
		}
		t, size, hdr, err := p.header(off)
		if err != nil {
			return 0, err
		}
		switch t {
		case objOfsDelta:
			_, n := ofsDeltaOffset(p.data, hdr)
			if n == 0 {
				return 0, fmt.Errorf("%s: bad delta offset at %d", p.name, off)
			}
			hdr += n
		case objRefDelta:
			hdr += 20
		default:
			return size, nil
		}
		if hdr >= int64(len(p.data)) {
			return 0, fmt.Errorf("%s: truncated object at %d", p.name, off)
		}
		zr, err := zlib.NewReader(bytes.NewReader(p.data[hdr:]))
		if err != nil {
			return 0, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
		}
		head, _ := io.ReadAll(io.LimitReader(zr, 20)) // two varints: base and result size
		_, rest, err := deltaVarint(head)
		if err != nil {
			return 0, fmt.Errorf("%s: object at %d: %w", p.name, off, err)
		}
		res, _, err := deltaVarint(rest)
		if err != nil {
			return 0, fmt.Errorf("%s: object at %d: %w", p.name, off, err)
		}
		return res, nil
	}
	return 0, errNotInPacks
}

// looseSize returns the size a loose object's header records, inflating
// only the header; plumbing.ErrObjectNotFound when there is no such file.
func (ps *packSet) looseSize(h plumbing.Hash) (int64, error) {
	zr, err := ps.openLoose(h)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	head, _ := io.ReadAll(io.LimitReader(zr, 32))
	nul := bytes.IndexByte(head, 0)
	if nul < 0 {
		return 0, fmt.Errorf("loose object %s: no header", h)
	}
	_, size, _ := strings.Cut(string(head[:nul]), " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("loose object %s: bad header %q", h, head[:nul])
	}
	return n, nil
}

// maxLooseObject bounds what readLoose inflates (it is a fallback for
// damaged packed copies of trees, commits and small blobs).
const maxLooseObject = 1 << 30

// errNotInPacks: the object is in no pack (it may be loose).
var errNotInPacks = errors.New("object not in any pack")

// read returns the type and content of object h.
func (ps *packSet) read(h plumbing.Hash) (int, []byte, error) {
	for _, p := range ps.packs {
		if off := p.find(h); off >= 0 {
			return ps.readAt(p, off)
		}
	}
	return 0, nil, errNotInPacks
}

type deltaStep struct {
	p     *pack
	off   int64
	delta []byte
}

// readAt resolves the object at off in p, delta chains included.
func (ps *packSet) readAt(p *pack, off int64) (int, []byte, error) {
	var chain []deltaStep
	cur, curPack := off, p
	var typ int
	var base []byte
	for {
		if len(chain) > maxDeltaChain {
			return 0, nil, fmt.Errorf("%s: delta chain longer than %d", p.name, maxDeltaChain)
		}
		if t, b, ok := ps.cache.get(curPack, cur); ok {
			typ, base = t, b
			break
		}
		t, size, hdr, err := curPack.header(cur)
		if err != nil {
			return 0, nil, err
		}
		switch t {
		case objCommit, objTree, objBlob, objTag:
			b, err := ps.inflate(curPack, hdr, size)
			if err != nil {
				return 0, nil, err
			}
			typ, base = t, b
			if len(chain) > 0 {
				ps.cache.put(curPack, cur, t, b) // a delta base
			}
		case objOfsDelta:
			rel, n := ofsDeltaOffset(curPack.data, hdr)
			if n == 0 || rel <= 0 || rel > cur {
				return 0, nil, fmt.Errorf("%s: bad delta offset at %d", curPack.name, cur)
			}
			d, err := ps.inflate(curPack, hdr+n, size)
			if err != nil {
				return 0, nil, err
			}
			chain = append(chain, deltaStep{p: curPack, off: cur, delta: d})
			cur -= rel
			continue
		case objRefDelta:
			if hdr+20 > int64(len(curPack.data)) {
				return 0, nil, fmt.Errorf("%s: truncated object at %d", curPack.name, cur)
			}
			var bh plumbing.Hash
			copy(bh[:], curPack.data[hdr:hdr+20])
			d, err := ps.inflate(curPack, hdr+20, size)
			if err != nil {
				return 0, nil, err
			}
			chain = append(chain, deltaStep{p: curPack, off: cur, delta: d})
			found := false
			for _, q := range ps.packs {
				if o := q.find(bh); o >= 0 {
					cur, curPack, found = o, q, true
					break
				}
			}
			if !found {
				return 0, nil, fmt.Errorf("%s: delta base %s not in any pack", curPack.name, bh)
			}
			continue
		default:
			return 0, nil, fmt.Errorf("%s: unknown object type %d at %d", curPack.name, t, cur)
		}
		break
	}
	for i := len(chain) - 1; i >= 0; i-- {
		out, err := applyDelta(base, chain[i].delta)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: object at %d: %w", p.name, chain[i].off, err)
		}
		base = out
		if i > 0 {
			ps.cache.put(chain[i].p, chain[i].off, typ, base) // a delta base
		}
	}
	return typ, base, nil
}

// header parses an object header: type, inflated size, and the offset of
// what follows it.
func (p *pack) header(off int64) (typ int, size int64, next int64, err error) {
	d := p.data
	if off < 12 || off >= int64(len(d)) {
		return 0, 0, 0, fmt.Errorf("%s: offset %d out of range", p.name, off)
	}
	c := d[off]
	typ = int(c>>4) & 7
	size = int64(c & 15)
	shift := uint(4)
	off++
	for c&0x80 != 0 {
		if off >= int64(len(d)) || shift > 60 {
			return 0, 0, 0, fmt.Errorf("%s: damaged object header", p.name)
		}
		c = d[off]
		size |= int64(c&0x7f) << shift
		shift += 7
		off++
	}
	return typ, size, off, nil
}

func ofsDeltaOffset(d []byte, off int64) (int64, int64) {
	if off >= int64(len(d)) {
		return 0, 0
	}
	c := d[off]
	n := int64(1)
	v := int64(c & 0x7f)
	for c&0x80 != 0 {
		if off+n >= int64(len(d)) || n > 9 {
			return 0, 0
		}
		c = d[off+n]
		n++
		v = ((v + 1) << 7) | int64(c&0x7f)
	}
	return v, n
}

// inflate decompresses size bytes of zlib data starting at off, and checks
// the stream's end and Adler-32 checksum so that damaged data is an error,
// not wrong content.
func (ps *packSet) inflate(p *pack, off int64, size int64) ([]byte, error) {
	if off+2 > int64(len(p.data)) || size < 0 || size > 1<<40 {
		return nil, fmt.Errorf("%s: damaged object at %d", p.name, off)
	}
	ps.src.Reset(p.data[off:])
	if ps.inf == nil {
		zr, err := zlib.NewReader(&ps.src)
		if err != nil {
			return nil, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
		}
		ps.inf = zr
	} else if err := ps.inf.(zlib.Resetter).Reset(&ps.src, nil); err != nil {
		return nil, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
	}
	// A damaged header may claim any size: allocate what the stream really
	// yields, growing past a first chunk only as data arrives.
	var out []byte
	if size <= inflateChunk {
		out = make([]byte, size)
		if _, err := io.ReadFull(ps.inf, out); err != nil {
			return nil, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
		}
	} else {
		buf := bytes.NewBuffer(make([]byte, 0, inflateChunk))
		n, err := io.CopyN(buf, ps.inf, size)
		if err == io.EOF && n < size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
		}
		out = buf.Bytes()
	}
	var one [1]byte
	if n, err := ps.inf.Read(one[:]); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = errors.New("object longer than its header says")
		}
		return nil, fmt.Errorf("%s: inflate object at %d: %w", p.name, off, err)
	}
	return out, nil
}

func deltaVarint(d []byte) (int64, []byte, error) {
	var v int64
	shift := uint(0)
	for i := 0; i < len(d); i++ {
		c := d[i]
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return v, d[i+1:], nil
		}
		if shift > 63 {
			break
		}
	}
	return 0, nil, errors.New("damaged delta header")
}

// applyDelta applies a git delta to base.
func applyDelta(base, delta []byte) ([]byte, error) {
	srcSize, d, err := deltaVarint(delta)
	if err != nil {
		return nil, err
	}
	if srcSize != int64(len(base)) {
		return nil, errors.New("delta base size mismatch")
	}
	dstSize, d, err := deltaVarint(d)
	if err != nil {
		return nil, err
	}
	if dstSize < 0 {
		return nil, errors.New("damaged delta size")
	}
	// A damaged header may claim any size: start small and let the copy
	// and insert instructions (checked against dstSize) grow the result.
	out := make([]byte, 0, min(dstSize, int64(len(base))+int64(len(delta))+inflateChunk))
	for len(d) > 0 {
		op := d[0]
		d = d[1:]
		switch {
		case op&0x80 != 0:
			var off, n uint32
			for i := uint(0); i < 4; i++ {
				if op&(1<<i) != 0 {
					if len(d) == 0 {
						return nil, errors.New("truncated delta")
					}
					off |= uint32(d[0]) << (8 * i)
					d = d[1:]
				}
			}
			for i := uint(0); i < 3; i++ {
				if op&(0x10<<i) != 0 {
					if len(d) == 0 {
						return nil, errors.New("truncated delta")
					}
					n |= uint32(d[0]) << (8 * i)
					d = d[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if uint64(off)+uint64(n) > uint64(len(base)) {
				return nil, errors.New("delta copy out of range")
			}
			if int64(len(out))+int64(n) > dstSize {
				return nil, errors.New("delta result longer than its header says")
			}
			out = append(out, base[off:off+n]...)
		case op != 0:
			if int(op) > len(d) {
				return nil, errors.New("truncated delta")
			}
			if int64(len(out))+int64(op) > dstSize {
				return nil, errors.New("delta result longer than its header says")
			}
			out = append(out, d[:op]...)
			d = d[op:]
		default:
			return nil, errors.New("delta opcode 0")
		}
	}
	if int64(len(out)) != dstSize {
		return nil, errors.New("delta result size mismatch")
	}
	return out, nil
}

// baseCache is an LRU of resolved objects by (pack, offset), bounded in
// bytes, used as delta bases.
type baseCache struct {
	max, size int
	ll        *list.List
	m         map[baseKey]*list.Element
}

type baseKey struct {
	p   *pack
	off int64
}

type baseVal struct {
	key  baseKey
	typ  int
	data []byte
}

func newBaseCache(max int) *baseCache {
	return &baseCache{max: max, ll: list.New(), m: map[baseKey]*list.Element{}}
}

func (c *baseCache) get(p *pack, off int64) (int, []byte, bool) {
	if e, ok := c.m[baseKey{p, off}]; ok {
		c.ll.MoveToFront(e)
		v := e.Value.(*baseVal)
		return v.typ, v.data, true
	}
	return 0, nil, false
}

func (c *baseCache) put(p *pack, off int64, typ int, data []byte) {
	k := baseKey{p, off}
	if len(data) > c.max/4 {
		return
	}
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = c.ll.PushFront(&baseVal{key: k, typ: typ, data: data})
	c.size += len(data)
	for c.size > c.max {
		e := c.ll.Back()
		v := e.Value.(*baseVal)
		c.ll.Remove(e)
		delete(c.m, v.key)
		c.size -= len(v.data)
	}
}
