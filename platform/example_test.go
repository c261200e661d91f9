package platform_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/amigo-release/amigo-release/platform"
)

// A GitHub Actions step: the secret is masked first and redacted after,
// messages are escaped, outputs go to $GITHUB_OUTPUT.
func ExampleNewGitHub() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	env := map[string]string{"GITHUB_OUTPUT": filepath.Join(dir, "output"), "INPUT_AMIGO-API-KEY": "s3cr3t-key"}
	p := platform.NewGitHub(func(k string) string { return env[k] },
		platform.WithWriter(os.Stdout), platform.WithTokenSource(func() string { return "EXAMPLE" }))

	key := p.Input("amigo-api-key")
	p.Mask(key)
	p.Group("weather_lookup")
	p.Infof("signing in with %s", key)
	p.Warningf("publish answered 409\nretrying")
	p.EndGroup()
	p.Annotate(platform.Annotation{Level: platform.LevelError, File: "tools/geo/pyproject.toml", Line: 3, Message: "version is not semver"})
	_ = p.SetOutput("failed", "false")
	b, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	fmt.Print(string(b))
	// Output:
	// ::add-mask::s3cr3t-key
	// ::group::weather_lookup
	// signing in with ***
	// ::warning::publish answered 409%0Aretrying
	// ::endgroup::
	// ::error file=tools/geo/pyproject.toml,line=3::version is not semver
	// failed<<ghadelimiter_EXAMPLE
	// false
	// ghadelimiter_EXAMPLE
}

// An Azure Pipelines step: the same calls as ##vso logging commands.
func ExampleNewAzure() {
	env := map[string]string{"AMIGO_API_KEY": "s3cr3t-key"}
	p := platform.NewAzure(func(k string) string { return env[k] }, platform.WithWriter(os.Stdout))
	p.Mask(p.Input("api-key"))
	p.Group("weather_lookup")
	p.Warningf("100%% done; next]")
	p.EndGroup()
	_ = p.SetOutput("failed", "false")
	p.Complete(platform.Succeeded, "released 2 tools")
	// Output:
	// ##vso[task.setsecret]s3cr3t-key
	// ##[group]weather_lookup
	// ##vso[task.logissue type=warning]100%AZP25 done; next]
	// ##[endgroup]
	// ##vso[task.setvariable variable=failed;isOutput=true]false
	// ##vso[task.complete result=Succeeded;]released 2 tools
}
