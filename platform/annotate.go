package platform

import (
	"path"
	"strings"

	"github.com/amigo-release/amigo-release/pipeline"
)

// AnnotateFailures attaches an error annotation to the pyproject.toml of
// every tool that failed, so the pull request's "Files changed" view and
// the run's summary point at the project: the title names the tool and
// the stages it failed in, the message is the first error (the tool's,
// else the first failed stage's, with the step). Plan-file errors are
// annotated by the caller with their line. Call it once per report.
func AnnotateFailures(p Platform, r *pipeline.Report) {
	for i := range r.Tools {
		t := &r.Tools[i]
		if t.Status != pipeline.StatusFailed && t.Error == "" {
			continue
		}
		var where []string
		msg := t.Error
		for _, s := range t.Stages {
			if s.Status != pipeline.StatusFailed {
				continue
			}
			where = append(where, s.Stage)
			if msg == "" {
				msg = s.Error
				for _, st := range s.Steps {
					if st.Status == pipeline.StatusFailed {
						msg = s.Stage + ": " + st.Name + " failed"
						if s.Error != "" {
							msg += ": " + s.Error
						}
						break
					}
				}
			}
		}
		if msg == "" {
			msg = "the release failed; see the job log"
		}
		title := "amigo-release: " + t.Name + " failed"
		if len(where) > 0 {
			title += " in " + strings.Join(where, ", ")
		}
		file := ""
		if t.Path != "" {
			file = path.Join(t.Path, "pyproject.toml")
		}
		p.Annotate(Annotation{Level: LevelError, File: file, Title: title, Message: msg})
	}
}
