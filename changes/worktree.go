package changes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// MaxPyprojectSize bounds the pyproject.toml files DiscoverDir reads.
const MaxPyprojectSize = 1 << 20

// maxIgnoreFileSize bounds the .gitignore files DiscoverDir reads.
const maxIgnoreFileSize = 1 << 20

// WorkTree returns the root of the git work tree holding dir (the nearest
// directory, dir or above, with a .git directory or file) and true; or dir
// itself and false when dir is in no work tree.
func WorkTree(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir, false
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, true
		}
		if filepath.Dir(d) == d {
			return abs, false
		}
	}
}

// DiscoverDir lists the projects in the directory root as it is on disk,
// not in a commit: the same rules as Discover (discovery roots, include and
// exclude, names overrides, a name two projects share, roots and globs that
// match nothing) over the files as they are now, so that edits not yet
// committed count. Like git it skips .git and whatever .gitignore files and
// .git/info/exclude ignore (a virtual environment, a build directory), and
// it does not follow symbolic links to directories. Paths are
// slash-separated and relative to root.
//
// projects and problems are as Discover's (a pyproject.toml that cannot be
// read, or is over MaxPyprojectSize, is a problem too). err is set for bad
// options, a directory that cannot be walked, and a root, include or shared
// glob that matches nothing in the work tree (an *OptionError each, joined);
// unlike Discover, which refuses then, the projects and problems found are
// returned with the latter, so that a checker lists everything at once.
func DiscoverDir(root string, opts Options) (projects []Project, problems []Problem, err error) {
	if err := opts.Validate(); err != nil {
		return nil, nil, err
	}
	ign := &ignorer{}
	ign.load(filepath.Join(root, ".git", "info", "exclude"), nil)
	var dirs []string
	shared := map[string]bool{} // the shared globs that match a file
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		var segs []string
		if rel != "" {
			segs = strings.Split(rel, "/")
		}
		if d.IsDir() {
			if rel != "" && (d.Name() == ".git" || ign.match(segs, true)) {
				return filepath.SkipDir
			}
			ign.load(filepath.Join(p, ".gitignore"), segs)
			return nil
		}
		if ign.match(segs, false) {
			return nil
		}
		for g := range opts.Shared {
			if !shared[g] && matchGlob(g, rel) {
				shared[g] = true
			}
		}
		if d.Name() != PyprojectFile {
			return nil
		}
		dir := path.Dir(rel)
		if dir == "." {
			dir = ""
		}
		if underRoots(dir, opts.Roots) {
			dirs = append(dirs, dir)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list the projects under %s: %w", root, err)
	}
	if len(dirs) > MaxProjects {
		return nil, nil, tooManyProjects(len(dirs))
	}
	idx := newProjIndex()
	for _, dir := range dirs {
		if !included(dir, opts) {
			continue
		}
		p, err := newProj(dir, opts, func() (nameResult, error) {
			file := joinPath(dir, PyprojectFile)
			data, problem := readBounded(filepath.Join(root, filepath.FromSlash(file)))
			if problem != "" {
				return nameResult{msg: problem, unreadable: true}, nil
			}
			return nameOf(data), nil
		})
		if err != nil {
			return nil, nil, err
		}
		idx.add(p)
	}
	return idx.projects(), idx.problems(), checkDirOptions(root, opts, dirs, shared)
}

// checkDirOptions is checkOptions for a work tree: every root that is not a
// directory, every include glob that matches none of dirs (the project
// directories under the roots) and every shared glob that matched no file
// in the walk.
func checkDirOptions(root string, opts Options, dirs []string, shared map[string]bool) error {
	const where = "in the work tree"
	var errs []error
	for _, rt := range opts.Roots {
		d := cleanDir(rt)
		if d == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(d))); err != nil || !fi.IsDir() {
			errs = append(errs, rootError(rt, where))
		}
	}
	for _, g := range opts.Include {
		if !slices.ContainsFunc(dirs, func(d string) bool { return matchGlob(g, displayDir(d)) }) {
			errs = append(errs, includeError(g, opts.Roots, where))
		}
	}
	for _, g := range slices.Sorted(maps.Keys(opts.Shared)) {
		if !shared[g] {
			errs = append(errs, sharedError(g, where))
		}
	}
	return errors.Join(errs...)
}

// readBounded reads a pyproject.toml of at most MaxPyprojectSize bytes, or
// says why it cannot.
func readBounded(p string) (data []byte, problem string) {
	f, err := os.Open(p)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, MaxPyprojectSize+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if len(data) > MaxPyprojectSize {
		return nil, fmt.Sprintf("larger than %d bytes: not a project file", MaxPyprojectSize)
	}
	return data, ""
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ignorer holds the gitignore patterns seen so far in a walk.
type ignorer struct{ patterns []gitignore.Pattern }

// load adds the patterns of the ignore file at p, whose directory is domain
// (path segments from the root); a missing file adds nothing.
func (g *ignorer) load(p string, domain []string) {
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxIgnoreFileSize))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		g.patterns = append(g.patterns, gitignore.ParsePattern(line, append([]string(nil), domain...)))
	}
}

func (g *ignorer) match(segs []string, isDir bool) bool {
	return len(g.patterns) > 0 && gitignore.NewMatcher(g.patterns).Match(segs, isDir)
}
