package cmd

import (
	"strings"
	"testing"
)

// TestReadme_documentsEveryCommandFlagAndVariable: the README's commands
// table has a row per registered command, and every flag and environment
// variable of every command is in the README (a variable of a family as
// AMIGO_DEMO_* with its suffix listed).
func TestReadme_documentsEveryCommandFlagAndVariable(t *testing.T) {
	b := readFile(t, "../README.md")
	readme := string(b)
	for _, c := range commands() {
		if !strings.Contains(readme, "| `"+c.name+"` |") {
			t.Errorf("README's commands table has no row for %s", c.name)
		}
		for _, s := range flagsOf(c).specs {
			if !strings.Contains(readme, "--"+s.name) {
				t.Errorf("README does not mention %s --%s", c.name, s.name)
			}
			if s.env == "" || strings.Contains(readme, "`"+s.env+"`") {
				continue
			}
			i := strings.LastIndex(s.env, "_")
			for i > 0 && !strings.Contains(readme, "`"+s.env[:i+1]+"*`") {
				i = strings.LastIndex(s.env[:i], "_")
			}
			if i <= 0 || !strings.Contains(readme, "`"+s.env[i+1:]+"`") {
				t.Errorf("README does not document %s (%s --%s)", s.env, c.name, s.name)
			}
		}
	}
	for _, v := range ciDebugVariables {
		if !strings.Contains(readme, v[0]+"="+v[1]) {
			t.Errorf("README does not say %s=%s turns --verbose on", v[0], v[1])
		}
	}
}
