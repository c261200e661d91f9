package pipeline

import (
	"fmt"
	"strings"

	"github.com/amigo-release/amigo-release/changes"
)

// driftOf says, in one sentence, which stages serve which version of the
// same commit when they differ (each server numbers its own versions), or ""
// when every stage that serves the commit serves the same number.
func driftOf(stages []StageReport, commit string) string {
	type pair struct{ stage, version string }
	var serving []pair
	distinct := map[string]bool{}
	for _, s := range stages {
		if s.VersionAfter == "" || !(s.Status == StatusReleased || s.Status == StatusUpToDate) {
			continue
		}
		if s.CommitHash != "" && commit != "" && !sameCommit(s.CommitHash, commit) {
			continue
		}
		serving = append(serving, pair{s.Stage, s.VersionAfter})
		distinct[s.VersionAfter] = true
	}
	if len(distinct) < 2 {
		return ""
	}
	parts := make([]string, len(serving))
	for i, p := range serving {
		parts[i] = p.stage + " " + p.version
	}
	return fmt.Sprintf("commit %s has different version numbers per stage: %s (each server numbers its own versions)",
		changes.ShortSHA(commit), strings.Join(parts, ", "))
}
