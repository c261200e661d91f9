package changes

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestBranchTipAndRemoteBranchTips(t *testing.T) {
	origin := newTestRepo(t)
	origin.write("a.txt", "1")
	first := origin.commit("first")
	dir := filepath.Join(t.TempDir(), "clone")
	runGit(t, filepath.Dir(dir), nil, "clone", "-q", "file://"+origin.dir, dir)
	origin.write("a.txt", "2")
	second := origin.commit("second: pushed after the clone")

	repo := openRepo(t, dir)
	// The remote-tracking ref is what the clone last saw of origin.
	sha, ref, err := repo.BranchTip("origin", "main")
	if err != nil || sha != first || ref != "refs/remotes/origin/main" {
		t.Fatalf("BranchTip = %s %s %v, want %s from refs/remotes/origin/main", sha, ref, err, first)
	}
	// The remote itself says where main is now.
	tips, url, err := repo.RemoteBranchTips(t.Context(), DeepenOptions{})
	if err != nil || tips["main"] != second || !strings.HasPrefix(url, "file://") {
		t.Fatalf("RemoteBranchTips = %v %s %v, want main at %s", tips, url, err, second)
	}
	// Without a remote-tracking ref, the local branch; without either, "".
	local := openRepo(t, origin.dir)
	if sha, ref, _ := local.BranchTip("origin", "main"); sha != second || ref != "refs/heads/main" {
		t.Errorf("local BranchTip = %s %s, want %s from refs/heads/main", sha, ref, second)
	}
	if sha, ref, err := local.BranchTip("origin", "release"); sha != "" || ref != "" || err != nil {
		t.Errorf("BranchTip of a missing branch = %q %q %v, want nothing", sha, ref, err)
	}
	if _, _, err := local.RemoteBranchTips(t.Context(), DeepenOptions{}); !errors.Is(err, ErrNoRemote) {
		t.Errorf("RemoteBranchTips without origin = %v, want ErrNoRemote", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://x-access-token:ghs_secret@github.com/acme/tools": "https://github.com/acme/tools",
		"https://github.com/acme/tools":                           "https://github.com/acme/tools",
		"file:///tmp/origin":                                      "file:///tmp/origin",
		"git@github.com:acme/tools.git":                           "git@github.com:acme/tools.git",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
