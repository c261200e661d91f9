package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/pipeline"
)

var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

func fourStages() []pipeline.StageInfo {
	return []pipeline.StageInfo{
		{Name: "us", Region: "us", BaseURL: "https://api.amigo.ai"},
		{Name: "eu-central-1", Region: "eu-central-1", BaseURL: "https://api-eu-central-1.amigo.ai", Needs: []string{"us"}},
		{Name: "ap-southeast-2", Region: "ap-southeast-2", BaseURL: "https://api-ap-southeast-2.amigo.ai", Needs: []string{"eu-central-1"}},
		{Name: "ca-central-1", Region: "ca-central-1", BaseURL: "https://api-ca-central-1.amigo.ai", Needs: []string{"eu-central-1"}},
	}
}

func released(stage, before, after string, d time.Duration) pipeline.StageReport {
	return pipeline.StageReport{
		Stage: stage, Region: stage, Status: pipeline.StatusReleased,
		VersionBefore: before, VersionAfter: after, CommitHash: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e",
		Attempts: 1, Duration: d,
		Steps: []pipeline.StepReport{
			{Name: "ensure", Status: pipeline.StatusDone, Duration: time.Second},
			{Name: "publish", Status: pipeline.StatusDone, Attempts: 1, Duration: d - time.Second},
		},
	}
}

func startedAt(s pipeline.StageReport, after time.Duration) pipeline.StageReport {
	s.StartedAt = t0.Add(after)
	return s
}

// fullRelease: two tools released across four stages, one no-release.
func fullRelease() *pipeline.Report {
	return &pipeline.Report{
		Mode: "run", Repo: "acme/tools", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Branch: "main",
		StartedAt: t0, FinishedAt: t0.Add(14 * time.Minute),
		Stages: fourStages(),
		Tools: []pipeline.ToolReport{
			{
				Name: "weather_lookup", Path: "tools/weather_lookup", Bump: "minor", Reason: "feat: add wind speed",
				Base: "1111111aaaaaaa", Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Status: pipeline.StatusReleased,
				Commits: []pipeline.CommitSummary{
					{SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Subject: "feat(weather): add wind speed", Type: "feat", Scope: "weather", Bump: "minor"},
					{SHA: "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80", Subject: "fix: handle 404 from upstream", Type: "fix", Bump: "patch"},
				},
				// us, then eu-central-1, then the last two in parallel.
				Stages: []pipeline.StageReport{
					startedAt(released("us", "1.2.4", "1.3.0", 3*time.Minute+12*time.Second), 0),
					startedAt(released("eu-central-1", "1.2.4", "1.3.0", 2*time.Minute+5*time.Second), 3*time.Minute+12*time.Second),
					startedAt(released("ap-southeast-2", "1.2.4", "1.3.0", 2*time.Minute), 5*time.Minute+17*time.Second),
					startedAt(released("ca-central-1", "1.2.4", "1.3.0", 110*time.Second), 5*time.Minute+17*time.Second),
				},
			},
			{
				Name: "geo_coder", Path: "tools/geo_coder", Bump: "major", Reason: "first release",
				Head: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Status: pipeline.StatusReleased,
				Commits: []pipeline.CommitSummary{
					{SHA: "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b", Subject: "feat: geo coder tool", Type: "feat", Bump: "minor"},
				},
				Stages: []pipeline.StageReport{
					released("us", "", "1.0.0", 4*time.Minute),
					func() pipeline.StageReport {
						s := released("eu-central-1", "", "1.0.0", 3*time.Minute)
						s.Attempts = 3
						s.Warnings = []string{"publish answered 409 twice; retried"}
						return s
					}(),
					released("ap-southeast-2", "", "1.0.0", 3*time.Minute),
					{Stage: "ca-central-1", Status: pipeline.StatusUpToDate, VersionBefore: "1.0.0", VersionAfter: "1.0.0", Attempts: 0, Duration: 800 * time.Millisecond},
				},
			},
			{Name: "docs_only", Path: "tools/docs_only", Reason: "only docs and chore commits", Status: pipeline.StatusNoRelease},
		},
	}
}

// failedTestGate: the test gate fails in eu-central-1, later stages blocked.
func failedTestGate() *pipeline.Report {
	r := fullRelease()
	r.Tools = r.Tools[:1]
	t := &r.Tools[0]
	t.Status = pipeline.StatusFailed
	t.Stages[1] = pipeline.StageReport{
		Stage: "eu-central-1", Region: "eu-central-1", Status: pipeline.StatusFailed,
		VersionBefore: "1.2.4", Attempts: 0, Duration: 75 * time.Second,
		Steps: []pipeline.StepReport{
			{Name: "ensure", Status: pipeline.StatusDone, Duration: time.Second},
			{Name: "test", Status: pipeline.StatusFailed, Attempts: 2, Duration: 74 * time.Second, Error: "2 of 3 inputs failed"},
		},
		Tests: []pipeline.TestResult{
			{Input: 0, Succeeded: true, Output: `{"temp": 21}`, DurationMS: 812},
			{Input: 1, Succeeded: false, ExceptionType: "KeyError", Message: "'wind'", DurationMS: 402,
				StackTrace: []string{
					`File "/app/tool.py", line 88, in handler`,
					`    return lookup(city)["wind"]`,
				},
				Output: "fetching Berlin\nupstream answered 200\n"},
			{Input: 2, Succeeded: false, ExceptionType: "TimeoutError", Message: "upstream did not answer in 10s", DurationMS: 10004,
				StackTrace: stackFrames(40)},
		},
		Error: "test gate failed: 2 of 3 inputs failed",
	}
	t.Stages[2] = pipeline.StageReport{Stage: "ap-southeast-2", Status: pipeline.StatusBlocked}
	t.Stages[3] = pipeline.StageReport{Stage: "ca-central-1", Status: pipeline.StatusBlocked}
	return r
}

func stackFrames(n int) []string {
	fs := make([]string, n)
	for i := range fs {
		fs[i] = fmt.Sprintf(`File "/app/lib/http.py", line %d, in call_%d`, 100+i, i)
	}
	return fs
}

// planPreview: what merging a pull request would release.
func planPreview() *pipeline.Report {
	r := fullRelease()
	r.Mode = "plan"
	r.Branch = "feature/wind"
	r.FinishedAt = r.StartedAt.Add(2 * time.Second)
	for i := range r.Tools {
		t := &r.Tools[i]
		if t.Status != pipeline.StatusReleased {
			continue
		}
		t.Status = pipeline.StatusPlanned
		for j := range t.Stages {
			s := &t.Stages[j]
			s.Status, s.Duration, s.Steps, s.Attempts, s.Warnings, s.CommitHash = pipeline.StatusPlanned, 0, nil, 0, nil, ""
		}
	}
	// geo_coder's first stage is skipped by configuration.
	r.Tools[1].Stages[3] = pipeline.StageReport{Stage: "ca-central-1", Status: pipeline.StatusSkipped}
	return r
}

// driftReport: stages number the same commit differently.
func driftReport() *pipeline.Report {
	r := fullRelease()
	r.Tools = r.Tools[:1]
	t := &r.Tools[0]
	t.Stages[2].VersionAfter = "1.2.9"
	t.Drift = "ap-southeast-2 serves 1.2.9 for commit 9f2c1e7, us, eu-central-1 and ca-central-1 serve 1.3.0"
	r.Warnings = []string{"stage ap-southeast-2 numbers versions independently; pin by commit, not by version"}
	return r
}

// hostileReport: every untrusted string tries something.
func hostileReport() *pipeline.Report {
	r := fullRelease()
	r.Tools = r.Tools[:1]
	t := &r.Tools[0]
	t.Name = "evil|<b>tool</b>"
	t.Reason = "feat: <script>alert(1)</script> ping @org/team | col\n::set-output name=x::y"
	huge := "feat: " + strings.Repeat("A", 1<<20)
	t.Commits = []pipeline.CommitSummary{
		{SHA: "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e", Subject: "feat: <script>alert('x')</script>", Bump: "minor"},
		{SHA: "5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80", Subject: "fix: thanks @octocat and @org/team", Bump: "patch"},
		{SHA: "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b", Subject: "chore: a | b | c ![x](https://evil.example/p.png)"},
		{SHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", Subject: "::set-output name=x::y"},
		{SHA: "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e", Subject: "##vso[task.setvariable variable=x]y"},
		{SHA: "3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f", Subject: "</details><!-- <img src=x onerror=alert(1)>"},
		{SHA: "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70", Subject: huge, Bump: "minor"},
	}
	t.Status = pipeline.StatusFailed
	t.Drift = "<i>drift</i> @admins"
	t.Stages[0].Status = pipeline.StatusFailed
	t.Stages[0].Steps[1].Status = pipeline.StatusFailed
	t.Stages[0].Error = "server said:\n::error::pwned\n##vso[task.complete result=Succeeded]\n</pre></details><script>x</script>"
	t.Stages[0].Tests = []pipeline.TestResult{{
		Input: 0, ExceptionType: "Value<Error>", Message: "bad @input |\n::add-mask::x",
		StackTrace: []string{"  ::set-env name=A::B", "##[set-output name=y;]z", "@decorator"},
		Output:     "\x1b[31mred\x1b[0m\n\t::stop-commands::tok\n" + strings.Repeat("B", 1<<20),
	}}
	t.Warnings = []string{"@everyone <marquee>look</marquee>"}
	r.Error = "config: <bad> @ops ::x"
	return r
}

// bigReport: failures whose details add up to more than 70,000 characters.
func bigReport() *pipeline.Report {
	r := fullRelease()
	r.Tools = nil
	for i := 0; i < 12; i++ {
		t := pipeline.ToolReport{
			Name: fmt.Sprintf("tool_%02d", i), Path: fmt.Sprintf("tools/tool_%02d", i), Bump: "patch",
			Reason: "fix: retry <upstream> & co", Status: pipeline.StatusFailed,
			Stages: []pipeline.StageReport{{
				Stage: "us", Status: pipeline.StatusFailed, Duration: time.Minute,
				Steps: []pipeline.StepReport{{Name: "test", Status: pipeline.StatusFailed, Attempts: 1}},
				Error: "test gate failed",
				Tests: []pipeline.TestResult{{
					Input: 1, ExceptionType: "RuntimeError", Message: "boom & <bang>",
					StackTrace: stackFrames(30),
					Output:     strings.Repeat("line with <tags> & ampersands @user\n", 200),
				}},
			}},
		}
		r.Tools = append(r.Tools, t)
	}
	return r
}

func timeParse(s string) (time.Duration, error) { return time.ParseDuration(s) }
