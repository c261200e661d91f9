package changes

import (
	"strconv"
	"testing"
)

// TestRefs_countTagsRemote checks the read helpers of status and notes
// against the git CLI's own answers: rev-list --count, tags (lightweight and
// annotated, peeled) and the origin remote's URL.
func TestRefs_countTagsRemote(t *testing.T) {
	r := newTestRepo(t)
	r.write("tools/a/pyproject.toml", pyproject("a"))
	first := r.commit("feat: a")
	r.git("tag", "a/v1.0.0")
	second := r.change("tools/a/x.py", "x = 1\n", "fix: x")
	r.git("tag", "-a", "-m", "annotated", "a/v1.0.1")
	r.git("tag", "other-tag", first)
	r.change("tools/a/y.py", "y = 1\n", "fix: y")
	r.commit("chore: empty")
	r.git("remote", "add", "origin", "git@github.com:acme/tools.git")
	repo := r.open()

	for _, tc := range []struct{ base, head string }{{first, "HEAD"}, {second, "HEAD"}, {"HEAD", "HEAD"}, {first, second}} {
		got, err := repo.CountCommits(tc.base, tc.head)
		if err != nil {
			t.Fatal(err)
		}
		want := r.git("rev-list", "--count", tc.base+".."+tc.head)
		if want != strconv.Itoa(got) {
			t.Errorf("CountCommits(%s, %s) = %d, git says %s", tc.base, tc.head, got, want)
		}
	}
	if _, err := repo.CountCommits("nope", "HEAD"); err == nil {
		t.Error("an unknown base counted")
	}

	tags, err := repo.Tags("a/v")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0] != (Tag{"a/v1.0.0", first}) || tags[1] != (Tag{"a/v1.0.1", second}) {
		t.Errorf("Tags(a/v) = %+v, want a/v1.0.0 at %s and the annotated a/v1.0.1 peeled to %s", tags, first, second)
	}
	if got := repo.RemoteURL("origin"); got != "git@github.com:acme/tools.git" {
		t.Errorf("RemoteURL(origin) = %q", got)
	}
	if got := repo.RemoteURL("upstream"); got != "" {
		t.Errorf("RemoteURL(upstream) = %q, want none", got)
	}
}
