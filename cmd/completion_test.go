package cmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// completionShell returns the path of a shell the completion tests run
// (needTool: under CI=true, as .ci/run sets, a missing shell fails).
func completionShell(t *testing.T, name string) string {
	t.Helper()
	return needTool(t, name)
}

// completionScript runs `amigo-release completion SHELL` and writes the
// script to a file.
func completionScript(t *testing.T, shell string) (string, string) {
	t.Helper()
	r := runMainEnv(t, nil, "completion", shell)
	r.wantCode(t, ExitOK)
	path := filepath.Join(t.TempDir(), "amigo-release."+shell)
	if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, r.stdout
}

// registerTestCommand adds a command with a FILE flag for the duration of
// the test: completion must cover it with no change to completion.go.
func registerTestCommand(t *testing.T) {
	t.Helper()
	register(command{name: "test-widget", order: 999, summary: "a command only the tests register", run: func(_ context.Context, env *Env, args []string) error {
		var file string
		var loud bool
		f := newFlagSet("test-widget", "[flags]", "Test only.", env)
		f.String(&file, "widget-file", "", "", "", "FILE", "the widget's file")
		f.Bool(&loud, "loud", "", "", false, "shout")
		return f.parse(args, env.Stdout)
	}})
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "test-widget")
		registryMu.Unlock()
	})
}

// completionFixture is a directory with a file and a subdirectory whose
// names start alike, to tell file from directory completion.
func completionFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"plan.yaml": "x", "sfile": "x", "sub/x": "x"})
	return dir
}

// TestCompletion_bash: the script is valid bash (bash -n, shellcheck) and,
// sourced in bash with COMP_WORDS set as bash sets them, completes
// commands, flags, file and directory values and positional arguments,
// including a command registered after completion.go was written.
func TestCompletion_bash(t *testing.T) {
	bash, script, _ := checkedCompletion(t, "bash", "-n")
	sc := completionShell(t, "shellcheck")
	if out, err := exec.Command(sc, "-s", "bash", script).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
	dir := completionFixture(t)
	complete := func(words ...string) []string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shQuote(w))
		}
		prog := "source " + shQuote(script) + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_amigo_release\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("completing %q: %v\n%s", words, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l != "" {
				got = append(got, l)
			}
		}
		return got
	}
	for _, tt := range []struct {
		words []string
		want  []string
	}{
		{[]string{"amigo-release", "ru"}, []string{"run"}},
		{[]string{"amigo-release", "v"}, []string{"validate", "version"}},
		{[]string{"amigo-release", "plan", "--off"}, []string{"--offline"}},
		{[]string{"amigo-release", "run", "--dry"}, []string{"--dry-run"}},
		{[]string{"amigo-release", "run", "--verbose", "--fail"}, []string{"--fail-fast"}},
		{[]string{"amigo-release", "run", "--config", dir + "/pl"}, []string{dir + "/plan.yaml"}},
		{[]string{"amigo-release", "run", "--config", "=", dir + "/pl"}, []string{dir + "/plan.yaml"}},
		{[]string{"amigo-release", "run", "--repo", dir + "/s"}, []string{dir + "/sub"}},
		{[]string{"amigo-release", "plan", "--report-json", dir + "/s"}, []string{dir + "/sfile", dir + "/sub"}},
		{[]string{"amigo-release", "run", "--tools", ""}, nil},
		{[]string{"amigo-release", "help", "de"}, []string{"demo"}},
		{[]string{"amigo-release", "completion", "f"}, []string{"fish"}},
		{[]string{"amigo-release", "completion", "--h"}, []string{"--help"}},
		{[]string{"amigo-release", "test-widget", "--wid"}, []string{"--widget-file"}},
		{[]string{"amigo-release", "test-widget", "--widget-file", dir + "/pl"}, []string{dir + "/plan.yaml"}},
	} {
		got := complete(tt.words...)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("complete %q = %q, want %q", tt.words, got, tt.want)
		}
	}
	// Every registered command, and every flag of each, is offered.
	top := complete("amigo-release", "")
	for _, c := range commands() {
		if !slices.Contains(top, c.name) {
			t.Errorf("command %s not offered: %q", c.name, top)
		}
		flags := complete("amigo-release", c.name, "--")
		for _, f := range flagsOf(c).specs {
			if !slices.Contains(flags, "--"+f.name) {
				t.Errorf("%s --%s not offered: %q", c.name, f.name, flags)
			}
		}
	}
}

// TestCompletion_zsh: the script is valid zsh (zsh -n), registers
// _amigo-release for amigo-release with compinit, and lists every command
// and every flag, with FILE and DIR flags completing files and directories.
func TestCompletion_zsh(t *testing.T) {
	zsh, script, text := checkedCompletion(t, "zsh", "-n")
	prog := "autoload -U compinit && compinit -u -d " + shQuote(filepath.Join(t.TempDir(), "zcompdump")) + "\nsource " + shQuote(script) +
		"\nprint -r -- \"$_comps[amigo-release]\"\n"
	out, err := exec.Command(zsh, "-f", "-c", prog).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "_amigo-release" {
		t.Fatalf("sourcing under compinit: %v; amigo-release completes with %q, want _amigo-release", err, out)
	}
	if !strings.HasPrefix(text, "#compdef amigo-release\n") {
		t.Error("no #compdef line: the file cannot be autoloaded from fpath")
	}
	for _, c := range commands() {
		wantContains(t, "zsh script", text, "'"+c.name+":", "                "+c.name+")\n")
		for _, f := range flagsOf(c).specs {
			switch f.arg {
			case "":
				wantContains(t, "zsh script", text, "'--"+f.name+"[")
			case "FILE":
				wantContains(t, "zsh script", text, "'--"+f.name+"=[", ":file:_files'")
			case "DIR":
				wantContains(t, "zsh script", text, "'--"+f.name+"=[", ":directory:_files -/'")
			default:
				wantContains(t, "zsh script", text, "'--"+f.name+"=[")
			}
		}
	}
	wantContains(t, "zsh script", text, "'1:help argument:(run plan ", "'1:completion argument:(bash zsh fish powershell)'",
		`'--widget-file=[the widget'\''s file]:file:_files'`)
}

// TestCompletion_fish: the script is valid fish (--no-execute) and fish's
// own `complete -C` completes commands, flags, files and arguments with it.
func TestCompletion_fish(t *testing.T) {
	fish, script, _ := checkedCompletion(t, "fish", "--no-execute")
	dir := completionFixture(t)
	complete := func(line string) []string {
		t.Helper()
		cmd := exec.Command(fish, "--no-config", "-c", "source "+fishQuote(script)+"; complete -C "+fishQuote(line))
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("complete -C %q: %v\n%s", line, err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if name, _, _ := strings.Cut(l, "\t"); name != "" {
				got = append(got, name)
			}
		}
		slices.Sort(got)
		return got
	}
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"amigo-release ru", []string{"run"}},
		{"amigo-release plan --off", []string{"--offline"}},
		{"amigo-release help de", []string{"demo"}},
		{"amigo-release completion ", []string{"bash", "fish", "powershell", "zsh"}},
		{"amigo-release run --config " + dir + "/pl", []string{dir + "/plan.yaml"}},
		{"amigo-release run --repo " + dir + "/s", []string{dir + "/sub/"}},
		{"amigo-release test-widget --wid", []string{"--widget-file"}},
	} {
		if got := complete(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("complete -C %q = %q, want %q", tt.line, got, tt.want)
		}
	}
	top := complete("amigo-release ")
	for _, c := range commands() {
		if !slices.Contains(top, c.name) {
			t.Errorf("command %s not offered: %q", c.name, top)
		}
		flags := complete("amigo-release " + c.name + " --")
		for _, f := range flagsOf(c).specs {
			if !slices.Contains(flags, "--"+f.name) {
				t.Errorf("%s --%s not offered: %q", c.name, f.name, flags)
			}
		}
	}
}

// TestCompletion_powershell: no PowerShell can be installed from Debian's
// archive, so the script is checked structurally: every string literal
// closed (quotes doubled inside), braces, brackets and parentheses
// balanced outside strings, the completer registered for both names, and
// every command with its flags and arguments in the table.
func TestCompletion_powershell(t *testing.T) {
	registerTestCommand(t)
	register(command{name: "test-quote", order: 1000, summary: "it's a 'quoted' summary", run: func(_ context.Context, env *Env, args []string) error {
		return newFlagSet("test-quote", "", "x", env).parse(args, env.Stdout)
	}})
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "test-quote")
		registryMu.Unlock()
	})
	_, text := completionScript(t, "powershell")
	if err := psBalanced(text); err != nil {
		t.Fatalf("powershell script: %v", err)
	}
	wantContains(t, "powershell script", text,
		"Register-ArgumentCompleter -Native -CommandName 'amigo-release', 'amigo-release.exe' -ScriptBlock {",
		"'test-quote' = @{\n            Summary = 'it''s a ''quoted'' summary'",
		"'completion' = @{\n            Summary = ", "Args = @('bash', 'zsh', 'fish', 'powershell')",
		"@{ Name = '--widget-file'; Value = 'file'; Tip = 'the widget''s file' }")
	for _, c := range commands() {
		block := text[strings.Index(text, "        '"+c.name+"' = @{"):]
		block = block[:strings.Index(block, "\n        }\n")]
		for _, f := range flagsOf(c).specs {
			wantContains(t, "powershell "+c.name, block, "@{ Name = '--"+f.name+"'; Value = '")
		}
	}
}

// psBalanced checks PowerShell single- and double-quoted strings close and
// {}, () and [] balance outside them (comments skipped).
func psBalanced(s string) error {
	var stack []rune
	pairs := map[rune]rune{'}': '{', ')': '(', ']': '['}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '#':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case '\'', '"':
			j := i + 1
			for ; j < len(rs); j++ {
				if rs[j] == c {
					if j+1 < len(rs) && rs[j+1] == c {
						j++
						continue
					}
					break
				}
				if c == '"' && rs[j] == '`' {
					j++
				}
			}
			if j >= len(rs) {
				return fmt.Errorf("string at offset %d never closes", i)
			}
			i = j
		case '{', '(', '[':
			stack = append(stack, c)
		case '}', ')', ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unbalanced %q at offset %d", c, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%d unclosed %q", len(stack), string(stack))
	}
	return nil
}

// TestCompletion_usage: no shell or an unknown one is bad input (exit 2).
func TestCompletion_usage(t *testing.T) {
	r := runMainEnv(t, nil, "completion")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "name the shell: amigo-release completion bash|zsh|fish|powershell")
	r = runMainEnv(t, nil, "completion", "tcsh")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `unknown shell "tcsh": want bash, zsh, fish, powershell`)
	r = runMainEnv(t, nil, "completion", "bash", "zsh")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `unexpected argument "zsh"`)
}

// checkedCompletion registers the test command, writes the completion
// script for shell and has the shell check its syntax (its flag noExec reads
// without running); it returns the shell's path, the script's path and its
// text.
func checkedCompletion(t *testing.T, shell, noExec string) (bin, script, text string) {
	t.Helper()
	bin = completionShell(t, shell)
	registerTestCommand(t)
	script, text = completionScript(t, shell)
	if out, err := exec.Command(bin, noExec, script).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", shell, noExec, err, out)
	}
	return bin, script, text
}
