package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	embedded := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/amigo-release/amigo-release", Version: "v0.9.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                string
		ldV, ldC, ldD       string
		bi                  *debug.BuildInfo
		wantV, wantC, wantD string
		wantGo              string
		wantModified        bool
	}{
		{"ldflags win", "v1.2.3", "deadbeef", "2026-11-26T00:00:00Z", embedded, "v1.2.3", "deadbeef", "2026-11-26T00:00:00Z", "go1.26.8", false},
		{"fallback to embedded", "", "", "", embedded, "v0.9.0", "abc123", "2026-11-01T10:00:00Z", "go1.26.8", true},
		{"nothing known", "", "", "", nil, "(devel)", "unknown", "unknown", "", false},
		{"devel main without vcs", "", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)", "unknown", "unknown", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.ldV, tt.ldC, tt.ldD, tt.bi)
			if got.Version != tt.wantV || got.Commit != tt.wantC || got.Date != tt.wantD || got.Modified != tt.wantModified {
				t.Errorf("resolve() = %+v, want version %q commit %q date %q modified %v", got, tt.wantV, tt.wantC, tt.wantD, tt.wantModified)
			}
			if tt.wantGo != "" && got.GoVersion != tt.wantGo {
				t.Errorf("GoVersion = %q, want %q", got.GoVersion, tt.wantGo)
			}
			if got.GoVersion == "" || got.Platform == "" {
				t.Errorf("GoVersion/Platform empty: %+v", got)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	s := Info{Version: "v1.2.3", Commit: "deadbeef", Date: "2026-11-26T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64", Modified: true}.String()
	for _, want := range []string{"amigo-release v1.2.3", "commit: deadbeef (modified)", "built:  2026-11-26T00:00:00Z", "go:     go1.26.8", "platform: linux/amd64"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, missing %q", s, want)
		}
	}
}
