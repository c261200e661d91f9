// Package egress is the process's one exit: every byte amigo-release
// writes to its standard output and error, to a file (step outputs, job
// summaries, the JSON report) or into a pull request comment passes
// through an Exit, which
//
//   - masks every secret registered with Secret, wherever it appears: as
//     it is, each line of a multi-line value, JSON-escaped, Go-quoted,
//     URL-encoded and in base64 (at any alignment inside a longer encoded
//     text), and in markdown documents as the renderer shows it;
//   - makes control characters visible and harmless (Visible): ANSI
//     escapes, C0 and C1 controls, NUL, DEL, bidi overrides and isolates;
//   - defuses workflow commands the way each runner reads them
//     (DefuseLine): on GitHub Actions a line whose text after leading
//     whitespace starts with "::" (lines also end at \r), on Azure
//     Pipelines "##vso[" and "##[" anywhere in a line;
//   - tells the runner about each secret (::add-mask::, one per line of a
//     multi-line value; ##vso[task.setsecret]) on standard output before
//     anything that could show it.
//
// The program's own workflow commands go through Command, which keeps the
// command word and property names and makes the values and the message
// safe after unescaping them by the runner's rules; nothing else reaches
// the runner as a command.
//
// # Using it
//
// cmd.Main makes the process's Exit around os.Stdout and os.Stderr before
// any command runs, and hands its writers to every command as env.Stdout
// and env.Stderr: a command that writes there is covered with no further
// thought. Files are written with WriteFile, AppendFile or TempFile and a
// Kind that says what they are:
//
//	x := egress.New(os.Stdout, os.Stderr, egress.Options{Dialect: egress.DialectOf(os.Getenv), Rendered: report.RenderedForms})
//	x.Secret(apiKey, token)                     // before anything prints
//	fmt.Fprintln(x.Stdout(), untrusted)         // masked, visible, defused
//	x.Command("::error file=" + egress.EscapeGitHubProperty(f) + "::" + egress.EscapeGitHubData(msg))
//	x.WriteFile("report.json", b, egress.JSON)  // every string of the document made safe
//	x.AppendFile(os.Getenv("GITHUB_STEP_SUMMARY"), md, egress.Markdown)
//	body := x.Safe([]byte(md), egress.Markdown) // for bytes that leave by an API call
//	x.DataOnStdout()                            // stdout is a document: commands go to stderr
//	x.Emit(reportJSON, egress.JSON)             // the document, whole, on stdout
//	x.Close()                                   // a last line without its newline
//
// A JSON document, on standard output or in a file, stays valid JSON with
// each of its strings masked, visible and defused; this is the one way
// JSON leaves (--report-json, status --json), so neither the document in
// a CI log nor `jq -r` of one of its fields runs a command.
//
// Secrets shorter than MinSecretLength are not masked: they would mangle
// the output and protect nothing (the CLI warns about them by name).
//
// TestOneExit parses every package linked into the binary and fails when
// one writes to os.Stdout or os.Stderr, calls fmt.Print*, print or
// println, opens a file for writing or redirects the standard logger
// anywhere but here (main.go hands the streams to cmd.Main; the demo
// writes its sample repository, an input, itself).
//
// What the exit cannot cover: the Go runtime writes a crash (an unrecovered
// panic in a goroutine, a fatal error) straight to file descriptor 2;
// cmd.Main recovers panics of the command it runs, and bounded inputs
// (internal/bounds) keep memory from running out.
package egress
