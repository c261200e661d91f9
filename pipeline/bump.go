package pipeline

import (
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/changes"
)

// stageBump is the one place that decides the bump a tool publishes with
// in a stage (StageReport.Bump): major where the stage has no active
// version of the tool (the API requires it for a first version: 1.0.0),
// else the commits' bump; a tool never released before whose commits call
// for no release ("chore: add the tool") still goes out, as a patch where a
// stage already has versions of it.
func stageBump(commits changes.Bump, active []amigo.ToolVersion) amigo.BumpType {
	switch {
	case newest(active) == nil:
		return amigo.BumpMajor
	case commits == changes.None:
		return amigo.BumpPatch
	}
	return amigo.BumpType(commits.String())
}

// summarizeBump reports as the tool's bump (ToolReport.Bump) the one its
// stages publish with, when they agree and it differs from the commits'
// (a first release is major whatever the commits say). When stages differ,
// each StageReport.Bump says what it used.
func summarizeBump(tr *ToolReport) {
	used := ""
	for _, s := range tr.Stages {
		switch {
		case s.Bump == "":
		case used == "":
			used = s.Bump
		case used != s.Bump:
			return
		}
	}
	if used == "" || used == tr.Bump {
		return
	}
	if used == string(amigo.BumpMajor) {
		tr.Reason = strings.TrimSpace("first release → major; " + tr.Reason)
	}
	tr.Bump = used
}
