// Package report renders a pipeline.Report for people: the sticky pull
// request comment (Markdown), the CI job summary (Summary), and the terminal
// views of the CLI (Text for results, PlanText for a plan).
//
// It is pure: no I/O, no clock, no environment. The same report always
// renders to the same bytes, which the golden files under testdata/ pin
// (regenerate with: go test ./report -update, then review the diff).
//
// # Untrusted text
//
// Commit subjects, tool names, reasons, error messages, exception types,
// stack traces and test outputs come from commits, tools and servers. Every
// one of them is escaped for the context it lands in:
//
//   - no raw HTML: < > & become entities everywhere;
//   - no @mention that pings: a zero-width joiner follows every @;
//   - tables stay intact: | is escaped and newlines are folded in cells;
//   - markdown punctuation (\ ` * _ [ ] ~ $) is backslash-escaped in
//     markdown text, so no links, images, emphasis, code spans or math
//     can be injected; inside HTML blocks (<summary>, <pre>) markdown is
//     not parsed at all, so entities suffice there;
//   - left as they are, on purpose: bare URLs (GitHub autolinks them, but
//     the link text is the URL itself, and only http(s) and www. are
//     linked, never javascript:), #123 and owner/repo#123 references
//     (useful, and the commit already made them), emoji shortcodes and
//     zero-width characters (they cannot complete a tag, mention or
//     command; a zero-width space before "::" is exactly what defuses one);
//   - workflow commands stay inert: a line can never start with "::" (the
//     GitHub Actions syntax), and "##vso[" / "##[" never appear verbatim
//     (Azure Pipelines and the legacy runner syntax), so a body that someone
//     echoes into a CI log runs nothing. Text and PlanText apply the same
//     rule to their output, so the CLI may print them as they are;
//   - multi-line text (errors, stack traces, outputs) goes into <pre> blocks
//     whose content is entity-escaped, so it cannot close the block or the
//     surrounding <details>.
//
// Untrusted text is truncated before it is escaped, so a cut never lands
// inside an escape.
//
// # Size
//
// GitHub refuses comment bodies over 65,536 characters. Markdown keeps the
// body within Options.MaxBytes (bytes, which never undercount characters):
// it assembles complete sections in order of importance (headline, plan
// sentence, table rows, drift, failures, warnings, commits), shrinks the
// first section that does not fit, leaves the rest out, and says so in a
// note. The hidden marker always stays first, and no <details> or <pre> is
// ever cut open.
//
// # API
//
//	Markdown(r, Options{RunURL, Marker, Preview, MaxBytes}) string  // PR comment
//	Marker(key) string                                             // "<!-- amigo-release:key -->"
//	Summary(r) string                                              // job summary markdown
//	Text(r) string                                                 // terminal table of results
//	PlanText(r) string                                             // terminal plan: "Merging releases …"
package report
