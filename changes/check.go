package changes

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// OptionError is a discovery option that cannot be right at the head
// commit: a root that is not a directory there, an include glob that
// matches no project there, a shared glob that matches no file there. Such
// a typo would otherwise read as "nothing changed" and release nothing,
// run after run, so Detect and Discover refuse it (and DiscoverDir reports
// it for the work tree).
type OptionError struct {
	// Field is "roots", "include" or "shared".
	Field string
	// Value is the root or glob as given.
	Value string
	// Msg says what is wrong, Fix how to fix it.
	Msg, Fix string
}

// Error reads `roots: "tool" is not a directory at head, …; fix: …`.
func (e *OptionError) Error() string {
	return fmt.Sprintf("%s: %q %s; fix: %s", e.Field, e.Value, e.Msg, e.Fix)
}

// checkOptions reports every root that is not a directory of the tree,
// every include glob that matches no project under the roots and every
// shared glob that matches no file (errors joined, each an *OptionError).
// The search stops at the first match, so a glob that matches costs a few
// tree reads, not a walk of the repository. Exclude globs are not checked:
// excluding what is not there is harmless.
func (s *projectSet) checkOptions() error {
	if s.check {
		return s.checks
	}
	var errs []error
	for _, rt := range s.opts.Roots {
		d := cleanDir(rt)
		if d == "" {
			continue
		}
		e, err := s.r.lookup(s.root, d)
		if err != nil {
			return err
		}
		if e == nil || !e.isTree() {
			errs = append(errs, rootError(rt, "at head"))
		}
	}
	for _, g := range s.opts.Include {
		ok, err := s.r.globExists(s.root, g, s.opts.Roots, true)
		if err != nil {
			return err
		}
		if !ok {
			errs = append(errs, includeError(g, s.opts.Roots, "at head"))
		}
	}
	for _, g := range slices.Sorted(maps.Keys(s.opts.Shared)) {
		ok, err := s.r.globExists(s.root, g, nil, false)
		if err != nil {
			return err
		}
		if !ok {
			errs = append(errs, sharedError(g, "at head"))
		}
	}
	s.checks, s.check = errors.Join(errs...), true
	return s.checks
}

// rootError, includeError and sharedError are the OptionErrors of a root,
// include glob or shared glob that matches nothing where ("at head", "in
// the work tree").
func rootError(root, where string) *OptionError {
	return &OptionError{Field: "roots", Value: root,
		Msg: "is not a directory " + where + ", so no project is found under it",
		Fix: "correct the path (relative to the repository root) or remove it"}
}

func includeError(glob string, roots []string, where string) *OptionError {
	under := ""
	if len(roots) > 0 {
		under = " under the roots " + strings.Join(roots, ", ")
	}
	return &OptionError{Field: "include", Value: glob,
		Msg: "matches no project (a directory with a pyproject.toml" + under + ") " + where,
		Fix: "correct the glob or remove it"}
}

func sharedError(glob, where string) *OptionError {
	return &OptionError{Field: "shared", Value: glob,
		Msg: "matches no file " + where + ", so a change there can never trigger its projects",
		Fix: "correct the glob or remove it"}
}

// globExists reports whether pattern (matchGlob's syntax: "**" spans
// directories, a pattern also matches everything below a directory it
// matches) matches something in tree root: a project directory under roots
// when project is set, else a file. It stops at the first match.
func (r *Repo) globExists(root plumbing.Hash, pattern string, roots []string, project bool) (bool, error) {
	pattern = strings.Trim(pattern, "/")
	if pattern == "." || pattern == "" { // the repository root only
		if !project || !underRoots("", roots) {
			return false, nil
		}
		ents, err := r.tree(root)
		return err == nil && pyprojectEntry(ents) != nil, err
	}
	g := globSearch{r: r, roots: roots, project: project}
	return g.match(root, "", strings.Split(pattern, "/"))
}

type globSearch struct {
	r       *Repo
	roots   []string
	project bool
}

// match reports whether the segments ps match something at or below dir
// (whose tree is tree).
func (g *globSearch) match(tree plumbing.Hash, dir string, ps []string) (bool, error) {
	if !g.mayHold(dir) {
		return false, nil
	}
	if len(ps) == 0 {
		return g.any(tree, dir)
	}
	ents, err := g.r.tree(tree)
	if err != nil {
		return false, err
	}
	if ps[0] == "**" {
		if ok, err := g.match(tree, dir, ps[1:]); ok || err != nil {
			return ok, err
		}
		for k := range ents {
			if e := &ents[k]; e.isTree() {
				if ok, err := g.match(e.hash, joinPath(dir, e.name), ps); ok || err != nil {
					return ok, err
				}
			}
		}
		return false, nil
	}
	for k := range ents {
		e := &ents[k]
		if ok, _ := path.Match(ps[0], e.name); !ok {
			continue
		}
		if e.isTree() {
			if ok, err := g.match(e.hash, joinPath(dir, e.name), ps[1:]); ok || err != nil {
				return ok, err
			}
		} else if !g.project && !slices.ContainsFunc(ps[1:], func(p string) bool { return p != "**" }) {
			return true, nil // a file the pattern names ("**" also matches nothing)
		}
	}
	return false, nil
}

// any reports whether the subtree at dir holds what is searched for: a
// project directory under the roots (dir itself or below), or any file.
func (g *globSearch) any(tree plumbing.Hash, dir string) (bool, error) {
	ents, err := g.r.tree(tree)
	if err != nil {
		return false, err
	}
	if !g.project {
		for k := range ents {
			if e := &ents[k]; !e.isTree() {
				return true, nil
			}
		}
	} else if underRoots(dir, g.roots) && pyprojectEntry(ents) != nil {
		return true, nil
	}
	for k := range ents {
		if e := &ents[k]; e.isTree() && g.mayHold(joinPath(dir, e.name)) {
			if ok, err := g.any(e.hash, joinPath(dir, e.name)); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

// mayHold reports whether a project under the roots can be at or below dir
// (always, when searching for files).
func (g *globSearch) mayHold(dir string) bool {
	if !g.project || underRoots(dir, g.roots) {
		return true
	}
	for _, rt := range g.roots {
		if within(cleanDir(rt), dir) {
			return true
		}
	}
	return false
}
