package changes

import (
	"slices"
	"testing"
)

func TestDetect_basic(t *testing.T) {
	r := newTestRepo(t)
	r.write("tools/a/pyproject.toml", pyproject("tool-a"), "tools/b/pyproject.toml", pyproject("Tool.B"), "README", "x")
	base := r.commit("chore: init")
	r.write("tools/a/x.py", "1")
	c1 := r.commit("feat(a): add x")
	r.write("tools/b/y.py", "1")
	c2 := r.commit("fix: y")
	repo := r.open()
	res := detect(t, repo, Request{Head: "HEAD", DefaultBase: base})
	got := summary(res, map[string]string{"c1": c1, "c2": c2})
	want := []string{"tool_a:changed:minor[c1]", "tool_b:changed:patch[c2]"}
	if !slices.Equal(got, want) {
		t.Errorf("Detect = %v, want %v", got, want)
	}
}
