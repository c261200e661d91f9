package changes

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// Walk flags.
const (
	flagSeen uint8 = 1 << iota
	flagUninteresting
	flagParent1
	flagParent2
	flagStale
	flagResult
	flagDone // popped and parents handled
)

// commitQueue is a max-heap of commits by committer time (newest first),
// ties broken by insertion order, as git's date-ordered walks are.
type commitQueue struct {
	items []queued
	seq   int
}

type queued struct {
	c   *commitNode
	seq int
}

func (q *commitQueue) Len() int { return len(q.items) }
func (q *commitQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.c.time != b.c.time {
		return a.c.time > b.c.time
	}
	return a.seq < b.seq
}
func (q *commitQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *commitQueue) Push(x any)    { q.items = append(q.items, x.(queued)) }
func (q *commitQueue) Pop() any {
	it := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return it
}
func (q *commitQueue) push(c *commitNode) {
	q.seq++
	heap.Push(q, queued{c: c, seq: q.seq})
}
func (q *commitQueue) pop() *commitNode { return heap.Pop(q).(queued).c }

// slop is how many extra all-uninteresting rounds a range walk makes before
// it stops, to survive small committer clock skews (git uses the same 5).
const slop = 5

// errTruncated is wrapped by walks that reach the edge of a shallow clone
// inside the range they were asked for.
var errTruncated = errors.New("history is truncated (shallow clone)")

// truncatedError names the shallow commit where an in-range walk stopped.
type truncatedError struct{ at plumbing.Hash }

func (e *truncatedError) Error() string {
	return fmt.Sprintf("history is truncated at shallow commit %s", e.at)
}
func (e *truncatedError) Unwrap() error { return errTruncated }

// parentsOf loads the parents of c that exist. A shallow commit has none. A
// parent missing from a non-shallow commit is returned in missing.
// A parent that exists but cannot be read is an error (ErrDamaged).
func (r *Repo) parentsOf(c *commitNode) (ps []*commitNode, truncated bool, missing []plumbing.Hash, err error) {
	if r.shallowSet()[c.hash] {
		return nil, len(c.parents) > 0, nil, nil
	}
	for _, h := range c.parents {
		p, err := r.commit(h)
		if errors.Is(err, ErrDamaged) {
			return nil, false, nil, err
		}
		if err != nil {
			missing = append(missing, h)
			continue
		}
		ps = append(ps, p)
	}
	return ps, false, missing, nil
}

// rangeCommits returns the commits reachable from head but not from base
// (git's base..head), newest first; a zero base means the whole history of
// head. Only the range and a thin fringe below base are visited. It returns
// a *truncatedError (errTruncated) when the range runs into the edge of a
// shallow clone, together with what it could see.
func (r *Repo) rangeCommits(head, base plumbing.Hash) ([]*commitNode, error) {
	hc, err := r.commit(head)
	if err != nil {
		return nil, r.missingCommit(err, head, "head")
	}
	flags := map[plumbing.Hash]uint8{}
	q := &commitQueue{}
	interestingQueued := map[plumbing.Hash]bool{}
	flags[head] = flagSeen
	q.push(hc)
	interestingQueued[head] = true
	if !base.IsZero() {
		bc, err := r.commit(base)
		if err != nil {
			return nil, r.missingCommit(err, base, "base")
		}
		flags[base] |= flagSeen | flagUninteresting
		if base != head {
			q.push(bc)
		} else {
			delete(interestingQueued, head)
		}
	}

	// markUninteresting propagates "reachable from base" down from h to
	// every already-processed ancestor.
	var markUninteresting func(h plumbing.Hash)
	markUninteresting = func(h plumbing.Hash) {
		stack := []plumbing.Hash{h}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			f := flags[x]
			if f&flagUninteresting != 0 {
				continue
			}
			flags[x] = f | flagUninteresting | flagSeen
			delete(interestingQueued, x)
			if f&flagDone != 0 {
				if c := r.commits[x]; c != nil && !r.shallowSet()[x] {
					stack = append(stack, c.parents...)
				}
			}
		}
	}

	var candidates []*commitNode
	truncatedAt := map[plumbing.Hash]bool{}
	missingFrom := map[plumbing.Hash]plumbing.Hash{} // child -> missing parent
	left := slop
	for q.Len() > 0 {
		c := q.pop()
		delete(interestingQueued, c.hash)
		f := flags[c.hash]
		flags[c.hash] = f | flagDone
		ps, trunc, missing, err := r.parentsOf(c)
		if err != nil {
			return nil, err
		}
		if f&flagUninteresting != 0 {
			for _, p := range ps {
				pf := flags[p.hash]
				if pf&flagSeen == 0 {
					flags[p.hash] = flagSeen | flagUninteresting
					q.push(p)
				} else {
					markUninteresting(p.hash)
				}
			}
		} else {
			candidates = append(candidates, c)
			if trunc {
				truncatedAt[c.hash] = true
			}
			for _, m := range missing {
				missingFrom[c.hash] = m
			}
			for _, p := range ps {
				if flags[p.hash]&flagSeen == 0 {
					flags[p.hash] = flagSeen
					q.push(p)
					interestingQueued[p.hash] = true
				}
			}
		}
		if len(interestingQueued) == 0 {
			left--
			if left == 0 {
				break
			}
			continue
		}
		left = slop
	}
	out := candidates[:0]
	for _, c := range candidates {
		if flags[c.hash]&flagUninteresting == 0 {
			out = append(out, c)
		}
	}
	for _, c := range out {
		if m, ok := missingFrom[c.hash]; ok {
			return out, &MissingCommitError{SHA: m.String(), Role: "parent of " + c.hash.String(), Shallow: r.isShallowRepo()}
		}
	}
	for _, c := range out {
		if truncatedAt[c.hash] {
			return out, &truncatedError{at: c.hash}
		}
	}
	return out, nil
}

// mergeBases returns the best common ancestors of a and b, newest first
// (git's paint-down-to-common followed by removal of redundant bases).
func (r *Repo) mergeBases(a, b plumbing.Hash) ([]plumbing.Hash, error) {
	res, err := r.paintCommon(a, []plumbing.Hash{b})
	if err != nil || len(res) <= 1 {
		return res, err
	}
	// Drop any base that is an ancestor of another base.
	var keep []plumbing.Hash
	for i, x := range res {
		redundant := false
		var others []plumbing.Hash
		for j, y := range res {
			if i != j {
				others = append(others, y)
			}
		}
		common, err := r.paintCommon(x, others)
		if err != nil {
			return nil, err
		}
		for _, c := range common {
			if c == x {
				redundant = true
			}
		}
		if !redundant {
			keep = append(keep, x)
		}
	}
	return keep, nil
}

// paintCommon returns the commits reachable from one and from some of
// twos where the two sides first meet, newest first.
func (r *Repo) paintCommon(one plumbing.Hash, twos []plumbing.Hash) ([]plumbing.Hash, error) {
	flags := map[plumbing.Hash]uint8{}
	q := &commitQueue{}
	push := func(c *commitNode, f uint8) {
		flags[c.hash] |= f
		q.push(c)
	}
	hasNonStale := func() bool {
		for _, it := range q.items {
			if flags[it.c.hash]&flagStale == 0 {
				return true
			}
		}
		return false
	}
	oc, err := r.commit(one)
	if err != nil {
		return nil, r.missingCommit(err, one, "")
	}
	push(oc, flagParent1)
	for _, t := range twos {
		tc, err := r.commit(t)
		if err != nil {
			return nil, r.missingCommit(err, t, "")
		}
		push(tc, flagParent2)
	}
	var result []*commitNode
	for q.Len() > 0 && hasNonStale() {
		c := q.pop()
		f := flags[c.hash] & (flagParent1 | flagParent2 | flagStale)
		if f == flagParent1|flagParent2 {
			if flags[c.hash]&flagResult == 0 {
				flags[c.hash] |= flagResult
				result = append(result, c)
			}
			f |= flagStale
		}
		ps, _, _, err := r.parentsOf(c)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if flags[p.hash]&f == f {
				continue
			}
			push(p, f)
		}
	}
	sort.SliceStable(result, func(i, j int) bool { return result[i].time > result[j].time })
	out := make([]plumbing.Hash, 0, len(result))
	for _, c := range result {
		if flags[c.hash]&flagStale == 0 {
			out = append(out, c.hash)
		}
	}
	return out, nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to)
// commit b. Both are revisions as Resolve accepts.
func (r *Repo) IsAncestor(a, b string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ah, err := r.resolveHash(a)
	if err != nil {
		return false, err
	}
	bh, err := r.resolveHash(b)
	if err != nil {
		return false, err
	}
	return r.isAncestor(ah, bh)
}

func (r *Repo) isAncestor(a, b plumbing.Hash) (bool, error) {
	if a == b {
		return true, nil
	}
	common, err := r.paintCommon(a, []plumbing.Hash{b})
	if err != nil {
		return false, err
	}
	for _, c := range common {
		if c == a {
			return true, nil
		}
	}
	return false, nil
}

// MergeBase returns the best common ancestor of two revisions (the newest
// if there are several), or "" when they share no history.
func (r *Repo) MergeBase(a, b string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ah, err := r.resolveHash(a)
	if err != nil {
		return "", err
	}
	bh, err := r.resolveHash(b)
	if err != nil {
		return "", err
	}
	bases, err := r.mergeBases(ah, bh)
	if err != nil || len(bases) == 0 {
		return "", err
	}
	return bases[0].String(), nil
}

func (r *Repo) resolveHash(rev string) (plumbing.Hash, error) {
	s, err := r.resolve(rev)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if s == "" {
		return plumbing.ZeroHash, &UnknownRevisionError{Rev: rev, Repo: r.path}
	}
	return plumbing.NewHash(s), nil
}
