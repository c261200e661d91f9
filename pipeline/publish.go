package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
)

// publish is the publish step: it publishes with the bump the versions step
// decided (stageBump), retrying and reconciling (publishWithRetries).
func (r *runner) publish(ctx context.Context, t *toolRun, s *stageRun) (string, error) {
	bump := amigo.BumpType(s.rep.Bump)
	req := publishRequest{
		ToolID: s.tool.ID,
		Body:   amigo.PublishRequest{ProjectPath: t.path, BumpType: bump, Repo: r.opts.Plan.Publish.Repo},
		Commit: t.commit,
		Before: s.active,
		Pinned: func(v amigo.Version) bool { return s.spec.Pinned(t.name, v) },
		Server: serverKey(s.spec.BaseURL),
		Caps:   &r.caps,
	}
	if s.blind {
		req.BeforeUnknown = true
		req.Tip = func(ctx context.Context) (string, error) { return r.tips.tipNow(ctx, s.spec.Branch) }
	}
	note := func(msg string) { r.log.step(levelWarning, t.name, s.spec.Name, "publish", msg, 0) }
	out, err := publishWithRetries(ctx, r.haltCtx, s.api, r.policy, req, note)
	if err != nil && s.blind && out.Version == "" && refusedAs400(err) && !isCapRefusal(err) {
		// Refused where the versions were not listed first: list them now
		// and decide as the versions step would have (a tool with no
		// version at all here takes major; one already serving the
		// commit is adopted), then try once more if that changes anything.
		var vs []amigo.ToolVersion
		if lerr := r.read(ctx, func() (err error) { vs, err = s.api.Versions(ctx, s.tool.ID); return err }); lerr == nil {
			s.blind = false
			s.see(vs)
			what := r.learnVersions(t, s, vs)
			switch {
			case s.adopting():
				return "not published: " + what, nil
			case amigo.BumpType(s.rep.Bump) != bump:
				note(fmt.Sprintf("publish refused (%s); listed the versions (%s): publishing %s instead", err, what, s.rep.Bump))
				bump = amigo.BumpType(s.rep.Bump)
				req.Body.BumpType, req.Before, req.BeforeUnknown, req.Tip = bump, s.active, false, nil
				more, rerr := publishWithRetries(ctx, r.haltCtx, s.api, r.policy, req, note)
				more.Attempts += out.Attempts
				out, err = more, rerr
			}
		}
	}
	s.rep.Attempts = out.Attempts
	if out.Took > 0 {
		r.measure(t.name, s.spec.Name, out.Took)
	}
	r.count(func(st *Stats) {
		st.PublishAttempts += out.Attempts
		st.PublishRetries += out.Retries
		st.CapPrunes += len(out.CapPruned)
		st.Pruned += len(out.CapPruned)
		if out.Reconciled {
			st.Reconciled++
		}
	})
	s.rep.Pruned = append(s.rep.Pruned, out.CapPruned...)
	if out.Duplicate != "" {
		w := fmt.Sprintf("an earlier publish of %s finished as %s just before this one was accepted as %s: %s was deprecated at once, %s serves the commit", changes.ShortSHA(t.commit), out.Version, out.Duplicate, out.Duplicate, out.Version)
		if out.DuplicateErr != nil {
			w = fmt.Sprintf("an earlier publish of %s finished as %s just before this one was accepted as %s, and deprecating %s failed (%v): deprecate it by hand", changes.ShortSHA(t.commit), out.Version, out.Duplicate, out.Duplicate, out.DuplicateErr)
		} else {
			s.rep.Withdrawn = append(s.rep.Withdrawn, out.Duplicate)
			r.count(func(st *Stats) { st.Withdrawn++ })
		}
		s.rep.Warnings = append(s.rep.Warnings, r.log.mask(w))
	}
	if err != nil {
		return "", fmt.Errorf("publish %s (%s): %w", t.name, bump, err)
	}
	s.rep.VersionAfter = out.Version
	s.published = true
	how := fmt.Sprintf("published %s (%s)", out.Version, bump)
	if out.Reconciled {
		how = fmt.Sprintf("found %s after an unknown outcome or a conflict (published by an earlier attempt or run; not published again)", out.Version)
		s.rep.Warnings = append(s.rep.Warnings, how)
	}
	if out.Attempts > 1 {
		how += fmt.Sprintf(", %d attempts", out.Attempts)
	}
	return how, nil
}

// planPublish says what a run would publish.
func (r *runner) planPublish(t *toolRun, s *stageRun) (string, bool) {
	if !s.remote.known {
		released := []amigo.ToolVersion{{Version: amigo.Version{Major: 1}}}
		return fmt.Sprintf("publish a new version (%s if the tool has none, else %s)", stageBump(t.commitsBump, nil), stageBump(t.commitsBump, released)), true
	}
	return fmt.Sprintf("publish %s (%s)", s.rep.VersionAfter, s.rep.Bump), true
}

// publishRequest is what a publish needs besides the API.
type publishRequest struct {
	ToolID string
	Body   amigo.PublishRequest
	// Commit is the tested commit: an unknown outcome is resolved by looking
	// for a non-deprecated version pinned to it.
	Commit string
	// Before are the tool's active versions before the publish: a version
	// that is not among them after a lost answer is that attempt's, even
	// when the server built another commit (the branch moved), and is
	// never published over.
	Before []amigo.ToolVersion
	// Pinned reports the versions pruning must never deprecate.
	Pinned func(amigo.Version) bool
	// Server is the serverKey of the stage and Caps what the run learned
	// about the cap refusals of each server (caprule.go); nil Caps learns
	// nothing.
	Server string
	Caps   *capMemory
	// BeforeUnknown: the versions were not listed before the publish
	// (publishesBlind), so Before cannot tell a lost attempt's version of
	// another commit from one that was there. After a lost answer, Tip
	// then says where the branch points now: if at Commit, the attempt
	// (if it happened) built Commit and the versions show it. If the branch
	// moved, the attempt built the new tip (the API builds the tip): a
	// version of that commit, which did not exist when the run checked
	// the tips, is the attempt's, and it is returned as the publish's, so
	// that verify finds it untested and withdraws it (beyond the first
	// stage nothing untested serves). With no such version (yet), the
	// publish goes on (it may still be building); where the branch is
	// cannot be read, the outcome is unknown (attemptsVersion).
	BeforeUnknown bool
	Tip           func(ctx context.Context) (string, error)
}

// publishOutcome is what publishing did.
type publishOutcome struct {
	Version    string
	Attempts   int  // publish calls sent
	Retries    int  // retryable refusals (409, 429, 503, unknown outcome)
	Reconciled bool // the version was found by commit after an unknown outcome or a 409
	CapPruned  []string
	// Duplicate is a version this publish made of a commit that an earlier
	// attempt's (or run's) publish had just finished making: deprecated at
	// once, Version is the earlier one.
	Duplicate string
	// DuplicateErr says why deprecating Duplicate failed.
	DuplicateErr error
	// Took is how long the publish call that made Version took (the
	// build), 0 when its answer was lost.
	Took time.Duration
}

// errOutcomeUnknown marks a publish error after which a version of the
// commit may yet appear: an attempt's answer was lost and no version of the
// commit has been seen since (the server may still be building it). The
// stage is reported unknown, not failed; a rerun reconciles.
var errOutcomeUnknown = errors.New("a publish may still be building")

// isCapRefusal reports a publish refused because the tool has too many
// active versions.
func isCapRefusal(err error) bool {
	ae, ok := errors.AsType[*amigo.APIError](err)
	if !ok || ae.StatusCode != 400 {
		return false
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "active version") || strings.Contains(m, "active tool version")
}

// retryablePublishError reports the refusals after which a publish may be
// sent again: 409 (another operation on the tool in progress), 429 and 503
// (refused before any work). An unknown outcome is retried too, but only
// after reconciliation (see publishWithRetries).
func retryablePublishError(err error) bool {
	return amigo.IsConflict(err) || amigo.IsRateLimited(err) || amigo.IsMaintenance(err)
}

// publishWithRetries publishes req on api, retrying by pol. It never
// publishes twice for one commit: after an unknown outcome or a 409 every
// further attempt first lists the versions and stops when one is pinned to
// req.Commit. (A 409 means another operation on the tool is in progress: it
// may be a publish of this very commit, sent by an earlier run that was
// cancelled or timed out, or by a concurrent run; publishing again once it
// is done would make a second version of the commit.) A publish refused for
// too many active versions prunes the oldest unpinned version and tries
// once more. ctx bounds the calls; waitCtx (the run's halt context) bounds
// the waits between attempts, so --fail-fast or an interrupt stops retrying
// without abandoning a call in flight. An error after which a version of
// the commit may still appear matches errOutcomeUnknown.
func publishWithRetries(ctx, waitCtx context.Context, api API, pol retryPolicy, req publishRequest, note func(string)) (publishOutcome, error) {
	var out publishOutcome
	out.CapPruned = makeRoomFirst(ctx, api, req, note)
	b := pol.newBackOff()
	reconcile := false // look for the commit's version before the next attempt
	lost := false      // an attempt's answer was lost and nothing has been seen since
	capRetried := false
	op := func() error {
		for {
			if reconcile {
				vs, err := api.Versions(ctx, req.ToolID)
				if err != nil {
					return fmt.Errorf("reconcile after unknown outcome: list versions: %w", err)
				}
				v, err := attemptsVersion(ctx, vs, req, lost)
				if err != nil {
					return backoff.Permanent(err)
				}
				if v != nil {
					out.Version = v.Version.String()
					out.Reconciled = true
					return nil
				}
			}
			if ctx.Err() != nil {
				return backoff.Permanent(ctx.Err())
			}
			out.Attempts++
			sent := pol.Clock.Now()
			resp, err := api.PublishVersion(ctx, req.ToolID, req.Body)
			switch {
			case err == nil:
				out.Version = resp.NewVersion
				out.Took = pol.Clock.Now().Sub(sent)
				return nil
			case errors.Is(err, amigo.ErrUnknownOutcome):
				reconcile, lost = true, true
				out.Retries++
				return err
			case retryablePublishError(err):
				if amigo.IsConflict(err) {
					reconcile = true
				}
				out.Retries++
				return err
			case isCapRefusal(err) && !capRetried:
				capRetried = true
				v, perr := pruneForCap(ctx, api, req)
				if perr != nil {
					return backoff.Permanent(fmt.Errorf("%w; making room failed: %v", err, perr))
				}
				out.CapPruned = append(out.CapPruned, v)
				note(fmt.Sprintf("publish refused for too many active versions: deprecated %s, trying once more", v))
				// Once more at once, whatever is left of the retry budget:
				// the room just made must not go to waste.
				continue
			default:
				return backoff.Permanent(err)
			}
		}
	}
	err := retry(waitCtx, pol.Clock, b, op, func(err error, d time.Duration) {
		note(fmt.Sprintf("publish attempt %d: %v; retrying in %s", out.Attempts, err, d.Round(time.Second)))
	})
	if err != nil && reconcile && ctx.Err() == nil {
		// The budget (or the run) ended while an earlier attempt's outcome
		// was unknown: look once more before reporting a failure, so a
		// version that is live is reported as released, never as failed.
		if vs, lerr := api.Versions(ctx, req.ToolID); lerr == nil {
			if v, _ := attemptsVersion(ctx, vs, req, lost); v != nil {
				out.Version = v.Version.String()
				out.Reconciled = true
				return out, nil
			}
		} else {
			err = fmt.Errorf("%w (and listing versions to reconcile failed: %v; a rerun reconciles)", err, lerr)
		}
	}
	if err != nil {
		if retryablePublishError(err) || errors.Is(err, amigo.ErrUnknownOutcome) {
			err = fmt.Errorf("gave up after %d attempts within the %s retry budget: %w", out.Attempts, pol.Budget, err)
		}
		if lost {
			// The lost attempt may still be building: no version of the
			// commit yet is not proof that none will appear.
			err = fmt.Errorf("%w: %w", errOutcomeUnknown, withUnknown(err))
		}
		return out, err
	}
	if out.Version == "" {
		return out, fmt.Errorf("publish answered without a version number")
	}
	if reconcile && !out.Reconciled {
		dedupe(ctx, api, req, &out)
	}
	return out, nil
}

// dedupe closes the one window the reconciliation leaves open: after a 409
// or a lost answer, the versions are listed before each new attempt, but an
// earlier publish of the commit (still building) can finish between that
// list and the attempt, which the server then accepts. The publish that
// just succeeded is then a second version of the commit: it is deprecated
// at once and the earlier one is the stage's.
func dedupe(ctx context.Context, api API, req publishRequest, out *publishOutcome) {
	vs, err := api.Versions(ctx, req.ToolID)
	if err != nil {
		return
	}
	var earlier *amigo.ToolVersion
	for i := range vs {
		v := &vs[i]
		if v.Deprecated || !sameCommit(v.ToolCommitHash, req.Commit) || v.Version.String() == out.Version {
			continue
		}
		if earlier == nil || v.Version.Less(earlier.Version) {
			earlier = v
		}
	}
	if earlier == nil {
		return
	}
	out.Duplicate = out.Version
	out.DuplicateErr = api.DeprecateVersions(ctx, req.ToolID, exactConstraint(out.Duplicate))
	out.Version = earlier.Version.String()
	out.Reconciled = true
}

// reconciled is the version an earlier attempt (or run) published, found
// in vs: one pinned to the commit; or, after a lost answer, a version that
// was not there before the publish began, whatever its commit (the server
// built the branch tip, which may have moved: verify then finds it
// untested). Nil when there is none yet.
func reconciled(vs []amigo.ToolVersion, req publishRequest, lost bool) *amigo.ToolVersion {
	if v := versionWithCommit(vs, req.Commit); v != nil {
		return v
	}
	if !lost || req.BeforeUnknown {
		// A 409 alone says another operation was in progress: a version
		// of another commit is someone else's, not this publish's. And
		// without the list from before the publish, a version of another
		// commit cannot be told apart from one that was there (see
		// BeforeUnknown).
		return nil
	}
	before := map[string]bool{}
	for _, v := range req.Before {
		before[v.Version.String()] = true
	}
	var found *amigo.ToolVersion
	for i := range vs {
		if v := &vs[i]; !v.Deprecated && !before[v.Version.String()] && (found == nil || found.Version.Less(v.Version)) {
			found = v
		}
	}
	return found
}

// attemptsVersion is the version among vs that an earlier attempt made
// (reconciled), if any. Where the versions were not listed before the
// publish (BeforeUnknown) and an answer was lost, the branch tip tells
// which commit the lost attempt built: the tested one, or, if the branch
// moved, the new tip, a version of which (a commit that did not exist when
// the run checked the tips) can only be the attempt's; it is returned so
// that verify finds it untested and withdraws it. When no version of the
// new tip is there yet, the publish goes on as anywhere (it may still be
// building: the next attempt meets a 409 and looks again); only when the
// tip cannot be read is the outcome left unknown (err).
func attemptsVersion(ctx context.Context, vs []amigo.ToolVersion, req publishRequest, lost bool) (*amigo.ToolVersion, error) {
	if v := reconciled(vs, req, lost); v != nil {
		return v, nil
	}
	if !lost || !req.BeforeUnknown {
		return nil, nil
	}
	tip, err := req.Tip(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: an attempt's answer was lost and where the branch is cannot be read (%v), so it may have built another commit, which the versions cannot tell apart from those already there (they were not listed before publishing)", amigo.ErrUnknownOutcome, err)
	}
	if !sameCommit(tip, req.Commit) {
		return versionWithCommit(vs, tip), nil
	}
	return nil, nil
}

// refusedAs400 reports a publish refused with 400 (the server checked the
// request and said no: a first version not published as major, an older
// commit, missing envvars, a failed build).
func refusedAs400(err error) bool {
	ae, ok := errors.AsType[*amigo.APIError](err)
	return ok && ae.StatusCode == 400
}

// withUnknown makes err match amigo.ErrUnknownOutcome.
func withUnknown(err error) error {
	if errors.Is(err, amigo.ErrUnknownOutcome) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, amigo.ErrUnknownOutcome)
}

// pruneForCap deprecates the oldest version that may go.
func pruneForCap(ctx context.Context, api API, req publishRequest) (string, error) {
	vs, err := api.Versions(ctx, req.ToolID)
	if err != nil {
		return "", fmt.Errorf("list versions: %w", err)
	}
	req.Caps.learn(req.Server, activeCount(vs))
	v, ok := pruneOneForCap(vs, req.Commit, req.Pinned)
	if !ok {
		return "", fmt.Errorf("every active version is pinned (keep) or serves this commit: unpin one or deprecate one by hand")
	}
	if err := api.DeprecateVersions(ctx, req.ToolID, exactConstraint(v)); err != nil {
		return "", fmt.Errorf("deprecate %s: %w", v, err)
	}
	return v, nil
}
