package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// A stray is a version that serves in a stage beyond the first although a
// stage it needs never served its commit: the branch moved while a publish
// of an earlier run was building, and that run stopped (killed, or its
// grace ended) before verify could check what the server built. Verify
// withdraws such a version at once when it can run; nothing else in a
// later run would ever look at it, because the tool has not changed since
// the commit its first stage serves, so the run that follows would not
// release it. Every run therefore looks for strays first (findStrays, in
// the analysis, for every project and stage), withdraws them before
// anything else changes (withdrawStrays) and releases their tools again
// from head, through every gate, so the stages they lag in catch up with a
// tested commit.
type stray struct {
	stage   string
	toolID  string
	version string
	commit  string
	// need is the stage it needs that never served commit, and serves
	// (newest) version needVersion of needCommit.
	need, needVersion, needCommit string
}

func (s stray) String() string {
	return fmt.Sprintf("%s served %s, built from %s, which %s (needed by %s) never served (it serves %s of %s) and no test is known to have passed on",
		s.stage, s.version, changes.ShortSHA(s.commit), s.need, s.stage, s.needVersion, changes.ShortSHA(s.needCommit))
}

// findStrays asks every stage about the given projects (the first stage
// was asked already, for the bases) and returns, per tool name, the
// strays (isStray). A stage that lags behind (its commit is older than
// what it needs serves, the usual state after a failed promotion) and
// versions from other histories (another branch, history rewritten) are
// left alone, as is a tool a needed stage does not serve at all (the tool
// skips that stage). A version in a stage whose needed stage serves its
// commit only as a stray is a stray too.
func (r *runner) findStrays(ctx context.Context, view *remoteView, projects []changes.Project, repo *changes.Repo, head string) (map[string][]stray, error) {
	if len(r.order) < 2 || len(projects) == 0 {
		return nil, nil
	}
	names := make([]string, len(projects))
	for i, p := range projects {
		names[i] = p.Name
	}
	if err := view.load(ctx, r, r.order, names, nil); err != nil {
		return nil, err
	}
	remote := view.snapshot()
	out := map[string][]stray{}
	for _, name := range names {
		for _, st := range r.order[1:] {
			rs := remote[st.Name][name]
			if rs.tool == nil {
				continue
			}
			// A needed stage is judged without its own strays (the plan's
			// order puts it first): a commit only strays serve is served
			// nowhere it should be.
			needs := func(need string) ([]amigo.ToolVersion, bool) {
				ns := remote[need][name]
				return withoutStrays(ns.versions, out[name], need), ns.known
			}
			for _, v := range rs.versions {
				if s, ok := r.isStray(name, st, v, head, needs); ok {
					s.toolID = rs.tool.ID
					out[name] = append(out[name], s)
				}
			}
		}
		sort.SliceStable(out[name], func(i, j int) bool { return out[name][i].stage < out[name][j].stage })
	}
	return out, nil
}

// isStray reports whether v, a version of name in stage st, is a stray. It
// is when its commit is in head's history (it was built from this branch)
// and some stage st needs (as needs tells it) has no version of that
// commit and either
//   - that commit is not in the history of the newest version the needed
//     stage serves: the stage is ahead of a stage it needs, which no
//     release does; or
//   - the needed stage serves an older commit of that history (a version,
//     not pinned there, whose commit is an ancestor of v's): it never
//     served v's commit, yet kept what came before it. This holds even
//     after a later release reached the needed stage but not st (a run
//     stopped in between), which hides the first case: pruning takes the
//     oldest unpinned versions first, so a stage that once served v's
//     commit and lost it has lost the older ones too.
//
// A needed stage with no version at all is left out (the tool skips it).
func (r *runner) isStray(name string, st promote.Stage, v amigo.ToolVersion, head string, needs func(need string) ([]amigo.ToolVersion, bool)) (stray, bool) {
	if v.Deprecated || !r.inHistory(v.ToolCommitHash, head) {
		return stray{}, false
	}
	for _, need := range st.Needs {
		nvs, known := needs(need)
		if !known || versionWithCommit(nvs, v.ToolCommitHash) != nil {
			continue
		}
		n := newest(nvs)
		if n == nil {
			continue
		}
		ahead := !r.inHistory(v.ToolCommitHash, n.ToolCommitHash)
		if !ahead {
			spec, _ := r.opts.Plan.Stage(need)
			for _, w := range nvs {
				if !w.Deprecated && !spec.Pinned(name, w.Version) && r.inHistory(w.ToolCommitHash, v.ToolCommitHash) {
					ahead = true
					break
				}
			}
		}
		if ahead {
			return stray{stage: st.Name, version: v.Version.String(), commit: v.ToolCommitHash,
				need: need, needVersion: n.Version.String(), needCommit: n.ToolCommitHash}, true
		}
	}
	return stray{}, false
}

// inHistory reports whether commit a is in the history of commit b (a is
// b or an ancestor of it), both known to the repository.
func (r *runner) inHistory(a, b string) bool {
	if r.repo == nil || !r.repo.HasCommit(a) || !r.repo.HasCommit(b) {
		return false
	}
	ok, err := r.repo.IsAncestor(a, b)
	return err == nil && ok
}

// withoutStrays is vs without the versions strays names in stage.
func withoutStrays(vs []amigo.ToolVersion, strays []stray, stage string) []amigo.ToolVersion {
	var out []amigo.ToolVersion
	for _, v := range vs {
		gone := false
		for _, s := range strays {
			if s.stage == stage && s.version == v.Version.String() {
				gone = true
			}
		}
		if !gone {
			out = append(out, v)
		}
	}
	return out
}

// withdrawStrays deprecates every stray before anything else changes
// (after the checks of the start, so a run that cannot start changes
// nothing). Each withdrawal is recorded on its tool's stage (Withdrawn, a
// warning) and counted; a tool whose stray could not be withdrawn is not
// released (its stages would otherwise build on a stage that serves an
// untested commit), and its error says how to withdraw it by hand. Strays
// of a tool this run does not release (the tool filter leaves it out) are
// withdrawn too, and reported in the run's warnings. In plan mode and dry
// runs the stage says what a run would withdraw.
func (r *runner) withdrawStrays(ctx context.Context, rep *Report, tools []*toolRun, strays map[string][]stray) {
	runs := map[string]*toolRun{}
	for _, t := range tools {
		runs[t.name] = t
	}
	names := make([]string, 0, len(strays))
	for name := range strays {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := runs[name]
		for _, s := range strays[name] {
			var sr *stageRun
			if t != nil {
				sr = t.byName[s.stage]
			}
			if r.opts.readOnly() {
				msg := fmt.Sprintf("%s: a run withdraws it (deprecates %s there) before releasing", s, s.version)
				if sr != nil {
					sr.rep.Warnings = append(sr.rep.Warnings, msg)
				} else {
					rep.Warnings = append(rep.Warnings, name+": "+msg)
				}
				continue
			}
			msg, err := r.deprecateStray(ctx, s, r.apis[s.stage], r.retryCall)
			if err != nil {
				msg = err.Error()
				if t != nil {
					r.log.step(levelError, name, s.stage, "withdraw", msg, 0)
					if t.rep.Error == "" {
						t.rep.Error = msg
					}
				} else {
					r.log.emit(levelError, name+" "+s.stage+": "+msg)
					rep.Warnings = append(rep.Warnings, name+": "+msg)
				}
				continue
			}
			if sr != nil {
				r.log.step(levelWarning, name, s.stage, "withdraw", msg, 0)
				sr.rep.Withdrawn = append(sr.rep.Withdrawn, s.version)
				sr.rep.Warnings = append(sr.rep.Warnings, msg)
			} else {
				r.log.Warningf("%s %s: %s", name, s.stage, msg)
				rep.Warnings = append(rep.Warnings, name+": "+msg)
			}
		}
	}
}

// strayReason is the report's reason for releasing a tool that has not
// changed since its first stage's version: its strays were withdrawn and
// the stages they were in lag behind.
func strayReason(head string, ss []stray) string {
	stages := ""
	for i, s := range ss {
		if i > 0 {
			stages += ", "
		}
		stages += s.stage + " " + s.version
	}
	return fmt.Sprintf("released again from %s to finish an earlier promotion: untested versions withdrawn (%s), built from a commit pushed while an earlier run's publish was building", changes.ShortSHA(head), stages)
}

// checkStrays looks for strays (isStray) among vs, the versions of stage s
// read in this run, for a tool whose later stages the analysis did not
// list (analysis.strayChecked): verify calls it on its list after the
// publish, before the stage's version is accepted, and sweepStrays on the
// stages the chain did not reach. The stages s needs are judged as they
// were before this run changed them (their own version taken out): a
// stage that did not serve a commit before this run makes an older version
// of it in s a stray even when this run has since tested and released that
// commit there (the fresh version serves instead). Each
// stray is withdrawn at once (withdrawStray); the error says which could
// not be.
func (r *runner) checkStrays(ctx context.Context, t *toolRun, s *stageRun, toolID string) error {
	s.strayChecked = true
	var errs []error
	for _, need := range s.spec.Needs {
		// A needed stage this run has no list of (skip_stages, or its
		// chain stopped before it): listed now.
		// Two stages that need a skipped one may look at once: seeMu.
		if j := t.byName[need]; j != nil {
			t.seeMu.Lock()
			if id := j.toolID(); id != "" && !j.seenOK {
				if err := r.seeStage(ctx, j, id); err != nil {
					errs = append(errs, fmt.Errorf("list the versions of %s, which %s needs, to look for untested ones: %w", need, s.spec.Name, err))
				}
			}
			t.seeMu.Unlock()
		}
	}
	needs := func(need string) ([]amigo.ToolVersion, bool) {
		t.seeMu.Lock()
		defer t.seeMu.Unlock()
		j := t.byName[need]
		if j == nil || !j.seenOK {
			return nil, false
		}
		return j.before(), true
	}
	for _, v := range s.before() {
		st, ok := r.isStray(t.name, s.spec, v, r.head, needs)
		if !ok {
			continue
		}
		st.toolID = toolID
		if err := r.withdrawStray(ctx, t, s, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// before is what the stage served before this run changed it, as far as
// its latest list (seen) tells: without the version this run published
// there and without what this run withdrew.
func (s *stageRun) before() []amigo.ToolVersion {
	var out []amigo.ToolVersion
	for _, v := range s.seen {
		ver := v.Version.String()
		if (s.published && ver == s.rep.VersionAfter) || slices.Contains(s.rep.Withdrawn, ver) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// withdrawStray deprecates one stray found in a tool's chain and records
// it on its stage, as withdrawStrays does for the analysis' strays.
func (r *runner) withdrawStray(ctx context.Context, t *toolRun, s *stageRun, st stray) error {
	msg, err := r.deprecateStray(ctx, st, s.api, r.finishCall)
	if err != nil {
		return err
	}
	r.log.step(levelWarning, t.name, s.spec.Name, "withdraw", msg, 0)
	s.rep.Withdrawn = append(s.rep.Withdrawn, st.version)
	s.rep.Warnings = append(s.rep.Warnings, msg)
	return nil
}

// deprecateStray deprecates s through api with call (retryCall in the
// analysis, finishCall in a tool's chain, which goes on in the grace after
// an interrupt) and counts it; it returns the message that says so, or an
// error (masked) that says how to withdraw it by hand.
func (r *runner) deprecateStray(ctx context.Context, s stray, api API, call func(context.Context, func(error) bool, func() error) error) (string, error) {
	err := call(ctx, idempotentRetry, func() error { return api.DeprecateVersions(ctx, s.toolID, exactConstraint(s.version)) })
	if err != nil {
		return "", errors.New(r.log.mask(fmt.Sprintf("%s; withdrawing it failed: %v: deprecate it by hand (DELETE .../version/==%s in %s), then release again", s, err, s.version, s.stage)))
	}
	r.count(func(c *Stats) { c.Withdrawn++ })
	return fmt.Sprintf("%s: deprecated at once (beyond the first stage nothing untested serves)", s), nil
}

// sweepStrays runs once a tool's chain is over, however it ended (a failed
// test or publish, a gate, a halt, an interrupt, skip_stages): every stage
// after the first that no stray check has looked at in this run is looked
// at now, in plan order, from the list this run read of it or from a new
// one, and its strays are withdrawn. With verify's check on the stages the
// chain reached, no later stage of a released tool is left unchecked, as
// if the analysis had listed them all (findStrays), at one list per stage
// and run instead of two. Only the caller's ctx (the grace after an
// interrupt) stops it. A stray that could not be withdrawn fails its
// stage, with the fix in the error.
func (r *runner) sweepStrays(ctx context.Context, t *toolRun) {
	if r.opts.readOnly() {
		return
	}
	for _, s := range t.stages[1:] {
		if s.strayChecked || ctx.Err() != nil {
			continue
		}
		toolID := s.toolID()
		if toolID == "" {
			s.strayChecked = true // no such tool in the stage: nothing serves
			continue
		}
		if err := r.seeStage(ctx, s, toolID); err != nil {
			r.sweepFailed(t, s, fmt.Errorf("list versions to look for untested ones: %w", err))
			continue
		}
		if err := r.checkStrays(ctx, t, s, toolID); err != nil {
			r.sweepFailed(t, s, err)
		}
	}
}

// toolID is the tool's id in the stage ("" where it has none): ensure's,
// else the analysis'.
func (s *stageRun) toolID() string {
	switch {
	case s.tool != nil:
		return s.tool.ID
	case s.remote.tool != nil:
		return s.remote.tool.ID
	}
	return ""
}

// seeStage lists stage s's versions unless this run has read them already.
func (r *runner) seeStage(ctx context.Context, s *stageRun, toolID string) error {
	if s.seenOK {
		return nil
	}
	var vs []amigo.ToolVersion
	if err := r.finishCall(ctx, transient, func() (err error) { vs, err = s.api.Versions(ctx, toolID); return err }); err != nil {
		return err
	}
	s.see(vs)
	return nil
}

// sweepFailed records a stray check that could not finish on its stage.
func (r *runner) sweepFailed(t *toolRun, s *stageRun, err error) {
	msg := r.log.mask(err.Error())
	r.log.step(levelError, t.name, s.spec.Name, "withdraw", msg, 0)
	s.rep.Warnings = append(s.rep.Warnings, msg)
	if s.rep.Status != StatusFailed {
		s.rep.Status = StatusFailed
		s.rep.Error = msg
	}
	if t.rep.Error == "" {
		t.rep.Error = fmt.Sprintf("%s: %s", s.spec.Name, msg)
	}
}
