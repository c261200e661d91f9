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
	// FullDiscovery reads every project at head (a walk of the whole tree,
	// or the index of a checkout of head), so that Result.Problems lists
	// every project that cannot be a tool and a name that a changed project
	// shares with one the range did not touch is found. Without it Detect
	// reads only the projects on the paths the range touches (and their
	// enclosing projects), and the whole tree only where names of other
	// projects decide the answer (Bases, a shared glob that fires, a project
	// moved or removed in range): the cost follows the push, not the
	// repository.
	FullDiscovery bool `json:"full_discovery,omitempty"`
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
	// Problems are the projects at head that cannot be tools (no or an
	// invalid name, a name two projects share), sorted by path, each with
	// its change when the range touched it; they are not in Projects. With
	// Request.FullDiscovery every such project is listed; without it, those
	// that Detect read.
	Problems []Problem `json:"problems,omitempty"`
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

// detection is one Detect call. Its phases run in this order: resolveBases
// once; then, for each distinct base, changedPaths (the tree diff and the
// projects removed in range), walk (the commits of the range),
// attributeCommits (attribute.go: files and commits to projects) and emit
// (one ProjectChange per project that uses the base); finish sorts and
// sums up.
type detection struct {
	ctx   context.Context
	r     *Repo
	req   Request
	opts  Options
	rules Rules
	headH plumbing.Hash
	head  *commitNode
	set   *projectSet // the projects at head, read as the phases need them
	res   *Result

	ranges    []*baseRange              // distinct effective bases, the default first
	projBase  map[string]plumbing.Hash  // effective base per project name in req.Bases
	projNotes map[string][]string       // notes of those bases (force push, …)
	defNotes  []string                  // notes of the default base
	msgs      map[plumbing.Hash]Message // parsed messages of attributed commits
	rendered  map[plumbing.Hash]*Commit // Commit per attributed commit
	movedFrom map[*proj][]string        // earlier directories of projects that moved in range
	out       []emitted
}

// baseRange is one distinct effective base and what the phases found for it.
type baseRange struct {
	base     plumbing.Hash // zero: no base, a first release
	isDef    bool          // the default base: projects without their own use it
	names    []string      // the projects of req.Bases that use it, sorted
	baseTree plumbing.Hash
	changed  []string         // files that differ between base and head
	commits  []*commitNode    // base..head, newest first
	removed  map[string]*proj // projects whose pyproject.toml was deleted in range, by name
	// layout holds the directories whose project changes inside the range
	// (a pyproject.toml added, deleted or renamed): files under them are
	// attributed by the tree that holds them (attribute.go).
	layout     map[string]bool
	files      map[*proj]int
	perProject map[*proj][]plumbing.Hash
}

// release drops what the phases found for b once it is emitted: with every
// project on its own base there are hundreds of ranges, and each one's
// attribution maps would otherwise live until the end.
func (b *baseRange) release() {
	b.changed, b.commits, b.layout, b.files, b.perProject = nil, nil, nil, nil, nil
}

// emitted is one project's change, classified by finish.
type emitted struct {
	p       *proj
	removed bool
	pc      ProjectChange
}

func (r *Repo) detect(ctx context.Context, req Request) (*Result, error) {
	d, err := r.newDetection(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := d.resolveBases(); err != nil {
		return nil, err
	}
	for _, b := range d.ranges {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if d.unused(b) {
			continue
		}
		if err := d.changedPaths(b); err != nil {
			return nil, err
		}
		if err := d.walk(b); err != nil {
			return nil, err
		}
		if err := d.attributeCommits(b); err != nil {
			return nil, err
		}
		if err := d.emit(b); err != nil {
			return nil, err
		}
		b.release()
	}
	return d.finish()
}

// newDetection checks the request and finds the head and its projects.
func (r *Repo) newDetection(ctx context.Context, req Request) (*detection, error) {
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
	d := &detection{
		ctx: ctx, r: r, req: req, opts: opts, rules: opts.Rules(), headH: headH, head: headC,
		set:       r.projectSet(headC.tree, opts),
		res:       &Result{Head: headH.String(), Projects: []ProjectChange{}},
		projBase:  map[string]plumbing.Hash{},
		projNotes: map[string][]string{},
		msgs:      map[plumbing.Hash]Message{},
		rendered:  map[plumbing.Hash]*Commit{},
	}
	if err := d.set.checkOptions(); err != nil {
		return nil, err
	}
	// Bases are keyed by name: every project's name is needed to place them.
	if req.FullDiscovery || len(req.Bases) > 0 {
		if err := d.set.readAll(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// resolveBases finds each project's effective base (a force-pushed base is
// replaced by the merge base, with a note) and groups the projects by it.
func (d *detection) resolveBases() error {
	byHash := map[plumbing.Hash]*baseRange{}
	add := func(h plumbing.Hash) *baseRange {
		b := byHash[h]
		if b == nil {
			b = &baseRange{base: h, removed: map[string]*proj{}, files: map[*proj]int{}, perProject: map[*proj][]plumbing.Hash{}}
			byHash[h] = b
			d.ranges = append(d.ranges, b)
		}
		return b
	}
	defH, notes, err := d.effective(d.req.DefaultBase, "projects without their own base (the default base: --base, or the push event's before)")
	if err != nil {
		return err
	}
	d.defNotes = notes
	add(defH).isDef = true
	for _, n := range slices.Sorted(maps.Keys(d.req.Bases)) {
		h, notes, err := d.effective(d.req.Bases[n], fmt.Sprintf("project %q", n))
		if err != nil {
			return err
		}
		b := add(h)
		b.names = append(b.names, n)
		d.projBase[n] = h
		d.projNotes[n] = notes
	}
	return nil
}

// effective resolves one base revision for who: the commit itself when it
// is an ancestor of head, the merge base when not (force push), none for a
// first release; notes say which.
func (d *detection) effective(rev, who string) (plumbing.Hash, []string, error) {
	if IsNone(rev) {
		note := "first release: no base, every commit that touched it counts"
		if strings.TrimSpace(rev) != "" {
			note = "no base (the all-zero SHA: a new branch): every commit that touched it counts"
		}
		return plumbing.ZeroHash, []string{note}, nil
	}
	s, err := d.r.resolve(rev)
	if err != nil {
		var mc *MissingCommitError
		if errors.As(err, &mc) {
			mc.Role = "base of " + who
		}
		return plumbing.ZeroHash, nil, err
	}
	h := plumbing.NewHash(s)
	anc, err := d.r.isAncestor(h, d.headH)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	if anc {
		return h, nil, nil
	}
	mbs, err := d.r.mergeBases(h, d.headH)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	if len(mbs) == 0 {
		return plumbing.ZeroHash, []string{fmt.Sprintf("base %s shares no history with head (force push?): treated as a first release", short(h))}, nil
	}
	return mbs[0], []string{fmt.Sprintf("force push: base %s is not an ancestor of head; used merge base %s", short(h), short(mbs[0]))}, nil
}

// unused reports whether no project can measure its change from b: the
// default base when it is none (a first release: the whole history) and
// every project at head has a usable name and its own base. A first
// release finds no removed projects, so nothing is lost.
func (d *detection) unused(b *baseRange) bool {
	if !b.isDef || !b.base.IsZero() || len(b.names) > 0 || !d.set.all {
		return false
	}
	for _, p := range d.set.projs {
		if _, ok := d.projBase[p.name]; !ok || !d.set.tool(p) {
			return false
		}
	}
	return true
}

// uses reports whether the project named name (a usable name; "" for a
// project without one) measures its change from b.
func (d *detection) uses(name string, b *baseRange) bool {
	if h, ok := d.projBase[name]; ok && name != "" {
		return h == b.base
	}
	return b.isDef
}

// notesFor returns the base notes of the project named name.
func (d *detection) notesFor(name string) []string {
	if _, ok := d.projBase[name]; ok && name != "" {
		return d.projNotes[name]
	}
	return d.defNotes
}

// changedPaths diffs the base tree against head's (only the directories of
// the projects that use b, when that is all b serves) and finds the
// projects removed in range.
func (d *detection) changedPaths(b *baseRange) error {
	if !b.base.IsZero() {
		bc, err := d.r.commit(b.base)
		if err != nil {
			return d.r.missingCommit(err, b.base, "base")
		}
		b.baseTree = bc.tree
	}
	// The default base needs the whole diff (any project, removals); a
	// project's own base only needs that project's directories.
	full := b.isDef || len(d.opts.Shared) > 0
	var only []string
	if !full {
		for _, n := range b.names {
			ps, err := d.set.named(n)
			if err != nil {
				return err
			}
			if len(ps) == 0 {
				full = true // maybe a removed project: find it in the whole diff
			}
			for _, p := range ps {
				only = append(only, p.path())
			}
		}
	}
	var err error
	if full {
		b.changed, err = d.r.diffTrees(b.baseTree, d.head.tree, "", nil)
	} else {
		b.changed, err = d.r.diffUnder(b.baseTree, d.head.tree, only)
	}
	if err != nil {
		return err
	}
	// Learn who owns each changed directory now, while the diff's head
	// trees are still in the cache: the commits of the range touch the
	// same directories, and by the time they are attributed their own
	// diffs have turned the cache over.
	for _, p := range b.changed {
		if _, err := d.set.info(dirOf(p)); err != nil {
			return err
		}
	}
	if b.base.IsZero() {
		return nil
	}
	return d.findRemoved(b)
}

// findRemoved finds the projects whose pyproject.toml the range deleted and
// whose name no project at head has (same name at head: the project moved).
func (d *detection) findRemoved(b *baseRange) error {
	for _, p := range b.changed {
		dir, ok := pyprojectDir(p)
		if !ok || !d.set.candidate(dir) {
			continue
		}
		if hp, err := d.set.at(dir); err != nil || hp != nil {
			if err != nil {
				return err
			}
			continue // a project at head
		}
		rp, err := d.projectIn(b.baseTree, dir)
		if err != nil {
			return err
		}
		if rp == nil {
			continue // not there at base either
		}
		if rp.problem != "" {
			d.res.Warnings = append(d.res.Warnings, fmt.Sprintf("removed project at %s: %s", displayDir(dir), rp.problemText()))
			continue
		}
		if ps, err := d.set.named(rp.name); err != nil || len(ps) > 0 {
			if err != nil {
				return err
			}
			continue // moved: the project is its name, wherever it went
		}
		if d.uses(rp.name, b) {
			b.removed[rp.name] = rp
		}
	}
	return nil
}

// pyprojectDir returns the directory of p when p is a pyproject.toml.
func pyprojectDir(p string) (string, bool) {
	if p == PyprojectFile {
		return "", true
	}
	dir, ok := strings.CutSuffix(p, "/"+PyprojectFile)
	return dir, ok
}

// walk lists the commits of base..head.
func (d *detection) walk(b *baseRange) error {
	commits, err := d.r.rangeCommits(d.headH, b.base)
	var te *truncatedError
	switch {
	case err == nil:
	case b.base.IsZero() && errors.As(err, &te):
		d.res.truncated = true
		d.res.Warnings = append(d.res.Warnings, fmt.Sprintf("shallow clone: history ends at %s, so first-release commit lists are incomplete (fetch-depth: 0 gives the full list)", short(te.at)))
	case errors.As(err, &te):
		return &MissingCommitError{SHA: b.base.String(), Role: "history between base and head (the clone is cut at " + short(te.at) + ")", Shallow: true}
	default:
		return err
	}
	b.commits = commits
	return nil
}

// emit turns what was attributed to each project that uses b into its
// ProjectChange (status, bump, reason).
func (d *detection) emit(b *baseRange) error {
	seen := map[*proj]bool{}
	var targets []*proj
	add := func(p *proj) {
		if !seen[p] {
			seen[p] = true
			targets = append(targets, p)
		}
	}
	for p := range b.files {
		add(p)
	}
	for p := range b.perProject {
		add(p)
	}
	for _, p := range b.removed {
		add(p)
	}
	slices.SortFunc(targets, func(x, y *proj) int { return strings.Compare(x.dir, y.dir) })
	for _, p := range targets {
		removed := b.removed[p.name] == p
		if !removed && !d.uses(p.name, b) {
			continue
		}
		hs := b.perProject[p]
		pc := ProjectChange{
			Name: p.name, Path: p.path(), Head: d.headH.String(),
			FirstRelease: b.base.IsZero(), Files: b.files[p],
			Notes: append(append([]string(nil), d.notesFor(p.name)...), d.moveNotes(p)...),
		}
		if !b.base.IsZero() {
			pc.Base = b.base.String()
		}
		pc.Commits = make([]Commit, 0, len(hs))
		for _, h := range hs {
			pc.Commits = append(pc.Commits, commitOf(h, d.msgs[h], d.rules, d.rendered))
		}
		who := p.name
		if who == "" {
			who = p.path()
		}
		for _, w := range inferBump(&pc, d.msgs) {
			d.res.Warnings = append(d.res.Warnings, who+": "+w)
		}
		switch {
		case removed:
			pc.Status = StatusRemoved
			pc.Bump = None
			pc.Reason = fmt.Sprintf("%s was deleted: the project is removed and will not be published", p.pyproject)
		case pc.Files == 0:
			pc.Status = StatusUnchanged
			pc.Bump = None
			pc.Reason = fmt.Sprintf("%d commit(s) touched it but the net change between base and head is empty", len(pc.Commits))
		case pc.Bump == None:
			pc.Status = StatusNoRelease
		default:
			pc.Status = StatusChanged
		}
		d.out = append(d.out, emitted{p: p, removed: removed, pc: pc})
	}
	return nil
}

// finish files each change under Projects or, for a project that cannot be
// a tool, under its Problem; and warns about options and bases that name
// nothing at head.
func (d *detection) finish() (*Result, error) {
	res := d.res
	problemChange := map[*proj]*ProjectChange{}
	for i := range d.out {
		e := &d.out[i]
		if e.removed || d.set.tool(e.p) {
			res.Projects = append(res.Projects, e.pc)
			continue
		}
		problemChange[e.p] = &e.pc
	}
	for _, dir := range slices.Sorted(maps.Keys(d.opts.Names)) {
		p, err := d.set.at(cleanDir(dir))
		if err != nil {
			return nil, err
		}
		if p == nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("names: %q is not a project directory at head", dir))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(d.req.Bases)) {
		if _, ok := res.Project(n); ok {
			continue
		}
		ps, err := d.set.named(n)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("a base was given for %q, which is not a project at head (nor a removed one)", n))
		}
	}
	if d.set.all { // the names of every project are known
		for _, g := range slices.Sorted(maps.Keys(d.opts.Shared)) {
			for _, n := range d.opts.Shared[g] {
				if n != AllProjects && len(d.set.byName[n]) == 0 {
					res.Warnings = append(res.Warnings, fmt.Sprintf("shared path %q names %q, which is not a project at head", g, n))
				}
			}
		}
	}
	for _, p := range d.set.problemProjs() {
		pr := d.set.problemOf(p)
		pr.Change = problemChange[p]
		res.Problems = append(res.Problems, pr)
	}
	sort.SliceStable(res.Projects, func(i, j int) bool {
		if res.Projects[i].Name != res.Projects[j].Name {
			return res.Projects[i].Name < res.Projects[j].Name
		}
		return res.Projects[i].Path < res.Projects[j].Path
	})
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
