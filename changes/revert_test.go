package changes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDetect_githubReverts (item 2 of issue 14): GitHub's revert button
// writes `Revert "<subject>"` with "Reverts owner/repo#12" and no SHA. Such a
// revert cancels the commit in range with exactly that subject (also when
// the revert's pull request was squash-merged, adding " (#13)"); a lone one
// is still a patch, and a SHA, when given, is what pairs.
func TestDetect_githubReverts(t *testing.T) {
	t.Parallel()
	ghRevert := func(r *testRepo, subject, ref string) string {
		return r.commit("Revert \"" + subject + "\"" + ref + "\n\nReverts acme/tools#12\n")
	}
	tests := []struct {
		name  string
		build func(r *testRepo, s map[string]string)
		want  []string
	}{
		{"a feat and its revert cancel: the chore left releases nothing", func(r *testRepo, s map[string]string) {
			s["chore"] = r.change("tools/a/y.py", "1", "chore: tidy (#11)")
			s["feat"] = r.change("tools/a/x.py", "1", "feat: x (#12)")
			r.rm("tools/a/x.py")
			s["revert"] = ghRevert(r, "feat: x (#12)", "")
		}, []string{"tool_a:no-release:none[revert,feat,chore]"}},
		{"a chore and its revert cancel: no patch of nothing", func(r *testRepo, s map[string]string) {
			s["docs"] = r.change("tools/a/y.py", "1", "docs: a (#10)")
			s["chore"] = r.change("tools/a/z.py", "1", "chore: z (#13)")
			r.rm("tools/a/z.py")
			s["revert"] = ghRevert(r, "chore: z (#13)", " (#14)")
		}, []string{"tool_a:no-release:none[revert,chore,docs]"}},
		{"a lone revert is a patch", func(r *testRepo, s map[string]string) {
			r.write("tools/a/main.py", "a1")
			s["revert"] = ghRevert(r, "feat: shipped last week (#9)", "")
		}, []string{"tool_a:changed:patch[revert]"}},
		{"the revert of a revert cancels it: the feat stands", func(r *testRepo, s map[string]string) {
			s["feat"] = r.change("tools/a/x.py", "1", "feat: x (#12)")
			r.rm("tools/a/x.py")
			s["revert"] = ghRevert(r, "feat: x (#12)", "")
			r.write("tools/a/x.py", "1")
			s["reapply"] = ghRevert(r, `Revert "feat: x (#12)"`, "")
		}, []string{"tool_a:changed:minor[reapply,revert,feat]"}},
		{"the newest older commit with the subject is the one reverted", func(r *testRepo, s map[string]string) {
			s["feat1"] = r.change("tools/a/x.py", "1", "feat: x")
			s["feat2"] = r.change("tools/a/x.py", "2", "feat: x")
			r.write("tools/a/x.py", "1")
			s["revert"] = ghRevert(r, "feat: x", "")
		}, []string{"tool_a:changed:minor[revert,feat2,feat1]"}},
		{"a SHA outside the range wins over a subject in it", func(r *testRepo, s map[string]string) {
			s["feat"] = r.change("tools/a/x.py", "1", "feat: x")
			s["revert"] = r.change("tools/a/y.py", "1", "Revert \"feat: x\"\n\nThis reverts commit 1234567890abcdef1234567890abcdef12345678.\n")
		}, []string{"tool_a:changed:minor[revert,feat]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestRepo(t)
			base := twoTools(r)
			s := map[string]string{}
			tt.build(r, s)
			res := detect(t, r.open(), Request{Head: "HEAD", DefaultBase: base})
			if diff := cmp.Diff(tt.want, summary(res, s)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMessage_githubRevert(t *testing.T) {
	for msg, want := range map[string]Revert{
		"Revert \"feat: x (#12)\"\n\nReverts acme/tools#12\n":            {Subject: "feat: x (#12)"},
		"Revert \"feat: x (#12)\" (#13)\n\n* Revert \"feat: x (#12)\"\n": {Subject: "feat: x (#12)"},
		"Revert \"Revert \"feat: x\"\"\n":                                {Subject: `Revert "feat: x"`},
		"revert: feat: x\n":                                              {Subject: "feat: x"},
		"Revert \"fix: y\"\n\nThis reverts commit abcdef1234567.\n":      {Subject: "fix: y", SHA: "abcdef1234567"},
	} {
		m := ParseMessage(msg)
		if m.Revert == nil || *m.Revert != want {
			t.Errorf("ParseMessage(%q).Revert = %+v, want %+v", msg, m.Revert, want)
		}
	}
}
