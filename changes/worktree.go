package changes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
// exclude, names overrides, one name per project) over the files as they
// are now, so that edits not yet committed count. Like git it skips .git
// and whatever .gitignore files and .git/info/exclude ignore (a virtual
// environment, a build directory), and it does not follow symbolic links
// to directories. Paths in Projects and errors are slash-separated and
// relative to root. Every problem is reported: the error joins one per
// project, each a *ProjectError where it is about one file, and the
// projects without a problem are returned with it (a checker goes on with
// them).
func DiscoverDir(root string, opts Options) ([]Project, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ign := &ignorer{}
	ign.load(filepath.Join(root, ".git", "info", "exclude"), nil)
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
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
		if d.Name() != PyprojectFile || ign.match(segs, false) {
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
		return nil, fmt.Errorf("list the projects under %s: %w", root, err)
	}
	return projectsFrom(dirs, opts, func(_, file string) ([]byte, error) {
		return readBounded(filepath.Join(root, filepath.FromSlash(file)), file)
	})
}

// readBounded reads a pyproject.toml of at most MaxPyprojectSize bytes;
// name is how errors call it.
func readBounded(p, name string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, &ProjectError{File: name, Msg: unwrapPathError(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPyprojectSize+1))
	if err != nil {
		return nil, &ProjectError{File: name, Msg: unwrapPathError(err)}
	}
	if len(data) > MaxPyprojectSize {
		return nil, &ProjectError{File: name, Msg: fmt.Sprintf("larger than %d bytes: not a project file", MaxPyprojectSize)}
	}
	return data, nil
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
