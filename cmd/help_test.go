package cmd

import (
	"strings"
	"testing"
)

// TestRegistry_everyCommandParsesFlagsFirst: `help <command>` and the
// completion scripts read each command's flags by running it with --help
// (flagsOf); every registered command must allow it.
func TestRegistry_everyCommandParsesFlagsFirst(t *testing.T) {
	for _, c := range commands() {
		if flagsOf(c) == nil {
			t.Errorf("command %s does not parse its flags (newFlagSet + parse) before anything else: help and completion cannot read them", c.name)
		}
	}
}

// TestHelpCommand: `help COMMAND` prints exactly `COMMAND --help`, for
// every command, on stdout with exit 0; `help` alone is the command list;
// an unknown command is bad input with a suggestion. On the built binary.
func TestHelpCommand(t *testing.T) {
	dir := t.TempDir()
	for _, c := range commands() {
		viaHelp := runBinary(t, dir, nil, "help", c.name)
		viaHelp.wantCode(t, ExitOK)
		viaFlag := runBinary(t, dir, nil, c.name, "--help")
		viaFlag.wantCode(t, ExitOK)
		if viaHelp.stdout != viaFlag.stdout || !strings.HasPrefix(viaHelp.stdout, "Usage: amigo-release "+c.name) {
			t.Errorf("help %s:\n%s\nwant what %s --help prints:\n%s", c.name, viaHelp.stdout, c.name, viaFlag.stdout)
		}
		if viaHelp.stderr != "" {
			t.Errorf("help %s wrote to stderr: %s", c.name, viaHelp.stderr)
		}
	}
	r := runBinary(t, dir, nil, "help")
	r.wantCode(t, ExitOK)
	for _, c := range commands() {
		wantContains(t, "help", r.stdout, "  "+c.name+" ")
	}
	wantContains(t, "help", r.stdout, "amigo-release help <command>", "amigo-release completion bash|zsh|fish|powershell")

	r = runBinary(t, dir, nil, "help", "rnu")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `unknown command "rnu"; did you mean "run"?`)
	if r.stdout != "" {
		t.Errorf("an error printed on stdout: %s", r.stdout)
	}
	r = runBinary(t, dir, nil, "help", "run", "plan")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `unexpected argument "plan"`)
}
