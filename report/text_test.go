package report

import (
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/pipeline"
)

func TestText_interruptedRunSaysUnfinished(t *testing.T) {
	r := &pipeline.Report{Mode: "run", Head: "abc", Tools: []pipeline.ToolReport{
		{Name: "weather", Status: pipeline.StatusPending},
		{Name: "flights", Status: pipeline.StatusReleased},
	}}
	got := Text(r)
	if !strings.Contains(got, "result: 1 of 2 tools unfinished (interrupted: a rerun finishes it)") {
		t.Errorf("Text of an interrupted run:\n%s\nwant it to say the pending tool is unfinished, not failed", got)
	}
	r.Tools = append(r.Tools, pipeline.ToolReport{Name: "hotels", Status: pipeline.StatusFailed})
	if got := Text(r); !strings.Contains(got, "result: 2 of 3 tools failed or unfinished (1 interrupted)") {
		t.Errorf("Text with a failed and a pending tool:\n%s", got)
	}
}
