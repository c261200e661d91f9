package changes

import (
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// entryLess orders tree entries as git does: by name, with a tree's name
// compared as if it ended in "/".
func entryCmp(a, b *treeEntry) int {
	an, bn := a.name, b.name
	n := min(len(an), len(bn))
	for i := 0; i < n; i++ {
		if an[i] != bn[i] {
			if an[i] < bn[i] {
				return -1
			}
			return 1
		}
	}
	ac, bc := byte(0), byte(0)
	if len(an) > n {
		ac = an[n]
	} else if a.isTree() {
		ac = '/'
	}
	if len(bn) > n {
		bc = bn[n]
	} else if b.isTree() {
		bc = '/'
	}
	switch {
	case ac < bc:
		return -1
	case ac > bc:
		return 1
	}
	if len(an) == len(bn) && a.isTree() != b.isTree() {
		// Same name, blob vs tree: the blob sorts first.
		if a.isTree() {
			return 1
		}
		return -1
	}
	return 0
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// diffTrees appends to out the paths of files (blobs, symlinks, submodules)
// that differ between trees a and b (either may be zero). It descends only
// into subtrees whose hashes differ; renames are not detected, so a move
// yields both paths. Mode changes count.
func (r *Repo) diffTrees(a, b plumbing.Hash, prefix string, out []string) ([]string, error) {
	if a == b {
		return out, nil
	}
	ta, err := r.tree(a)
	if err != nil {
		return out, err
	}
	tb, err := r.tree(b)
	if err != nil {
		return out, err
	}
	i, j := 0, 0
	for i < len(ta) || j < len(tb) {
		var c int
		switch {
		case i == len(ta):
			c = 1
		case j == len(tb):
			c = -1
		default:
			c = entryCmp(&ta[i], &tb[j])
		}
		switch {
		case c < 0:
			e := &ta[i]
			if out, err = r.listEntry(e, prefix, out); err != nil {
				return out, err
			}
			i++
		case c > 0:
			e := &tb[j]
			if out, err = r.listEntry(e, prefix, out); err != nil {
				return out, err
			}
			j++
		default:
			ea, eb := &ta[i], &tb[j]
			if ea.hash != eb.hash || ea.mode != eb.mode {
				p := joinPath(prefix, ea.name)
				if ea.isTree() {
					if out, err = r.diffTrees(ea.hash, eb.hash, p, out); err != nil {
						return out, err
					}
				} else {
					out = append(out, p)
				}
			}
			i++
			j++
		}
	}
	return out, nil
}

// diffUnder is diffTrees restricted to the directories dirs ("." is the
// whole tree); nested directories are diffed once.
func (r *Repo) diffUnder(a, b plumbing.Hash, dirs []string) ([]string, error) {
	dirs = slices.Clone(dirs)
	slices.Sort(dirs)
	var out []string
	last := ""
	for _, d := range dirs {
		if d == "." {
			return r.diffTrees(a, b, "", nil)
		}
		if last != "" && (d == last || strings.HasPrefix(d, last+"/")) {
			continue
		}
		last = d
		var ha, hb plumbing.Hash
		for i, root := range []plumbing.Hash{a, b} {
			e, err := r.lookup(root, d)
			if err != nil {
				return nil, err
			}
			switch {
			case e == nil:
			case e.isTree():
				if i == 0 {
					ha = e.hash
				} else {
					hb = e.hash
				}
			default:
				out = append(out, d) // a file where the directory is (or was)
			}
		}
		var err error
		if out, err = r.diffTrees(ha, hb, d, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// listEntry appends e's path, or every file under it when it is a tree.
func (r *Repo) listEntry(e *treeEntry, prefix string, out []string) ([]string, error) {
	p := joinPath(prefix, e.name)
	if !e.isTree() {
		return append(out, p), nil
	}
	return r.diffTrees(plumbing.ZeroHash, e.hash, p, out)
}

// commitPaths returns the paths commit c changed versus its first parent
// (all its files for a root commit), cached per commit.
func (r *Repo) commitPaths(c *commitNode) ([]string, error) {
	if ps, ok := r.diffs[c.hash]; ok {
		return ps, nil
	}
	var parentTree plumbing.Hash
	if len(c.parents) > 0 && !r.shallowSet()[c.hash] {
		p, err := r.commit(c.parents[0])
		if err != nil {
			return nil, r.missingCommit(err, c.parents[0], "parent of "+c.hash.String())
		}
		parentTree = p.tree
	}
	ps, err := r.diffTrees(parentTree, c.tree, "", nil)
	if err != nil {
		return nil, err
	}
	r.diffs[c.hash] = ps
	return ps, nil
}

// lookup finds the entry at slash-separated path p under tree root.
func (r *Repo) lookup(root plumbing.Hash, p string) (*treeEntry, error) {
	cur := root
	for {
		name, rest, more := cut(p, '/')
		ents, err := r.tree(cur)
		if err != nil {
			return nil, err
		}
		var found *treeEntry
		for k := range ents {
			if ents[k].name == name {
				found = &ents[k]
				if !more || found.isTree() {
					break
				}
			}
		}
		if found == nil {
			return nil, nil
		}
		if !more {
			return found, nil
		}
		if !found.isTree() {
			return nil, nil
		}
		cur, p = found.hash, rest
	}
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
