package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a git repository written with go-git, so that the demo needs no
// git binary: a fresh machine with only Go can run it.
type Repo struct {
	// Dir is the work tree.
	Dir string
	// Author signs every commit (default "Demo Dev <dev@example.com>").
	Author object.Signature

	r    *git.Repository
	next time.Time
}

// epoch is the author time of a new repository's first commit; each later
// commit is an hour after the previous one, so histories are reproducible
// and date-ordered.
var epoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// InitRepo creates an empty repository in dir (created if missing) whose
// HEAD is the branch main.
func InitRepo(dir string) (*Repo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	if err != nil {
		return nil, fmt.Errorf("git init %s: %w", dir, err)
	}
	return &Repo{Dir: dir, r: r, next: epoch, Author: object.Signature{Name: "Demo Dev", Email: "dev@example.com"}}, nil
}

// Commit writes files (slash-separated paths relative to the work tree; an
// empty content deletes the file) and commits every change with msg. It
// returns the new commit's SHA.
func (r *Repo) Commit(msg string, files map[string]string) (string, error) {
	wt, err := r.r.Worktree()
	if err != nil {
		return "", fmt.Errorf("worktree: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if files[name] == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return "", fmt.Errorf("delete %s: %w", name, err)
			}
			if _, err := wt.Remove(name); err != nil {
				return "", fmt.Errorf("git rm %s: %w", name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("create the directory of %s: %w", name, err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", name, err)
		}
		if _, err := wt.Add(name); err != nil {
			return "", fmt.Errorf("git add %s: %w", name, err)
		}
	}
	sig := r.Author
	sig.When = r.next
	r.next = r.next.Add(time.Hour)
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &sig, Committer: &sig, AllowEmptyCommits: true})
	if err != nil {
		return "", fmt.Errorf("git commit %q: %w", firstLine(msg), err)
	}
	return h.String(), nil
}

// Head returns the SHA of HEAD.
func (r *Repo) Head() (string, error) {
	ref, err := r.r.Head()
	if err != nil {
		return "", fmt.Errorf("HEAD: %w", err)
	}
	return ref.Hash().String(), nil
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
