package report

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/amigo-release/amigo-release/changes"
	"github.com/amigo-release/amigo-release/internal/words"
	"github.com/amigo-release/amigo-release/pipeline"
)

// GitHubCommentLimit is the largest comment body GitHub accepts (65,536
// characters); Markdown's default MaxBytes.
const GitHubCommentLimit = 65536

// SummaryLimit is the largest job summary GitHub accepts (1 MiB per step).
const SummaryLimit = 1 << 20

// Options tune Markdown.
type Options struct {
	// RunURL links the CI run (only http and https URLs are linked).
	RunURL string
	// Marker is the key of the hidden marker that finds the comment again
	// ("" means "default"); see Marker.
	Marker string
	// Preview renders the pull-request preview (the "Merging releases …"
	// sentence) whatever the report's mode; a plan report always does.
	Preview bool
	// MaxBytes limits the body; 0 means GitHubCommentLimit.
	MaxBytes int
	// Links makes the release notes link each commit and pull request.
	Links Links
}

var (
	markerKey = regexp.MustCompile(`[^A-Za-z0-9._/+,:=-]`)
	dashes    = regexp.MustCompile(`-+`)
)

// Marker is the hidden HTML comment that starts every PR comment body and
// by which the platforms find the comment to edit in place:
// "<!-- amigo-release:<key> -->". Characters other than letters, digits and
// . _ / + , : = - are dropped from key, runs of - become one; an empty key
// is "default".
func Marker(key string) string {
	key = markerKey.ReplaceAllString(key, "")
	key = dashes.ReplaceAllString(key, "-") // "--" has no place in an HTML comment
	if key == "" {
		key = "default"
	}
	return "<!-- amigo-release:" + key + " -->"
}

// Markdown renders r as the sticky pull request comment: the hidden marker,
// a headline, on previews the "Merging releases …" sentence, the table of
// tools × stages, drift, collapsible failure details, warnings, commits and
// a link to the run. The body never exceeds o.MaxBytes (see the package
// documentation on size).
func Markdown(r *pipeline.Report, o Options) string {
	limit := o.MaxBytes
	if limit <= 0 {
		limit = GitHubCommentLimit
	}
	link := safeURL(o.RunURL)
	return assemble(Marker(o.Marker)+"\n\n", pieces(r, isPreview(r, o.Preview), o.Links), footer(r, link), link, limit)
}

// Summary renders r as the job summary: the same sections as Markdown
// without the marker, within GitHub's 1 MiB step summary limit.
func Summary(r *pipeline.Report) string { return SummaryWith(r, Options{}) }

// SummaryWith is Summary with the release notes' links (o.Links; the
// other options are the comment's and do not apply).
func SummaryWith(r *pipeline.Report, o Options) string {
	return assemble("", pieces(r, isPreview(r, false), o.Links), footer(r, ""), "", SummaryLimit)
}

// safeURL returns u if it is an absolute http(s) URL, with the characters
// that would end a markdown link destination percent-encoded; else "".
func safeURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	s := p.String()
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", "\"", "%22", "`", "%60").Replace(s)
}

// piece is one complete section of the body. render(100) is the full
// section; smaller percentages render it with less detail, down to 0.
// Fixed sections ignore the percentage.
type piece struct {
	render func(pct int) string
}

func fixed(s string) piece { return piece{render: func(int) string { return s }} }

// assemble joins head, the pieces, a note when they had to be trimmed, and
// foot, within limit bytes. When the full pieces do not fit, every piece is
// rendered with the same, largest percentage of detail that fits; when even
// the least detail does not fit, pieces are added in order until the next
// one does not fit, that one is shrunk, and the rest are left out.
func assemble(head string, ps []piece, foot, link string, limit int) string {
	const noteReserve = 400
	budget := limit - len(head) - len(foot)
	render := func(pct int) string {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(p.render(pct))
		}
		return b.String()
	}
	if body := render(100); len(body) <= budget {
		return head + body + foot
	}
	budget -= noteReserve
	lo, hi, best := 0, 99, ""
	for lo <= hi {
		mid := (lo + hi) / 2
		if body := render(mid); len(body) <= budget {
			best, lo = body, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best != "" || len(ps) == 0 {
		return head + best + trimNote(0, link, limit) + foot
	}
	var b strings.Builder
	b.WriteString(head)
	used, dropped := 0, 0
	for i, p := range ps {
		s := p.render(0)
		if used+len(s) <= budget {
			b.WriteString(s)
			used += len(s)
			continue
		}
		dropped = countSections(ps[i:])
		break
	}
	b.WriteString(trimNote(dropped, link, limit))
	b.WriteString(foot)
	return b.String()
}

// countSections counts pieces that render something.
func countSections(ps []piece) int {
	n := 0
	for _, p := range ps {
		if p.render(0) != "" {
			n++
		}
	}
	return n
}

func trimNote(dropped int, link string, limit int) string {
	where := "the CI run"
	if link != "" {
		where = "[the run](" + link + ")"
	}
	what := "details were shortened"
	if dropped > 0 {
		what = fmt.Sprintf("details were shortened and %s left out", words.Plural(dropped, "section was", "sections were"))
	}
	return fmt.Sprintf("\n> [!NOTE]\n> This report was trimmed to fit the %s-character limit: %s. The full report is in %s.\n", thousands(limit), what, where)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// footer is the last line: the run link and the commit.
func footer(r *pipeline.Report, link string) string {
	var parts []string
	if link != "" {
		parts = append(parts, "[View run]("+link+")")
	}
	if r.Head != "" {
		parts = append(parts, "head "+code(changes.DisplaySHA(r.Head)))
	}
	parts = append(parts, "amigo-release "+code(modeWord(r)))
	return "\n<sub>" + strings.Join(parts, " · ") + "</sub>\n"
}

func modeWord(r *pipeline.Report) string {
	m := r.Mode
	if m == "" {
		m = "run"
	}
	if r.DryRun {
		m += " --dry-run"
	}
	return m
}
