package platform

import (
	"strings"
	"testing"
	"unicode"
)

// commandsIn parses out the way the runners do and returns the commands
// they would run, in order: on GitHub a line whose trimmed text starts with
// "::" (v2 syntax, named up to the first space or "::") and, on other
// lines, "##[" anywhere (the v1 syntax, matched anywhere in a line); on
// Azure "##vso[" anywhere in a line and "##[" anywhere. A line that holds a
// second "##vso[" also counts it, and so does any carriage return (the
// runners' line readers split on \r too).
func commandsIn(t *testing.T, dialect Dialect, out string) []string {
	t.Helper()
	if strings.Contains(out, "\r") {
		t.Errorf("output holds a carriage return: %q", out)
	}
	var cmds []string
	stopTok := ""
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		switch dialect {
		case GitHubActions:
			if rest, ok := strings.CutPrefix(trimmed, "::"); ok {
				name, data, _ := strings.Cut(rest, "::")
				name, _, _ = strings.Cut(name, " ")
				switch {
				case name == "stop-commands":
					stopTok = data
				case stopTok != "" && name == stopTok:
					name, stopTok = "end-stop-commands", ""
				}
				cmds = append(cmds, name)
				continue
			}
			if strings.Contains(line, "##[") {
				cmds = append(cmds, "v1:"+line)
			}
		case AzurePipelines:
			for _, name := range bracketed(line, "##vso[") {
				name, _, _ = strings.Cut(name, " ")
				cmds = append(cmds, name)
			}
			for _, name := range bracketed(line, "##[") {
				cmds = append(cmds, "["+name+"]")
			}
		}
	}
	return cmds
}

// FuzzPlatformLog: whatever text comes from commits, tools or servers, and
// whatever the secret, every log call of GitHub and Azure issues exactly
// the commands it is meant to (so the text runs none of its own), and no
// line after the masks shows the secret.
func FuzzPlatformLog(f *testing.F) {
	for _, s := range []string{
		"plain", "::set-output name=x::y", "a\r::error::x", "50% done%0A::warning::x", "##vso[task.complete result=Succeeded]",
		"x ##vso[task.setvariable variable=a]b ##vso[task.complete]", "##[group]x", "###[x", "\u00a0::add-mask::x",
		"::stop-commands::tok1", "::tok1::", "a]b;c,d:e", "%AZP25", "line1\nline2\r\n##[error]x", "\u2028::x", "\x00\x1b[31m",
	} {
		f.Add(s, "s3cr3t-value")
	}
	f.Add("key=s3cr3t%value, again s3cr3t%value", "s3cr3t%value")
	f.Add("the key is warning-key", "warning")
	f.Fuzz(func(t *testing.T, text, secret string) {
		if strings.ContainsAny(secret, "*%\u200b") {
			t.Skip("'*' makes redaction ambiguous, '%' makes an escape look like a secret")
		}
		// Our own words ("warning", "task") may equal a secret: only the
		// untrusted parts are redacted, so commands stay intact.
		baseline := logAll("", "")
		for _, tc := range []struct {
			name    string
			dialect Dialect
			want    []string
		}{
			{"github", GitHubActions, []string{"warning", "error", "group", "endgroup", "stop-commands", "end-stop-commands", "error", "warning", "notice"}},
			{"azure", AzurePipelines, []string{"task.logissue", "task.logissue", "[group]", "[endgroup]", "task.logissue", "task.logissue", "task.complete"}},
		} {
			var out lockedBuffer
			env := map[string]string{"GITHUB_OUTPUT": t.TempDir() + "/out"}
			getenv := func(k string) string { return env[k] }
			var p Platform
			if tc.dialect == GitHubActions {
				p = NewGitHub(getenv, WithWriter(&out), WithTokenSource(fixedTokens()))
			} else {
				p = NewAzure(getenv, WithWriter(&out), WithTokenSource(fixedTokens()))
			}
			p.Mask(secret)
			masks := len(maskedLines(secret))
			logEach(p, text)
			if tc.dialect == GitHubActions {
				// Azure prints outputs as setvariable commands whose value
				// is kept intact (the agent runs only a line's first
				// command); GitHub writes them to a file.
				if err := p.SetOutput("x", text); err != nil {
					t.Fatal(err)
				}
			}
			p.Complete(Failed, text)

			lines := strings.Split(out.String(), "\n")
			got := commandsIn(t, tc.dialect, out.String())
			if len(got) < masks {
				t.Fatalf("%s: %d commands, want the %d masks first:\n%s", tc.name, len(got), masks, out.String())
			}
			for i := 0; i < masks; i++ {
				if want := map[Dialect]string{GitHubActions: "add-mask", AzurePipelines: "task.setsecret"}[tc.dialect]; got[i] != want {
					t.Errorf("%s: command %d is %q, want %q first", tc.name, i, got[i], want)
				}
			}
			if strings.Join(got[masks:], "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s: the runner would run\n%q\nwant\n%q\nlog:\n%s", tc.name, got[masks:], tc.want, out.String())
			}
			for i, l := range lines[masks:] {
				for _, part := range secretParts(secret) {
					// Only a secret the text carries can leak through it; a
					// part that appears only where the text meets command
					// syntax ("file=000,line" for the secret "000,") was
					// never in the input.
					if len(part) >= 4 && strings.Contains(text, part) && strings.Contains(l, part) && !strings.Contains(baseline, part) {
						t.Errorf("%s: line %d shows the secret %q: %q", tc.name, masks+i+1, part, l)
					}
				}
			}
		}
	})
}

// logAll is the output of every log call of both platforms for text,
// without masks.
func logAll(text, _ string) string {
	var out lockedBuffer
	getenv := func(string) string { return "" }
	for _, p := range []Platform{NewGitHub(getenv, WithWriter(&out), WithTokenSource(fixedTokens())), NewAzure(getenv, WithWriter(&out), WithTokenSource(fixedTokens()))} {
		logEach(p, text)
		p.Complete(Failed, text)
	}
	return out.String()
}

// logEach gives text to each of p's log calls, as a message, a group's
// name and every field of an annotation.
func logEach(p Platform, text string) {
	p.Infof("%s", text)
	p.Warningf("w: %s", text)
	p.Errorf("e: %s", text)
	p.Group(text)
	p.EndGroup()
	p.Print(text)
	p.Annotate(Annotation{Level: LevelError, File: text, Line: 1, Col: 2, Title: text, Message: text})
	p.Annotate(Annotation{Level: LevelWarning, File: "a.yaml", Message: text})
	p.Annotate(Annotation{Level: LevelNotice, Message: text})
}

// bracketed returns what follows each open (which ends in "[") in line, up
// to the next "]".
func bracketed(line, open string) []string {
	var out []string
	for rest := line; ; {
		i := strings.Index(rest, open)
		if i < 0 {
			return out
		}
		rest = rest[i+len(open):]
		name, _, _ := strings.Cut(rest, "]")
		out = append(out, name)
	}
}
