package cmd

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/internal/clock"
	"github.com/amigo-release/amigo-release/pipeline"
	"github.com/amigo-release/amigo-release/platform"
)

// ciDebugVariables turn --verbose on when a CI's debug logging is on:
// GitHub sets RUNNER_DEBUG=1 on a re-run with debug logging (and users set
// ACTIONS_STEP_DEBUG=true); Azure exports the system.debug variable as
// SYSTEM_DEBUG=true.
var ciDebugVariables = [][2]string{{"RUNNER_DEBUG", "1"}, {"ACTIONS_STEP_DEBUG", "true"}, {"SYSTEM_DEBUG", "true"}}

// ciDebug names the CI debug variable that is on, or "".
func ciDebug(getenv func(string) string) string {
	for _, v := range ciDebugVariables {
		if strings.EqualFold(strings.TrimSpace(getenv(v[0])), v[1]) {
			return v[0] + "=" + v[1]
		}
	}
	return ""
}

// Verbose defines --verbose (AMIGO_VERBOSE). Unless the flag or the
// variable sets it, it is on when a CI's debug logging is
// (ciDebugVariables); an explicit --verbose=false wins over those.
func (f *flagSet) Verbose(p *bool, what string) {
	f.Bool(p, "verbose", "AMIGO_VERBOSE", "", false, what)
	f.describeDefault("verbose", "false, or true when RUNNER_DEBUG=1, ACTIONS_STEP_DEBUG=true or SYSTEM_DEBUG=true (the CI's debug logging)")
	f.after = append(f.after, func() {
		if f.origin["verbose"] != "default" {
			return
		}
		if v := ciDebug(f.getenv); v != "" {
			*p = true
			f.origin["verbose"] = "env " + v
		}
	})
}

// verboseHelp is the --verbose usage of run, plan and demo.
const verboseHelp = "also log each HTTP call (method, host, path, status, duration; never headers, queries or bodies), where each setting came from, and the CI event"

// settings describes, one line each, every flag's value and where it came
// from, for --verbose. Values of secret flags show as ***.
func (f *flagSet) settings() []string {
	out := make([]string, 0, len(f.specs))
	for _, s := range f.specs {
		v := f.fs.Lookup(s.name).Value.String()
		if s.secret && v != "" {
			v = "***"
		}
		src := f.origin[s.name]
		switch src {
		case "env":
			src = "env " + s.env
		case "input":
			src = "action input " + s.input
		}
		out = append(out, fmt.Sprintf("--%s=%q (%s)", s.name, v, src))
	}
	return out
}

// verboseTransport logs every HTTP round trip the process makes (Amigo
// servers, the GitHub and Azure DevOps APIs: every client is built on
// Env.HTTPClient) through the release's logger: method, host, path,
// status or transport error, and duration. Headers, query strings and
// bodies never go to the log: they carry credentials and tokens.
type verboseTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  pipeline.Logger // nil until the face exists: those calls are not logged
}

func (t *verboseTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := clock.Real{}.Now()
	resp, err := t.base.RoundTrip(req)
	took := fmt.Sprint(clock.Real{}.Now().Sub(start).Round(time.Millisecond))
	if took == "0s" {
		took = "<1ms"
	}
	t.mu.Lock()
	log := t.log
	t.mu.Unlock()
	if log == nil {
		return resp, err
	}
	where := req.URL.Host + req.URL.EscapedPath()
	if err != nil {
		log.Infof("http %s %s: %v (%s)", req.Method, where, err, took)
	} else {
		log.Infof("http %s %s → %d (%s)", req.Method, where, resp.StatusCode, took)
	}
	return resp, err
}

func (t *verboseTransport) attach(log pipeline.Logger) {
	t.mu.Lock()
	t.log = log
	t.mu.Unlock()
}

// verbose is --verbose for a release: when on, it returns a copy of env
// whose HTTP client logs each call, and a function to call with the face
// once the secrets known at the start are masked (nothing may print before
// the masks), which logs the settings and the CI event and starts the HTTP
// log. When off it returns env and a no-op.
func verbose(env *Env, o ReleaseOptions) (*Env, func(*face)) {
	if !o.Verbose {
		return env, func(*face) {}
	}
	base := env.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	vt := &verboseTransport{base: base}
	hc := *env.HTTPClient
	hc.Transport = vt
	venv := *env
	venv.HTTPClient = &hc
	return &venv, func(f *face) {
		log := f.logger()
		for _, s := range o.settings {
			log.Infof("setting %s", s)
		}
		log.Infof("%s", describeEvent(f.p.Name(), f.ev))
		vt.attach(log)
	}
}

// describeEvent is the --verbose line about the platform and its event.
func describeEvent(platformName string, ev platform.Trigger) string {
	parts := []string{"platform " + platformName, fmt.Sprintf("event %s (%s)", ev.Kind, ev.Name)}
	for _, kv := range [][2]string{{"commit", ev.SHA}, {"head", ev.Head}, {"before", ev.Before}, {"branch", ev.Branch}, {"base branch", ev.BaseBranch}, {"repository", ev.Repo}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if ev.PR != 0 {
		parts = append(parts, fmt.Sprintf("pull request %d", ev.PR))
	}
	return strings.Join(parts, ", ")
}
