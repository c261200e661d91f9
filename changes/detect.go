package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// Request says what to detect.
type Request struct {
	// Head is the commit to release (a revision as Resolve accepts;
	// required).
	Head string `json:"head"`
	// Bases gives a base per project name: a SHA or ref, e.g. the commit of
	// the project's newest release. "" (or the all-zero SHA) means the
	// project has never been released: every commit that touched it counts.
	Bases map[string]string `json:"bases,omitempty"`
	// DefaultBase is the base of projects not in Bases, e.g. the push
	// event's `before` or an explicit --base. "" or the all-zero SHA (a push
	// that created the branch) means none: every commit counts.
	DefaultBase string `json:"default_base,omitempty"`
	// Options configure discovery and bumps.
	Options Options `json:"options"`
	// Deepen, when set, lets Detect fetch more history from a remote when a
	// base is missing from a shallow clone, instead of failing.
	Deepen *DeepenOptions `json:"-"`
}

// Status of a project in a Result.
const (
	// StatusChanged: files changed and at least one commit warrants a bump.
	StatusChanged = "changed"
	// StatusNoRelease: files changed but no commit warrants a release.
	StatusNoRelease = "no-release"
	// StatusRemoved: the project's pyproject.toml is gone at head; never
	// publish it.
	StatusRemoved = "removed"
	// StatusUnchanged: commits touched the project but the net change
	// between base and head is empty (e.g. a change and its revert).
	StatusUnchanged = "unchanged"
)

// Result is the outcome of Detect.
type Result struct {
	// Head is the resolved head SHA.
	Head string `json:"head"`
	// Projects lists every project with a net change, a removal, or
	// commits in range, sorted by name then path. Projects without any of
	// these are left out.
	Projects []ProjectChange `json:"projects"`
	// Warnings are non-fatal problems (unknown names in Bases, history
	// truncated by a shallow clone for a first release, bad Release-As).
	Warnings []string `json:"warnings,omitempty"`

	truncated bool // a first-release walk hit the edge of a shallow clone
}

// ProjectChange is one project's change between its base and head.
type ProjectChange struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Base is the commit the range starts from ("" for a first release);
	// after a force push, the merge base actually used.
	Base string `json:"base"`
	Head string `json:"head"`
	// FirstRelease is set when there is no base.
	FirstRelease bool   `json:"first_release,omitempty"`
	Status       string `json:"status"`
	// Bump is the highest bump over the commits (or a Release-As override).
	Bump Bump `json:"bump"`
	// Reason explains Bump or Status for humans.
	Reason string `json:"reason"`
	// Files is the number of changed files between base and head.
	Files   int      `json:"files"`
	Commits []Commit `json:"commits,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// Commit is a commit attributed to a project, newest first.
type Commit struct {
	SHA      string `json:"sha"`
	Subject  string `json:"subject"`
	Type     string `json:"type,omitempty"`
	Scope    string `json:"scope,omitempty"`
	Breaking bool   `json:"breaking,omitempty"`
	Bump     Bump   `json:"bump"`
	// Note says why a bump was cancelled ("reverted by …").
	Note string `json:"note,omitempty"`
}

// JSON returns the result as indented JSON.
func (res *Result) JSON() ([]byte, error) {
	return json.MarshalIndent(res, "", "  ")
}

// Project returns the change for the project named name, if any.
func (res *Result) Project(name string) (ProjectChange, bool) {
	for _, p := range res.Projects {
		if p.Name == name {
			return p, true
		}
	}
	return ProjectChange{}, false
}

// maxSubject bounds commit subjects in results (messages can be megabytes).
const maxSubject = 200

// Detect discovers the projects at req.Head, computes each one's range,
// changed files (tree diff, renames as two paths) and commits (each diffed
// against its first parent; merge commits are not attributed, the merged
// branch's commits are), and infers its bump.
//
// Base handling: a base that is not an ancestor of head (force push) is
// replaced by the merge base, with a note; with no common history the
// project is treated as a first release. A base missing from the object
// store is a *MissingCommitError (after deepening, when req.Deepen is set).
func Detect(ctx context.Context, r *Repo, req Request) (*Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := r.detect(ctx, req)
	if req.Deepen == nil || !(err != nil && needsHistory(err) || err == nil && res.truncated) {
		return res, err
	}
	if derr := r.deepen(ctx, *req.Deepen); derr != nil {
		if err == nil { // a first release with a cut history: keep the warning
			res.Warnings = append(res.Warnings, fmt.Sprintf("deepening from the remote failed: %v", derr))
			return res, nil
		}
		return nil, fmt.Errorf("%w (deepening from the remote failed: %v)", err, derr)
	}
	res, err = r.detect(ctx, req)
	var mc *MissingCommitError
	if errors.As(err, &mc) && isFullSHA(mc.SHA) {
		if ferr := r.fetchCommit(ctx, *req.Deepen, mc.SHA); ferr != nil {
			return nil, fmt.Errorf("%w (fetching it from the remote failed: %v)", err, ferr)
		}
		res, err = r.detect(ctx, req)
	}
	return res, err
}

func needsHistory(err error) bool {
	var mc *MissingCommitError
	return errors.As(err, &mc) || errors.Is(err, errTruncated)
}

// baseInfo is one distinct effective base and the projects that use it.
type baseInfo struct {
	hash  plumbing.Hash // zero: first release
	isDef bool          // the default base applies to it
}

func (r *Repo) detect(ctx context.Context, req Request) (*Result, error) {
	opts := req.Options
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Head) == "" {
		return nil, errors.New("detect: no head commit given")
	}
	headH, err := r.resolveHash(req.Head)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	headC, err := r.commit(headH)
	if err != nil {
		return nil, fmt.Errorf("head %s: %w", headH, err)
	}
	projects, err := r.discover(headC.tree, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Head: headH.String(), Projects: []ProjectChange{}}
	for _, dir := range slices.Sorted(maps.Keys(opts.Names)) {
		if !slices.ContainsFunc(projects, func(p Project) bool { return p.Path == displayDir(cleanDir(dir)) }) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("names: %q is not a project directory at head", dir))
		}
	}
	byName := map[string]*Project{}
	for i := range projects {
		byName[projects[i].Name] = &projects[i]
	}
	// Resolve bases, deduplicating by effective commit.
	bases := map[plumbing.Hash]*baseInfo{}
	var order []plumbing.Hash
	effective := func(rev, who string) (plumbing.Hash, []string, error) {
		if IsNone(rev) {
			note := "first release: no base, every commit that touched it counts"
			if strings.TrimSpace(rev) != "" {
				note = "no base (the all-zero SHA: a new branch): every commit that touched it counts"
			}
			return plumbing.ZeroHash, []string{note}, nil
		}
		s, err := r.resolve(rev)
		if err != nil {
			var mc *MissingCommitError
			if errors.As(err, &mc) {
				mc.Role = "base of " + who
			}
			return plumbing.ZeroHash, nil, err
		}
		h := plumbing.NewHash(s)
		anc, err := r.isAncestor(h, headH)
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if anc {
			return h, nil, nil
		}
		mbs, err := r.mergeBases(h, headH)
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if len(mbs) == 0 {
			return plumbing.ZeroHash, []string{fmt.Sprintf("base %s shares no history with head (force push?): treated as a first release", short(h))}, nil
		}
		return mbs[0], []string{fmt.Sprintf("force push: base %s is not an ancestor of head; used merge base %s", short(h), short(mbs[0]))}, nil
	}
	add := func(h plumbing.Hash) *baseInfo {
		b := bases[h]
		if b == nil {
			b = &baseInfo{hash: h}
			bases[h] = b
			order = append(order, h)
		}
		return b
	}
	defH, defNotes, err := effective(req.DefaultBase, "projects without their own base (the default base: --base, or the push event's before)")
	if err != nil {
		return nil, err
	}
	add(defH).isDef = true
	projBase := map[string]plumbing.Hash{}
	projNotes := map[string][]string{}
	for _, n := range slices.Sorted(maps.Keys(req.Bases)) {
		h, notes, err := effective(req.Bases[n], fmt.Sprintf("project %q", n))
		if err != nil {
			return nil, err
		}
		add(h)
		projBase[n] = h
		projNotes[n] = notes
	}
	notesFor := func(name string) []string {
		if _, ok := projBase[name]; ok {
			return projNotes[name]
		}
		return defNotes
	}

	headDirs := map[string]*Project{}
	for i := range projects {
		headDirs[projects[i].Path] = &projects[i]
	}
	rules := opts.Rules()
	parsed := map[plumbing.Hash]*Commit{}
	parsedMsg := map[plumbing.Hash]Message{}
	var changes []ProjectChange

	for _, bh := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := bases[bh]
		// Which projects use this base.
		uses := func(name string) bool {
			if h, ok := projBase[name]; ok {
				return h == bh
			}
			return b.isDef
		}
		var baseTree plumbing.Hash
		if !bh.IsZero() {
			bc, err := r.commit(bh)
			if err != nil {
				return nil, r.missingCommit(err, bh, "base")
			}
			baseTree = bc.tree
		}
		// The default base needs the whole diff (any project, removals);
		// a project's own base only needs that project's directories.
		full := b.isDef || len(opts.Shared) > 0
		var only []string
		if !full {
			for _, n := range slices.Sorted(maps.Keys(projBase)) {
				if projBase[n] != bh {
					continue
				}
				if p := byName[n]; p != nil {
					only = append(only, p.Path)
				} else {
					full = true // maybe a removed project: find it in the whole diff
				}
			}
		}
		var changed []string
		if full {
			changed, err = r.diffTrees(baseTree, headC.tree, "", nil)
		} else {
			changed, err = r.diffUnder(baseTree, headC.tree, only)
		}
		if err != nil {
			return nil, err
		}
		// Removed projects: a pyproject.toml deleted in range, in a
		// directory that is not a project at head.
		dirs := headDirs // copied before the first removed project is added
		removed := map[string]*Project{}
		if !bh.IsZero() {
			for _, p := range changed {
				if p != PyprojectFile && !strings.HasSuffix(p, "/"+PyprojectFile) {
					continue
				}
				dir := strings.TrimSuffix(strings.TrimSuffix(p, PyprojectFile), "/")
				if headDirs[displayDir(dir)] != nil || !included(dir, opts) || !underRoots(dir, opts.Roots) {
					continue
				}
				if e, err := r.lookup(headC.tree, p); err != nil {
					return nil, err
				} else if e != nil {
					continue
				}
				if e, err := r.lookup(baseTree, p); err != nil {
					return nil, err
				} else if e == nil {
					continue
				}
				rp, err := projectAt(dir, opts, func(_, file string) ([]byte, error) { return r.readFileFollow(baseTree, file) })
				if err != nil {
					res.Warnings = append(res.Warnings, fmt.Sprintf("removed project at %s: %v", displayDir(dir), err))
					continue
				}
				if byName[rp.Name] != nil || !uses(rp.Name) {
					continue // moved (same name at head) or another base
				}
				if len(removed) == 0 {
					dirs = maps.Clone(headDirs)
				}
				removed[rp.Path] = &rp
				dirs[rp.Path] = &rp
			}
		}
		owner := func(p string) *Project {
			d := p
			for {
				i := strings.LastIndexByte(d, '/')
				if i < 0 {
					return dirs["."]
				}
				d = d[:i]
				if pr := dirs[d]; pr != nil {
					return pr
				}
			}
		}
		sharedFor := func(p string) []string {
			var out []string
			for _, g := range slices.Sorted(maps.Keys(opts.Shared)) {
				if !matchGlob(g, p) {
					continue
				}
				for _, n := range opts.Shared[g] {
					if n == AllProjects {
						out = append(out, slices.Sorted(maps.Keys(byName))...)
					} else {
						out = append(out, n)
					}
				}
			}
			return out
		}
		// attribute calls fn once per (path, project) for the projects that
		// own each path or that a shared glob matching it triggers.
		attribute := func(paths []string, fn func(name string)) {
			for _, p := range paths {
				pr := owner(p)
				if pr != nil {
					fn(pr.Name)
				}
				if len(opts.Shared) > 0 {
					for _, n := range slices.Compact(slices.Sorted(slices.Values(sharedFor(p)))) {
						if pr == nil || n != pr.Name {
							fn(n)
						}
					}
				}
			}
		}
		files := map[string]int{}
		attribute(changed, func(n string) { files[n]++ })

		commits, werr := r.rangeCommits(headH, bh)
		if werr != nil {
			var te *truncatedError
			if bh.IsZero() && errors.As(werr, &te) {
				res.truncated = true
				res.Warnings = append(res.Warnings, fmt.Sprintf("shallow clone: history ends at %s, so first-release commit lists are incomplete (fetch-depth: 0 gives the full list)", short(te.at)))
			} else if errors.As(werr, &te) {
				return nil, &MissingCommitError{SHA: bh.String(), Role: "history between base and head (the clone is cut at " + short(te.at) + ")", Shallow: true}
			} else {
				return nil, werr
			}
		}
		perProject := map[string][]plumbing.Hash{}
		for i, c := range commits {
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if len(c.parents) > 1 && !r.shallowSet()[c.hash] {
				continue // merges: the merged branch's commits are attributed instead
			}
			paths, err := r.commitPaths(c)
			if err != nil {
				return nil, err
			}
			seen := map[string]bool{}
			attribute(paths, func(n string) {
				if !seen[n] {
					seen[n] = true
					perProject[n] = append(perProject[n], c.hash)
				}
			})
			if _, ok := parsedMsg[c.hash]; !ok {
				parsedMsg[c.hash] = ParseMessage(c.message)
			}
		}

		emit := func(pr *Project, isRemoved bool) {
			if !uses(pr.Name) {
				return
			}
			hs := perProject[pr.Name]
			if files[pr.Name] == 0 && len(hs) == 0 && !isRemoved {
				return
			}
			pc := ProjectChange{
				Name: pr.Name, Path: pr.Path, Head: headH.String(),
				FirstRelease: bh.IsZero(), Files: files[pr.Name],
				Notes: append([]string(nil), notesFor(pr.Name)...),
			}
			if !bh.IsZero() {
				pc.Base = bh.String()
			}
			pc.Commits = make([]Commit, 0, len(hs))
			for _, h := range hs {
				pc.Commits = append(pc.Commits, commitOf(h, parsedMsg[h], rules, parsed))
			}
			warn := inferBump(&pc, parsedMsg)
			for _, w := range warn {
				res.Warnings = append(res.Warnings, pr.Name+": "+w)
			}
			switch {
			case isRemoved:
				pc.Status = StatusRemoved
				pc.Bump = None
				pc.Reason = fmt.Sprintf("%s was deleted: the project is removed and will not be published", pr.Pyproject)
			case pc.Files == 0:
				pc.Status = StatusUnchanged
				pc.Bump = None
				pc.Reason = fmt.Sprintf("%d commit(s) touched it but the net change between base and head is empty", len(pc.Commits))
			case pc.Bump == None:
				pc.Status = StatusNoRelease
			default:
				pc.Status = StatusChanged
			}
			changes = append(changes, pc)
		}
		for i := range projects {
			emit(&projects[i], false)
		}
		for _, d := range slices.Sorted(maps.Keys(removed)) {
			emit(removed[d], true)
		}
		// Shared globs that name unknown projects.
		for _, g := range slices.Sorted(maps.Keys(opts.Shared)) {
			for _, n := range opts.Shared[g] {
				if n != AllProjects && byName[n] == nil && b.isDef {
					res.Warnings = append(res.Warnings, fmt.Sprintf("shared path %q names %q, which is not a project at head", g, n))
				}
			}
		}
	}
	sort.SliceStable(changes, func(i, j int) bool {
		if changes[i].Name != changes[j].Name {
			return changes[i].Name < changes[j].Name
		}
		return changes[i].Path < changes[j].Path
	})
	res.Projects = append(res.Projects, changes...)
	for _, n := range slices.Sorted(maps.Keys(req.Bases)) {
		if _, ok := res.Project(n); !ok && byName[n] == nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("a base was given for %q, which is not a project at head (nor a removed one)", n))
		}
	}
	res.Warnings = dedupe(res.Warnings)
	return res, nil
}

func underRoots(dir string, roots []string) bool {
	if len(roots) == 0 {
		return true
	}
	for _, rt := range roots {
		rt = cleanDir(rt)
		if rt == "" || dir == rt || strings.HasPrefix(dir, rt+"/") {
			return true
		}
	}
	return false
}

func commitOf(h plumbing.Hash, m Message, rules Rules, cache map[plumbing.Hash]*Commit) Commit {
	if c, ok := cache[h]; ok {
		return *c
	}
	c := &Commit{
		SHA:      h.String(),
		Subject:  truncate(m.Subject, maxSubject),
		Type:     truncate(m.Type, 40),
		Scope:    truncate(m.Scope, 80),
		Breaking: m.Breaking,
		Bump:     rules.BumpOf(m),
	}
	cache[h] = c
	return *c
}

// inferBump applies revert cancellation and Release-As to pc.Commits and
// sets pc.Bump and pc.Reason. It returns warnings.
func inferBump(pc *ProjectChange, msgs map[plumbing.Hash]Message) []string {
	var warns []string
	idx := map[string]int{}
	for i, c := range pc.Commits {
		idx[c.SHA] = i
	}
	find := func(sha string) int {
		if i, ok := idx[sha]; ok {
			return i
		}
		if len(sha) >= 7 {
			for i, c := range pc.Commits {
				if strings.HasPrefix(c.SHA, sha) {
					return i
				}
			}
		}
		return -1
	}
	cancelled := make([]bool, len(pc.Commits))
	// Newest first: a revert of a revert cancels that revert, and the
	// original change stands.
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		m := msgs[plumbing.NewHash(c.SHA)]
		if m.Revert == nil || m.Revert.SHA == "" {
			continue
		}
		j := find(m.Revert.SHA)
		if j < 0 || j == i || cancelled[j] {
			continue
		}
		cancelled[i], cancelled[j] = true, true
		pc.Commits[i].Note = "reverts " + short(plumbing.NewHash(pc.Commits[j].SHA)) + " in the same range: both cancel out"
		pc.Commits[j].Note = "reverted by " + short(plumbing.NewHash(c.SHA)) + " in the same range: both cancel out"
		pc.Commits[i].Bump = None
		pc.Commits[j].Bump = None
	}
	best := -1
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		if best < 0 || c.Bump > pc.Commits[best].Bump {
			best = i
		}
	}
	// Release-As overrides: the highest one in range wins.
	relAs, relAt := None, -1
	for i, c := range pc.Commits {
		if cancelled[i] {
			continue
		}
		m := msgs[plumbing.NewHash(c.SHA)]
		v, ok := m.Footer("Release-As")
		if !ok {
			continue
		}
		b, err := ParseBump(v)
		if err != nil || b == None {
			warns = append(warns, fmt.Sprintf("commit %s: ignoring Release-As: %q (want major, minor or patch)", short(plumbing.NewHash(c.SHA)), truncate(v, 40)))
			continue
		}
		if relAt < 0 || b > relAs {
			relAs, relAt = b, i
		}
	}
	switch {
	case relAt >= 0:
		pc.Bump = relAs
		c := pc.Commits[relAt]
		pc.Reason = fmt.Sprintf("Release-As: %s in %s %q", relAs, short(plumbing.NewHash(c.SHA)), c.Subject)
	case best >= 0 && pc.Commits[best].Bump != None:
		c := pc.Commits[best]
		pc.Bump = c.Bump
		pc.Reason = fmt.Sprintf("%s → %s", c.Subject, c.Bump)
		if c.Breaking {
			pc.Reason = fmt.Sprintf("%s (breaking) → %s", c.Subject, c.Bump)
		}
	default:
		pc.Bump = None
		if len(pc.Commits) == 0 {
			pc.Reason = "no commit in range touched it (the change comes from outside the range, e.g. a merge)"
		} else {
			pc.Reason = fmt.Sprintf("no commit warrants a release (%s)", describeTypes(pc.Commits))
		}
	}
	return warns
}

func describeTypes(cs []Commit) string {
	counts := map[string]int{}
	for _, c := range cs {
		t := c.Type
		if t == "" {
			t = "non-conventional"
		}
		if c.Note != "" {
			t = "reverted"
		}
		counts[t]++
	}
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
	}
	return strings.Join(parts, ", ")
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// truncate shortens s to at most n runes, adding "…" when cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i < len(s) && k < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		k++
	}
	return s[:i] + "…"
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
