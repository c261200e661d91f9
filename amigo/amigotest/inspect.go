package amigotest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// Envvar is an environment variable of a tool as the emulator stores it.
type Envvar struct {
	Name   string
	Value  string
	Secret bool
}

// Tools returns every tool of org (deprecated ones included), in creation
// order.
func (s *Server) Tools(org string) []amigo.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return nil
	}
	out := make([]amigo.Tool, 0, len(o.tools))
	for _, t := range o.tools {
		out = append(out, t.snapshot())
	}
	return out
}

// ToolByName returns the non-deprecated tool of org named name.
func (s *Server) ToolByName(org, name string) (amigo.Tool, bool) {
	for _, t := range s.Tools(org) {
		if t.Name == name && !t.Deprecated {
			return t, true
		}
	}
	return amigo.Tool{}, false
}

// Versions returns every version of a tool (deprecated ones included), in
// creation order; nil if the tool does not exist.
func (s *Server) Versions(org, toolID string) []amigo.ToolVersion {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(org, toolID)
	if t == nil {
		return nil
	}
	out := make([]amigo.ToolVersion, len(t.versions))
	for i, v := range t.versions {
		out[i] = copyVersion(v)
	}
	return out
}

// ActiveVersions returns the non-deprecated versions of a tool as X.Y.Z
// strings, in creation order.
func (s *Server) ActiveVersions(org, toolID string) []string {
	var out []string
	for _, v := range s.Versions(org, toolID) {
		if !v.Deprecated {
			out = append(out, v.Version.String())
		}
	}
	return out
}

// Envvars returns the environment variables of a tool sorted by name.
func (s *Server) Envvars(org, toolID string) []Envvar {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(org, toolID)
	if t == nil {
		return nil
	}
	out := []Envvar{}
	for _, n := range slices.Sorted(maps.Keys(t.envvars)) {
		out = append(out, Envvar{Name: n, Value: t.envvars[n].value, Secret: t.envvars[n].secret})
	}
	return out
}

// Invocations returns the invocation history of org, oldest first.
func (s *Server) Invocations(org string) []amigo.Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[org]
	if o == nil {
		return nil
	}
	out := make([]amigo.Invocation, len(o.invocations))
	for i, inv := range o.invocations {
		out[i] = *inv
	}
	return out
}

// Busy reports whether a publish (or other serialized operation) is running
// on the tool.
func (s *Server) Busy(org, toolID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(org, toolID)
	return t != nil && t.busy != ""
}

// Serving is how many requests the server has received and not answered
// yet: those in an injected latency (SetLatency, Chaos.Latency) before any
// work, and those doing their work (a publish for its whole build). A
// request in its latency has not made the tool Busy yet, but it will: a
// client that gave up on it cannot tell, and neither can Busy.
func (s *Server) Serving() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}

// lookupLocked finds a tool of org for the inspection methods, without
// creating the org's state as s.org does (nil when either is unknown).
func (s *Server) lookupLocked(org, toolID string) *tool {
	if o := s.orgs[org]; o != nil {
		return o.find(toolID)
	}
	return nil
}

// SeedTool describes a tool created directly in the emulator's state.
type SeedTool struct {
	Name        string
	Description string            // default "seeded tool <name>"
	Tags        map[string]string // values; use TagsNull for null values
	TagsNull    []string          // tag keys with a null value
	Deprecated  bool
	Envvars     []Envvar
	User        string // creator user ID (default "seed")
}

// AddTool creates a tool directly in org's state, bypassing HTTP, rate
// limits and faults. It returns the tool ID. A non-deprecated tool with the
// same name is an error, as over HTTP.
func (s *Server) AddTool(org string, st SeedTool) (string, error) {
	if st.Name == "" {
		return "", fmt.Errorf("amigotest.AddTool: Name is required")
	}
	if st.Description == "" {
		st.Description = "seeded tool " + st.Name
	}
	if st.User == "" {
		st.User = "seed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.org(org)
	if !st.Deprecated {
		for _, t := range o.tools {
			if t.t.Name == st.Name && !t.t.Deprecated {
				return "", fmt.Errorf("amigotest.AddTool: a non-deprecated tool named %q already exists (%s)", st.Name, t.t.ID)
			}
		}
	}
	tags := map[string]any{}
	for k, v := range st.Tags {
		tags[k] = v
	}
	for _, k := range st.TagsNull {
		tags[k] = nil
	}
	t := s.addToolLocked(o, org, st.User, st.Name, st.Description, tagsFrom(tags, nil)) // a Go map has no order: sorted by key
	t.t.Deprecated = st.Deprecated
	for _, ev := range st.Envvars {
		t.envvars[ev.Name] = envvar{value: ev.Value, secret: ev.Secret}
	}
	return t.t.ID, nil
}

// SetEnvvar inserts or replaces an environment variable of a tool directly.
func (s *Server) SetEnvvar(org, toolID string, ev Envvar) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(org).find(toolID)
	if t == nil {
		return fmt.Errorf("amigotest.SetEnvvar: tool %s does not exist in org %s", toolID, org)
	}
	t.envvars[ev.Name] = envvar{value: ev.Value, secret: ev.Secret}
	return nil
}

// SeedVersion describes a tool version created directly in the emulator.
type SeedVersion struct {
	Version               string // "X.Y.Z", required
	Commit                string // tool_commit_hash (default: 40 zeros)
	ProjectDirectory      string
	RequiredEnvvars       []string
	RequiredSecretEnvvars []string
	InputSchema           map[string]any
	Deprecated            bool
	User                  string    // creator (default "seed")
	CreatedAt             time.Time // default: the clock's now
}

// Seed leaves tool in org as earlier releases would have: the tool
// (created as given unless a live one of its name exists) and versions
// written "X.Y.Z@commit", a leading "-" for a deprecated one, each from
// projectDir. It returns the tool ID.
func (s *Server) Seed(org string, tool SeedTool, projectDir string, versions ...string) (string, error) {
	id := ""
	if tl, ok := s.ToolByName(org, tool.Name); ok {
		id = tl.ID
	} else {
		var err error
		if id, err = s.AddTool(org, tool); err != nil {
			return "", err
		}
	}
	for _, v := range versions {
		ver, commit, _ := strings.Cut(strings.TrimPrefix(v, "-"), "@")
		sv := SeedVersion{Version: ver, Commit: commit, Deprecated: strings.HasPrefix(v, "-"), ProjectDirectory: projectDir}
		if _, err := s.AddVersion(org, id, sv); err != nil {
			return "", err
		}
	}
	return id, nil
}

// AddVersion adds a version to a tool directly (no latency, no checks other
// than that the tool exists and the version is new). Use it to set up cap
// and drift scenarios.
func (s *Server) AddVersion(org, toolID string, sv SeedVersion) (amigo.ToolVersion, error) {
	v, err := amigo.ParseVersion(sv.Version)
	if err != nil {
		return amigo.ToolVersion{}, fmt.Errorf("amigotest.AddVersion: %w", err)
	}
	if sv.Commit == "" {
		sv.Commit = "0000000000000000000000000000000000000000"
	}
	if sv.User == "" {
		sv.User = "seed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(org).find(toolID)
	if t == nil {
		return amigo.ToolVersion{}, fmt.Errorf("amigotest.AddVersion: tool %s does not exist in org %s", toolID, org)
	}
	for _, x := range t.versions {
		if x.Version == v {
			return amigo.ToolVersion{}, fmt.Errorf("amigotest.AddVersion: tool %s already has version %s", toolID, v)
		}
	}
	created := s.now()
	if !sv.CreatedAt.IsZero() {
		created = &amigo.Timestamp{Time: sv.CreatedAt.UTC()}
	}
	schema := sv.InputSchema
	if schema == nil {
		schema = map[string]any{}
	}
	who := amigo.VersionUserInfo{UserID: sv.User, UserOrgID: org}
	tv := &amigo.ToolVersion{
		ID: s.newID(), OrgID: org, CreatedAt: created, UpdatedAt: created, ToolID: toolID, Version: v,
		RequiredEnvvars:       append([]string{}, sv.RequiredEnvvars...),
		RequiredSecretEnvvars: append([]string{}, sv.RequiredSecretEnvvars...),
		InputSchema:           schema, ToolCommitHash: sv.Commit, AmigoScaffoldCommitHash: ScaffoldCommitHash,
		ProjectDirectory: sv.ProjectDirectory, LambdaVersion: len(t.versions) + 1,
		Creator: who, UpdatedBy: who, Deprecated: sv.Deprecated,
	}
	t.versions = append(t.versions, tv)
	return copyVersion(tv), nil
}

// AddInvocation appends an invocation to org's history directly (for
// example one with a simulation-conversation source). Empty ID, OrgID and
// CreatedAt are filled in.
func (s *Server) AddInvocation(org string, inv amigo.Invocation) amigo.Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv.ID == "" {
		inv.ID = s.newID()
	}
	inv.OrgID = org
	if inv.CreatedAt == nil {
		inv.CreatedAt = s.now()
		inv.UpdatedAt = inv.CreatedAt
	}
	if inv.Inputs == nil {
		inv.Inputs = map[string]any{}
	}
	o := s.org(org)
	o.invocations = append(o.invocations, &inv)
	return inv
}
