package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// remoteTipTimeout bounds one read of the remote's branches (wall-clock: a
// network guard, not simulated time).
const remoteTipTimeout = 30 * time.Second

// tipChecker knows where each stage's branch tip is. The Amigo API tests
// and publishes the tip of a branch (the team's repository), never a
// commit, so the commit being released must be that tip: before the first
// mutating call (check) and, for a version adopted after a test, again
// after the test (tipNow).
type tipChecker struct {
	repo   *changes.Repo
	remote *changes.DeepenOptions // nil: the local refs only

	mu sync.Mutex
	// remoteRead: the remote answered at the start, so later reads use it
	// too (a remote that did not answer then is not waited for again).
	remoteRead bool
}

func (c *tipChecker) remoteName() string {
	if c.remote == nil || c.remote.Remote == "" {
		return "origin"
	}
	return c.remote.Remote
}

// branchesOf lists, once each and in plan order, the branches the stages
// build.
func branchesOf(stages []promote.Stage) (branches []string, stagesOf map[string][]string) {
	stagesOf = map[string][]string{}
	for _, st := range stages {
		if !slices.Contains(branches, st.Branch) {
			branches = append(branches, st.Branch)
		}
		stagesOf[st.Branch] = append(stagesOf[st.Branch], st.Name)
	}
	return branches, stagesOf
}

// check checks that head is the tip of every stage's branch: on the remote
// when it can be read (with the CI's token, sent only to its own host),
// else by the local refs (refs/remotes/origin/<branch>, else
// refs/heads/<branch>). It returns one problem per branch that is not at
// head, and warnings about what it could not read.
func (c *tipChecker) check(ctx context.Context, head string, stages []promote.Stage) (problems []Problem, warnings []string, notes []string) {
	branches, stagesOf := branchesOf(stages)
	remote, url, rerr := c.readRemote(ctx)
	switch {
	case rerr == nil:
		c.mu.Lock()
		c.remoteRead = true
		c.mu.Unlock()
	case errors.Is(rerr, changes.ErrNoRemote):
		notes = append(notes, fmt.Sprintf("branch tips checked against the local refs: the repository has no remote %s", c.remoteName()))
	case c.remote != nil:
		warnings = append(warnings, fmt.Sprintf("could not read the branch tips of %s, so they were checked against the local refs only: %v", c.remoteName(), rerr))
	}
	for _, b := range branches {
		word := "stage"
		if len(stagesOf[b]) > 1 {
			word = "stages"
		}
		where := fmt.Sprintf("branch %s (%s %s)", b, word, strings.Join(stagesOf[b], ", "))
		local, ref, lerr := c.repo.BranchTip(c.remoteName(), b)
		var tip, source string
		switch {
		case rerr == nil:
			t, ok := remote[b]
			if !ok {
				problems = append(problems, Problem{Where: where, Err: fmt.Errorf(
					"%s (%s) has no branch %s, whose tip the Amigo server tests and publishes; fix: push the branch, or set the stage's branch (stages[].branch or defaults.branch) to the team branch", c.remoteName(), url, b)})
				continue
			}
			tip, source = t, fmt.Sprintf("%s's %s (read from %s now)", c.remoteName(), b, url)
		case lerr != nil:
			problems = append(problems, Problem{Where: where, Err: lerr})
			continue
		case ref == "":
			problems = append(problems, Problem{Where: where, Err: fmt.Errorf(
				"cannot tell whether %s is the tip of %s: neither refs/remotes/%s/%s nor refs/heads/%s exists here, and %s could not be read; fix: fetch the branch (git fetch %s %s), or release from a checkout of it",
				changes.ShortSHA(head), b, c.remoteName(), b, b, c.remoteName(), c.remoteName(), b)})
			continue
		default:
			tip, source = local, ref
		}
		if sameCommit(tip, head) {
			continue
		}
		problems = append(problems, Problem{Where: where, Err: fmt.Errorf(
			"the commit being released, %s, is not the tip of %s: %s is at %s. The Amigo API tests and publishes the branch tip, not a commit, so releasing %s would test and publish %s, which was not analysed; fix: release from the tip (check out %s and pull, or rerun the workflow of the latest push to %s: it releases these changes too)",
			changes.ShortSHA(head), b, source, changes.ShortSHA(tip), changes.ShortSHA(head), changes.ShortSHA(tip), b, b)})
	}
	return problems, warnings, notes
}

// readRemote reads the remote's branch tips, if there is a remote to read.
func (c *tipChecker) readRemote(ctx context.Context) (map[string]string, string, error) {
	if c.remote == nil {
		return nil, "", fmt.Errorf("not asked to read it: %w", changes.ErrNoRemote)
	}
	rctx, cancel := context.WithTimeout(ctx, remoteTipTimeout)
	defer cancel()
	return c.repo.RemoteBranchTips(rctx, *c.remote)
}

// tipNow returns where branch is now: on the remote when it answered at the
// start, else by the local refs (which a run does not move: in a CI
// checkout they say what the push was).
func (c *tipChecker) tipNow(ctx context.Context, branch string) (string, error) {
	c.mu.Lock()
	useRemote := c.remoteRead
	c.mu.Unlock()
	if useRemote {
		tips, url, err := c.readRemote(ctx)
		if err != nil {
			return "", err
		}
		tip, ok := tips[branch]
		if !ok {
			return "", fmt.Errorf("%s (%s) no longer has a branch %s", c.remoteName(), url, branch)
		}
		return tip, nil
	}
	tip, ref, err := c.repo.BranchTip(c.remoteName(), branch)
	if err == nil && ref == "" {
		err = fmt.Errorf("no local ref of branch %s", branch)
	}
	return tip, err
}
