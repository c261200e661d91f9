package cmd

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestVerbose: --verbose logs every HTTP call (method, host, path, status,
// duration) and each setting with its source, on stderr on a terminal;
// never a credential, a header or a query string. The CI debug switches
// turn it on; an explicit --verbose=false or AMIGO_VERBOSE=false wins.
func TestVerbose(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	args := []string{"plan", "--repo", repo, "--config", plan}
	httpLine := regexp.MustCompile(`(?m)^http (GET|POST) 127\.0\.0\.1:\d+/v1/acme/\S+ → \d{3} \((<1ms|[0-9.]+m?s)\)$`)
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want bool
	}{
		{"off by default", nil, nil, false},
		{"--verbose", nil, []string{"--verbose"}, true},
		{"AMIGO_VERBOSE", []string{"AMIGO_VERBOSE", "true"}, nil, true},
		{"RUNNER_DEBUG=1 (GitHub debug logging)", []string{"RUNNER_DEBUG", "1"}, nil, true},
		{"ACTIONS_STEP_DEBUG=true", []string{"ACTIONS_STEP_DEBUG", "true"}, nil, true},
		{"SYSTEM_DEBUG=true (Azure system.debug)", []string{"SYSTEM_DEBUG", "True"}, nil, true},
		{"RUNNER_DEBUG=0 is off", []string{"RUNNER_DEBUG", "0"}, nil, false},
		{"--verbose=false beats RUNNER_DEBUG", []string{"RUNNER_DEBUG", "1"}, []string{"--verbose=false"}, false},
		{"AMIGO_VERBOSE=false beats SYSTEM_DEBUG", []string{"SYSTEM_DEBUG", "true", "AMIGO_VERBOSE", "false"}, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runRelease(t, releaseEnv(append(tt.env, "AMIGO_TIME_SCALE", strconv.Itoa(timeScale))...), append(append([]string{}, args...), tt.args...)...)
			r.wantCode(t, ExitOK)
			got := httpLine.FindAllString(r.stderr, -1)
			if !tt.want {
				if len(got) > 0 || strings.Contains(r.stderr, "setting --") {
					t.Errorf("verbose lines without verbose:\n%s", r.stderr)
				}
				return
			}
			joined := strings.Join(got, "\n")
			wantContains(t, "HTTP log", joined, "http POST 127.0.0.1:", "/v1/acme/user/signin_with_api_key → 200", "/v1/acme/tool/ → 200")
			wantContains(t, "settings", r.stderr, `setting --config="`+plan+`" (flag)`, `setting --deepen="true" (default)`, `setting --time-scale="1000" (env AMIGO_TIME_SCALE)`,
				"platform local, event manual (manual)")
			for _, secret := range testCreds {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("verbose output holds the credential %q", secret)
				}
			}
			if strings.Contains(joined, "?") || strings.Contains(strings.ToLower(r.stderr), "authorization") || strings.Contains(r.stderr, "Bearer") {
				t.Errorf("verbose log shows a query string or a header:\n%s", r.stderr)
			}
			if strings.Contains(r.stdout, "http ") {
				t.Errorf("the HTTP log went to stdout (it is the log: stderr on a terminal):\n%s", r.stdout)
			}
		})
	}
}

// TestVerbose_binaryGitHubDebug: the built binary inside GitHub Actions
// with the runner's debug logging (RUNNER_DEBUG=1) logs each call after
// the masks, in the step log.
func TestVerbose_binaryGitHubDebug(t *testing.T) {
	repo, _, _, plan := twoRegions(t)
	dir := t.TempDir()
	env := releaseEnv("AMIGO_TIME_SCALE", strconv.Itoa(timeScale), "GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "workflow_dispatch",
		"GITHUB_OUTPUT", dir+"/out", "RUNNER_DEBUG", "1", "INPUT_CONFIG", plan, "INPUT_WORKING-DIRECTORY", repo, "INPUT_GITHUB-TOKEN", ghToken)
	r := runBinary(t, dir, env, "plan")
	r.wantCode(t, ExitOK)
	wantContains(t, "step log", r.stdout, "/v1/acme/user/signin_with_api_key → 200", `setting --config="`+plan+`" (action input config)`, "platform github, event manual (workflow_dispatch)")
	checkLog(t, r.stdout, "::add-mask::", append(testSecrets(), ghToken))
}

func testSecrets() []string {
	return []string{testCreds["AMIGO_API_KEY"], testCreds["AMIGO_API_KEY_ID"], testCreds["AMIGO_USER_ID"]}
}
