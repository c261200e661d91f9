package changes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrNoRemote is returned by RemoteBranchTips for a repository without the
// remote (a local repository, the emulator's own checkout).
var ErrNoRemote = errors.New("no such remote")

// BranchTip returns the commit the local refs say the tip of branch is:
// refs/remotes/<remote>/<branch> (what the last fetch saw of the remote
// branch, which is what a CI checkout and a `git pull` leave behind) when it
// exists, else refs/heads/<branch>. ref names the ref it read; both are ""
// when neither ref exists.
func (r *Repo) BranchTip(remote, branch string) (sha, ref string, err error) {
	if remote == "" {
		remote = git.DefaultRemoteName
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range []string{"refs/remotes/" + remote + "/" + branch, "refs/heads/" + branch} {
		rf, rerr := storer.ResolveReference(r.st, plumbing.ReferenceName(name))
		if rerr != nil || rf.Type() != plumbing.HashReference {
			continue
		}
		c, perr := r.peel(rf.Hash())
		if perr != nil {
			return "", name, fmt.Errorf("%s names %s, which is not a commit here: %w", name, rf.Hash(), perr)
		}
		return c.String(), name, nil
	}
	return "", "", nil
}

// RemoteBranchTips reads the branch tips of a remote now (git ls-remote
// --heads), sending opts' credentials only to opts.Host (see
// DeepenOptions). It returns the branches by name and the remote's URL;
// ErrNoRemote when the repository has no such remote.
func (r *Repo) RemoteBranchTips(ctx context.Context, opts DeepenOptions) (map[string]string, string, error) {
	r.mu.Lock()
	rem, err := r.git.Remote(opts.remote())
	auth := r.auth(opts)
	r.mu.Unlock()
	if errors.Is(err, git.ErrRemoteNotFound) {
		return nil, "", fmt.Errorf("%s: %w", opts.remote(), ErrNoRemote)
	}
	if err != nil {
		return nil, "", fmt.Errorf("remote %s: %w", opts.remote(), err)
	}
	url := ""
	if urls := rem.Config().URLs; len(urls) > 0 {
		url = redactURL(urls[0])
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return nil, url, fmt.Errorf("list the branches of %s (%s): %w", opts.remote(), url, err)
	}
	out := map[string]string{}
	for _, ref := range refs {
		if name := ref.Name(); name.IsBranch() && ref.Type() == plumbing.HashReference {
			out[name.Short()] = ref.Hash().String()
		}
	}
	return out, url, nil
}

// redactURL drops user info from a remote URL before it is shown.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 && at < strings.IndexByte(rest+"/", '/') {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
