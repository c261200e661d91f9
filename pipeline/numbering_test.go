package pipeline

import (
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestNextVersionNumbersFromTheHighestEver(t *testing.T) {
	v := func(s string) *amigo.Version {
		x, err := amigo.ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return &x
	}
	active := []amigo.ToolVersion{tv("1.0.0", "a")}
	for _, c := range []struct {
		name string
		rs   remoteState
		bump amigo.BumpType
		want string
	}{
		{"first version", remoteState{}, amigo.BumpMajor, "1.0.0"},
		{"newest active is the highest", remoteState{versions: active, highest: v("1.0.0")}, amigo.BumpPatch, "1.0.1"},
		{"the newest was deprecated by hand", remoteState{versions: active, highest: v("1.0.1")}, amigo.BumpPatch, "1.0.2"},
		{"every version deprecated", remoteState{highest: v("2.3.4")}, amigo.BumpMajor, "3.0.0"},
		{"highest not asked: the newest active", remoteState{versions: active}, amigo.BumpMinor, "1.1.0"},
	} {
		if got := nextVersion(c.rs, c.bump).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
