package changes

import (
	"fmt"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Attribution: which projects a changed file counts for.
//
// A file counts for the project that owns it at head (the deepest project
// directory above it; see projectSet) and for the projects that a shared
// glob matching it names. Inside a range the project layout can change: a
// project moves (its pyproject.toml is deleted in one directory and added
// in another, with the same name), is renamed, removed or created. A tool
// is its name wherever its directory goes, so a file under a directory
// whose project changed inside the range (baseRange.layout), or in a
// directory that no longer exists at head, is attributed by the tree that
// holds it: the commit's own tree, or its parent's for a file the commit
// deleted. The project owning it there is mapped to head by name (moved),
// else by directory (renamed in place), else to the project removed in
// range. A project created inside the range keeps the files that were
// already in its directory: they are its files now.

// attributeCommits counts the files of the range's net change per project
// and lists each project's commits (each commit diffed against its first
// parent; merges are skipped, the merged branch's commits count).
func (d *detection) attributeCommits(b *baseRange) error {
	if err := d.layoutChanges(b); err != nil {
		return err
	}
	for _, p := range b.changed {
		err := d.attribute(b, d.head.tree, b.baseTree, p, func(t *proj) { b.files[t]++ })
		if err != nil {
			return err
		}
	}
	for i, c := range b.commits {
		if i%256 == 255 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		if !d.attributed(c) {
			continue
		}
		paths, err := d.r.commitPaths(c)
		if err != nil {
			return err
		}
		parent, err := d.parentTree(c)
		if err != nil {
			return err
		}
		var seen []*proj
		for _, p := range paths {
			err := d.attribute(b, c.tree, parent, p, func(t *proj) {
				if !slices.Contains(seen, t) {
					seen = append(seen, t)
					b.perProject[t] = append(b.perProject[t], c.hash)
				}
			})
			if err != nil {
				return err
			}
		}
		if _, ok := d.msgs[c.hash]; !ok {
			d.msgs[c.hash] = ParseMessage(c.message)
		}
	}
	return nil
}

// attributed reports whether c's own changes are attributed: merges are
// not (the merged branch's commits are), except at the edge of a shallow
// clone, where a merge's parents are missing.
func (d *detection) attributed(c *commitNode) bool {
	return len(c.parents) <= 1 || d.r.shallowSet()[c.hash]
}

// parentTree returns the tree of c's first parent (zero for a root commit
// or one at the edge of a shallow clone).
func (d *detection) parentTree(c *commitNode) (plumbing.Hash, error) {
	if len(c.parents) == 0 || d.r.shallowSet()[c.hash] {
		return plumbing.ZeroHash, nil
	}
	pc, err := d.r.commit(c.parents[0])
	if err != nil {
		return plumbing.ZeroHash, d.r.missingCommit(err, c.parents[0], "parent of "+c.hash.String())
	}
	return pc.tree, nil
}

// attribute calls fn once for each project the file p counts for in a
// change from tree parent to tree tree.
func (d *detection) attribute(b *baseRange, tree, parent plumbing.Hash, p string, fn func(*proj)) error {
	dir := dirOf(p)
	info, err := d.set.info(dir)
	if err != nil {
		return err
	}
	t := info.owner
	if info.tree.IsZero() || d.layoutChanged(b, dir) {
		if t, err = d.historic(b, tree, parent, p, t); err != nil {
			return err
		}
	}
	if t != nil {
		fn(t)
	}
	if len(d.opts.Shared) == 0 {
		return nil
	}
	names, err := d.sharedFor(p)
	if err != nil {
		return err
	}
	for _, n := range names {
		ps, err := d.set.named(n)
		if err != nil {
			return err
		}
		for _, sp := range ps {
			if sp != t {
				fn(sp)
			}
		}
	}
	return nil
}

// sharedFor returns the names (sorted, once each) of the projects that the
// shared globs matching p trigger; AllProjects names every project at head.
func (d *detection) sharedFor(p string) ([]string, error) {
	var out []string
	for _, g := range slices.Sorted(maps.Keys(d.opts.Shared)) {
		if !matchGlob(g, p) {
			continue
		}
		for _, n := range d.opts.Shared[g] {
			if n != AllProjects {
				out = append(out, n)
				continue
			}
			if err := d.set.readAll(); err != nil {
				return nil, err
			}
			out = append(out, slices.Collect(maps.Keys(d.set.byName))...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// layoutChanged reports whether the project owning dir changes inside the
// range: dir or a directory above it is in b.layout.
func (d *detection) layoutChanged(b *baseRange, dir string) bool {
	if len(b.layout) == 0 {
		return false
	}
	for {
		if b.layout[dir] {
			return true
		}
		if dir == "" {
			return false
		}
		dir, _ = splitDir(dir)
	}
}

// layoutChanges fills b.layout: the directories where a commit of the range
// (or the net change) adds or deletes a pyproject.toml, or changes the name
// it gives. A pyproject.toml edit that keeps the name (a version bump, a new
// dependency) changes nothing.
func (d *detection) layoutChanges(b *baseRange) error {
	b.layout = map[string]bool{}
	check := func(tree, parent plumbing.Hash, p string) error {
		dir, ok := pyprojectDir(p)
		if !ok || b.layout[dir] || !d.set.candidate(dir) {
			return nil
		}
		same, err := d.sameProject(tree, parent, dir)
		if err == nil && !same {
			b.layout[dir] = true
		}
		return err
	}
	for _, p := range b.changed {
		if err := check(d.head.tree, b.baseTree, p); err != nil {
			return err
		}
	}
	for _, c := range b.commits {
		if !d.attributed(c) {
			continue
		}
		paths, err := d.r.commitPaths(c)
		if err != nil {
			return err
		}
		var parent plumbing.Hash
		for _, p := range paths {
			if _, ok := pyprojectDir(p); !ok {
				continue
			}
			if parent.IsZero() {
				if parent, err = d.parentTree(c); err != nil {
					return err
				}
			}
			if err := check(c.tree, parent, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameProject reports whether trees a and b hold the same project at dir:
// both none, or both one with the same name (or the same problem).
func (d *detection) sameProject(a, b plumbing.Hash, dir string) (bool, error) {
	pa, err := d.projectIn(a, dir)
	if err != nil {
		return false, err
	}
	pb, err := d.projectIn(b, dir)
	if err != nil || pa == nil || pb == nil {
		return pa == nil && pb == nil, err
	}
	return pa.name == pb.name && pa.problem == pb.problem, nil
}

// projectIn reads the project at dir of tree root (nil: none there).
func (d *detection) projectIn(root plumbing.Hash, dir string) (*proj, error) {
	if root.IsZero() {
		return nil, nil
	}
	e, err := d.r.lookup(root, joinPath(dir, PyprojectFile))
	if err != nil || e == nil || !(e.mode.IsRegular() || e.mode == filemode.Symlink) {
		return nil, err
	}
	return d.r.projAt(root, dir, *e, d.opts)
}

// historic returns the project that file p counts for when it changed from
// tree parent to tree tree, by the project that owned it in the tree that
// holds it; o is its owner at head.
func (d *detection) historic(b *baseRange, tree, parent plumbing.Hash, p string, o *proj) (*proj, error) {
	holder := tree
	if e, err := d.r.lookup(tree, p); err != nil {
		return nil, err
	} else if e == nil {
		holder = parent // deleted by this change
	}
	h, err := d.ownerIn(holder, p)
	if err != nil || h == nil {
		return o, err
	}
	if o != nil && within(o.dir, h.dir) {
		// The same project, or one created inside it later: the file is
		// the head owner's now.
		return o, nil
	}
	if h.name != "" {
		ps, err := d.set.named(h.name)
		if err != nil {
			return nil, err
		}
		for _, hp := range ps {
			if hp.dir == h.dir {
				return hp, nil
			}
		}
		if len(ps) > 0 {
			d.moved(ps[0], h.dir)
			return ps[0], nil
		}
		if rp := b.removed[h.name]; rp != nil {
			return rp, nil
		}
	}
	if hp, err := d.set.at(h.dir); err != nil || hp != nil {
		return hp, err // renamed in place, or now without a usable name
	}
	return o, nil // a project that came and went inside the range
}

// ownerIn returns the project owning the file p in tree root (nil: none),
// read from that tree.
func (d *detection) ownerIn(root plumbing.Hash, p string) (*proj, error) {
	if root.IsZero() {
		return nil, nil
	}
	var best *treeEntry
	bestDir := ""
	tree, dir, rest := root, "", dirOf(p)
	for {
		ents, err := d.r.tree(tree)
		if err != nil {
			return nil, err
		}
		if d.set.candidate(dir) {
			if e := pyprojectEntry(ents); e != nil {
				best, bestDir = e, dir
			}
		}
		if rest == "" {
			break
		}
		name, more, _ := cut(rest, '/')
		e := findEntry(ents, name, true)
		if e == nil {
			break
		}
		tree, dir, rest = e.hash, joinPath(dir, name), more
	}
	if best == nil {
		return nil, nil
	}
	return d.r.projAt(root, bestDir, *best, d.opts)
}

// moved records that the project p was at dir earlier in the range.
func (d *detection) moved(p *proj, dir string) {
	if d.movedFrom == nil {
		d.movedFrom = map[*proj][]string{}
	}
	if !slices.Contains(d.movedFrom[p], dir) {
		d.movedFrom[p] = append(d.movedFrom[p], dir)
	}
}

// moveNotes says where the project p was before it moved inside the range.
func (d *detection) moveNotes(p *proj) []string {
	var notes []string
	for _, dir := range slices.Sorted(slices.Values(d.movedFrom[p])) {
		notes = append(notes, fmt.Sprintf("moved from %s to %s inside the range: the commits made in %s count for it", displayDir(dir), p.path(), displayDir(dir)))
	}
	return notes
}
