package cmd

import (
	"context"
	"encoding/json"

	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/internal/buildinfo"
)

func TestMain_usage(t *testing.T) {
	r := runMainEnv(t, nil)
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, "Usage: amigo-release <command>", "emulator", "version")

	r = runMainEnv(t, nil, "--help")
	r.wantCode(t, ExitOK)
	for _, c := range commands() {
		wantContains(t, "top-level help", r.stdout, "  "+c.name+" ")
	}
}

func TestMain_unknownCommand(t *testing.T) {
	r := runMainEnv(t, nil, "publish")
	r.wantCode(t, ExitUsage)
	wantContains(t, "stderr", r.stderr, `unknown command "publish"`)
}

func TestMain_exitCodes(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", nil, []string{"version", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{"positional argument", nil, []string{"version", "extra"}, ExitUsage, `unexpected argument "extra": version takes flags only`},
		{"misspelt flag gets a suggestion", nil, []string{"run", "--dryrun"}, ExitUsage, "flag provided but not defined: -dryrun; did you mean --dry-run? (see: amigo-release run --help)"},
		{"misspelt env-style flag", nil, []string{"plan", "--report_json", "x"}, ExitUsage, "did you mean --report-json?"},
		{"misspelt command gets a suggestion", nil, []string{"rnu"}, ExitUsage, `unknown command "rnu"; did you mean "run"?`},
		{"bad bool in env", nil, []string{"emulator", "--time-scale", "0"}, ExitUsage, "--time-scale 0"},
		{"bad number flag", nil, []string{"emulator", "--active-cap", "many"}, ExitUsage, `want an integer, got "many"`},
		{"bad env value", map[string]string{"AMIGO_EMULATOR_ACTIVE_CAP": "lots"}, []string{"emulator"}, ExitUsage, `AMIGO_EMULATOR_ACTIVE_CAP="lots"`},
		{"address in use or invalid", nil, []string{"emulator", "--addr", "256.0.0.1:99999"}, ExitUnavailable, "listen on 256.0.0.1:99999"},
		{"action mode bad input", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_MODE": "deploy"}, nil, ExitUsage, `mode="deploy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMainEnv(t, tt.env, tt.args...)
			r.wantCode(t, tt.wantCode)
			wantContains(t, "stderr", r.stderr, tt.wantErr)
			if strings.Contains(r.stderr, "amigo-release run: run:") || strings.Contains(r.stderr, "amigo-release plan: plan:") {
				t.Errorf("the command name is repeated in the error:\n%s", r.stderr)
			}
		})
	}
}

func TestMain_panicIsInternalError(t *testing.T) {
	register(command{name: "test-panic", order: 999, run: func(context.Context, *Env, []string) error { panic("boom") }})
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "test-panic")
		registryMu.Unlock()
	})
	r := runMainEnv(t, nil, "test-panic")
	r.wantCode(t, ExitInternal)
	wantContains(t, "stderr", r.stderr, "internal error", "boom")
}

func TestMain_interrupted(t *testing.T) {
	register(command{name: "test-cancel", order: 999, run: func(ctx context.Context, _ *Env, _ []string) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	t.Cleanup(func() {
		registryMu.Lock()
		delete(registry, "test-cancel")
		registryMu.Unlock()
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := runMainCtx(t, ctx, Env{}, "test-cancel")
	r.wantCode(t, ExitInterrupted)
}

// TestHelp_listsEveryFlag checks, for every subcommand, that --help exits 0
// and names every flag with its environment variable and default.
func TestHelp_listsEveryFlag(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			r := runMainEnv(t, nil, c.name, "--help")
			r.wantCode(t, ExitOK)
			specs := helpSpecs(t, c.name)
			if len(specs) == 0 && c.name != "version" && c.args == nil {
				t.Fatalf("%s defines no flags", c.name)
			}
			for _, s := range specs {
				wantContains(t, c.name+" --help", r.stdout, "--"+s.name)
				if s.env != "" {
					wantContains(t, c.name+" --help", r.stdout, "env "+s.env)
				}
				if s.input != "" {
					wantContains(t, c.name+" --help", r.stdout, "action input "+s.input)
				}
				if s.def != "" {
					wantContains(t, c.name+" --help", r.stdout, "default "+quote(s.def))
				}
			}
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// helpSpecs captures the flag specs a subcommand defines by running it with
// --help through a recording env.
func helpSpecs(t *testing.T, name string) []flagSpec {
	t.Helper()
	var got []flagSpec
	capture = func(f *flagSet) { got = append(got, f.specs...) }
	defer func() { capture = nil }()
	runMainEnv(t, nil, name, "--help")
	return got
}

func TestFlags_precedence(t *testing.T) {
	type opts struct {
		Config string
		DryRun bool
		Cap    int
		Scale  float64
		Wait   time.Duration
	}
	parse := func(env map[string]string, args ...string) (opts, *flagSet, error) {
		var o opts
		e := &Env{Getenv: mapEnv(env)}
		e.fill()
		f := newFlagSet("x", "[flags]", "test", e)
		f.String(&o.Config, "config", "AMIGO_CONFIG", "config", ".amigo/release.yaml", "PATH", "plan")
		f.Bool(&o.DryRun, "dry-run", "AMIGO_DRY_RUN", "dry-run", false, "dry")
		f.Int(&o.Cap, "cap", "AMIGO_CAP", "", 3, "N", "cap")
		f.Float(&o.Scale, "scale", "AMIGO_SCALE", "", 1, "N", "scale")
		f.Duration(&o.Wait, "wait", "AMIGO_WAIT", "", time.Minute, "D", "wait")
		err := f.parse(args, new(strings.Builder))
		return o, f, err
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		want       opts
		wantOrigin map[string]string
	}{
		{"defaults", nil, nil,
			opts{".amigo/release.yaml", false, 3, 1, time.Minute},
			map[string]string{"config": "default", "dry-run": "default"}},
		{"env beats default", map[string]string{"AMIGO_CONFIG": "env.yaml", "AMIGO_DRY_RUN": "yes", "AMIGO_CAP": "2", "AMIGO_SCALE": "60", "AMIGO_WAIT": "90s"}, nil,
			opts{"env.yaml", true, 2, 60, 90 * time.Second},
			map[string]string{"config": "env", "dry-run": "env", "cap": "env"}},
		{"flag beats env", map[string]string{"AMIGO_CONFIG": "env.yaml", "AMIGO_DRY_RUN": "true", "AMIGO_CAP": "2"},
			[]string{"--config", "flag.yaml", "--dry-run=false", "-cap=1"},
			opts{"flag.yaml", false, 1, 1, time.Minute},
			map[string]string{"config": "flag", "dry-run": "flag", "cap": "flag"}},
		{"inputs ignored outside GitHub Actions", map[string]string{"INPUT_CONFIG": "input.yaml"}, nil,
			opts{".amigo/release.yaml", false, 3, 1, time.Minute},
			map[string]string{"config": "default"}},
		{"input beats env inside GitHub Actions", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_CONFIG": " input.yaml ", "AMIGO_CONFIG": "env.yaml", "INPUT_DRY-RUN": "true"}, nil,
			opts{"input.yaml", true, 3, 1, time.Minute},
			map[string]string{"config": "input", "dry-run": "input"}},
		{"empty input falls through to env", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_CONFIG": "", "AMIGO_CONFIG": "env.yaml"}, nil,
			opts{"env.yaml", false, 3, 1, time.Minute},
			map[string]string{"config": "env"}},
		{"flag beats input", map[string]string{"GITHUB_ACTIONS": "true", "INPUT_CONFIG": "input.yaml"}, []string{"--config=flag.yaml"},
			opts{"flag.yaml", false, 3, 1, time.Minute},
			map[string]string{"config": "flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, f, err := parse(tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parsed %+v, want %+v", got, tt.want)
			}
			for k, v := range tt.wantOrigin {
				if f.origin[k] != v {
					t.Errorf("origin of --%s = %q, want %q", k, f.origin[k], v)
				}
			}
		})
	}

	t.Run("bad values name their source", func(t *testing.T) {
		for _, c := range []struct {
			env  map[string]string
			args []string
			want string
		}{
			{map[string]string{"AMIGO_DRY_RUN": "maybe"}, nil, `environment variable AMIGO_DRY_RUN="maybe"`},
			{map[string]string{"GITHUB_ACTIONS": "true", "INPUT_DRY-RUN": "maybe"}, nil, `action input "dry-run"`},
			{nil, []string{"--wait", "soon"}, `invalid value "soon" for flag -wait`},
			{nil, []string{"--nope"}, "flag provided but not defined: -nope"},
		} {
			_, _, err := parse(c.env, c.args...)
			if err == nil || codeOf(err) != ExitUsage || !strings.Contains(err.Error(), c.want) {
				t.Errorf("parse(%v, %v) = %v (code %d), want usage error containing %q", c.env, c.args, err, codeOf(err), c.want)
			}
		}
	})
}

func TestVersion(t *testing.T) {
	r := runMainEnv(t, nil, "version")
	r.wantCode(t, ExitOK)
	info := buildinfo.Get()
	wantContains(t, "version", r.stdout, "amigo-release "+info.Version, "commit: ", "built: ", "go:     "+info.GoVersion)

	r = runMainEnv(t, nil, "version", "--json")
	r.wantCode(t, ExitOK)
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("version --json: %v\n%s", err, r.stdout)
	}
	if got.GoVersion != info.GoVersion || got.Version != info.Version {
		t.Errorf("version --json = %+v, want %+v", got, info)
	}

	r = runMainEnv(t, nil, "--version")
	r.wantCode(t, ExitOK)
	wantContains(t, "--version", r.stdout, "amigo-release ")
}

// A default that is a rule is said once, where defaults are, and never
// contradicted by "default none".
func TestHelp_ruleDefaultsAreNotNone(t *testing.T) {
	r := runMainEnv(t, nil, "plan", "--help")
	r.wantCode(t, ExitOK)
	wantContains(t, "plan --help", r.stdout,
		"(env AMIGO_BASE; action input base; default per tool, the commit of its newest release, else the push event's before)",
		"(env AMIGO_TOOLS; action input tools; default every changed tool)")
	for _, ln := range strings.Split(r.stdout, "\n") {
		if (strings.Contains(ln, "AMIGO_BASE") || strings.Contains(ln, "AMIGO_TOOLS")) && strings.Contains(ln, "default none") {
			t.Errorf("help contradicts itself: %s", ln)
		}
	}
}
