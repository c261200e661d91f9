package egress_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amigo-release/amigo-release/internal/cilog"
	"github.com/amigo-release/amigo-release/internal/egress"
)

var fuzzSeeds = []string{
	"plain", "::set-output name=x::y", "a\r::error::x", "50% done%0A::warning::x", "##vso[task.complete result=Succeeded]",
	"x ##vso[task.setvariable variable=a]b ##vso[task.complete]", "##[group]x", "###[x", "\u00a0::add-mask::x",
	"::stop-commands::tok1", "::tok1::", "a]b;c,d:e", "%AZP25", "line1\nline2\r\n##[error]x", "\u2028::x", "\x00\x1b[31m",
	"\u202eevil\u2066", "\xff\xfe", "\u0085::nel", "  \t\u3000::x::y", "s3cr3t-value\n::s3cr3t-value",
}

// exitRun writes text every way the program does: through Stdout in two
// writes cut at cut, through Stderr, and as the message, title and file of
// a command escaped as the platforms escape them.
func exitRun(d egress.Dialect, secret, text string, cut int) (stdout, stderr string) {
	var out, errb bytes.Buffer
	x := egress.New(&out, &errb, egress.Options{Dialect: d})
	x.Secret(secret)
	cut = min(cut, len(text))
	x.Stdout().Write([]byte(text[:cut]))
	x.Stdout().Write([]byte(text[cut:] + "\n"))
	x.Stderr().Write([]byte("amigo-release run: " + text + "\n"))
	switch d {
	case egress.GitHub:
		x.Command("::error file=" + egress.EscapeGitHubProperty(text) + ",line=1,title=" + egress.EscapeGitHubProperty(text) + "::e: " + egress.EscapeGitHubData(text))
		x.Command("::group::g " + egress.EscapeGitHubData(text))
		x.Command("::endgroup::")
	case egress.Azure:
		x.Command("##vso[task.logissue type=error;sourcepath=" + egress.EscapeAzureProperty(text) + ";linenumber=1]e: " + egress.EscapeAzureData(text))
		x.Command("##[group]g " + egress.EscapeAzureData(text))
		x.Command("##[endgroup]")
	}
	x.Close()
	return out.String(), errb.String()
}

// FuzzExit: whatever the text and the secret, the exit's output runs no
// command but the ones the program wrote (its masks, the error, the
// group), shows no secret that the text carried, and holds no control
// character, bidi override or invalid UTF-8.
func FuzzExit(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "s3cr3t-value", uint16(3))
	}
	f.Add("key=s3cr3t%value, again s3cr3t%value", "s3cr3t%value", uint16(9))
	f.Add("multi LINE-ONE and LINE-TWO", "LINE-ONE\nLINE-TWO", uint16(0))
	f.Fuzz(func(t *testing.T, text, secret string, cut uint16) {
		if strings.ContainsAny(secret, "*") {
			t.Skip("'*' makes masking ambiguous")
		}
		var lines []string
		for _, l := range strings.FieldsFunc(strings.TrimSpace(secret), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l = strings.TrimSpace(l); len(l) >= egress.MinSecretLength {
				lines = append(lines, l)
			}
		}
		for _, d := range []egress.Dialect{egress.Plain, egress.GitHub, egress.Azure} {
			stdout, stderr := exitRun(d, secret, text, int(cut))
			skeleton, _ := exitRun(d, "", "", 0)
			if d != egress.Plain {
				var told []string
				for _, l := range lines {
					told = append(told, strings.ToValidUTF8(l, "\uFFFD"))
				}
				if bad := cilog.Injections(d, stdout, cilog.Policy{Secrets: told}); len(bad) != 0 {
					t.Errorf("dialect %d: stdout runs %q\n%s", d, bad, stdout)
				}
				cmds := cilog.Parse(d, stdout)
				want := map[egress.Dialect][]string{egress.GitHub: {"error", "group", "endgroup"}, egress.Azure: {"task.logissue", "[group]", "[endgroup]"}}[d]
				var got []string
				for _, c := range cmds {
					if c.Name != "add-mask" && c.Name != "task.setsecret" {
						got = append(got, c.Name)
					}
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("dialect %d: commands %q, want %q\n%s", d, got, want, stdout)
				}
			}
			if cmds := cilog.Parse(egress.Plain, stderr); len(cmds) != 0 {
				t.Errorf("dialect %d: stderr runs %v", d, cmds[0].Text)
			}
			for _, out := range []string{stdout, stderr} {
				if !utf8.ValidString(out) {
					t.Errorf("dialect %d: invalid UTF-8 out", d)
				}
				for _, r := range withoutMasks(out) {
					if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
						t.Errorf("dialect %d: %U reached the output: %q", d, r, out)
						break
					}
				}
				for i, l := range cilog.Lines(out) {
					if strings.HasPrefix(l, "::add-mask::") || strings.HasPrefix(l, "##vso[task.setsecret]") {
						continue
					}
					for _, part := range append(lines, strings.TrimSpace(secret)) {
						if len(part) >= egress.MinSecretLength && strings.Contains(text, part) && strings.Contains(l, part) && !strings.Contains(skeleton, part) {
							t.Errorf("dialect %d: line %d shows the secret %q: %q", d, i+1, part, l)
						}
					}
				}
			}
		}
	})
}

// FuzzSafeJSON: a JSON document stays valid JSON with the same shape, and
// none of its strings shows the secret, a control character or a line
// that runs a command.
func FuzzSafeJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		b, _ := json.Marshal(map[string]any{"s": s, "k" + s: []any{1, s, nil, true}})
		f.Add(string(b), "s3cr3t-value")
	}
	f.Add(`{"a": [1, 2.5e10, "x\u001b"], "b": {"c": "\u202e"}}`, "a-secret")
	f.Fuzz(func(t *testing.T, doc, secret string) {
		if !json.Valid([]byte(doc)) || strings.ContainsAny(secret, "*") {
			t.Skip()
		}
		x := egress.New(nil, nil, egress.Options{Dialect: egress.Azure})
		x.Secret(secret)
		got := x.Safe([]byte(doc), egress.JSON)
		var v any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatalf("not JSON any more: %v\n%s", err, got)
		}
		var strs []string
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				strs = append(strs, v)
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					strs = append(strs, k)
					walk(e)
				}
			}
		}
		walk(v)
		dump := strings.Join(strs, "\n")
		for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
			if cmds := cilog.Parse(d, dump); len(cmds) != 0 {
				t.Errorf("jq -r would run %q", cmds[0].Text)
			}
		}
		if s := strings.TrimSpace(secret); len(s) >= egress.MinSecretLength && !strings.ContainsAny(s, "\r\n") && strings.Contains(doc, s) && strings.Contains(dump, s) {
			t.Errorf("the secret %q survived: %s", s, got)
		}
		for _, r := range dump {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x202a && r <= 0x202e) {
				t.Errorf("%U survived", r)
			}
		}
	})
}

// withoutMasks drops the mask registrations, which carry secrets as they are.
func withoutMasks(out string) string {
	var keep []string
	for _, l := range cilog.Lines(out) {
		if !strings.HasPrefix(l, "::add-mask::") && !strings.HasPrefix(l, "##vso[task.setsecret]") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
