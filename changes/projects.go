package changes

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// projectSet is the projects of one tree (a run's head). It is read on
// demand: info(dir) looks down the tree along one directory's path and reads
// only the pyproject.toml files on the way (the project owning the directory
// and its enclosing projects), so a push that touches ten directories reads
// ten-odd trees and a few pyproject.toml files however large the repository.
// readAll reads every project (a walk of the whole tree, or the index when
// it describes exactly that tree); it is needed where the names of projects
// the range did not touch matter (per-project bases, shared globs, a project
// that moved or was removed, FullDiscovery).
//
// A set is cached on the Repo by tree and discovery options, so Discover and
// Detect of one head share it.
type projectSet struct {
	r    *Repo
	root plumbing.Hash
	opts Options
	// dirs memoises info by directory ("" is the repository root).
	dirs      map[string]*dirInfo
	projIndex                 // every project read so far
	cands     map[string]bool // candidate, memoised
	all       bool            // every project of the tree is in projs
	checks    error           // checkOptions' result, once computed
	check     bool
}

// dirInfo is what the set knows of one directory.
type dirInfo struct {
	tree  plumbing.Hash // zero: no such directory in the tree
	owner *proj         // the project owning the files directly in it, nil: none
}

// proj is a directory holding a pyproject.toml: a tool project, or one that
// cannot be a tool (problem set: no or an invalid name, an unreadable file).
// A name that two projects share is found from byName.
type proj struct {
	dir       string // "" for the repository root
	name      string // the tool name; "" when problem is set
	pyproject string
	problem   string // why it cannot be a tool and the fix (the file is pyproject)
	line      int    // the line of pyproject.toml the problem is on, 0: unknown
}

func (p *proj) path() string { return displayDir(p.dir) }

// problemText is the problem with the file and line it is at.
func (p *proj) problemText() string { return fileLine(p.pyproject, p.line) + ": " + p.problem }

// fileLine renders "file:line" ("file" when line is 0).
func fileLine(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// newProj is the project at dir: named by its names override when it has
// one, else by read, which reads its pyproject.toml and gives projectName's
// result, or a problem when the file cannot be read as one (read's error is
// for a failing object store or disk, not for a bad file).
func newProj(dir string, opts Options, read func() (nameResult, error)) (*proj, error) {
	p := &proj{dir: dir, pyproject: joinPath(dir, PyprojectFile)}
	if k, ok := namesKey(opts.Names, dir); ok {
		n, err := NormalizeName(opts.Names[k])
		if err != nil {
			p.problem = fmt.Sprintf("names.%q: %v", k, err)
		}
		p.name = n
		return p, nil
	}
	res, err := read()
	if err != nil {
		return nil, err
	}
	p.name, p.line, p.problem = res.name, res.line, res.msg
	if res.msg != "" && !res.unreadable {
		p.problem = fmt.Sprintf("%s (or set a names override for %q)", res.msg, p.path())
	}
	return p, nil
}

// projectSet returns the (cached) project set of tree root for opts.
func (r *Repo) projectSet(root plumbing.Hash, opts Options) *projectSet {
	// Shared is part of the key for checkOptions' result only.
	key, _ := json.Marshal(struct {
		Root                    plumbing.Hash
		Roots, Include, Exclude []string
		Names                   map[string]string
		Shared                  map[string][]string
	}{root, opts.Roots, opts.Include, opts.Exclude, opts.Names, opts.Shared})
	if s := r.sets[string(key)]; s != nil {
		return s
	}
	s := &projectSet{r: r, root: root, opts: opts, dirs: map[string]*dirInfo{}, cands: map[string]bool{}, projIndex: newProjIndex()}
	r.sets[string(key)] = s
	return s
}

// candidate reports whether a pyproject.toml in dir makes a project: dir is
// under a root and included (an excluded project's files belong to the
// enclosing project).
func (s *projectSet) candidate(dir string) bool {
	c, ok := s.cands[dir]
	if !ok {
		c = underRoots(dir, s.opts.Roots) && included(dir, s.opts)
		s.cands[dir] = c
	}
	return c
}

// info returns what the tree holds at dir and which project owns the files
// directly in it, reading the trees and pyproject.toml files on the way.
func (s *projectSet) info(dir string) (*dirInfo, error) {
	if d, ok := s.dirs[dir]; ok {
		return d, nil
	}
	d := &dirInfo{}
	if dir == "" {
		d.tree = s.root
	} else {
		parent, name := splitDir(dir)
		pi, err := s.info(parent)
		if err != nil {
			return nil, err
		}
		d.owner = pi.owner
		if !pi.tree.IsZero() {
			ents, err := s.r.tree(pi.tree)
			if err != nil {
				return nil, err
			}
			if e := findEntry(ents, name, true); e != nil {
				d.tree = e.hash
			}
		}
	}
	if !d.tree.IsZero() && s.candidate(dir) {
		ents, err := s.r.tree(d.tree)
		if err != nil {
			return nil, err
		}
		if e := pyprojectEntry(ents); e != nil {
			p, err := s.project(dir, *e)
			if err != nil {
				return nil, err
			}
			d.owner = p
		}
	}
	s.dirs[dir] = d
	return d, nil
}

// at returns the project whose directory is dir, if any.
func (s *projectSet) at(dir string) (*proj, error) {
	d, err := s.info(dir)
	if err != nil || d.owner == nil || d.owner.dir != dir {
		return nil, err
	}
	return d.owner, nil
}

// named returns the projects named name (two or more: a clash), reading
// every project first when the ones read so far have none.
func (s *projectSet) named(name string) ([]*proj, error) {
	if ps := s.byName[name]; len(ps) > 0 || s.all {
		return ps, nil
	}
	if err := s.readAll(); err != nil {
		return nil, err
	}
	return s.byName[name], nil
}

// project reads the project at dir, whose pyproject.toml entry is e.
func (s *projectSet) project(dir string, e treeEntry) (*proj, error) {
	if p := s.projs[dir]; p != nil {
		return p, nil
	}
	p, err := s.r.projAt(s.root, dir, e, s.opts)
	if err != nil {
		return nil, err
	}
	s.add(p)
	return p, nil
}

// readAll reads every project of the tree: from the index when it describes
// exactly this tree (a CI checkout), else by walking every tree under the
// roots.
func (s *projectSet) readAll() error {
	if s.all {
		return nil
	}
	found, err := s.r.pyprojects(s.root, s.opts.Roots)
	if err != nil {
		return err
	}
	if len(found) > MaxProjects {
		return tooManyProjects(len(found))
	}
	for _, f := range found {
		if !s.candidate(f.dir) {
			continue
		}
		if _, err := s.project(f.dir, f.entry); err != nil {
			return err
		}
	}
	s.all = true
	return nil
}

// projIndex holds the projects of one tree (or work tree) read so far: by
// directory, and the ones with a valid name by name, so that a clash is
// seen.
type projIndex struct {
	projs  map[string]*proj
	byName map[string][]*proj
}

func newProjIndex() projIndex {
	return projIndex{projs: map[string]*proj{}, byName: map[string][]*proj{}}
}

// add records p.
func (s *projIndex) add(p *proj) {
	s.projs[p.dir] = p
	if p.name != "" {
		s.byName[p.name] = append(s.byName[p.name], p)
		slices.SortFunc(s.byName[p.name], func(a, b *proj) int { return strings.Compare(a.dir, b.dir) })
	}
}

// isClash reports whether another project read so far has p's name.
func (s *projIndex) isClash(p *proj) bool { return p.name != "" && len(s.byName[p.name]) > 1 }

// tool reports whether p is a usable tool project: a valid name that no
// other project read so far has.
func (s *projIndex) tool(p *proj) bool { return p.problem == "" && !s.isClash(p) }

// projects returns the usable tool projects read so far, sorted by path.
func (s *projIndex) projects() []Project {
	var out []Project
	for _, p := range s.projs {
		if s.tool(p) {
			out = append(out, Project{Name: p.name, Path: p.path(), Pyproject: p.pyproject})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// problemProjs returns the projects read so far that cannot be tools,
// sorted by directory.
func (s *projIndex) problemProjs() []*proj {
	var out []*proj
	for _, p := range s.projs {
		if !s.tool(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *proj) int { return strings.Compare(a.dir, b.dir) })
	return out
}

// problems returns the projects read so far that cannot be tools, sorted
// by path.
func (s *projIndex) problems() []Problem {
	var out []Problem
	for _, p := range s.problemProjs() {
		out = append(out, s.problemOf(p))
	}
	return out
}

func (s *projIndex) problemOf(p *proj) Problem {
	pr := Problem{Path: p.path(), Pyproject: p.pyproject, Line: p.line, Message: p.problem}
	if p.problem == "" {
		pr.Name = p.name
		var paths []string
		for _, o := range s.byName[p.name] {
			paths = append(paths, o.path())
			if o != p {
				pr.Others = append(pr.Others, o.path())
			}
		}
		pr.Message = fmt.Sprintf("%d projects are named %q: %s; rename all but one in its pyproject.toml [project].name or give it a names override",
			len(paths), p.name, strings.Join(paths, ", "))
		if len(paths) == 2 {
			pr.Message = fmt.Sprintf("two projects are named %q: %s and %s; rename one in its pyproject.toml [project].name or give it a names override",
				p.name, paths[0], paths[1])
		}
	}
	return pr
}

// Problem is a directory holding a pyproject.toml that cannot be a tool
// project: its pyproject.toml has no name or a name that is not a valid tool
// name (or cannot be read as TOML, or at all), or another project has the
// same name. Such a directory is still a project: its files are its own, not
// the enclosing project's (exclude it to give them to the enclosing project).
// Discover, Detect and DiscoverDir report them; as an error a *Problem reads
// "FILE:LINE: MESSAGE".
type Problem struct {
	// Path is the project directory ("." for the root); Pyproject its
	// pyproject.toml, slash-separated, relative to the repository root.
	Path      string `json:"path"`
	Pyproject string `json:"pyproject"`
	// Line is the line of Pyproject the problem is on (a TOML syntax
	// error); 0 when it is about the whole file.
	Line int `json:"line,omitempty"`
	// Name is the tool name when it is valid: then Others lists the other
	// directories with that name.
	Name   string   `json:"name,omitempty"`
	Others []string `json:"others,omitempty"`
	// Message says what is wrong and how to fix it (Error adds the file
	// and line).
	Message string `json:"message"`
	// Change is what the range did to the project (Detect only; nil when
	// the range did not touch it). It is measured from the default base,
	// since a project without a usable name has no base of its own.
	Change *ProjectChange `json:"change,omitempty"`
}

// Error renders "FILE:LINE: MESSAGE" (or "FILE: MESSAGE").
func (p *Problem) Error() string { return fileLine(p.Pyproject, p.Line) + ": " + p.Message }

// pyprojectAt is one pyproject.toml found by pyprojects.
type pyprojectAt struct {
	dir   string
	entry treeEntry
}

// pyprojects lists the pyproject.toml files of tree root under roots: from
// the index when it describes exactly this tree, else by walking the trees.
func (r *Repo) pyprojects(root plumbing.Hash, roots []string) ([]pyprojectAt, error) {
	if files, ok := r.indexPyprojects(root); ok {
		r.discoveredFromIndex = true
		var out []pyprojectAt
		for _, f := range files {
			dir := path.Dir(f.path)
			if dir == "." {
				dir = ""
			}
			if underRoots(dir, roots) {
				out = append(out, pyprojectAt{dir, treeEntry{name: PyprojectFile, mode: f.mode, hash: f.hash}})
			}
		}
		return out, nil
	}
	r.discoveredFromIndex = false
	var out []pyprojectAt
	var walk func(tree plumbing.Hash, dir string) error
	walk = func(tree plumbing.Hash, dir string) error {
		ents, err := r.tree(tree)
		if err != nil {
			return err
		}
		if e := pyprojectEntry(ents); e != nil {
			out = append(out, pyprojectAt{dir, *e})
		}
		for k := range ents {
			if e := &ents[k]; e.isTree() {
				if err := walk(e.hash, joinPath(dir, e.name)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(roots) == 0 {
		roots = []string{""}
	}
	var done []string
	for _, rt := range roots {
		rt = cleanDir(rt)
		if slices.ContainsFunc(done, func(d string) bool { return d == "" || rt == d || strings.HasPrefix(rt, d+"/") }) {
			continue // the same root, or one inside a root already walked
		}
		done = append(done, rt)
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
	return out, nil
}

// pyprojectEntry returns the pyproject.toml file entry of a tree (a file or
// a symlink), if any.
func pyprojectEntry(ents []treeEntry) *treeEntry {
	e := findEntry(ents, PyprojectFile, false)
	if e == nil || !(e.mode.IsRegular() || e.mode == filemode.Symlink) {
		return nil
	}
	return e
}

// findEntry finds the entry called name in a tree's entries (sorted as git
// sorts them: a tree's name compares as if it ended in "/"): a tree when
// wantTree, else anything else.
func findEntry(ents []treeEntry, name string, wantTree bool) *treeEntry {
	probe := treeEntry{name: name, mode: filemode.Regular}
	if wantTree {
		probe.mode = filemode.Dir
	}
	i := sort.Search(len(ents), func(i int) bool { return entryCmp(&ents[i], &probe) >= 0 })
	if i < len(ents) && ents[i].name == name && ents[i].isTree() == wantTree {
		return &ents[i]
	}
	return nil
}

// splitDir splits a non-root directory into its parent ("" for the root)
// and its last name.
func splitDir(dir string) (parent, name string) {
	i := strings.LastIndexByte(dir, '/')
	if i < 0 {
		return "", dir
	}
	return dir[:i], dir[i+1:]
}

// dirOf returns the directory of a file path ("" for the root).
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// within reports whether dir is inside (or is) the directory top.
func within(dir, top string) bool {
	return top == "" || dir == top || strings.HasPrefix(dir, top+"/")
}

// nameResult is what a pyproject.toml gives: projectName's tool name, or
// why it gives none and the line of that problem; unreadable when the file
// could not be read as one (a symlink that loops, a file too large).
type nameResult struct {
	name       string
	line       int
	msg        string
	unreadable bool
}

// nameOf is projectName's result for data.
func nameOf(data []byte) nameResult {
	name, line, msg := projectName(data)
	return nameResult{name: name, line: line, msg: msg}
}

// projAt reads the project at dir of tree root, whose pyproject.toml entry
// is e (see newProj): the file's name is cached by blob. A file that gives
// no valid name or cannot be read as a file (a symlink that loops or leaves
// the repository) makes a project with a problem; err is set only when the
// object store fails.
func (r *Repo) projAt(root plumbing.Hash, dir string, e treeEntry, opts Options) (*proj, error) {
	return newProj(dir, opts, func() (nameResult, error) {
		file := joinPath(dir, PyprojectFile)
		if e.mode == filemode.Symlink {
			data, err := r.readFileFollow(root, file)
			var le *linkError
			if errors.As(err, &le) {
				return nameResult{msg: fmt.Sprintf("%s; fix the link, or set a names override for %q", le.msg, displayDir(dir)), unreadable: true}, nil
			}
			if le, ok := errors.AsType[*bounds.LimitError](err); ok {
				return nameResult{msg: "not read: " + le.Error()}, nil
			}
			if err != nil {
				return nameResult{}, err
			}
			return nameOf(data), nil
		}
		res, ok := r.names[e.hash]
		if !ok {
			data, err := r.blobBounded(e.hash)
			if le, ok := errors.AsType[*bounds.LimitError](err); ok {
				return nameResult{msg: "not read: " + le.Error()}, nil
			}
			if err != nil {
				return nameResult{}, fmt.Errorf("%s: %w", file, err)
			}
			res = nameOf(data)
			r.names[e.hash] = res
		}
		return res, nil
	})
}

// namesKey finds the Names entry for dir (keys are written as the user
// wrote them: "tools/x/", "./tools/x").
func namesKey(names map[string]string, dir string) (string, bool) {
	if _, ok := names[dir]; ok && dir != "" {
		return dir, true
	}
	var found string
	ok := false
	for k := range names {
		if cleanDir(k) == dir && (!ok || k < found) {
			found, ok = k, true
		}
	}
	return found, ok
}
