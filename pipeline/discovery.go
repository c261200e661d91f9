package pipeline

import (
	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/promote"
)

// ChangesOptions is how Run maps a plan's discovery settings (roots,
// include, exclude, shared, names, bump rules) to package changes, for
// callers that discover projects as Run does (validate).
func ChangesOptions(d promote.Discovery) (changes.Options, error) { return changesOptions(d) }
