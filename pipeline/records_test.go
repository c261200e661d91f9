package pipeline_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/testkit"
	"github.com/amigo-release/amigo-release/pipeline"
)

// fakeRecorder records the calls and what the servers had seen when each
// call came.
type fakeRecorder struct {
	h     *harness
	mu    sync.Mutex
	calls []recordCall
	reply pipeline.RecordReport
}

type recordCall struct {
	v                     pipeline.VersionRecord
	usSmokes, euPublishes int
}

func (f *fakeRecorder) Record(_ context.Context, v pipeline.VersionRecord) pipeline.RecordReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, recordCall{v, f.h.count("us", amigotest.OpInvokeVersion, 200), f.h.count("eu", amigotest.OpPublishVersion, 0)})
	rep := f.reply
	rep.Warnings = append([]string(nil), f.reply.Warnings...)
	return rep
}

// TestRecord_onceWhenTheFirstStageServes: the recorder is called once per
// tool and run, from the first stage, after its smoke gate passed and
// before the stages that need it publish; with the first stage's version,
// the tested commit and the release's commits. Plans and dry runs never
// call it; a rerun that finds the first stage up to date calls it again
// (the recorder is idempotent), and a failed first stage never does.
func TestRecord_onceWhenTheFirstStageServes(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", ""))
	plan := h.plan("", []stageSpec{{name: "us", extra: "smoke: true"}, {name: "eu"}}, "")
	rec := &fakeRecorder{h: h, reply: pipeline.RecordReport{Tag: "weather/v1.0.0", TagStatus: pipeline.TagCreated,
		Warnings: []string{"key ak-SECRET-4242 leaked into a warning"}}}
	with := func(o *pipeline.Options) { o.Records = rec }

	if _, err := pipeline.Preview(t.Context(), pipeline.Options{Plan: plan, RepoPath: h.dir, Clock: h.clk, Records: rec,
		Getenv: func(k string) string { return h.env[k] }}); err != nil {
		t.Fatal(err)
	}
	h.run(plan, func(o *pipeline.Options) { with(o); o.DryRun = true })
	if len(rec.calls) != 0 {
		t.Fatalf("a plan or dry run recorded: %+v", rec.calls)
	}

	h.servers["eu"].FailNext(amigotest.OpPublishVersion, 1, http.StatusBadRequest, `{"detail":"Tool build has failed."}`)
	rep := h.run(plan, with)
	head := h.git("rev-parse", "HEAD")
	if len(rec.calls) != 1 {
		t.Fatalf("%d record calls, want 1", len(rec.calls))
	}
	c := rec.calls[0]
	if c.v.Tool != "weather" || c.v.Stage != "us" || c.v.Version != "1.0.0" || c.v.Commit != head || c.v.Path != "tools/weather" ||
		len(c.v.Commits) != 1 || c.v.Commits[0].Subject != "feat: weather" {
		t.Errorf("record call %+v", c.v)
	}
	if c.usSmokes != 1 || c.euPublishes != 0 {
		t.Errorf("recorded after %d smoke invocations in us and %d publishes in eu; want after the smoke, before eu", c.usSmokes, c.euPublishes)
	}
	tr := tool(t, rep, "weather")
	if tr.Record == nil || tr.Record.Tag != "weather/v1.0.0" || tr.Record.TagStatus != pipeline.TagCreated {
		t.Errorf("report record %+v", tr.Record)
	}
	us := stage(t, tr, "us")
	if len(us.Warnings) != 1 || us.Warnings[0] != "key *** leaked into a warning" {
		t.Errorf("us warnings %q: the recorder's warning, masked", us.Warnings)
	}
	if st := stage(t, tr, "eu").Status; st != pipeline.StatusFailed {
		t.Fatalf("eu %s, want failed", st)
	}

	// The rerun finishes eu; us is up to date and records again.
	rec.reply = pipeline.RecordReport{Tag: "weather/v1.0.0", TagStatus: pipeline.TagExists}
	rep = h.run(plan, with)
	if len(rec.calls) != 2 || rec.calls[1].v.Version != "1.0.0" || rec.calls[1].v.Commit != head {
		t.Fatalf("rerun record calls %+v", rec.calls)
	}
	if r := tool(t, rep, "weather").Record; r == nil || r.TagStatus != pipeline.TagExists {
		t.Errorf("rerun record %+v", r)
	}

	// A failed smoke in the first stage records nothing.
	h.commit("fix: rain", testkit.Touch("weather", "rain"))
	h.servers["us"].FailNext(amigotest.OpInvokeVersion, 5, http.StatusBadRequest, `{"detail":"boom"}`)
	rep = h.run(plan, with)
	if st := stage(t, tool(t, rep, "weather"), "us").Status; st != pipeline.StatusFailed {
		t.Fatalf("us %s, want failed (smoke)", st)
	}
	if len(rec.calls) != 2 {
		t.Errorf("a version whose smoke failed was recorded: %+v", rec.calls[2:])
	}
}

// TestRecord_firstStageTheToolDoesNotSkip: a tool that skips the plan's
// first stage is recorded from its own first stage, with that stage's
// number.
func TestRecord_firstStageTheToolDoesNotSkip(t *testing.T) {
	h := newHarness(t, amigotest.Options{}, "us", "eu")
	h.commit("feat: weather", testkit.Project("weather", "weather", "[tool.amigo-release]\nskip_stages = [\"us\"]\n"))
	rec := &fakeRecorder{h: h}
	h.run(h.plan("", []stageSpec{{name: "us"}, {name: "eu"}}, ""), func(o *pipeline.Options) { o.Records = rec })
	if len(rec.calls) != 1 || rec.calls[0].v.Stage != "eu" || rec.calls[0].v.Version != "1.0.0" {
		t.Errorf("record calls %+v, want one from eu", rec.calls)
	}
}
