package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/amigo-release/amigo-release/amigo"
)

// The contract refuses a publish when "more than 3 active versions of the
// tool exist", which a server may read literally (a 4th may be published,
// the 5th is refused) or strictly (the 4th is refused). Under the strict
// reading every publish at the cap would cost a refused call, a prune and a
// retry. So the run learns, per server, the number of active versions at
// which that server refused a publish, and from then on makes room before
// publishing there: it deprecates just enough of the oldest versions that
// may go (never a pinned one, never one serving the commit being released)
// for the publish to be accepted, which is what the refusal would have cost
// anyway, minus the refused call.

// capMemory holds what the run learned: per server (base URL), the fewest
// active versions a publish was refused at. Safe for concurrent use.
type capMemory struct {
	mu sync.Mutex
	at map[string]int
}

// serverKey identifies a server for capMemory: stages on one base URL share
// what was learned.
func serverKey(baseURL string) string { return strings.TrimRight(baseURL, "/") }

// learn records that server refused a publish with active versions active.
func (m *capMemory) learn(server string, active int) {
	if m == nil || active < 1 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = map[string]int{}
	}
	if old, ok := m.at[server]; !ok || active < old {
		m.at[server] = active
	}
}

// refusesAt returns the fewest active versions server refused a publish at.
func (m *capMemory) refusesAt(server string) (int, bool) {
	if m == nil {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.at[server]
	return n, ok
}

// activeCount counts the non-deprecated versions.
func activeCount(vs []amigo.ToolVersion) int {
	n := 0
	for _, v := range vs {
		if !v.Deprecated {
			n++
		}
	}
	return n
}

// makeRoom picks what to deprecate before a publish on a server that
// refuses one at limit active versions: the oldest versions (by semver)
// that may go, never a pinned one or one serving commit, just enough that
// limit-1 stay active. It picks nothing when fewer are active already, or
// when too few may go to get there (the publish then finds out for itself,
// and a refusal is handled as before). Oldest first.
func makeRoom(active []amigo.ToolVersion, limit int, commit string, pinned func(amigo.Version) bool) []string {
	need := activeCount(active) - (limit - 1)
	if need <= 0 {
		return nil
	}
	var may []amigo.ToolVersion
	for _, tv := range active {
		if tv.Deprecated || sameCommit(tv.ToolCommitHash, commit) || (pinned != nil && pinned(tv.Version)) {
			continue
		}
		may = append(may, tv)
	}
	if len(may) < need {
		return nil
	}
	sort.Slice(may, func(i, j int) bool { return may[i].Version.Less(may[j].Version) })
	out := make([]string, need)
	for i := range out {
		out[i] = may[i].Version.String()
	}
	return out
}

// makeRoomFirst deprecates, before the first attempt, what a server known
// to refuse a publish at the cap would make the run deprecate after a
// refusal (makeRoom). A failed deprecation stops it: the publish then finds
// out for itself.
func makeRoomFirst(ctx context.Context, api API, req publishRequest, note func(string)) []string {
	limit, ok := req.Caps.refusesAt(req.Server)
	if !ok {
		return nil
	}
	var done []string
	for _, v := range makeRoom(req.Before, limit, req.Commit, req.Pinned) {
		if err := api.DeprecateVersions(ctx, req.ToolID, exactConstraint(v)); err != nil {
			note(fmt.Sprintf("making room before publishing: deprecate %s: %v", v, err))
			break
		}
		done = append(done, v)
	}
	if len(done) > 0 {
		note(fmt.Sprintf("this server refused a publish at %d active versions earlier in the run: deprecated %s first", limit, strings.Join(done, ", ")))
	}
	return done
}
