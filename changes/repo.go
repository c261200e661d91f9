package changes

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	gitconfig "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// objectCacheSize bounds go-git's own object cache (delta bases). Decoded
// trees and commits are cached by Repo itself, so a small LRU is enough and
// keeps peak memory low (go-git's default is 96 MiB).
const objectCacheSize = 16 * cache.MiByte

// maxTreeCacheBytes bounds the decoded-tree cache (raw bytes plus entries,
// both generations). A range walk needs each tree version once or twice in a
// row, and lookups at head a few trees again and again: a small cache that
// keeps what was used lately serves both; a larger one only raises peak
// memory (each byte cached costs about two at the garbage collector's peak).
const maxTreeCacheBytes = 8 << 20

// Repo is a git repository opened for change detection. It caches decoded
// trees, commits and per-commit diffs, so one Repo should serve a whole run.
// Its methods are safe for concurrent use (they serialise on a mutex).
type Repo struct {
	mu   sync.Mutex
	path string // the directory Open was given
	dot  string // the .git directory (or the bare repository)
	// common is the directory holding objects, refs, config and shallow:
	// dot itself, or the main repository's .git for a linked worktree.
	common string
	st     *filesystem.Storage
	git    *git.Repository

	// trees caches decoded trees in two generations: a tree read or used
	// lands in trees; when trees outgrows half of treeLimit it becomes
	// oldTrees (the previous old generation is dropped). Recently used
	// trees survive a turn, and the cache stays under treeLimit.
	trees     map[plumbing.Hash]cachedTree
	oldTrees  map[plumbing.Hash]cachedTree
	treeBytes int // approximate size of trees
	treeLimit int // bound on both generations (maxTreeCacheBytes; tests lower it)
	commits   map[plumbing.Hash]*commitNode
	diffs     map[plumbing.Hash][]string // changed paths of a commit vs its first parent
	shallow   map[plumbing.Hash]bool     // nil until loaded
	packs     *packSet                   // nil until first read
	// sets caches the project sets of trees by tree and discovery options
	// (Discover and Detect of one head share one); names caches the tool
	// name each pyproject.toml blob gives.
	sets  map[string]*projectSet
	names map[plumbing.Hash]nameResult
	// index is what .git/index says (nil until read); useIndex lets
	// discovery use it (tests turn it off to exercise the tree walk).
	index               *indexState
	useIndex            bool
	discoveredFromIndex bool // the last uncached discovery used the index
}

// Open opens the repository at path (its work tree, any directory inside
// it, or a bare repository). Storage is opened with descriptors kept open;
// call Close when done. It returns a clear error when path is not a git
// repository, and ErrEmptyRepo (wrapped) when the repository has no commits.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	dot, err := findGitDir(abs)
	if err != nil {
		return nil, err
	}
	common, err := commonDir(dot)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	if err := checkObjectFormat(common); err != nil {
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	var fs billy.Filesystem = osfs.New(dot)
	if common != dot {
		// A linked worktree: HEAD and index are its own, the rest is shared.
		fs = dotgit.NewRepositoryFilesystem(fs, osfs.New(common))
	}
	// Alternates name absolute directories (git clone --shared/--reference).
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(objectCacheSize),
		filesystem.Options{KeepDescriptors: true, AlternatesFS: osfs.New(string(filepath.Separator))})
	g, err := git.Open(st, nil)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open repository %s: %w", path, err)
	}
	r := &Repo{path: abs, dot: dot, common: common, st: st, git: g, useIndex: true, treeLimit: maxTreeCacheBytes}
	r.resetCaches()
	// Open the packs now so that a damaged or unsupported one is a clear
	// error here rather than objects that seem to be missing later.
	r.packs = openPacks(common)
	if len(r.packs.bad) > 0 {
		r.packs.close()
		st.Close()
		return nil, fmt.Errorf("open repository %s: %w: %w", path, ErrUnsupportedRepo, errors.Join(r.packs.bad...))
	}
	if _, err := g.Head(); err != nil {
		empty := true
		if refs, rerr := g.References(); rerr == nil {
			_ = refs.ForEach(func(ref *plumbing.Reference) error {
				if ref.Type() == plumbing.HashReference {
					empty = false
				}
				return nil
			})
		}
		if empty {
			st.Close()
			return nil, fmt.Errorf("open repository %s: %w", path, ErrEmptyRepo)
		}
	}
	return r, nil
}

func (r *Repo) resetCaches() {
	r.trees = map[plumbing.Hash]cachedTree{}
	r.oldTrees = nil
	r.treeBytes = 0
	r.commits = map[plumbing.Hash]*commitNode{}
	r.diffs = map[plumbing.Hash][]string{}
	r.sets = map[string]*projectSet{}
	r.names = map[plumbing.Hash]nameResult{}
	r.index = nil
	r.shallow = nil
	if r.packs != nil {
		r.packs.close()
		r.packs = nil
	}
}

// findGitDir returns the git directory for dir or one of its parents: a
// ".git" directory, the target of a ".git" file ("gitdir: …", worktrees and
// submodules), or dir itself when it is a bare repository.
func findGitDir(dir string) (string, error) {
	start := dir
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("open repository %s: %w", start, err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("open repository %s: not a directory", start)
	}
	for {
		dotgit := filepath.Join(dir, ".git")
		if fi, err := os.Stat(dotgit); err == nil {
			if fi.IsDir() {
				return dotgit, nil
			}
			b, err := os.ReadFile(dotgit)
			if err != nil {
				return "", fmt.Errorf("open repository %s: %w", start, err)
			}
			line := strings.TrimSpace(string(b))
			target, ok := strings.CutPrefix(line, "gitdir: ")
			if !ok {
				return "", fmt.Errorf("open repository %s: %s is a file without a \"gitdir: \" line", start, dotgit)
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			}
			return target, nil
		}
		if isBare(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("open repository %s: %w", start, ErrNotRepo)
		}
		dir = parent
	}
}

// commonDir returns the directory that a linked worktree's git directory
// names in its "commondir" file, or dot itself.
func commonDir(dot string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dot, "commondir"))
	if os.IsNotExist(err) {
		return dot, nil
	}
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(b))
	if c == "" {
		return "", fmt.Errorf("%s is empty", filepath.Join(dot, "commondir"))
	}
	if !filepath.IsAbs(c) {
		c = filepath.Join(dot, c)
	}
	if fi, err := os.Stat(c); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%s names %s, which is not a directory", filepath.Join(dot, "commondir"), c)
	}
	return filepath.Clean(c), nil
}

// checkObjectFormat refuses repositories whose objects are not named by
// SHA-1 (extensions.objectFormat = sha256): the reader would misread them;
// and reftable ref storage, whose refs go-git cannot see (the repository
// would look empty).
func checkObjectFormat(common string) error {
	b, err := os.ReadFile(filepath.Join(common, "config"))
	if err != nil {
		return nil // no config: git's defaults (SHA-1)
	}
	cfg := gitconfig.New()
	if err := gitconfig.NewDecoder(bytes.NewReader(b)).Decode(cfg); err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(common, "config"), err)
	}
	if f := strings.ToLower(cfg.Section("extensions").Option("objectformat")); f != "" && f != "sha1" {
		return fmt.Errorf("%w: the repository uses %s object names (extensions.objectFormat in %s); "+
			"only SHA-1 repositories are supported: release from a SHA-1 clone", ErrUnsupportedRepo, f, filepath.Join(common, "config"))
	}
	if f := strings.ToLower(cfg.Section("extensions").Option("refstorage")); f != "" && f != "files" {
		return fmt.Errorf("%w: the repository stores its refs as %s (extensions.refStorage in %s); "+
			"only the files ref format is supported: clone with `git clone --ref-format=files`", ErrUnsupportedRepo, f, filepath.Join(common, "config"))
	}
	return nil
}

func isBare(dir string) bool {
	for _, n := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// Close releases the repository's open file descriptors.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.packs != nil {
		r.packs.close()
		r.packs = nil
	}
	return r.st.Close()
}

// Path returns the directory the repository was opened from.
func (r *Repo) Path() string { return r.path }

// ZeroSHA is the all-zero SHA that git and CI systems use for "no commit"
// (the `before` of a push that created a branch).
const ZeroSHA = "0000000000000000000000000000000000000000"

// IsNone reports whether rev means "no commit": empty or all zeros.
func IsNone(rev string) bool {
	rev = strings.TrimSpace(rev)
	return rev == "" || strings.Trim(rev, "0") == "" && len(rev) >= 7
}

// Resolve resolves rev to a full commit SHA. rev may be HEAD (attached or
// detached), a branch (local or remote-tracking: main, origin/main,
// refs/heads/main), a tag (annotated tags are peeled), a full or short SHA,
// or a go-git revision expression (HEAD~2). An empty rev or the all-zero SHA
// means "none" and resolves to "" with a nil error. A full SHA that is not in
// the object store gives *MissingCommitError; anything else unknown gives
// *UnknownRevisionError.
func (r *Repo) Resolve(rev string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resolve(rev)
}

func (r *Repo) resolve(rev string) (string, error) {
	rev = strings.TrimSpace(rev)
	if IsNone(rev) {
		return "", nil
	}
	if isFullSHA(rev) {
		h := plumbing.NewHash(strings.ToLower(rev))
		c, err := r.peel(h)
		switch {
		case err == nil:
			return c.String(), nil
		case errors.Is(err, ErrDamaged):
			return "", err
		}
		for _, t := range []plumbing.ObjectType{plumbing.TreeObject, plumbing.BlobObject} {
			if _, terr := r.raw(t, h); terr == nil {
				return "", fmt.Errorf("%s names a %s, not a commit: give a commit, branch or tag", h, t)
			}
		}
		return "", &MissingCommitError{SHA: h.String(), Shallow: r.isShallowRepo()}
	}
	// Plain names are looked up as git does (refs/<rev>, tags, branches,
	// remotes, remote HEAD) and peeled with this package's reader, so they
	// resolve wherever the objects live; expressions (HEAD~2, short SHAs)
	// go to go-git.
	if plainRefName(rev) {
		for _, name := range []string{rev, "refs/" + rev, "refs/tags/" + rev, "refs/heads/" + rev,
			"refs/remotes/" + rev, "refs/remotes/" + rev + "/HEAD"} {
			ref, err := storer.ResolveReference(r.st, plumbing.ReferenceName(name))
			if err != nil || ref.Type() != plumbing.HashReference {
				continue
			}
			c, err := r.peel(ref.Hash())
			if errors.Is(err, ErrDamaged) {
				return "", err
			}
			if err != nil {
				return "", fmt.Errorf("%s (%s) names %s, which is not a commit in this repository: %w", rev, name, ref.Hash(), err)
			}
			return c.String(), nil
		}
	}
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil || h == nil || h.IsZero() {
		return "", &UnknownRevisionError{Rev: rev, Repo: r.path}
	}
	return h.String(), nil
}

// plainRefName reports whether rev is a plain reference name (no revision
// operators such as ~ ^ : @{ and no spaces).
func plainRefName(rev string) bool {
	return rev != "" && !strings.ContainsAny(rev, "~^:?*[\\ \t") && !strings.Contains(rev, "@{") && !strings.Contains(rev, "..")
}

// peel returns the commit that h names: h itself, or the target of an
// annotated tag (and of tags of tags).
func (r *Repo) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for i := 0; i < 10; i++ {
		_, err := r.commit(h)
		if err == nil {
			return h, nil
		}
		if errors.Is(err, ErrDamaged) {
			return plumbing.ZeroHash, err
		}
		b, terr := r.raw(plumbing.TagObject, h)
		if errors.Is(terr, ErrDamaged) {
			return plumbing.ZeroHash, terr
		}
		if terr != nil {
			return plumbing.ZeroHash, err
		}
		target, ok := bytes.CutPrefix(b, []byte("object "))
		if !ok || len(target) < 40 || !isFullSHA(string(target[:40])) {
			return plumbing.ZeroHash, fmt.Errorf("tag %s has no target object: %w", h, ErrDamaged)
		}
		h = plumbing.NewHash(string(target[:40]))
	}
	return plumbing.ZeroHash, fmt.Errorf("tag %s: more than 10 tags of tags", h)
}

func isFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// HasCommit reports whether sha (full, 40 hex digits) names a commit in the
// local object store, e.g. a released version's tool_commit_hash.
func (r *Repo) HasCommit(sha string) bool {
	if !isFullSHA(sha) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hasCommit(plumbing.NewHash(strings.ToLower(sha)))
}

func (r *Repo) hasCommit(h plumbing.Hash) bool {
	if _, ok := r.commits[h]; ok {
		return true
	}
	_, err := r.commit(h)
	return err == nil
}

// IsShallow reports whether the repository is a shallow clone.
func (r *Repo) IsShallow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.isShallowRepo()
}

func (r *Repo) isShallowRepo() bool {
	return len(r.shallowSet()) > 0
}

func (r *Repo) shallowSet() map[plumbing.Hash]bool {
	if r.shallow == nil {
		r.shallow = map[plumbing.Hash]bool{}
		hs, _ := r.st.Shallow()
		for _, h := range hs {
			r.shallow[h] = true
		}
	}
	return r.shallow
}

// Errors that callers can test with errors.Is.
var (
	// ErrNotRepo: the path is not inside a git repository.
	ErrNotRepo = errors.New("not a git repository (no .git directory here or in any parent)")
	// ErrEmptyRepo: the repository has no commits yet.
	ErrEmptyRepo = errors.New("the repository has no commits")
)

// ErrDamaged is wrapped by every read that found an object but could not
// read it correctly (a damaged pack, index or loose object), so that such
// reads are never taken for a missing commit (a shallow clone) or absent
// content. Test with errors.Is.
var ErrDamaged = errors.New("the object store is damaged (run `git fsck`; re-clone to repair)")

// ErrUnsupportedRepo is wrapped by Open's refusals of repositories it cannot
// read correctly: SHA-256 object names, reftable refs, pack indexes other
// than version 2, packs that do not match their index. Test with errors.Is.
var ErrUnsupportedRepo = errors.New("unusable repository")

// missingCommit returns err itself when the object store is damaged, else
// a *MissingCommitError for sha.
func (r *Repo) missingCommit(err error, sha plumbing.Hash, role string) error {
	if errors.Is(err, ErrDamaged) {
		return err
	}
	return &MissingCommitError{SHA: sha.String(), Role: role, Shallow: r.isShallowRepo()}
}

// MissingCommitError reports a commit that is not in the local object store,
// typically the base of a range in a shallow clone.
type MissingCommitError struct {
	SHA string
	// Role says what the commit is for, e.g. `base of project "weather"`.
	Role string
	// Shallow is set when the repository is a shallow clone.
	Shallow bool
}

// Error names the commit and the fix (fetch-depth: 0 / fetchDepth: 0).
func (e *MissingCommitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "commit %s", e.SHA)
	if e.Role != "" {
		fmt.Fprintf(&b, " (%s)", e.Role)
	}
	b.WriteString(" is not in the local repository")
	if !e.Shallow {
		// The clone has all the history its branches reach: the commit was
		// rewritten away (a force push) or lives on a branch not fetched.
		b.WriteString(", which is not shallow: the commit was likely force-pushed away or is on a branch not fetched: " +
			"`git fetch origin " + e.SHA + "` if the server still has it, or pass --base (the action's `base` input) " +
			"with the commit the release should start from")
		return b.String()
	}
	b.WriteString(" (this is a shallow clone): fetch the full history: GitHub Actions: `fetch-depth: 0` on actions/checkout; " +
		"Azure Pipelines: `fetchDepth: 0` on the checkout step; elsewhere `git fetch --unshallow`")
	return b.String()
}

// UnknownRevisionError reports a revision that names no branch, tag or commit.
type UnknownRevisionError struct {
	Rev  string
	Repo string
}

// Error names the revision and the repository.
func (e *UnknownRevisionError) Error() string {
	return fmt.Sprintf("unknown revision %q: not a branch, tag or commit in %s (check the name, or fetch it)", e.Rev, e.Repo)
}

// treeEntry is one entry of a decoded tree.
type treeEntry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e *treeEntry) isTree() bool { return e.mode == filemode.Dir }

// commitNode is the part of a commit that the walks need.
type commitNode struct {
	hash    plumbing.Hash
	tree    plumbing.Hash
	parents []plumbing.Hash
	time    int64 // committer time, seconds
	message string
	flags   uint8
	seen    uint32 // walk generation that last touched flags
}

// raw reads an object's content.
func (r *Repo) raw(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	if r.packs == nil {
		r.packs = openPacks(r.common)
	}
	typ, b, err := r.packs.read(h)
	switch {
	case err == nil:
		// Hash what was read: whatever damage the pack or its index may
		// hold, content that is not the object named h is an error, never
		// silently used (nor taken for a missing object).
		if got := objectHash(plumbing.ObjectType(typ), b); got != h {
			err = fmt.Errorf("object %s read from a pack hashes to %s: %w", h, got, ErrDamaged)
			break
		}
		if plumbing.ObjectType(typ) != t {
			return nil, fmt.Errorf("object %s is a %s, not a %s: %w", h, plumbing.ObjectType(typ), t, plumbing.ErrObjectNotFound)
		}
		return b, nil
	case errors.Is(err, errNotInPacks):
		// A loose object, in the repository or an alternate (go-git
		// cannot follow relative alternates); go-git's storage last.
		lt, lb, lerr := r.packs.readLoose(h)
		switch {
		case errors.Is(lerr, plumbing.ErrObjectNotFound):
			b, err := r.rawStorage(t, h)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				// Missing, as far as the packs' name tables say: make sure
				// they are not damaged before anyone is told so.
				if verr := r.packs.verifyIndexes(); verr != nil {
					return nil, fmt.Errorf("object %s: %w: %w", h, ErrDamaged, verr)
				}
			}
			return b, err
		case lerr != nil:
			return nil, fmt.Errorf("object %s: %w: %w", h, ErrDamaged, lerr)
		case objectHash(lt, lb) != h:
			return nil, fmt.Errorf("loose object %s hashes to %s: %w", h, objectHash(lt, lb), ErrDamaged)
		case lt != t:
			return nil, fmt.Errorf("object %s is a %s, not a %s: %w", h, lt, t, plumbing.ErrObjectNotFound)
		}
		return lb, nil
	default:
		err = fmt.Errorf("object %s: %w: %w", h, ErrDamaged, err)
	}
	// The packed copy is damaged: like git, use another copy (a loose
	// object) when one exists and hashes right.
	if lt, lb, lerr := r.packs.readLoose(h); lerr == nil && lt == t && objectHash(lt, lb) == h {
		return lb, nil
	}
	return nil, err
}

// rawStorage reads an object through go-git's storage (loose objects
// first), checking its type and hash.
func (r *Repo) rawStorage(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	o, err := r.st.EncodedObject(plumbing.AnyObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("object %s: %w: %w", h, ErrDamaged, err)
	}
	if o.Type() != t {
		return nil, fmt.Errorf("object %s is a %s, not a %s: %w", h, o.Type(), t, plumbing.ErrObjectNotFound)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("object %s: %w: %w", h, ErrDamaged, err)
	}
	defer rd.Close()
	buf := bytes.NewBuffer(make([]byte, 0, min(o.Size(), inflateChunk)))
	if _, err := io.Copy(buf, rd); err != nil {
		return nil, fmt.Errorf("object %s: %w: %w", h, ErrDamaged, err)
	}
	if got := objectHash(t, buf.Bytes()); got != h {
		return nil, fmt.Errorf("object %s hashes to %s: %w", h, got, ErrDamaged)
	}
	return buf.Bytes(), nil
}

// objectHash is git's name for an object: SHA-1 of "<type> <size>\x00" and
// the content.
func objectHash(t plumbing.ObjectType, b []byte) plumbing.Hash {
	d := sha1.New()
	d.Write(t.Bytes())
	d.Write([]byte(" "))
	d.Write(strconv.AppendInt(nil, int64(len(b)), 10))
	d.Write([]byte{0})
	d.Write(b)
	var h plumbing.Hash
	d.Sum(h[:0])
	return h
}

// tree returns the decoded entries of tree h (nil for the zero hash).
func (r *Repo) tree(h plumbing.Hash) ([]treeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	if t, ok := r.trees[h]; ok {
		return t.ents, nil
	}
	if t, ok := r.oldTrees[h]; ok {
		r.keepTree(h, t)
		return t.ents, nil
	}
	b, err := r.raw(plumbing.TreeObject, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	ents, err := parseTree(b)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	// Its memory: the raw bytes (the entry names point into them) and
	// the entries.
	r.keepTree(h, cachedTree{ents, len(b) + len(ents)*int(unsafe.Sizeof(treeEntry{}))})
	return ents, nil
}

// cachedTree is a decoded tree and its approximate memory.
type cachedTree struct {
	ents []treeEntry
	size int
}

// keepTree puts a tree in the young generation, turning generations over
// first when it is full.
func (r *Repo) keepTree(h plumbing.Hash, t cachedTree) {
	if r.treeBytes+t.size > r.treeLimit/2 {
		r.oldTrees, r.trees, r.treeBytes = r.trees, map[plumbing.Hash]cachedTree{}, 0
	}
	r.trees[h] = t
	r.treeBytes += t.size
}

func parseTree(raw []byte) ([]treeEntry, error) {
	// Entry names are substrings of one string that shares raw's memory
	// (raw is never modified after it is read), so a tree costs one
	// allocation whatever its size.
	if len(raw) == 0 {
		return nil, nil
	}
	b := unsafe.String(&raw[0], len(raw))
	n := strings.Count(b, "\x00")
	ents := make([]treeEntry, 0, n)
	for len(b) > 0 {
		sp := strings.IndexByte(b, ' ')
		if sp <= 0 || sp > 7 {
			return nil, errors.New("damaged tree: no mode")
		}
		var mode uint32
		for i := 0; i < sp; i++ {
			c := b[i]
			if c < '0' || c > '7' {
				return nil, fmt.Errorf("damaged tree: mode %q", b[:sp])
			}
			mode = mode<<3 | uint32(c-'0')
		}
		b = b[sp+1:]
		nul := strings.IndexByte(b, 0)
		if nul < 0 || len(b) < nul+1+20 {
			return nil, errors.New("damaged tree: truncated entry")
		}
		var e treeEntry
		e.name = b[:nul]
		e.mode = filemode.FileMode(mode)
		copy(e.hash[:], b[nul+1:nul+21])
		ents = append(ents, e)
		b = b[nul+21:]
	}
	return ents, nil
}

// commit returns the decoded commit h.
func (r *Repo) commit(h plumbing.Hash) (*commitNode, error) {
	if c, ok := r.commits[h]; ok {
		return c, nil
	}
	b, err := r.raw(plumbing.CommitObject, h)
	if err != nil {
		return nil, err
	}
	c, err := parseCommit(h, b)
	if err != nil {
		return nil, err
	}
	r.commits[h] = c
	return c, nil
}

func parseCommit(h plumbing.Hash, b []byte) (*commitNode, error) {
	c := &commitNode{hash: h}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		if len(line) == 0 {
			c.message = string(b)
			break
		}
		switch {
		case bytes.HasPrefix(line, []byte("tree ")):
			c.tree = plumbing.NewHash(string(line[5:]))
		case bytes.HasPrefix(line, []byte("parent ")):
			c.parents = append(c.parents, plumbing.NewHash(string(line[7:])))
		case bytes.HasPrefix(line, []byte("committer ")):
			// "committer Name <email> 1700000000 +0000"
			f := bytes.Fields(line[bytes.LastIndexByte(line, '>')+1:])
			if len(f) >= 1 {
				c.time, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	if c.tree.IsZero() {
		return nil, fmt.Errorf("damaged commit %s: no tree", h)
	}
	return c, nil
}

// blob reads a blob's content.
func (r *Repo) blob(h plumbing.Hash) ([]byte, error) {
	return r.raw(plumbing.BlobObject, h)
}

// MaxFileSize bounds the files read from a commit's tree (ReadFile, the
// pyproject.toml files discovery reads): a larger blob is refused from
// the size its pack or loose header records, before it is inflated (a
// small pack can hold a gigabyte of one repeated byte).
const MaxFileSize = bounds.MaxFileSize

// blobBounded is blob for a file that must be at most MaxFileSize bytes:
// a larger one is a *bounds.LimitError, found without inflating it.
func (r *Repo) blobBounded(h plumbing.Hash) ([]byte, error) {
	if r.packs == nil {
		r.packs = openPacks(r.common)
	}
	size, err := r.packs.size(h)
	if errors.Is(err, errNotInPacks) {
		size, err = r.packs.looseSize(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			if o, serr := r.st.EncodedObject(plumbing.BlobObject, h); serr == nil {
				size, err = o.Size(), nil
			}
		}
	}
	// An error here is left to blob, which reads the object the careful
	// way and says what is damaged or missing.
	if err == nil && size > MaxFileSize {
		return nil, &bounds.LimitError{What: fmt.Sprintf("the file holds %d bytes,", size), Limit: MaxFileSize, Unit: "bytes"}
	}
	return r.blob(h)
}
