package pipeline_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/promote"
)

// Release one tool project to two regions served by the emulator, with
// simulated minutes taking milliseconds.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "tools", "weather"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "tools", "weather", "pyproject.toml"), []byte("[project]\nname = \"weather\"\n"), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "feat: weather tool"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Println(string(out), err)
			return
		}
	}

	clk := clock.NewScaled(6000)
	yaml := "version: 1\ndefaults:\n  organization: acme\nstages:\n"
	for i, name := range []string{"us", "eu"} {
		emu := amigotest.New(amigotest.Options{Clock: clk, RepoPath: dir, Seed: int64(i + 1)})
		srv := httptest.NewServer(emu)
		defer srv.Close()
		yaml += fmt.Sprintf("  - name: %s\n    base_url: %s\n    test: %v\n", name, srv.URL, i == 0)
	}
	plan, err := promote.Parse("release.yaml", []byte(yaml))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := map[string]string{"AMIGO_API_KEY": "key", "AMIGO_API_KEY_ID": "id", "AMIGO_USER_ID": "me"}
	rep, err := pipeline.Run(context.Background(), pipeline.Options{
		Plan: plan, RepoPath: dir, Clock: clk,
		Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range rep.Tools {
		for _, s := range t.Stages {
			fmt.Println(t.Name, s.Stage, s.Status, s.VersionAfter)
		}
	}
	fmt.Println("ok:", rep.OK())
	// Output:
	// weather us released 1.0.0
	// weather eu released 1.0.0
	// ok: true
}
