package promote

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExamplesLoad: the plan and pyproject.toml snippets in the
// README are real input: each yaml block with top-level stages: parses as
// a plan, and each toml block loads as project metadata.
func TestReadmeExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(yaml|toml)\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	plans, metas := 0, 0
	for _, m := range blocks {
		lang, src := m[1], m[2]
		switch {
		case lang == "yaml" && regexp.MustCompile(`(?m)^stages:`).MatchString(src):
			plans++
			if _, err := Parse("README.md", []byte(src)); err != nil {
				t.Errorf("README plan example does not parse: %v\n%s", err, src)
			}
		case lang == "toml" && strings.Contains(src, "[tool.amigo-release]"):
			metas++
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			meta, err := LoadProjectMeta(dir)
			if err != nil {
				t.Errorf("README pyproject.toml example does not load: %v\n%s", err, src)
				continue
			}
			if len(meta.Envvars) == 0 || len(meta.TestInputs) == 0 {
				t.Errorf("README pyproject.toml example lost its envvars or test inputs: %+v", meta)
			}
		}
	}
	if plans == 0 || metas == 0 {
		t.Errorf("found %d plan and %d pyproject.toml examples in the README, want at least one of each", plans, metas)
	}
}
