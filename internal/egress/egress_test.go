package egress_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/internal/cilog"
	"github.com/amigo-release/amigo-release/internal/egress"
)

func newExit(d egress.Dialect) (*egress.Exit, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return egress.New(&out, &errb, egress.Options{Dialect: d}), &out, &errb
}

func TestVisible(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\tok\n":   "plain text\tok\n",
		"a\r\nb\rc":          "a\nb\nc",
		"\x1b[31mred\x1b[0m": "\u241b[31mred\u241b[0m",
		"nul\x00bel\x07":     "nul\u2400bel\u2407",
		"del\x7f":            "del\u2421",
		"csi\u009b31m":       "csi\uFFFD31m",
		"nel\u0085x":         "nel x",
		"bad \xff utf8":      "bad \uFFFD utf8",
		"abc\u202edcba":      "abc\uFFFDdcba",
		"iso\u2066x\u2069":   "iso\uFFFDx\uFFFD",
		"line\u2028sep":      "line sep",
	} {
		if got := egress.Visible(in); got != want {
			t.Errorf("Visible(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefuseLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                         "plain text",
		"::set-output name=x::y":             "\u200b::set-output name=x::y",
		"   \t::error::x":                    "   \t\u200b::error::x",
		"\u00a0::warning::nbsp is trimmed":   "\u00a0\u200b::warning::nbsp is trimmed",
		"\u3000::warning::ideographic space": "\u3000\u200b::warning::ideographic space",
		"a ::not-at-start:: b":               "a ::not-at-start:: b",
		"##vso[task.setvariable variable=x]": "##\u200bvso[task.setvariable variable=x]",
		"text ##vso[task.complete]":          "text ##\u200bvso[task.complete]",
		"###[group]x":                        "###\u200b[group]x",
		"${x##*/} ## heading ##VsO[y]":       "${x##*/} ## heading ##\u200bVsO[y]",
		"::":                                 "\u200b::",
	} {
		if got := egress.DefuseLine(in); got != want {
			t.Errorf("DefuseLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSecret_forms: a registered secret is masked as it is, line by line,
// JSON-escaped, Go-quoted, URL-encoded and in base64 at any alignment
// inside a longer encoded text, on every sink.
func TestSecret_forms(t *testing.T) {
	const secret = "s3cr3t/v@lue+\"<x>\"\nsecond-line%20"
	x, out, _ := newExit(egress.Plain)
	x.Secret(secret)
	q, _ := json.Marshal(secret)
	texts := []string{
		secret,
		"key=" + string(q),
		"key=" + url.QueryEscape(secret) + "&x=1",
		"path /" + url.PathEscape(secret) + "/",
	}
	for pre := 0; pre < 3; pre++ {
		blob := strings.Repeat("p", pre) + secret + "tail"
		texts = append(texts, "basic "+base64.StdEncoding.EncodeToString([]byte(blob)), "url "+base64.URLEncoding.EncodeToString([]byte(blob)))
	}
	for _, text := range texts {
		out.Reset()
		x.Stdout().Write([]byte(text + "\n"))
		got := out.String()
		for _, leak := range []string{"s3cr3t", "second-line", "3cr3t", "c2Vjb25kLWxpbm"} {
			if strings.Contains(got, leak) {
				t.Errorf("text %q came out as %q: it shows %q", text, got, leak)
			}
		}
	}
}

// TestSecret_registersPerLine: on GitHub each line of a multi-line secret
// gets its own ::add-mask:: (Azure: task.setsecret), once, before
// anything else; a short value is neither registered nor masked.
func TestSecret_registersPerLine(t *testing.T) {
	for _, tc := range []struct {
		d    egress.Dialect
		want string
	}{
		{egress.GitHub, "::add-mask::first-line-1\n::add-mask::second%25line\n::add-mask::single\n"},
		{egress.Azure, "##vso[task.setsecret]first-line-1\n##vso[task.setsecret]second%AZP25line\n##vso[task.setsecret]single\n"},
		{egress.Plain, ""},
	} {
		x, out, errb := newExit(tc.d)
		x.Secret("first-line-1\r\nsecond%line\n", "single", "ab", "")
		x.Secret("single") // known: not registered again
		if out.String() != tc.want || errb.Len() != 0 {
			t.Errorf("dialect %d: stdout %q, stderr %q; want stdout %q", tc.d, out, errb, tc.want)
		}
		out.Reset()
		x.Stderr().Write([]byte("first-line-1 second%line single ab\n"))
		if got := errb.String(); got != "*** *** *** ab\n" {
			t.Errorf("dialect %d: masked line %q", tc.d, got)
		}
	}
}

// TestHide: a hidden value is masked but the runner is not told, until
// Secret registers it.
func TestHide(t *testing.T) {
	x, out, errb := newExit(egress.GitHub)
	x.Hide("hidden-value-1")
	x.Stderr().Write([]byte("hidden-value-1\n"))
	if out.Len() != 0 || errb.String() != "***\n" {
		t.Errorf("stdout %q, stderr %q", out, errb)
	}
	x.Secret("hidden-value-1")
	if out.String() != "::add-mask::hidden-value-1\n" {
		t.Errorf("Secret after Hide: stdout %q", out)
	}
}

// TestStream_lines: lines are made safe whole, whatever the writes cut:
// a secret split over two writes is masked, "\r" and "\r\n" end lines,
// control characters become visible and commands are defused.
func TestStream_lines(t *testing.T) {
	x, out, _ := newExit(egress.GitHub)
	x.Secret("hunter2-secret")
	out.Reset()
	for _, p := range []string{"pass hunt", "er2-secret\r", "\n::set-output name=x::y\r::warning::z\n", "\x1b[2J##vso[task.complete]", "\n  :", ":error::w\nno end"} {
		x.Stdout().Write([]byte(p))
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	want := "pass ***\n\u200b::set-output name=x::y\n\u200b::warning::z\n\u241b[2J##\u200bvso[task.complete]\n  \u200b::error::w\nno end"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

// TestStream_longLine: a line longer than the stream holds back is broken,
// and a secret that straddles the break is still masked.
func TestStream_longLine(t *testing.T) {
	x, out, _ := newExit(egress.Plain)
	secret := "straddling-secret-value"
	x.Secret(secret)
	line := strings.Repeat("a", 64<<10-10) + secret + strings.Repeat("b", 70<<10)
	for i := 0; i < len(line); i += 1000 {
		x.Stdout().Write([]byte(line[i:min(i+1000, len(line))]))
	}
	x.Close()
	if strings.Contains(out.String(), "straddling") || !strings.Contains(out.String(), "***") {
		t.Errorf("the secret across the break is not masked")
	}
	if got := strings.ReplaceAll(out.String(), "\n", ""); len(got) != len(line)-len(secret)+3 {
		t.Errorf("broken line has %d bytes, want %d", len(got), len(line)-len(secret)+3)
	}
}

// TestCommand: the program's own commands keep their word and property
// names; their values and message are masked, visible and have their
// "##[" and "##vso[" defused; a structural value that equals a secret
// stays.
func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		d         egress.Dialect
		line, out string
	}{
		{egress.GitHub, "::error file=dir/tok-secret/f.toml,line=3,title=t%3Ax::msg tok-secret \x1b[1m ##vso[x] %0A::warning::y",
			"::error file=dir/***/f.toml,line=3,title=t%3Ax::msg *** \u241b[1m ##\u200bvso[x] %0A::***::y"},
		{egress.GitHub, "::warning::warning", "::warning::***"},
		{egress.GitHub, "::group::weather\u202e", "::group::weather\uFFFD"},
		{egress.GitHub, "::add-mask::not-through-command", "\u200b::add-mask::not-through-command"},
		{egress.Azure, "##vso[task.logissue type=warning;sourcepath=a%3Bb/tok-secret]m ##vso[task.complete]",
			"##vso[task.logissue type=warning;sourcepath=a%3Bb/***]m ##\u200bvso[task.complete]"},
		{egress.Azure, "##vso[task.setvariable variable=out;isOutput=true;issecret=true]tok-secret",
			"##vso[task.setvariable variable=out;isOutput=true;issecret=true]tok-secret"},
		{egress.Azure, "##vso[task.setvariable variable=out;isOutput=true]tok-secret",
			"##vso[task.setvariable variable=out;isOutput=true]***"},
		{egress.Azure, "##[group]tools ##[x]", "##[group]tools ##\u200b[x]"},
		{egress.Azure, "##vso[task.setsecret]x-not-via-command", "##\u200bvso[task.setsecret]x-not-via-command"},
		{egress.Plain, "::error::x", "\u200b::error::x"},
	} {
		x, out, _ := newExit(tc.d)
		x.Secret("tok-secret", "warning")
		out.Reset()
		x.Command(tc.line)
		if got := strings.TrimSuffix(out.String(), "\n"); got != tc.out {
			t.Errorf("dialect %d: Command(%q)\n got %q\nwant %q", tc.d, tc.line, got, tc.out)
		}
	}
}

// TestSafe_JSON: every string of a JSON document is made safe; the
// document stays valid, indented as it was.
func TestSafe_JSON(t *testing.T) {
	x, _, _ := newExit(egress.Azure)
	secret := "LINE1-secret\nLINE2-secret"
	x.Secret(secret, "one-line-secret")
	doc, _ := json.MarshalIndent(map[string]any{
		"error":      "500: {\"value\":\"LINE1-secret\\nLINE2-secret\"} and one-line-secret",
		"subject":    "fix: \x1b[31mred\u202e ##vso[task.complete]\n::error::x",
		"n":          1.5e300,
		"ok":         true,
		"none":       nil,
		"tags":       map[string]string{"one-line-secret": "v"},
		"multi_line": secret,
	}, "", "  ")
	got := x.Safe(append(doc, '\n'), egress.JSON)
	var back map[string]any
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON any more: %v\n%s", err, got)
	}
	for _, leak := range []string{"LINE1", "LINE2", "one-line-secret", "\x1b", "\u202e", "##vso", "\n::error"} {
		if strings.Contains(string(got), leak) || strings.Contains(back["subject"].(string)+back["error"].(string)+back["multi_line"].(string), leak) {
			t.Errorf("%q survived:\n%s", leak, got)
		}
	}
	if !strings.HasPrefix(string(got), "{\n  \"") || !strings.HasSuffix(string(got), "}\n") || !strings.Contains(string(got), "1.5e+300") {
		t.Errorf("layout or numbers changed:\n%s", got)
	}
	if s := back["subject"].(string); s != "fix: \u241b[31mred\uFFFD ##\u200bvso[task.complete]\n\u200b::error::x" {
		t.Errorf("subject = %q", s)
	}
	if got := string(x.Safe([]byte("not json one-line-secret"), egress.JSON)); got != "not json ***" {
		t.Errorf("invalid JSON is log text: got %q", got)
	}
}

// TestSafe_Markdown: rendered forms are masked too, as "•••".
func TestSafe_Markdown(t *testing.T) {
	var out bytes.Buffer
	x := egress.New(&out, &out, egress.Options{Rendered: func(s string) []string { return []string{strings.ReplaceAll(s, "_", `\_`)} }})
	x.Secret("sk_live_abc")
	got := string(x.Safe([]byte("raw sk_live_abc, escaped sk\\_live\\_abc, \x1b[0m ## heading"), egress.Markdown))
	if got != "raw •••, escaped •••, \u241b[0m ## heading" {
		t.Errorf("got %q", got)
	}
	if got := string(x.Safe([]byte("sk_live_abc x\u202e\x1b\r\n"), egress.Data)); got != "*** x\uFFFD\u241b\r\n" {
		t.Errorf("Data: got %q", got)
	}
}

// TestScope: a scope masks its parent's secrets and its own; the parent
// does not mask the scope's.
func TestScope(t *testing.T) {
	x, out, _ := newExit(egress.Plain)
	x.Secret("parent-secret")
	s := x.Scope()
	s.Secret("scoped-secret")
	s.Stdout().Write([]byte("parent-secret scoped-secret\n"))
	x.Stdout().Write([]byte("parent-secret scoped-secret\n"))
	if got := out.String(); got != "*** ***\n*** scoped-secret\n" {
		t.Errorf("got %q", got)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	x, _, _ := newExit(egress.GitHub)
	x.Secret("file-secret")
	p := filepath.Join(dir, "out")
	if err := x.WriteFile(p, []byte("a=file-secret\n"), egress.Data); err != nil {
		t.Fatal(err)
	}
	if err := x.AppendFile(p, []byte("b=2\n"), egress.Data); err != nil {
		t.Fatal(err)
	}
	tmp, err := x.TempFile(dir, "sum-*.md", []byte("# file-secret"), egress.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p)
	b2, _ := os.ReadFile(tmp)
	if string(b1) != "a=***\nb=2\n" || string(b2) != "# •••" {
		t.Errorf("files: %q, %q", b1, b2)
	}
}

// TestDialectOf follows the runners' own variables.
func TestDialectOf(t *testing.T) {
	for env, want := range map[string]egress.Dialect{"GITHUB_ACTIONS=true": egress.GitHub, "TF_BUILD=True": egress.Azure, "TF_BUILD=true": egress.Azure, "CI=true": egress.Plain} {
		k, v, _ := strings.Cut(env, "=")
		if got := egress.DialectOf(func(s string) string { return map[string]string{k: v}[s] }); got != want {
			t.Errorf("%s: %d, want %d", env, got, want)
		}
	}
}

// TestCommands_onlyTheProgramsOwn: the runner-rule reader sees exactly the
// commands the exit was asked to write.
func TestCommands_onlyTheProgramsOwn(t *testing.T) {
	x, out, _ := newExit(egress.GitHub)
	x.Secret("a-secret-value")
	x.Stdout().Write([]byte("::pwn-set-output name=x::1\n"))
	x.Command("::warning title=pwn::pwn data")
	if bad := cilog.Injections(egress.GitHub, out.String(), cilog.Policy{Secrets: []string{"a-secret-value"}}); len(bad) != 0 {
		t.Errorf("injections: %q", bad)
	}
	if bad := cilog.Injections(egress.GitHub, out.String(), cilog.Policy{Secrets: []string{"a-secret-value"}, Canary: "pwn"}); len(bad) != 1 {
		t.Errorf("the canary check finds %q, want the one command whose message starts with it", bad)
	}
}

// TestEmit_dataOnStdout: once standard output carries a document, mask
// registrations and the program's own commands go to standard error; Emit
// writes the document whole after what stdout held back, a JSON document
// valid, its strings masked and defused (the value kept otherwise).
func TestEmit_dataOnStdout(t *testing.T) {
	for _, d := range []egress.Dialect{egress.GitHub, egress.Azure} {
		x, out, errb := newExit(d)
		x.DataOnStdout()
		if !x.StdoutHoldsData() {
			t.Fatal("StdoutHoldsData is false after DataOnStdout")
		}
		x.Secret("data-secret-123")
		x.Command("::warning::careful")
		x.Command("##vso[task.logissue type=warning]careful")
		doc, _ := json.MarshalIndent(map[string]string{"subject": "fix: ##vso[task.complete]\n::error::x data-secret-123"}, "", "  ")
		if err := x.Emit(append(doc, '\n'), egress.JSON); err != nil {
			t.Fatal(err)
		}
		x.Close()
		var v map[string]string
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			t.Fatalf("dialect %d: stdout is not the JSON alone: %v\n%s", d, err, out)
		}
		if got, want := v["subject"], "fix: ##\u200bvso[task.complete]\n\u200b::error::x ***"; got != want {
			t.Errorf("dialect %d: subject %q, want %q", d, got, want)
		}
		for _, dd := range []egress.Dialect{egress.GitHub, egress.Azure} {
			if cmds := cilog.Parse(dd, out.String()); len(cmds) != 0 {
				t.Errorf("dialect %d: stdout runs %q", d, cmds[0].Text)
			}
		}
		mask := map[egress.Dialect]string{egress.GitHub: "::add-mask::data-secret-123", egress.Azure: "##vso[task.setsecret]data-secret-123"}[d]
		if !strings.HasPrefix(errb.String(), mask+"\n") || len(cilog.Parse(d, errb.String())) < 2 {
			t.Errorf("dialect %d: the registration and the command are not on stderr:\n%s", d, errb)
		}
	}
	// Without DataOnStdout, what Stdout holds back comes first.
	x, out, _ := newExit(egress.Plain)
	io.WriteString(x.Stdout(), "a line without its end")
	x.Emit([]byte(`{"a": 1}`), egress.JSON)
	if got := out.String(); got != `a line without its end{"a":1}` {
		t.Errorf("stdout %q", got)
	}
}
