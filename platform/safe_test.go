package platform

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestDefuse(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                         "plain text",
		"::set-output name=x::y":             "\u200b::set-output name=x::y",
		"   \t::error::x":                    "   \t\u200b::error::x",
		"\u00a0::warning::nbsp is trimmed":   "\u00a0\u200b::warning::nbsp is trimmed",
		"a ::not-at-start:: b":               "a ::not-at-start:: b",
		"##vso[task.setvariable variable=x]": "##\u200bvso[task.setvariable variable=x]",
		"text ##vso[task.complete]":          "text ##\u200bvso[task.complete]",
		"##[group]x":                         "##\u200b[group]x",
		"::":                                 "\u200b::",
	} {
		if got := Defuse(in); got != want {
			t.Errorf("Defuse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSafeWriter_Println(t *testing.T) {
	var b strings.Builder
	s := NewSafeWriter(&b, GitHubActions, nil)
	s.Redact("hunter22\nline-two-secret")
	s.Redact("ab") // too short to redact
	s.Println("a\r::add-mask::x\r\npass hunter22 and line-two-secret, ab\n")
	// Redact tells the runner each line of a multi-line secret, first.
	want := "::add-mask::hunter22\n::add-mask::line-two-secret\na\n\u200b::add-mask::x\npass *** and ***, ab\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestSafeWriter_Block(t *testing.T) {
	var b strings.Builder
	tokens := []string{"abc", "fresh"}
	s := NewSafeWriter(&b, GitHubActions, func() string { tok := tokens[0]; tokens = tokens[1:]; return tok })
	s.Block("out\n::abc::\n::set-env name=A::B")
	// "abc" occurs in the text, so a fresh random token is drawn instead.
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %q", b.String())
	}
	tok := strings.TrimPrefix(lines[0], "::stop-commands::")
	if tok == lines[0] || tok == "abc" || len(tok) != 32 {
		t.Errorf("stop token %q: want a fresh random one not in the text", tok)
	}
	if lines[4] != "::"+tok+"::" {
		t.Errorf("block ends with %q, want ::%s::", lines[4], tok)
	}
	if lines[2] != "\u200b::abc::" || lines[3] != "\u200b::set-env name=A::B" {
		t.Errorf("block lines not defused: %q", lines[1:4])
	}

	b.Reset()
	NewSafeWriter(&b, AzurePipelines, nil).Block("x\n##vso[task.complete]")
	if got, want := b.String(), "x\n##\u200bvso[task.complete]\n"; got != want {
		t.Errorf("Azure block = %q, want %q (no stop-commands there)", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSafeWriter_errorIsRecordedNotPanicked(t *testing.T) {
	env := newStrictEnv(t, map[string]string{})
	p := NewGitHub(env.Getenv, WithWriter(failingWriter{}))
	p.Group("x") // go-githubactions panics on write errors; our writer never fails it
	p.Infof("y")
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err() = %v, want the write error", err)
	}
}

func TestEscape(t *testing.T) {
	in := "50% a;b]c\r\nd:e,f"
	for _, tc := range []struct {
		name string
		f    func(string) string
		want string
	}{
		{"GitHubData", EscapeGitHubData, "50%25 a;b]c%0D%0Ad:e,f"},
		{"GitHubProperty", EscapeGitHubProperty, "50%25 a;b]c%0D%0Ad%3Ae%2Cf"},
		{"AzureData", EscapeAzureData, "50%AZP25 a;b]c%0D%0Ad:e,f"},
		{"AzureProperty", EscapeAzureProperty, "50%AZP25 a%3Bb%5Dc%0D%0Ad:e,f"},
	} {
		if got := tc.f(in); got != tc.want {
			t.Errorf("Escape%s(%q) = %q, want %q", tc.name, in, got, tc.want)
		}
	}
}

// FuzzSafeWriter: whatever the text, no written line runs as a workflow
// command, except the stop-commands wrapper itself, and no registered
// secret appears.
func FuzzSafeWriter(f *testing.F) {
	for _, s := range []string{"::set-output name=x::y", "a\r::b", "##vso[x]", " \t::y", "\u00a0::z", "##[group]", "x\n\n::", "s3cr3t\n::s3cr3t"} {
		f.Add(s, "s3cr3t")
	}
	f.Fuzz(func(t *testing.T, text, secret string) {
		for _, d := range []Dialect{Plain, GitHubActions, AzurePipelines} {
			var b strings.Builder
			s := NewSafeWriter(&b, d, func() string { return "fixedtoken" })
			s.Redact(secret)
			s.Println(text)
			s.Block(text)
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			lines = lines[map[Dialect]int{Plain: 0, GitHubActions: len(maskedLines(secret)), AzurePipelines: len(maskedLines(secret))}[d]:]
			for i, l := range lines {
				trimmed := strings.TrimLeftFunc(l, unicode.IsSpace)
				if strings.HasPrefix(trimmed, "::") && !strings.HasPrefix(l, "::stop-commands::") && !(strings.HasSuffix(l, "::") && i == len(lines)-1) {
					t.Errorf("dialect %d line %d runs a command: %q", d, i, l)
				}
				if strings.Contains(l, "##vso[") || strings.Contains(l, "##[") {
					t.Errorf("dialect %d line %d holds an Azure command: %q", d, i, l)
				}
				if strings.Contains(l, "\r") {
					t.Errorf("dialect %d line %d holds a carriage return: %q", d, i, l)
				}
				for _, part := range secretParts(secret) {
					if len(part) >= 4 && strings.Contains(l, part) {
						t.Errorf("dialect %d line %d leaks the secret %q: %q", d, i, part, l)
					}
				}
			}
		}
	})
}

// TestRedact_beforeEscaping: a secret with characters the command syntax
// escapes (% : , ; ] newline) is redacted before escaping, so neither it
// nor its escaped form reaches the log; commands stay intact when a secret
// equals one of their words.
func TestRedact_beforeEscaping(t *testing.T) {
	const secret = "p%ss:w,rd;x]"
	variants := []string{secret, EscapeGitHubData(secret), EscapeGitHubProperty(secret), EscapeAzureData(secret), EscapeAzureProperty(secret)}
	for _, tc := range []struct {
		name string
		new  func(getenv func(string) string, opts ...Option) Platform
	}{
		{"github", func(g func(string) string, o ...Option) Platform { return NewGitHub(g, o...) }},
		{"azure", func(g func(string) string, o ...Option) Platform { return NewAzure(g, o...) }},
	} {
		var out lockedBuffer
		p := tc.new(func(string) string { return "" }, WithWriter(&out))
		p.Mask(secret)
		p.Mask("warning")
		p.Mask("task")
		p.Warningf("key %s", secret)
		p.Errorf("key %s", secret)
		p.Group("key " + secret)
		p.EndGroup()
		p.Annotate(Annotation{Level: LevelError, File: "dir/" + secret + "/f.toml", Line: 2, Title: secret, Message: secret})
		p.Complete(Failed, secret)
		lines := strings.Split(out.String(), "\n")
		for i, l := range lines[3:] {
			for _, v := range variants {
				if strings.Contains(l, v) {
					t.Errorf("%s: line %d shows %q: %q", tc.name, i+4, v, l)
				}
			}
		}
		wantPrefix := map[string]string{"github": "::warning::key ***", "azure": "##vso[task.logissue type=warning]key ***"}[tc.name]
		if lines[3] != wantPrefix {
			t.Errorf("%s: line 4 = %q, want %q (the command intact, the secret redacted)", tc.name, lines[3], wantPrefix)
		}
	}
}

// TestRedactedBody_neverLonger: a body the report trimmed to the limit
// (GitHub counts characters) stays within it after redaction.
func TestRedactedBody_neverLonger(t *testing.T) {
	s := NewSafeWriter(&strings.Builder{}, GitHubActions, nil)
	s.Redact("a_b!")
	body := strings.Repeat(`a\_b! `, 65536/6)
	got := s.redactedBody(body)
	if strings.Contains(got, "a") || utf8.RuneCountInString(got) > utf8.RuneCountInString(body) {
		t.Errorf("redacted body has %d characters, the body %d; or a form was missed", utf8.RuneCountInString(got), utf8.RuneCountInString(body))
	}
}

// TestAnnotations_controlCharactersVisible (issue 12, finding 5): ANSI
// escape sequences, C1 controls, NUL and bidi overrides from commit and
// server text never reach an annotation, a group title or a log line
// raw: they come out as visible pictures or U+FFFD.
func TestAnnotations_controlCharactersVisible(t *testing.T) {
	text := "red \x1b[31mALERT\x1b[0m \u202eevil\u202c nul\x00 csi\u009b2J iso\u2066x\u2069 bell\a"
	for _, tc := range []struct {
		name string
		new  func(getenv func(string) string, opts ...Option) Platform
	}{
		{"github", func(g func(string) string, o ...Option) Platform { return NewGitHub(g, o...) }},
		{"azure", func(g func(string) string, o ...Option) Platform { return NewAzure(g, o...) }},
		{"local", func(g func(string) string, o ...Option) Platform { return NewLocal(g, o...) }},
	} {
		var out lockedBuffer
		p := tc.new(func(string) string { return "" }, WithWriter(&out))
		p.Errorf("test gate failed: %s", text)
		p.Warningf("%s", text)
		p.Annotate(Annotation{Level: LevelError, File: "tools/" + text + "/pyproject.toml", Line: 1, Title: text, Message: text})
		p.Group(text)
		p.Infof("%s", text)
		p.EndGroup()
		p.Print(text)
		p.Complete(Failed, text)
		got := out.String()
		for _, r := range got {
			if (r < 0x20 && r != '\n') || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s: %U reached the log raw:\n%q", tc.name, r, got)
				break
			}
		}
		if !strings.Contains(got, "\u241b[31mALERT") {
			t.Errorf("%s: the escape is not shown as a picture:\n%q", tc.name, got)
		}
	}
}
