package changes

import (
	"errors"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// CountCommits returns how many commits are reachable from head but not
// from base (git rev-list --count base..head). Both are revisions as
// Resolve accepts.
func (r *Repo) CountCommits(base, head string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	bh, err := r.resolveHash(base)
	if err != nil {
		return 0, err
	}
	hh, err := r.resolveHash(head)
	if err != nil {
		return 0, err
	}
	cs, err := r.rangeCommits(hh, bh)
	if err != nil {
		return 0, err
	}
	return len(cs), nil
}

// Tag is a tag of the repository, peeled to its commit.
type Tag struct {
	// Name is the tag's name without refs/tags/.
	Name string
	// Commit is the commit it names (annotated tags are peeled).
	Commit string
}

// Tags lists the tags whose name starts with prefix, by name. Tags that do
// not name a commit are left out.
func (r *Repo) Tags(prefix string) ([]Tag, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	iter, err := r.st.IterReferences()
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	var out []Tag
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		name, ok := strings.CutPrefix(ref.Name().String(), "refs/tags/")
		if !ok || !strings.HasPrefix(name, prefix) || ref.Type() != plumbing.HashReference {
			return nil
		}
		c, err := r.peel(ref.Hash())
		if errors.Is(err, ErrDamaged) {
			return err
		}
		if err == nil {
			out = append(out, Tag{Name: name, Commit: c.String()})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// RemoteURL returns the first URL of the named remote (e.g. "origin"), or
// "" when there is none.
func (r *Repo) RemoteURL(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	rem, err := r.git.Remote(name)
	if err != nil || len(rem.Config().URLs) == 0 {
		return ""
	}
	return rem.Config().URLs[0]
}
