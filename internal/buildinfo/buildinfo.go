// Package buildinfo reports which build of amigo-release is running.
//
// Release builds set the three variables with the linker:
//
//	go build -trimpath -ldflags "\
//	  -X github.com/amigo-release/amigo-release/internal/buildinfo.version=v1.2.3 \
//	  -X github.com/amigo-release/amigo-release/internal/buildinfo.commit=$(git rev-parse HEAD) \
//	  -X github.com/amigo-release/amigo-release/internal/buildinfo.date=2026-11-26T00:00:00Z"
//
// (scripts/build.sh and the Dockerfile do exactly this). A plain `go build`
// or `go run` leaves them empty; Get then falls back to what the Go toolchain
// embedded (runtime/debug.ReadBuildInfo: the module version for `go install
// pkg@version`, vcs.revision and vcs.time for builds inside a git checkout).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by -ldflags "-X ...". Unexported so nothing but the linker writes them.
var (
	version string
	commit  string
	date    string
)

// Info describes one build.
type Info struct {
	Version   string `json:"version"`    // "v1.2.3", or "(devel)" for an untagged local build
	Commit    string `json:"commit"`     // full git SHA, or "unknown"
	Date      string `json:"date"`       // RFC 3339 build (or commit) time, or "unknown"
	GoVersion string `json:"go_version"` // runtime.Version()
	Platform  string `json:"platform"`   // GOOS/GOARCH
	Modified  bool   `json:"modified,omitempty"`
}

// Get returns the running binary's build info: the ldflags values where set,
// else the toolchain's embedded build info, else "(devel)"/"unknown".
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolve(version, commit, date, bi)
}

// resolve merges the linker values with the embedded build info.
func resolve(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   ldVersion,
		Commit:    ldCommit,
		Date:      ldDate,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" && bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				// Only meaningful when the commit came from the toolchain too.
				if ldCommit == "" {
					info.Modified = s.Value == "true"
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// String renders the info on one line per field, as `amigo-release version`
// prints it.
func (i Info) String() string {
	c := i.Commit
	if i.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("amigo-release %s\ncommit: %s\nbuilt:  %s\ngo:     %s\nplatform: %s\n",
		i.Version, c, i.Date, i.GoVersion, i.Platform)
}
