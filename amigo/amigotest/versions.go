package amigotest

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// ScaffoldCommitHash is the amigo_scaffold_commit_hash of every version the
// emulator publishes: the SHA-1 of the scaffold archive it serves.
var ScaffoldCommitHash = func() string {
	sum := sha1.Sum(scaffoldArchive())
	return hex.EncodeToString(sum[:])
}()

func activeCount(t *tool) int {
	n := 0
	for _, v := range t.versions {
		if !v.Deprecated {
			n++
		}
	}
	return n
}

// highest returns the highest version of t, deprecated ones included.
func highest(t *tool) (amigo.Version, bool) {
	var best amigo.Version
	found := false
	for _, v := range t.versions {
		if !found || best.Less(v.Version) {
			best, found = v.Version, true
		}
	}
	return best, found
}

// newest returns the most recently created version, or nil.
func newest(t *tool) *amigo.ToolVersion {
	if len(t.versions) == 0 {
		return nil
	}
	return t.versions[len(t.versions)-1]
}

func (s *Server) handlePublish(c *call) reply {
	id, req, bad := toolRequest[amigo.PublishRequest](c, publishSchema)
	if bad != nil {
		return *bad
	}

	var t *tool
	var claimed reply
	s.locked(func() {
		t = s.org(c.org).find(id)
		switch {
		case t == nil || t.t.Deprecated:
			claimed = toolNotFound(id, t)
		case t.busy != "":
			claimed = detailReply(http.StatusConflict, "A related operation is in progress on tool %s (%s).", id, t.busy)
		default:
			t.busy = OpPublishVersion
		}
	})
	if claimed.status != 0 {
		return claimed
	}
	// The tool stays busy for the whole publish; this clears it on every
	// way out (refusal, shutdown, build error, panic) unless the version
	// was created, which clears it in the same critical section.
	cleared := false
	defer func() {
		if !cleared {
			s.locked(func() { t.busy = "" })
		}
	}()

	p, err := s.repo.read(s.opts.Branch, req.ProjectPath)
	if err != nil {
		return projectError(err)
	}

	var rep reply
	ok := false
	var lastCommit string
	var delay time.Duration
	s.locked(func() {
		rep, ok = s.publishChecksLocked(t, req.BumpType, p)
		if last := newest(t); last != nil {
			lastCommit = last.ToolCommitHash
		}
		// Drawn on refusals too, so that a seed gives the same IDs and
		// tokens whatever the refusals.
		delay = s.opts.PublishLatency.draw(s.rng)
	})
	if !ok {
		return rep
	}
	// The ancestry walk reads git objects: done without the server mutex
	// (the busy flag keeps other publishes of t out meanwhile).
	if s.repo.isOlder(p.Commit, lastCommit) {
		return detailReply(http.StatusBadRequest, "Specified commit %s is older than the last valid commit %s.", p.Commit, lastCommit)
	}

	if err := s.clk.Sleep(s.ctx, delay); err != nil {
		return detailReply(http.StatusServiceUnavailable, "The service is going through temporary maintenance (the emulator is shutting down).")
	}
	if p.BuildError != "" {
		return detailReply(http.StatusBadRequest, "Tool build has failed: %s", p.BuildError)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	t.busy = ""
	cleared = true
	next := amigo.Version{}.Bump(amigo.BumpMajor)
	if hi, ok := highest(t); ok {
		next = hi.Bump(req.BumpType)
	}
	now := s.now()
	who := amigo.VersionUserInfo{UserID: c.user, UserOrgID: c.org}
	v := &amigo.ToolVersion{
		ID: s.newID(), OrgID: c.org, CreatedAt: now, UpdatedAt: now, ToolID: t.t.ID, Version: next,
		RequiredEnvvars:         append([]string{}, p.RequiredEnvvars...),
		RequiredSecretEnvvars:   append([]string{}, p.RequiredSecretEnvvars...),
		InputSchema:             p.InputSchema,
		ToolCommitHash:          p.Commit,
		AmigoScaffoldCommitHash: ScaffoldCommitHash,
		ProjectDirectory:        p.Directory,
		LambdaVersion:           len(t.versions) + 1,
		Creator:                 who, UpdatedBy: who,
	}
	t.versions = append(t.versions, v)
	return jsonReply(http.StatusCreated, amigo.PublishResponse{NewVersion: next.String()})
}

// publishChecksLocked applies the refusals that happen before the build and
// need only the server's state (the commit-ancestry refusal reads git and
// is applied by the caller without the mutex).
func (s *Server) publishChecksLocked(t *tool, bump amigo.BumpType, p *project) (reply, bool) {
	if len(t.versions) == 0 && bump != amigo.BumpMajor {
		return detailReply(http.StatusBadRequest, "The first version of a tool must be published with bump_type \"major\" (it becomes 1.0.0), not %q.", bump), false
	}
	if n := activeCount(t); s.opts.CapRule.refuses(n, s.opts.ActiveCap) {
		if s.opts.CapRule == CapStrict {
			return detailReply(http.StatusBadRequest, "Publishing would make more than %d active versions of the tool (%d are not deprecated); deprecate one before publishing.", s.opts.ActiveCap, n), false
		}
		return detailReply(http.StatusBadRequest, "More than %d active versions of the tool exist (%d are not deprecated); deprecate one before publishing.", s.opts.ActiveCap, n), false
	}
	var missing []string
	for _, name := range p.RequiredEnvvars {
		if ev, ok := t.envvars[name]; !ok || ev.secret {
			missing = append(missing, name)
		}
	}
	for _, name := range p.RequiredSecretEnvvars {
		if ev, ok := t.envvars[name]; !ok || !ev.secret {
			missing = append(missing, name+" (secret)")
		}
	}
	if len(missing) > 0 {
		return detailReply(http.StatusBadRequest, "The environment variables required by the tool version do not exist on the tool: %s.", strings.Join(missing, ", ")), false
	}
	return reply{}, true
}

func projectError(err error) reply {
	var nf *notFoundError
	var be *buildError
	switch {
	case errors.As(err, &nf):
		return detailReply(http.StatusNotFound, "%s", nf.msg)
	case errors.As(err, &be):
		return detailReply(http.StatusBadRequest, "%s", be.msg)
	}
	return detailReply(http.StatusServiceUnavailable, "The service is going through temporary maintenance: %v", err)
}

func (s *Server) handleListVersions(c *call) reply {
	var e errs
	id := toolIDParam(c, &e)
	q := newQuery(c, &e)
	dep := q.boolParam("deprecated")
	var cons *amigo.VersionConstraint
	if raw, ok := q.str("versions"); ok {
		if vc, err := amigo.ParseConstraint(raw); err != nil {
			e.add(q.loc("versions"), "value_error", "Value error, "+err.Error(), raw)
		} else {
			cons = &vc
		}
	}
	sorts := q.sortBy("created_at", "version.major", "version.minor", "version.patch", "deprecated")
	creators := q.list("creator", "", true)
	for i, cr := range creators {
		if o, u, ok := strings.Cut(cr, ","); !ok || o == "" || u == "" {
			e.add(q.loc("creator", i), "value_error", "Value error, a creator must be of the format org_id,user_id", cr)
		}
	}
	limit := q.intParam("limit", 50, intp(0), intp(50), false)
	cont := q.intParam("continuation_token", 0, nil, nil, false)
	if len(e) > 0 {
		return e.reply()
	}
	var all []amigo.ToolVersion
	found := false
	s.locked(func() {
		t := s.org(c.org).find(id)
		if t == nil {
			return
		}
		found = true
		all = make([]amigo.ToolVersion, len(t.versions))
		for i, v := range t.versions {
			all[i] = copyVersion(v)
		}
	})
	if !found {
		return toolNotFound(id, nil)
	}

	var matched []amigo.ToolVersion
	seen := map[amigo.VersionUserInfo]bool{}
	creatorList := []amigo.VersionUserInfo{}
	for _, v := range all {
		if !seen[v.Creator] {
			seen[v.Creator] = true
			creatorList = append(creatorList, v.Creator)
		}
		if dep != nil && v.Deprecated != *dep {
			continue
		}
		if cons != nil && !cons.Match(v.Version) {
			continue
		}
		if len(creators) > 0 && !slices.Contains(creators, v.Creator.UserOrgID+","+v.Creator.UserID) {
			continue
		}
		matched = append(matched, v)
	}
	sortByKeys(matched, sorts, func(a, b amigo.ToolVersion, field string) int {
		if cmp, ok := releaseCmp(a.Version, b.Version, a.CreatedAt, b.CreatedAt, field); ok {
			return cmp
		}
		if field == "deprecated" {
			return boolCmp(a.Deprecated, b.Deprecated)
		}
		return 0
	})
	page, more, next := paginate(matched, cont, limit)
	resp := amigo.ListVersionsResponse{ToolVersions: page, HasMore: more, ContinuationToken: next}
	if cont == 0 {
		resp.FilterValues = &amigo.VersionFilterValues{Creators: creatorList}
	}
	return jsonReply(http.StatusOK, resp)
}

func copyVersion(v *amigo.ToolVersion) amigo.ToolVersion {
	out := *v
	out.RequiredEnvvars = append([]string{}, v.RequiredEnvvars...)
	out.RequiredSecretEnvvars = append([]string{}, v.RequiredSecretEnvvars...)
	if out.InputSchema == nil {
		out.InputSchema = map[string]any{}
	}
	return out
}

func (s *Server) handleDeprecateVersions(c *call) reply {
	var e errs
	id := toolIDParam(c, &e)
	raw := c.params["versions"]
	cons, err := amigo.ParseConstraint(raw)
	if err != nil {
		e.add([]any{"path", "versions"}, "value_error", "Value error, "+err.Error(), raw)
	}
	if len(e) > 0 {
		return e.reply()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(c.org).find(id)
	if t == nil {
		return toolNotFound(id, nil)
	}
	now := s.now()
	for _, v := range t.versions {
		if !v.Deprecated && cons.Match(v.Version) {
			v.Deprecated = true
			v.UpdatedAt = now
			v.UpdatedBy = amigo.VersionUserInfo{UserID: c.user, UserOrgID: c.org}
		}
	}
	return emptyReply(http.StatusNoContent)
}

// Constraint reports whether version v satisfies the PEP 440 specifier set
// spec (==, !=, >=, <=, >, <, ~=, ===, == and != with .* wildcards,
// comma-joined). It is amigo.ParseConstraint, the parser the client checks
// constraints with, so the emulator refuses exactly what the client does.
func Constraint(spec string, v amigo.Version) (bool, error) {
	c, err := amigo.ParseConstraint(spec)
	if err != nil {
		return false, err
	}
	return c.Match(v), nil
}
