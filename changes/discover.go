package changes

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// PyprojectFile is the file that makes a directory a tool project.
const PyprojectFile = "pyproject.toml"

// MaxProjects bounds discovery: a tree with more directories holding a
// pyproject.toml under the roots is refused (each one is read and
// parsed); discovery.include filters after the count.
const MaxProjects = 10000

// Options configure discovery and bump inference.
type Options struct {
	// Roots are directories (repository-relative, slash-separated) under
	// which projects are searched. Empty means the whole repository.
	Roots []string `json:"roots,omitempty"`
	// Include and Exclude are globs over project directories ("tools/*",
	// "**/examples/**"; "**" spans directories, a pattern also matches
	// everything below a directory it matches). A project must match an
	// Include (when any are given) and no Exclude. An excluded project's
	// files belong to the enclosing project, if any.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Shared maps globs over file paths ("libs/common/**") to the names of
	// the projects that a change there triggers; AllProjects ("*") names
	// every project at head.
	Shared map[string][]string `json:"shared,omitempty"`
	// Names overrides the tool name of the project at a directory.
	Names map[string]string `json:"names,omitempty"`
	// Types maps Conventional Commits types to bumps (nil: DefaultTypes).
	Types map[string]Bump `json:"types,omitempty"`
	// NonConventional is the bump of a non-conventional message (Patch or
	// None).
	NonConventional Bump `json:"non_conventional"`
}

// AllProjects in an Options.Shared list names every project at head.
const AllProjects = "*"

// DefaultOptions returns the defaults: the whole repository, no filters,
// DefaultTypes, and None for non-conventional messages, the plan file's
// default too (discovery.bump.non_conventional): a "wip" or "Merge ..."
// message releases nothing unless the team says `patch`.
func DefaultOptions() Options {
	return Options{Types: DefaultTypes(), NonConventional: None}
}

// Rules returns the bump rules of the options.
func (o Options) Rules() Rules { return Rules{Types: o.Types, NonConventional: o.NonConventional} }

// Validate checks the globs and names.
func (o Options) Validate() error {
	var errs []error
	check := func(field, g string) {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: bad glob %q: %v", field, g, err))
		}
	}
	for _, g := range o.Include {
		check("include", g)
	}
	for _, g := range o.Exclude {
		check("exclude", g)
	}
	for g, names := range o.Shared {
		check("shared", g)
		if len(names) == 0 {
			errs = append(errs, fmt.Errorf("shared: %q lists no projects", g))
		}
	}
	for dir, n := range o.Names {
		if _, err := NormalizeName(n); err != nil {
			errs = append(errs, fmt.Errorf("names.%q: %w", dir, err))
		}
	}
	if o.NonConventional != None && o.NonConventional != Patch {
		errs = append(errs, fmt.Errorf("non_conventional: %q: want patch or none", o.NonConventional))
	}
	return errors.Join(errs...)
}

// Project is a tool project: a directory holding pyproject.toml.
type Project struct {
	// Name is the tool name (^[a-z0-9_]+$).
	Name string `json:"name"`
	// Path is the project directory, slash-separated, "." for the root.
	Path string `json:"path"`
	// Pyproject is the path of its pyproject.toml.
	Pyproject string `json:"pyproject"`
}

// Discover lists the projects in the tree of commit head (a revision as
// Resolve accepts), sorted by path. Nested projects are all listed; a file
// belongs to the deepest one. Errors name the file: unparseable TOML (with
// its line), a missing or invalid name, two projects with one name, and a
// pyproject.toml symlink that loops or leaves the repository.
func Discover(r *Repo, head string, opts Options) ([]Project, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveHash(head)
	if err != nil {
		return nil, err
	}
	c, err := r.commit(h)
	if err != nil {
		return nil, err
	}
	return r.discover(c.tree, opts)
}

func (r *Repo) discover(root plumbing.Hash, opts Options) ([]Project, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	// Callers often Discover and then Detect the same head: reuse.
	key, kerr := json.Marshal(struct {
		Root plumbing.Hash
		Opts Options
	}{root, opts})
	if kerr == nil {
		if ps, ok := r.projects[string(key)]; ok {
			return slices.Clone(ps), nil
		}
	}
	ps, err := r.discoverUncached(root, opts)
	if err == nil && kerr == nil {
		r.projects[string(key)] = slices.Clone(ps)
	}
	return ps, err
}

func (r *Repo) discoverUncached(root plumbing.Hash, opts Options) ([]Project, error) {
	var dirs []string
	var walk func(tree plumbing.Hash, dir string) error
	walk = func(tree plumbing.Hash, dir string) error {
		ents, err := r.tree(tree)
		if err != nil {
			return err
		}
		for k := range ents {
			e := &ents[k]
			if e.name == PyprojectFile && !e.isTree() {
				dirs = append(dirs, dir)
			}
		}
		for k := range ents {
			e := &ents[k]
			if e.isTree() {
				if err := walk(e.hash, joinPath(dir, e.name)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var known map[string]indexFile
	if files, ok := r.indexPyprojects(root); ok {
		dirs, known = indexDirs(files, opts.Roots)
		r.discoveredFromIndex = true
		return r.projectsIn(root, dirs, known, opts)
	}
	r.discoveredFromIndex = false
	roots := opts.Roots
	if len(roots) == 0 {
		roots = []string{""}
	}
	seenRoot := map[string]bool{}
	for _, rt := range roots {
		rt = cleanDir(rt)
		if seenRoot[rt] {
			continue
		}
		seenRoot[rt] = true
		th := root
		if rt != "" {
			e, err := r.lookup(root, rt)
			if err != nil {
				return nil, err
			}
			if e == nil || !e.isTree() {
				continue
			}
			th = e.hash
		}
		if err := walk(th, rt); err != nil {
			return nil, err
		}
	}
	return r.projectsIn(root, dirs, nil, opts)
}

// projectsIn reads the projects in dirs (directories holding a
// pyproject.toml); known gives the pyproject.toml entries when the index
// supplied them.
func (r *Repo) projectsIn(root plumbing.Hash, dirs []string, known map[string]indexFile, opts Options) ([]Project, error) {
	if len(dirs) > MaxProjects {
		return nil, fmt.Errorf("%d directories hold a %s: more than %d projects (the limit); narrow discovery.roots to the directories that hold tools", len(dirs), PyprojectFile, MaxProjects)
	}
	sort.Strings(dirs)
	var projects []Project
	byName := map[string]string{}
	var errs []error
	for i, d := range dirs {
		if i > 0 && dirs[i-1] == d {
			continue
		}
		if !included(d, opts) {
			continue
		}
		var blob *plumbing.Hash
		if f, ok := known[d]; ok && f.mode.IsRegular() {
			blob = &f.hash
		}
		p, err := r.projectAt(root, d, opts, blob)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := byName[p.Name]; dup {
			errs = append(errs, fmt.Errorf("two projects are named %q: %s and %s; rename one in its pyproject.toml [project].name or set a names override", p.Name, displayDir(other), displayDir(p.Path)))
			continue
		}
		byName[p.Name] = p.Path
		projects = append(projects, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return projects, nil
}

// projectAt reads the project whose pyproject.toml is in dir of tree root.
// When blob is not nil it is the pyproject.toml blob (from the index).
func (r *Repo) projectAt(root plumbing.Hash, dir string, opts Options, blob *plumbing.Hash) (Project, error) {
	file := joinPath(dir, PyprojectFile)
	p := Project{Path: displayDir(dir), Pyproject: file}
	for _, k := range slices.Sorted(maps.Keys(opts.Names)) {
		if displayDir(cleanDir(k)) != p.Path {
			continue
		}
		name, err := NormalizeName(opts.Names[k])
		if err != nil {
			return p, fmt.Errorf("names.%q: %w", k, err)
		}
		p.Name = name
		return p, nil
	}
	var data []byte
	var err error
	if blob != nil {
		data, err = r.blob(*blob)
		if err != nil {
			err = fmt.Errorf("%s: %w", file, err)
		}
	} else {
		data, err = r.readFileFollow(root, file)
	}
	if err != nil {
		return p, err
	}
	name, err := ProjectName(data)
	if err != nil {
		return p, fmt.Errorf("%s%w (or set a names override for %q)", file, err, p.Path)
	}
	p.Name = name
	return p, nil
}

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 40

// ReadFile returns the content of the file at path (slash-separated,
// relative to the repository root; symlinks inside the repository are
// followed) in the tree of commit rev: what that commit holds, whatever the
// work tree has.
func (r *Repo) ReadFile(rev, path string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolveHash(rev)
	if err != nil {
		return nil, err
	}
	c, err := r.commit(h)
	if err != nil {
		return nil, r.missingCommit(err, h, "")
	}
	return r.readFileFollow(c.tree, path)
}

// readFileFollow reads the file at p in tree root, following symlinks
// inside the repository.
func (r *Repo) readFileFollow(root plumbing.Hash, p string) ([]byte, error) {
	orig := p
	for hops := 0; ; hops++ {
		if hops > maxSymlinks {
			return nil, fmt.Errorf("%s: symlink loop (more than %d links)", orig, maxSymlinks)
		}
		e, err := r.lookup(root, p)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, fmt.Errorf("%s: dangling symlink (%s does not exist)", orig, p)
		}
		b, err := r.blob(e.hash)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if e.mode != filemode.Symlink {
			return b, nil
		}
		target := string(b)
		if strings.HasPrefix(target, "/") {
			return nil, fmt.Errorf("%s: symlink to absolute path %q", orig, target)
		}
		next := path.Join(path.Dir(p), target)
		if next == ".." || strings.HasPrefix(next, "../") {
			return nil, fmt.Errorf("%s: symlink points outside the repository (%q)", orig, target)
		}
		p = next
	}
}

// ProjectName extracts the tool name from pyproject.toml content: the
// [project].name (PEP 621), else [tool.poetry].name, normalised by
// NormalizeName. Errors start with ":LINE: " for TOML syntax errors (so a
// caller can prefix the file name) or ": " otherwise.
func ProjectName(data []byte) (string, error) {
	var doc struct {
		Project struct {
			Name any `toml:"name"`
		} `toml:"project"`
		Tool struct {
			Poetry struct {
				Name any `toml:"name"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if err := bounds.TOML(data); err != nil {
		if le, ok := err.(*bounds.LimitError); ok {
			return "", fmt.Errorf(":%d: not read: %v", le.Line, err)
		}
		return "", fmt.Errorf(": not read: %v", err)
	}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return "", fmt.Errorf(":%d: invalid TOML: %s", pe.Position.Line, pe.Message)
		}
		return "", fmt.Errorf(": invalid TOML: %v", err)
	}
	raw, field := doc.Project.Name, "[project].name"
	if raw == nil {
		raw, field = doc.Tool.Poetry.Name, "[tool.poetry].name"
	}
	if raw == nil {
		return "", errors.New(": no [project].name")
	}
	s, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf(": %s must be a string, not %T", field, raw)
	}
	name, err := NormalizeName(s)
	if err != nil {
		return "", fmt.Errorf(": %s: %w", field, err)
	}
	return name, nil
}

// NormalizeName turns a Python project name into a tool name matching
// ^[a-z0-9_]+$: lower-case, each '-' and '.' becomes '_' (runs are not
// collapsed: "a--b" is "a__b", as the tool name the API would see). Any
// other character is an error that names it.
func NormalizeName(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, c := range t {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_':
			b.WriteRune(c)
		case c == '-' || c == '.':
			b.WriteByte('_')
		default:
			return "", fmt.Errorf("name %q cannot be made a valid tool name (^[a-z0-9_]+$): character %q is not allowed", s, c)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("name %q is empty", s)
	}
	return b.String(), nil
}

func cleanDir(d string) string {
	d = strings.Trim(path.Clean("/"+strings.TrimSpace(d)), "/")
	return d
}

func displayDir(d string) string {
	if d == "" {
		return "."
	}
	return d
}

func included(dir string, opts Options) bool {
	d := displayDir(dir)
	if len(opts.Include) > 0 {
		ok := false
		for _, g := range opts.Include {
			if matchGlob(g, d) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, g := range opts.Exclude {
		if matchGlob(g, d) {
			return false
		}
	}
	return true
}

// matchGlob matches a slash-separated path against a glob with path.Match
// syntax per segment and "**" for any number of segments. A pattern also
// matches every path below a directory it matches.
func matchGlob(pattern, p string) bool {
	pattern = strings.Trim(pattern, "/")
	if pattern == "." || pattern == "" {
		return p == "." || p == "" // the repository root only
	}
	ps := strings.Split(pattern, "/")
	var ss []string
	if p != "" && p != "." {
		ss = strings.Split(p, "/")
	}
	return matchSegs(ps, ss)
}

func matchSegs(ps, ss []string) bool {
	for len(ps) > 0 {
		if ps[0] == "**" {
			rest := ps[1:]
			for k := 0; k <= len(ss); k++ {
				if matchSegs(rest, ss[k:]) {
					return true
				}
			}
			return false
		}
		if len(ss) == 0 {
			return false
		}
		if ok, _ := path.Match(ps[0], ss[0]); !ok {
			return false
		}
		ps, ss = ps[1:], ss[1:]
	}
	// Pattern exhausted: matches this path and everything below it.
	return true
}
