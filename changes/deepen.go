package changes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
)

// fullDepth is what `git fetch --unshallow` asks for. go-git treats Depth 0
// as "no depth change", which on a shallow clone silently fetches nothing.
const fullDepth = 0x7fffffff

// DeepenOptions say how to fetch more history into a shallow clone.
type DeepenOptions struct {
	// Remote is the remote name (default "origin").
	Remote string
	// Depth is the number of commits to fetch from each remote branch tip;
	// 0 or less means the whole history (like `git fetch --unshallow`).
	Depth int
	// Username and Password authenticate HTTP(S) remotes (GitHub:
	// "x-access-token" and a token; Azure DevOps: any name and a PAT).
	Username, Password string
	// Host, when set, is the only host the credentials are sent to (e.g.
	// "github.com"): a remote elsewhere is fetched without them.
	Host string
}

func (o DeepenOptions) remote() string {
	if o.Remote == "" {
		return git.DefaultRemoteName
	}
	return o.Remote
}

// auth is the credentials for the remote, or nil when there are none or
// the remote is not on o.Host.
func (r *Repo) auth(o DeepenOptions) transport.AuthMethod {
	if o.Username == "" && o.Password == "" {
		return nil
	}
	if o.Host != "" {
		rem, err := r.git.Remote(o.remote())
		if err != nil || len(rem.Config().URLs) == 0 {
			return nil
		}
		ep, err := transport.NewEndpoint(rem.Config().URLs[0])
		if err != nil || !strings.EqualFold(ep.Host, o.Host) || (ep.Protocol != "https" && ep.Protocol != "http") {
			return nil
		}
	}
	return &http.BasicAuth{Username: o.Username, Password: o.Password}
}

// Deepen fetches more history from a remote into a shallow clone and then
// repairs .git/shallow: go-git appends new boundary commits but never drops
// the old ones, which would leave the git CLI (and later fetches) seeing a
// truncated history. Lines for commits whose parents are now all present
// are removed. Deepen on a complete clone is a no-op.
func (r *Repo) Deepen(ctx context.Context, opts DeepenOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deepen(ctx, opts)
}

func (r *Repo) deepen(ctx context.Context, opts DeepenOptions) error {
	if !r.isShallowRepo() {
		return nil
	}
	depth := opts.Depth
	if depth <= 0 {
		depth = fullDepth
	}
	err := r.git.FetchContext(ctx, &git.FetchOptions{
		RemoteName: opts.remote(),
		Depth:      depth,
		Auth:       r.auth(opts),
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch --depth %d from %s: %w", depth, opts.remote(), err)
	}
	return r.repairShallow()
}

// fetchCommit fetches one commit by SHA (it needs server support:
// uploadpack.allowReachableSHA1InWant or allowAnySHA1InWant; GitHub allows
// it) with its full history.
func (r *Repo) fetchCommit(ctx context.Context, opts DeepenOptions, sha string) error {
	spec := config.RefSpec(sha + ":refs/amigo-release/fetched/" + sha)
	err := r.git.FetchContext(ctx, &git.FetchOptions{
		RemoteName: opts.remote(),
		RefSpecs:   []config.RefSpec{spec},
		Depth:      fullDepth,
		Auth:       r.auth(opts),
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch commit %s from %s (the server must allow fetching by SHA): %w", sha, opts.remote(), err)
	}
	r.resetCaches()
	return r.repairShallow()
}

// repairShallow drops .git/shallow lines for commits whose parents are all
// present, and resets the caches (a commit's parents may have appeared).
func (r *Repo) repairShallow() error {
	r.resetCaches()
	hs, err := r.st.Shallow()
	if err != nil {
		return fmt.Errorf("read .git/shallow: %w", err)
	}
	var keep []plumbing.Hash
	for _, h := range hs {
		c, err := r.commit(h)
		if err != nil {
			continue // not present at all: drop the stale line
		}
		complete := true
		for _, p := range c.parents {
			if _, err := r.commit(p); err != nil {
				complete = false
				break
			}
		}
		if !complete {
			keep = append(keep, h)
		}
	}
	switch {
	case len(keep) == len(hs):
	case len(keep) == 0:
		// An empty shallow file still marks the clone shallow for some
		// tools: remove it, as `git fetch --unshallow` does.
		if err := os.Remove(filepath.Join(r.common, "shallow")); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("repair .git/shallow: %w", err)
		}
	default:
		if err := r.st.SetShallow(keep); err != nil {
			return fmt.Errorf("repair .git/shallow: %w", err)
		}
	}
	r.resetCaches()
	return nil
}
