package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/amigo-release/amigo-release/amigo"
)

// gatedVersions is an API whose Versions call waits for gate and then
// answers with fail's error, if any, or one version; it counts calls.
type gatedVersions struct {
	API
	gate  chan struct{}
	calls atomic.Int32
	fail  atomic.Bool
}

func (g *gatedVersions) Versions(ctx context.Context, toolID string) ([]amigo.ToolVersion, error) {
	g.calls.Add(1)
	<-g.gate
	if g.fail.Swap(false) {
		return nil, errors.New("503 Service Unavailable")
	}
	return []amigo.ToolVersion{tv("1.0.0", "aaaaaaa")}, nil
}

// Two loads that want the same stage and name at once (the early
// later-stage lists, laterlists.go, beside chooseBases' resume load) send
// one list call; when that call fails, the one waiting asks itself.
func TestLoadName_oneCallForTwoLoadsAtOnce(t *testing.T) {
	for _, failFirst := range []bool{false, true} {
		name := "the first call answers"
		if failFirst {
			name = "the first call fails"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := newRemoteView()
				v.states["eu"] = map[string]remoteState{}
				byName := map[string]*amigo.Tool{"weather": {ID: "t1", Name: "weather"}}
				api := &gatedVersions{gate: make(chan struct{})}
				api.fail.Store(failFirst)
				var known atomic.Int32
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Go(func() {
						errs[i] = v.loadName(t.Context(), api, "eu", byName, "weather", func(string, string) { known.Add(1) })
					})
				}
				synctest.Wait() // both loads wait: one on the server, one on it
				if got := api.calls.Load(); got != 1 {
					t.Fatalf("%d list calls while both loads wait, want 1", got)
				}
				close(api.gate)
				wg.Wait()
				want := int32(1)
				if failFirst {
					want = 2 // the waiting load asked again
				}
				if got := api.calls.Load(); got != want {
					t.Errorf("%d list calls, want %d", got, want)
				}
				nerr := 0
				for _, err := range errs {
					if err != nil {
						nerr++
					}
				}
				if failFirst && nerr != 1 || !failFirst && nerr != 0 {
					t.Errorf("errors %v", errs)
				}
				st := v.state("eu", "weather")
				if !st.known || len(st.versions) != 1 || known.Load() != 1 {
					t.Errorf("state %+v, known called %d times; want the versions learnt once", st, known.Load())
				}
				if len(v.inflight) != 0 {
					t.Errorf("%d lists still marked in flight", len(v.inflight))
				}
			})
		})
	}
}
