package amigotest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

// orgState is everything one organization owns in one region.
type orgState struct {
	tools       []*tool // creation order
	invocations []*amigo.Invocation
}

type envvar struct {
	value  string
	secret bool
}

type tool struct {
	t        amigo.Tool
	envvars  map[string]envvar
	deleted  map[string]time.Time // envvar tombstones
	versions []*amigo.ToolVersion // creation order
	busy     string               // operation in progress ("" when idle)
}

func (s *Server) org(name string) *orgState {
	o := s.orgs[name]
	if o == nil {
		o = &orgState{}
		s.orgs[name] = o
	}
	return o
}

func (o *orgState) find(id string) *tool {
	for _, t := range o.tools {
		if t.t.ID == id {
			return t
		}
	}
	return nil
}

// newID returns a Mongo ObjectId-like id: 4 bytes of (simulated) Unix time,
// 5 seeded random bytes, 3 bytes of counter. Callers hold s.mu.
func (s *Server) newID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(s.clk.Now().Unix()))
	s.rng.Read(b[4:9])
	s.idSeq++
	b[9], b[10], b[11] = byte(s.idSeq>>16), byte(s.idSeq>>8), byte(s.idSeq)
	return hex.EncodeToString(b[:])
}

func (s *Server) now() *amigo.Timestamp {
	return &amigo.Timestamp{Time: s.clk.Now().UTC().Truncate(time.Millisecond)}
}

// snapshot returns the wire form of t with envvar lists filled.
func (t *tool) snapshot() amigo.Tool {
	out := t.t
	out.Envvars, out.SecretEnvvars = []string{}, []string{}
	for _, n := range slices.Sorted(maps.Keys(t.envvars)) {
		if t.envvars[n].secret {
			out.SecretEnvvars = append(out.SecretEnvvars, n)
		} else {
			out.Envvars = append(out.Envvars, n)
		}
	}
	out.Tags = append([]amigo.Tag{}, t.t.Tags...)
	return out
}

// tagsFrom turns a validated tags object into the tool's tag list, in the
// order the request listed the keys (order: bodyKeys of the body's "tags"):
// the server keeps them in a dict (and MongoDB in a document), both of which
// keep insertion order. A key repeated in the JSON keeps its first place
// and its last value, as a Python dict built from that JSON does.
func tagsFrom(m map[string]any, order []string) []amigo.Tag {
	tags := []amigo.Tag{}
	add := func(k string) {
		v, ok := m[k]
		if !ok {
			return
		}
		delete(m, k)
		tg := amigo.Tag{Key: k}
		if s, ok := v.(string); ok {
			tg.Value = &s
		}
		tags = append(tags, tg)
	}
	m = maps.Clone(m)
	for _, k := range order {
		add(strings.TrimSpace(k))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) { // no order given (seeded tools): by key
		add(k)
	}
	return tags
}

// bodyKeys returns the keys of the object at field of the JSON object
// body, in the order they first appear (nil when there is none).
func bodyKeys(body []byte, field string) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if k, _ := t.(string); k != field {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil
		}
		var keys []string
		seen := map[string]bool{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return keys
			}
			k, _ := t.(string)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return keys
			}
		}
		return keys
	}
	return nil
}

// ---- sign in ----

func (s *Server) handleSignIn(c *call) reply {
	key, keyID, user := c.r.Header.Get("x-api-key"), c.r.Header.Get("x-api-key-id"), c.r.Header.Get("x-user-id")
	var e errs
	for _, h := range []struct{ name, v string }{{"x-api-key", key}, {"x-api-key-id", keyID}, {"x-user-id", user}} {
		if _, ok := c.r.Header[http.CanonicalHeaderKey(h.name)]; !ok {
			e.add([]any{"header", h.name}, "missing", "Field required", nil)
		}
	}
	if len(e) > 0 {
		return e.reply()
	}
	if rep, ok := s.limit(user, OpSignIn); !ok {
		return rep
	}
	if key == "" || keyID == "" || user == "" {
		return detailReply(http.StatusUnauthorized, "API key not found, is incorrect, or the requested user is not found.")
	}
	if len(s.keys) > 0 {
		ok := false
		for _, k := range s.keys {
			if k.Key == key && k.KeyID == keyID && k.UserID == user {
				ok = true
			}
		}
		if !ok {
			return detailReply(http.StatusUnauthorized, "API key not found, is incorrect, or the requested user is not found.")
		}
	}
	c.user = user
	var tok string
	var exp time.Time
	s.locked(func() { tok, exp = s.issueLocked(c.org, user) })
	return jsonReply(http.StatusOK, amigo.SignInResponse{IDToken: tok, ExpiresAt: exp})
}

// ---- tools ----

func (s *Server) handleCreateTool(c *call) reply {
	req, bad := decodeInto[struct {
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Tags        map[string]any `json:"tags"`
	}](c, createToolSchema, nil)
	if bad != nil {
		return *bad
	}
	if len(req.Name) > 64 {
		return detailReply(http.StatusBadRequest, "The tool name is too long: %d characters, at most 64.", len(req.Name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.org(c.org)
	for _, t := range o.tools {
		if t.t.Name == req.Name && !t.t.Deprecated {
			return detailReply(http.StatusConflict, "A tool with the name %q already exists (id %s).", req.Name, t.t.ID)
		}
	}
	t := s.addToolLocked(o, c.org, c.user, req.Name, req.Description, tagsFrom(req.Tags, bodyKeys(c.body, "tags")))
	return jsonReply(http.StatusCreated, amigo.CreateToolResponse{ID: t.t.ID})
}

func (s *Server) addToolLocked(o *orgState, org, user, name, desc string, tags []amigo.Tag) *tool {
	now := s.now()
	who := amigo.UserInfo{OrgID: org, UserID: user}
	t := &tool{
		t: amigo.Tool{
			ID: s.newID(), OrgID: org, CreatedAt: now, UpdatedAt: now, Name: name,
			Description: desc, Tags: tags, Creator: who, UpdatedBy: who,
			Envvars: []string{}, SecretEnvvars: []string{},
		},
		envvars: map[string]envvar{},
		deleted: map[string]time.Time{},
	}
	o.tools = append(o.tools, t)
	return t
}

func (s *Server) handleModifyTool(c *call) reply {
	id, req, bad := toolRequest[map[string]any](c, modifyToolSchema)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(c.org).find(id)
	if t == nil || t.t.Deprecated {
		return toolNotFound(id, t)
	}
	if d, ok := req["description"].(string); ok {
		t.t.Description = d
	}
	if tags, ok := req["tags"].(map[string]any); ok {
		t.t.Tags = tagsFrom(tags, bodyKeys(c.body, "tags"))
	}
	t.t.UpdatedAt = s.now()
	t.t.UpdatedBy = amigo.UserInfo{OrgID: c.org, UserID: c.user}
	return emptyReply(http.StatusNoContent)
}

func toolNotFound(id string, t *tool) reply {
	if t != nil {
		return detailReply(http.StatusNotFound, "Tool %s is deprecated.", id)
	}
	return detailReply(http.StatusNotFound, "Tool %s does not exist.", id)
}

func (s *Server) handleDeprecateTool(c *call) reply {
	var e errs
	id := toolIDParam(c, &e)
	if len(e) > 0 {
		return e.reply()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(c.org).find(id)
	if t == nil {
		return toolNotFound(id, nil)
	}
	if t.busy != "" {
		return detailReply(http.StatusConflict, "A related operation is in progress on tool %s (%s).", id, t.busy)
	}
	if !t.t.Deprecated {
		now := s.now()
		t.t.Deprecated = true
		t.t.UpdatedAt = now
		t.t.UpdatedBy = amigo.UserInfo{OrgID: c.org, UserID: c.user}
		for _, v := range t.versions {
			if !v.Deprecated {
				v.Deprecated = true
				v.UpdatedAt = now
				v.UpdatedBy = amigo.VersionUserInfo{UserID: c.user, UserOrgID: c.org}
			}
		}
	}
	return emptyReply(http.StatusNoContent)
}

func (s *Server) handleListTools(c *call) reply {
	var e errs
	q := newQuery(c, &e)
	ids := q.list("id", amigo.PatternObjectID, true)
	dep := q.boolParam("deprecated")
	sorts := q.sortBy("name", "deprecated")
	tagFilters := q.list("tag", "", false)
	limit := q.intParam("limit", 10, intp(0), intp(20), true)
	cont := q.intParam("continuation_token", 0, nil, nil, false)
	for i, tf := range tagFilters {
		if !strings.Contains(tf, ":") {
			e.add(q.loc("tag", i), "value_error", "Value error, a tag filter must be key:value (value * for any, empty for null)", tf)
		}
	}
	if cont < 0 {
		e.add(q.loc("continuation_token"), "greater_than_equal", "Input should be greater than or equal to 0", cont)
	}
	if len(e) > 0 {
		return e.reply()
	}
	var all []amigo.Tool
	s.locked(func() {
		for _, t := range s.org(c.org).tools {
			all = append(all, t.snapshot())
		}
	})

	var matched []amigo.Tool
	tagSet := map[string]bool{}
	for _, t := range all {
		for _, tg := range t.Tags {
			v := ""
			if tg.Value != nil {
				v = *tg.Value
			}
			tagSet[tg.Key+":"+v] = true
		}
		if len(ids) > 0 && !slices.Contains(ids, t.ID) {
			continue
		}
		if dep != nil && t.Deprecated != *dep {
			continue
		}
		if !matchTags(t.Tags, tagFilters) {
			continue
		}
		matched = append(matched, t)
	}
	sortByKeys(matched, sorts, func(a, b amigo.Tool, field string) int {
		switch field {
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "deprecated":
			return boolCmp(a.Deprecated, b.Deprecated)
		}
		return 0
	})
	page, more, next := paginate(matched, cont, limit)
	resp := amigo.ListToolsResponse{Tools: page, HasMore: more, ContinuationToken: next}
	if cont == 0 {
		resp.FilterValues = &amigo.ToolFilterValues{Tags: append([]string{}, slices.Sorted(maps.Keys(tagSet))...)} // [] not null in JSON
	}
	return jsonReply(http.StatusOK, resp)
}

// paginate returns a copy (never nil) of the page at offset cont of size
// limit of items, whether more follow, and the next token.
func paginate[T any](items []T, cont, limit int) ([]T, bool, *int) {
	n := len(items)
	from := min(max(cont, 0), n)
	to := min(from+limit, n)
	page := append([]T{}, items[from:to]...)
	if to < n {
		next := to
		return page, true, &next
	}
	return page, false, nil
}

// sortByKeys sorts items stably by the sort_by keys in order; cmp compares
// two items on one field, ascending.
func sortByKeys[T any](items []T, keys []sortKey, cmp func(a, b T, field string) int) {
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range keys {
			c := cmp(items[i], items[j], k.field)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// releaseCmp compares two versions or invocations on the sort fields
// they share: "created_at" and "version.major|minor|patch" (of the version
// released or invoked); ok is false for another field.
func releaseCmp(a, b amigo.Version, aCreated, bCreated *amigo.Timestamp, field string) (cmp int, ok bool) {
	switch field {
	case "created_at":
		return aCreated.Compare(bCreated.Time), true
	case "version.major":
		return a.Major - b.Major, true
	case "version.minor":
		return a.Minor - b.Minor, true
	case "version.patch":
		return a.Patch - b.Patch, true
	}
	return 0, false
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// matchTags applies tag filters key:value (value "*" any value, empty value
// matches a null value); all filters must match.
func matchTags(tags []amigo.Tag, filters []string) bool {
	for _, f := range filters {
		k, v, _ := strings.Cut(f, ":")
		ok := false
		for _, tg := range tags {
			if tg.Key != k {
				continue
			}
			switch {
			case v == "*":
				ok = true
			case v == "":
				ok = tg.Value == nil
			default:
				ok = tg.Value != nil && *tg.Value == v
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// ---- envvars ----

func (s *Server) handleEnvvars(c *call) reply {
	schema := envvarsSchema
	if s.opts.Lax {
		schema = envvarsSchemaLax
	}
	id, req, bad := toolRequest[amigo.ModifyEnvvarsRequest](c, schema)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.org(c.org).find(id)
	if t == nil || t.t.Deprecated {
		return toolNotFound(id, t)
	}
	if a, b, name, ok := amigo.RepeatedEnvvar(req); ok {
		return detailReply(http.StatusBadRequest, "Environment variable %s appears twice in the request (%s and %s); send one insert, update or delete per name.", name, a, b)
	}
	now := s.clk.Now()
	for _, in := range req.Inserts {
		if _, ok := t.envvars[in.Name]; ok {
			return detailReply(http.StatusConflict, "Environment variable %s already exists on tool %s; use an update to change its value.", in.Name, id)
		}
		if del, ok := t.deleted[in.Name]; ok && s.opts.EnvvarTombstone > 0 && now.Sub(del) < s.opts.EnvvarTombstone {
			return detailReply(http.StatusConflict, "Environment variable %s was deleted recently; insert it again after %s.", in.Name, del.Add(s.opts.EnvvarTombstone).UTC().Format(time.RFC3339))
		}
	}
	var problems []string
	for _, up := range req.Updates {
		if _, ok := t.envvars[up.Name]; !ok {
			problems = append(problems, fmt.Sprintf("cannot update %s: it does not exist on the tool", up.Name))
		}
	}
	for _, d := range req.Deletes {
		if _, ok := t.envvars[d.Name]; !ok {
			problems = append(problems, fmt.Sprintf("cannot delete %s: it does not exist on the tool", d.Name))
			continue
		}
		var users []string
		for _, v := range t.versions {
			if !v.Deprecated && (slices.Contains(v.RequiredEnvvars, d.Name) || slices.Contains(v.RequiredSecretEnvvars, d.Name)) {
				users = append(users, v.Version.String())
			}
		}
		if len(users) > 0 {
			problems = append(problems, fmt.Sprintf("cannot delete %s: it is required by non-deprecated version(s) %s", d.Name, strings.Join(users, ", ")))
		}
	}
	if len(problems) > 0 {
		return detailReply(http.StatusBadRequest, "%s", strings.Join(problems, "; "))
	}
	for _, d := range req.Deletes {
		delete(t.envvars, d.Name)
		t.deleted[d.Name] = now
	}
	for _, in := range req.Inserts {
		t.envvars[in.Name] = envvar{value: in.Value, secret: in.IsSecret}
	}
	for _, up := range req.Updates {
		ev := t.envvars[up.Name]
		ev.value = up.Value
		t.envvars[up.Name] = ev
	}
	t.t.UpdatedAt = s.now()
	t.t.UpdatedBy = amigo.UserInfo{OrgID: c.org, UserID: c.user}
	return emptyReply(http.StatusNoContent)
}
