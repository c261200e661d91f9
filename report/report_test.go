package report

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/amigo-release/amigo-release/internal/golden"
	"github.com/amigo-release/amigo-release/pipeline"
)

var cases = []struct {
	name   string
	report func() *pipeline.Report
	opts   Options
}{
	{"full_release", fullRelease, Options{RunURL: "https://github.com/acme/tools/actions/runs/42", Marker: "main",
		Links: Links{RepoURL: "https://github.com/acme/tools", PullPath: "pull", PRs: map[string][]int{"9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e": {12}}}}},
	{"failed_test_gate", failedTestGate, Options{RunURL: "https://github.com/acme/tools/actions/runs/43"}},
	{"plan_preview", planPreview, Options{RunURL: "https://github.com/acme/tools/actions/runs/44", Preview: true}},
	{"drift", driftReport, Options{}},
	{"hostile", hostileReport, Options{RunURL: "https://github.com/acme/tools/actions/runs/45 (x)", Marker: "a -->b"}},
	{"trimmed_70k", bigReport, Options{RunURL: "https://github.com/acme/tools/actions/runs/46"}},
}

func TestMarkdown(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Markdown(tc.report(), tc.opts)
			golden.Assert(t, []byte(got))
			checkSafeMarkdown(t, got, GitHubCommentLimit)
		})
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range cases[:4] {
		t.Run(tc.name, func(t *testing.T) {
			got := Summary(tc.report())
			golden.Assert(t, []byte(got))
			if strings.Contains(got, "<!-- amigo-release") {
				t.Error("summary carries the PR comment marker")
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.report())
			golden.AssertExt(t, []byte(got), ".txt")
			checkSafeText(t, got)
		})
	}
}

func TestPlanText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report func() *pipeline.Report
	}{{"plan_preview", planPreview}, {"hostile", hostileReport}, {"nothing", func() *pipeline.Report {
		r := planPreview()
		r.Tools = r.Tools[2:]
		return r
	}}} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanText(tc.report())
			golden.AssertExt(t, []byte(got), ".txt")
			checkSafeText(t, got)
		})
	}
}

func TestMarkdown_planSentence(t *testing.T) {
	got := Markdown(planPreview(), Options{})
	want := "Merging releases `weather_lookup` 1.3.0 (minor) to us → eu-central-1 → ap-southeast-2 → ca-central-1."
	if !strings.Contains(got, want) {
		t.Errorf("preview lacks %q:\n%s", want, got)
	}
	if want := "Merging releases `geo_coder` 1.0.0 (major) to us → eu-central-1 → ap-southeast-2."; !strings.Contains(got, want) {
		t.Errorf("preview lacks %q (skipped stage must not be listed)", want)
	}
	if got := Markdown(fullRelease(), Options{}); strings.Contains(got, "Merging releases") {
		t.Error("a run report without Preview shows the plan sentence")
	}
	if got := Markdown(fullRelease(), Options{Preview: true}); !strings.Contains(got, "Merging releases nothing") {
		t.Error("a preview of a report with nothing planned does not say so")
	}
	broken := &pipeline.Report{Mode: "plan", Error: "plan file amigo-release.yaml:3: unknown stage \"eu\""}
	if got := Markdown(broken, Options{}); strings.Contains(got, "Merging releases") || !strings.Contains(got, "could not complete") {
		t.Errorf("a plan that could not run claims what merging releases:\n%s", got)
	}
	if got := PlanText(broken); strings.Contains(got, "Merging releases") || !strings.Contains(got, "error: plan file") {
		t.Errorf("PlanText of a plan that could not run:\n%s", got)
	}
}

func TestMarkdown_hostile(t *testing.T) {
	got := Markdown(hostileReport(), Options{Marker: "x"})
	for _, bad := range []string{"<script", "<b>", "<i>", "<img", "<marquee", "</pre></details>", "@org/team", "@octocat", "@everyone", "@admins", "@ops", "![x]", "##vso[", "##[", "a -->b"} {
		if strings.Contains(got, bad) {
			t.Errorf("body contains %q", bad)
		}
	}
	if !strings.Contains(got, "@"+zwj+"org/team") {
		t.Error("mention not rendered with a zero-width joiner")
	}
	if len(got) > 60000 {
		t.Errorf("1 MB subject and output not truncated: body is %d bytes", len(got))
	}
	// Every table row has exactly as many unescaped pipes as the header.
	var header int
	for _, line := range strings.Split(got, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(line, -1))
		if header == 0 {
			header = n
		} else if n != header {
			t.Errorf("row has %d cell separators, header %d: %s", n, header, line)
		}
	}
	if header == 0 {
		t.Error("no table rendered")
	}
}

func TestMarkdown_trimmed(t *testing.T) {
	r := bigReport()
	full := Markdown(r, Options{MaxBytes: 10 << 20})
	if len(full) <= 70000 {
		t.Fatalf("fixture renders to %d bytes untrimmed, want more than 70,000", len(full))
	}
	for _, limit := range []int{0, 20000, 5000} {
		got := Markdown(r, Options{MaxBytes: limit, Marker: "m"})
		max := limit
		if max == 0 {
			max = GitHubCommentLimit
		}
		if len(got) > max {
			t.Errorf("limit %d: body is %d bytes", max, len(got))
		}
		if !strings.HasPrefix(got, Marker("m")+"\n") {
			t.Errorf("limit %d: marker not first", max)
		}
		if !strings.Contains(got, "This report was trimmed to fit the") {
			t.Errorf("limit %d: no trim note", max)
		}
		checkSafeMarkdown(t, got, max)
	}
}

// checkSafeMarkdown asserts structural invariants of a rendered body.
func checkSafeMarkdown(t *testing.T, got string, limit int) {
	t.Helper()
	if len(got) > limit {
		t.Errorf("body is %d bytes, limit %d", len(got), limit)
	}
	for _, pair := range [][2]string{{"<details>", "</details>"}, {"<pre>", "</pre>"}, {"<summary>", "</summary>"}, {"<sub>", "</sub>"}} {
		if o, c := strings.Count(got, pair[0]), strings.Count(got, pair[1]); o != c {
			t.Errorf("%d %s but %d %s", o, pair[0], c, pair[1])
		}
	}
	// Only our own tags appear.
	for _, tag := range regexp.MustCompile(`</?[a-zA-Z][^>]*>`).FindAllString(got, -1) {
		switch tag {
		case "<details>", "</details>", "<summary>", "</summary>", "<pre>", "</pre>", "<code>", "</code>", "<sub>", "</sub>":
		default:
			t.Errorf("unexpected HTML tag %q", tag)
		}
	}
	// No entity is cut.
	for _, m := range regexp.MustCompile(`&[^&\s]{0,8}`).FindAllString(got, -1) {
		if !regexp.MustCompile(`^&(amp|lt|gt|quot|#\d+);`).MatchString(m) {
			t.Errorf("broken or raw entity %q", m)
		}
	}
	checkInertMarkdown(t, got)
	checkSafeText(t, got)
}

var (
	ourTags       = regexp.MustCompile(`^<!-- amigo-release:[A-Za-z0-9._/+,:=-]+ -->\n|</?(details|summary|pre|code|sub)>`)
	preBlock      = regexp.MustCompile(`(?s)<pre>.*?</pre>`)
	ourLinks      = regexp.MustCompile(`\[(View run|the run|GitHub Release|#\d+|` + "`[A-Za-z0-9_.\\-/+]{1,100}`" + `)\]\(https?://[^)\s]*\)`)
	ourCode       = regexp.MustCompile("`[A-Za-z0-9_.\\-/+]{1,100}`")
	mentionRe     = regexp.MustCompile(`@[A-Za-z0-9]`)
	htmlBlockLine = regexp.MustCompile(`(?m)^<details><summary>.*$`)
	markerLine    = regexp.MustCompile(`^<!-- amigo-release:[A-Za-z0-9._/+,:=-]+ -->\n`)
)

// checkInertMarkdown asserts that untrusted text cannot become markup: no
// '<' but our own tags and marker, no @mention, and outside <pre> blocks
// no unescaped backtick, '$', '*', '_', '~' or link "](" but our own code
// spans and run links.
func checkInertMarkdown(t *testing.T, got string) {
	t.Helper()
	if rest := ourTags.ReplaceAllString(got, ""); strings.Contains(rest, "<") {
		i := strings.Index(rest, "<")
		t.Errorf("a '<' that is not ours: %q", rest[max(0, i-40):min(len(rest), i+40)])
	}
	text := ourLinks.ReplaceAllString(markerLine.ReplaceAllString(got, ""), "")
	if m := mentionRe.FindStringIndex(text); m != nil {
		t.Errorf("an @mention: %q", text[max(0, m[0]-40):min(len(text), m[1]+40)])
	}
	text = ourCode.ReplaceAllString(preBlock.ReplaceAllString(text, ""), "")
	// A line that starts with <details> is an HTML block up to the next
	// blank line: markdown is not parsed there, entities are enough.
	text = htmlBlockLine.ReplaceAllString(text, "")
	text = strings.ReplaceAll(text, "\n> [!NOTE]\n", "\n")
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !strings.ContainsRune("`$*_~[]", rune(c)) {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && text[j] == '\\'; j-- {
			n++
		}
		if n%2 == 1 {
			continue // escaped
		}
		if c == '*' && (strings.HasPrefix(text[i:], "**") || i > 0 && text[i-1] == '*') {
			continue // our bold labels: **Error:**, **breaking**, **us**
		}
		t.Errorf("unescaped %q outside <pre>: %q", c, text[max(0, i-40):min(len(text), i+40)])
	}
}

// checkSafeText asserts that no line can run as a workflow command.
func checkSafeText(t *testing.T, got string) {
	t.Helper()
	for i, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
			t.Errorf("line %d starts a GitHub workflow command: %q", i+1, line)
		}
		if strings.Contains(line, "##vso[") || strings.Contains(line, "##[") {
			t.Errorf("line %d holds an Azure/legacy command: %q", i+1, line)
		}
	}
}

func TestMarker(t *testing.T) {
	for in, want := range map[string]string{
		"":              "<!-- amigo-release:default -->",
		"main":          "<!-- amigo-release:main -->",
		"a -->b":        "<!-- amigo-release:a-b -->",
		"tools/geo.1":   "<!-- amigo-release:tools/geo.1 -->",
		"plan.yaml/a+b": "<!-- amigo-release:plan.yaml/a+b -->",
	} {
		if got := Marker(in); got != want {
			t.Errorf("Marker(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{{"0s", "—"}, {"850ms", "850ms"}, {"42.4s", "42s"}, {"4m12s", "4m12s"}, {"63m10s", "1h03m"}} {
		d, _ := timeParse(tc.in)
		if got := formatDuration(d); got != tc.want {
			t.Errorf("formatDuration(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestToolDuration(t *testing.T) {
	r := fullRelease()
	if got, want := toolDuration(&r.Tools[0]), 7*time.Minute+17*time.Second; got != want {
		t.Errorf("overlapping stages with start times: %v, want the wall time %v", got, want)
	}
	if got, want := toolDuration(&r.Tools[1]), 10*time.Minute+800*time.Millisecond; got != want {
		t.Errorf("stages without start times: %v, want the sum %v", got, want)
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\rc":     "a\nb\nc",
		"\x1b[31mred":   "\u241b[31mred",
		"nul\x00":       "nul\u2400",
		"bad \xff utf8": "bad \uFFFD utf8",
		"abc\u202edcba": "abc\uFFFDdcba",
		"tab\tkept":     "tab\tkept",
		"line\u2028sep": "line sep",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown_rerunUpToDate(t *testing.T) {
	r := fullRelease()
	r.Tools[1].Status = pipeline.StatusUpToDate
	got := Markdown(r, Options{})
	if !strings.Contains(got, "### ✅ Release: 1 tool released, 1 already up to date\n") {
		t.Errorf("headline of a rerun:\n%s", got)
	}
	if txt := Text(r); !strings.Contains(txt, "result: 1 of 3 tools released, 1 already up to date\n") {
		t.Errorf("Text result line of a rerun:\n%s", txt)
	}
}

func TestRenderedForms(t *testing.T) {
	got := RenderedForms("sk_live_a<b>&@c")
	want := []string{"sk_live_a<b>&@c", `sk\_live\_a&lt;b&gt;&amp;@` + zwj + "c", "sk_live_a&lt;b&gt;&amp;@" + zwj + "c"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("RenderedForms = %q, want %q", got, want)
	}
	if got := RenderedForms("-abc"); len(got) != 2 || got[1] != `\-abc` {
		t.Errorf("RenderedForms(-abc) = %q, want the start-of-text escape too", got)
	}
	// Every form RenderedForms names is what the renderer shows.
	r := fullRelease()
	r.Error = "upstream said: key sk_live_a<b>&@c rejected"
	if body := Markdown(r, Options{}); !strings.Contains(body, RenderedForms("sk_live_a<b>&@c")[1]) {
		t.Errorf("the markdown form is not in the body:\n%s", body)
	}
}
