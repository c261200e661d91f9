package pipeline

import (
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// This file exports the pipeline's own rules to the commands that read a
// plan without releasing (validate, status, rollback, notes; packages ops
// and cmd), so that they read a plan and compare commits exactly as a
// release does.

// ChangesOptions maps a plan's discovery settings to package changes' own
// options (roots, include, exclude, shared, names, the bump map).
func ChangesOptions(d promote.Discovery) (changes.Options, error) { return changesOptions(d) }

// SameCommit compares two commit hashes, allowing either to be abbreviated
// (at least 7 hex digits), as the pipeline matches tool_commit_hash.
func SameCommit(a, b string) bool { return sameCommit(a, b) }

// CommitSummaries converts the commits of a project change as the report
// carries them.
func CommitSummaries(cs []changes.Commit) []CommitSummary { return commitSummaries(cs) }
