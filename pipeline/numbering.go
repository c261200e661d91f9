package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/promote"
)

// A server numbers a new version from the highest version the tool ever
// had, deprecated ones included: after someone deprecates the newest version
// by hand, the next publish still goes above it. The plan predicts the same
// way, so that it names the number the run will get (and no drift between
// regions that differ only in what was deprecated).

// nextVersion is the number a publish with bump gets on a server where the
// tool is as rs says: the bump over the highest version ever published, or
// 1.0.0 for the first. Without rs.highest (not asked) it falls back on the
// newest active version.
func nextVersion(rs remoteState, bump amigo.BumpType) amigo.Version {
	hi := rs.highest
	if hi == nil {
		if nv := newest(rs.versions); nv != nil {
			hi = &nv.Version
		}
	}
	if hi == nil {
		return amigo.Version{Major: 1}
	}
	return hi.Bump(bump)
}

// loadHighest asks each stage's server, in parallel, for the highest
// version ever published of each named tool it has (one list call per tool
// and stage, made only by plan: a run reads its number from the publish).
func (v *remoteView) loadHighest(ctx context.Context, r *runner, stages []promote.Stage, names []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(stages))
	for i, st := range stages {
		wg.Add(1)
		go func(i int, st promote.Stage) {
			defer wg.Done()
			for _, name := range names {
				rs := v.state(st.Name, name)
				if rs.tool == nil {
					continue
				}
				hv, err := r.apis[st.Name].HighestVersion(ctx, rs.tool.ID)
				if err != nil {
					errs[i] = fmt.Errorf("stage %s (%s): highest version of %s: %w", st.Name, st.BaseURL, name, err)
					return
				}
				if hv == nil {
					continue
				}
				if !hv.Version.Valid() {
					// The next number would be wrong (a negative part) or
					// wrap around (a part at MaxInt): say so, predict nothing.
					errs[i] = fmt.Errorf("stage %s (%s): highest version of %s: the server answered %s, which no tool version can be (each part from 0 to %d): the server's data is damaged; nothing was published",
						st.Name, st.BaseURL, name, hv.Version, amigo.MaxVersionPart)
					return
				}
				v.mu.Lock()
				rs = v.states[st.Name][name]
				rs.highest = &hv.Version
				v.states[st.Name][name] = rs
				v.mu.Unlock()
			}
		}(i, st)
	}
	wg.Wait()
	return errors.Join(errs...)
}
