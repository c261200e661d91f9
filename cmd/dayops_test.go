package cmd

import (
	"os"
	"strings"
	"testing"
)

// TestREADME_documentsEveryCommand: the README's command table has a row
// for every command, and its day-two section shows each new command in use.
func TestREADME_documentsEveryCommand(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, c := range commands() {
		if strings.HasPrefix(c.name, "test-") {
			continue
		}
		if !strings.Contains(readme, "\n| `"+c.name+"` |") {
			t.Errorf("README's command table has no row for %s", c.name)
		}
	}
	for _, want := range []string{"amigo-release status", "amigo-release rollback weather_lookup --to", "amigo-release notes weather_lookup",
		"permissions: contents: write", "Create tag", "mode: rollback", "off by default"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not say %q", want)
		}
	}
}

// TestSplitPositional: a command's argument may stand before, between or
// after its flags; a flag's value is never taken for it.
func TestSplitPositional(t *testing.T) {
	env := &Env{Getenv: func(string) string { return "" }}
	var to, cfg string
	var dry bool
	f := newFlagSet("rollback", "", "", env)
	f.String(&to, "to", "", "", "", "X", "")
	f.String(&cfg, "config", "", "", "", "X", "")
	f.Bool(&dry, "dry-run", "", "", false, "")
	for _, tc := range []struct {
		args       []string
		flags, pos string
	}{
		{[]string{"weather", "--to", "1.2.0"}, "--to 1.2.0", "weather"},
		{[]string{"--to", "1.2.0", "weather"}, "--to 1.2.0", "weather"},
		{[]string{"--dry-run", "weather", "--to=abc"}, "--dry-run --to=abc", "weather"},
		{[]string{"--to", "weather", "--config", "x.yaml"}, "--to weather --config x.yaml", ""},
		{[]string{"--nope", "weather"}, "--nope", "weather"},
		{[]string{"--to", "1", "--", "-odd-name"}, "--to 1", "-odd-name"},
	} {
		fl, pos := f.splitPositional(tc.args)
		if strings.Join(fl, " ") != tc.flags || strings.Join(pos, " ") != tc.pos {
			t.Errorf("splitPositional(%q) = %q, %q; want %q, %q", tc.args, fl, pos, tc.flags, tc.pos)
		}
	}
}

// TestDayTwo_usageErrors: the day-two commands refuse bad arguments with
// exit 2 and a message that says what to give, before reading anything.
func TestDayTwo_usageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback"}, "which tool?"},
		{[]string{"rollback", "weather"}, "--to is required"},
		{[]string{"rollback", "a", "b", "--to", "1.0.0"}, "rollback takes one tool"},
		{[]string{"rollback", "a", "--tool", "b", "--to", "1.0.0"}, "give it once"},
		{[]string{"notes"}, "notes takes one tool name"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--time-scale", "0.5"}, "--time-scale 0.5"},
	} {
		r := runMainEnv(t, map[string]string{}, tc.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
