package promote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/google/go-cmp/cmp"
)

const okStages = `stages:
  - name: us
    region: us
    organization: acme
`

func TestParse_badInput(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		line    int    // line of the (first) problem
		msg     string // in the message
		fix     string // in the fix
		nErrors int    // when > 1: how many problems at once
	}{
		{
			name: "unknown key suggests the near one",
			src:  "stages:\n  - name: us\n    region: us\n    organization: acme\n    soka: 10m\n",
			line: 5, msg: `unknown key "soka" in a stage`, fix: `did you mean "soak"?`,
		},
		{
			name: "unknown top-level key lists the valid ones",
			src:  okStages + "zzz: 1\n",
			line: 5, msg: `unknown key "zzz"`, fix: "defaults, discovery, publish, records, stages, tools, version",
		},
		{
			name: "wrong type: boolean as a string",
			src:  okStages + "    test: \"yes\"\n",
			line: 5, msg: `expected true or false, got the string "yes"`, fix: "unquoted",
		},
		{
			name: "wrong type: string field given an integer",
			src:  "stages:\n  - name: us\n    region: us\n    organization: 1234\n",
			line: 4, msg: "expected a string, got the integer 1234", fix: `quote it: "1234"`,
		},
		{
			// The client refuses it at every run (it goes into every
			// request's path); the plan's parser, and so validate, refuse
			// it first (the hostile-input campaign found validate saying
			// "no problem" to a plan no run could start with).
			name: "organization that cannot be a path segment",
			src:  "stages:\n  - name: us\n    region: us\n    organization: \"acme#x\"\n",
			line: 4, msg: `organization "acme#x" contains '/', '?' or '#'`, fix: "bare Amigo organization id",
		},
		{
			name: "defaults organization that cannot be a path segment",
			src:  "defaults:\n  organization: a/b\nstages:\n  - name: us\n    region: us\n",
			line: 2, msg: `organization "a/b" contains`, fix: "bare Amigo organization id",
		},
		{
			name: "wrong type: stages is a mapping",
			src:  "stages:\n  us: {region: us}\n",
			line: 2, msg: "expected stages (a list), got a mapping", fix: "lines starting with `- `",
		},
		{
			name: "duplicate key",
			src:  okStages + "    region: eu-central-1\n",
			line: 5, msg: `duplicate key "region" (first at line 3)`, fix: "keep one",
		},
		{
			name: "duplicate stage name",
			src:  okStages + "  - name: us\n    region: eu-central-1\n    organization: acme\n",
			line: 5, msg: `duplicate stage name "us" (first at line 2)`, fix: "unique name",
		},
		{
			name: "cycle in needs is printed",
			src: `defaults: {organization: acme}
stages:
  - {name: a, region: us, needs: [c]}
  - {name: b, region: eu-central-1, needs: [a]}
  - {name: c, region: ca-central-1, needs: [b]}
`,
			line: 3, msg: "cycle: a needs c needs b needs a", fix: `"c" from the needs of "a"`,
		},
		{
			name: "unknown needs target",
			src:  okStages + "  - name: eu\n    region: eu-central-1\n    organization: acme\n    needs: [uss]\n",
			line: 8, msg: `unknown stage "uss" in needs`, fix: `did you mean "us"?`,
		},
		{
			name: "unknown needs target with no other stage",
			src:  "stages:\n  - name: us\n    region: us\n    organization: acme\n    needs: [us2]\n",
			line: 5, msg: `unknown stage "us2" in needs`, fix: `remove it (needs: [] for a stage that needs none)`,
		},
		{
			name: "needs as a bare string",
			src:  okStages + "  - name: eu\n    region: eu-central-1\n    organization: acme\n    needs: us\n",
			line: 8, msg: "expected a list of stage names", fix: "needs: [us]",
		},
		{
			name: "unknown region lists the valid ones",
			src:  "stages:\n  - name: eu\n    region: eu-west-1\n    organization: acme\n",
			line: 3, msg: `unknown region "eu-west-1"`, fix: "ap-southeast-2, ca-central-1, eu-central-1, us, or set base_url",
		},
		{
			name: "region and base_url both set",
			src:  okStages + "    base_url: http://127.0.0.1:8080\n",
			line: 5, msg: "both region and base_url", fix: "keep one",
		},
		{
			name: "neither region nor base_url",
			src:  "stages:\n  - name: us\n    organization: acme\n",
			line: 2, msg: "neither region nor base_url", fix: "region: ` one of us, eu-central-1",
		},
		{
			name: "base_url not a URL",
			src:  "stages:\n  - name: x\n    base_url: api.amigo.ai\n    organization: acme\n",
			line: 3, msg: "not an absolute http(s) URL", fix: "https://api.amigo.ai",
		},
		{
			name: "missing organization",
			src:  "stages:\n  - name: us\n    region: us\n",
			line: 2, msg: `stage "us" has no organization`, fix: "organization: <org id>",
		},
		{
			name: "bad stage name",
			src:  "stages:\n  - name: \"us east\"\n    region: us\n    organization: acme\n",
			line: 2, msg: `invalid stage name "us east"`, fix: "letters, digits",
		},
		{
			name: "bad tool name",
			src:  okStages + "tools:\n  Weather-Lookup:\n    description: x\n",
			line: 6, msg: `invalid tool name "Weather-Lookup"`, fix: `e.g. "weather_lookup"`,
		},
		{
			name: "tool name of underscores only",
			src:  okStages + "discovery:\n  names:\n    tools/x: ___\n",
			line: 7, msg: `invalid tool name "___": it has no letter or digit`, fix: `"my_tool"`,
		},
		{
			name: "bad tool name in keep",
			src:  okStages + "    keep:\n      weather.lookup: [\"1.0.0\"]\n",
			line: 6, msg: `invalid tool name "weather.lookup"`, fix: `"weather_lookup"`,
		},
		{
			name: "bad envvar name",
			src:  okStages + "tools:\n  t:\n    envvars:\n      - {name: api_key2, value: x}\n",
			line: 8, msg: `invalid environment variable name "api_key2"`, fix: `"API_KEY"`,
		},
		{
			name: "envvar with both value and from_env",
			src:  okStages + "tools:\n  t:\n    envvars:\n      - {name: A, value: x, from_env: B}\n",
			line: 8, msg: "both value and from_env", fix: "keep one",
		},
		{
			name: "secret with a literal value",
			src:  okStages + "tools:\n  t:\n    envvars:\n      - name: KEY\n        value: hunter2\n        secret: true\n",
			line: 9, msg: "secret envvar KEY has a literal value", fix: "from_env: KEY",
		},
		{
			name: "bad credential variable name",
			src:  okStages + "    credentials:\n      api_key_env: sk-live-1234\n",
			line: 6, msg: `"sk-live-1234" is not an environment variable name`, fix: "never its value",
		},
		{
			name: "duration without a unit",
			src:  okStages + "    soak: 10\n",
			line: 5, msg: `expected a duration string such as "90s", "10m"`, fix: `"10s" or "10m"`,
		},
		{
			name: "duration in words",
			src:  okStages + "    soak: 10 minutes\n",
			line: 5, msg: `"10 minutes" is not a duration`, fix: `"10m"`,
		},
		{
			name: "publish timeout below the publish time",
			src:  okStages + "publish:\n  timeout: 1m\n",
			line: 6, msg: "1m is out of range", fix: "from 6m to 2h",
		},
		{
			name: "active_cap out of range",
			src:  okStages + "    active_cap: 7\n",
			line: 5, msg: "7 is out of range", fix: "from 1 to 3",
		},
		{
			name: "concurrency zero",
			src:  okStages + "defaults:\n  concurrency: 0\n",
			line: 6, msg: "0 is out of range", fix: "from 1 to 32",
		},
		{
			name: "bad on_failure",
			src:  okStages + "    on_failure: stop\n",
			line: 5, msg: `unknown failure policy "stop"`, fix: "continue, halt, halt_tool",
		},
		{
			name: "on_failure near miss",
			src:  okStages + "    on_failure: halt-tool\n",
			line: 5, msg: `unknown failure policy "halt-tool"`, fix: `did you mean "halt_tool"?`,
		},
		{
			name: "pinned version not exact",
			src:  okStages + "    keep:\n      t: [\">=1.0\"]\n",
			line: 6, msg: `pinned version ">=1.0" is not a version MAJOR.MINOR.PATCH`, fix: `"1.4.2"`,
		},
		{
			name: "pinned version with a leading zero",
			src:  okStages + "    keep:\n      t: [\"01.2.3\"]\n",
			line: 6, msg: `"01.2.3" is not a version MAJOR.MINOR.PATCH (e.g. 1.4.2): a part starts with 0`, fix: `"1.4.2"`,
		},
		{
			name: "pinned version with a sign",
			src:  okStages + "    keep:\n      t: [\"+1.2.3\"]\n",
			line: 6, msg: `"+1.2.3" is not a version MAJOR.MINOR.PATCH`, fix: `"1.4.2"`,
		},
		{
			name: "pinned version with a space",
			src:  okStages + "    keep:\n      t: [\"1. 2.3\"]\n",
			line: 6, msg: `"1. 2.3" is not a version MAJOR.MINOR.PATCH`, fix: `"1.4.2"`,
		},
		{
			name: "skip_stages names an unknown stage",
			src:  okStages + "tools:\n  t:\n    skip_stages: [eu]\n",
			line: 7, msg: `unknown stage "eu"`, fix: "us",
		},
		{
			name: "too many test inputs",
			src:  okStages + "tools:\n  t:\n    test_inputs: [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]\n",
			line: 7, msg: "11 test inputs", fix: "between 1 and 10",
		},
		{
			name: "bad invocation mode",
			src:  okStages + "tools:\n  t:\n    test_inputs:\n      - invocation_mode: simulation\n",
			line: 8, msg: `unknown invocation mode "simulation"`, fix: "conversation-simulation, regular",
		},
		{
			name: "invalid tag",
			src:  okStages + "tools:\n  t:\n    tags: {team: \"a/b\"}\n",
			line: 7, msg: `invalid tag value "a/b"`, fix: "change the value",
		},
		{
			name: "empty organization in defaults",
			src:  "defaults:\n  organization: \"\"\n" + okStages,
			line: 2, msg: "must not be empty", fix: "give the Amigo organization id",
		},
		{
			name: "blank stage branch",
			src:  okStages + "    branch: \" \"\n",
			line: 5, msg: "must not be empty", fix: "name the team branch that test-tool builds",
		},
		{
			name: "empty publish repo",
			src:  okStages + "publish:\n  repo: \"\"\n",
			line: 6, msg: "must not be empty", fix: "the repository the Amigo team branch lives in",
		},
		{
			name: "duplicate tool name",
			src:  okStages + "tools:\n  t:\n    tags: {a: b}\n  t:\n    tags: {c: d}\n",
			line: 8, msg: `duplicate key "t" (first at line 6)`, fix: "keep one",
		},
		{
			name: "tools as a list",
			src:  okStages + "tools: [t]\n",
			line: 5, msg: "expected tools (a mapping), got a list", fix: "write tools as indented `key: value` lines",
		},
		{
			name: "unsupported version",
			src:  "version: 2\n" + okStages,
			line: 1, msg: "plan format version 2 is not supported", fix: "version: 1",
		},
		{
			name: "bump value",
			src:  okStages + "discovery:\n  bump:\n    types: {feat: minr}\n",
			line: 7, msg: `unknown bump "minr"`, fix: `did you mean "minor"?`,
		},
		{
			name: "glob outside the repository",
			src:  okStages + "discovery:\n  include: [\"../other/*\"]\n",
			line: 6, msg: "not a path inside the repository", fix: "relative to the repository root",
		},
		{
			name: "no stages",
			src:  "defaults:\n  organization: acme\n",
			line: 1, msg: "the plan has no stages", fix: "add `stages:`",
		},
		{
			name: "empty stages",
			src:  "stages: []\n",
			line: 1, msg: "the plan has no stages", fix: "at least one stage",
		},
		{
			name: "empty file",
			src:  "",
			line: 1, msg: "the plan file is empty", fix: "stages:",
		},
		{
			name: "only comments",
			src:  "# nothing yet\n",
			line: 1, msg: "the plan file is empty", fix: "stages:",
		},
		{
			name: "top level is a list",
			src:  "- name: us\n",
			line: 1, msg: "expected the plan (a mapping of keys), got a list", fix: "key: value",
		},
		{
			name: "YAML syntax error has its line",
			src:  "stages:\n  - name: us\n    region: [us\n",
			line: 3, msg: "not valid YAML", fix: "indentation",
		},
		{
			name: "tab indentation",
			src:  "stages:\n\t- name: us\n",
			line: 2, msg: "a tab in the indentation", fix: "spaces, not tabs",
		},
		{
			name: "two documents",
			src:  okStages + "---\n" + okStages,
			line: 5, msg: "more than one YAML document", fix: "`---`",
		},
		{
			name: "alias",
			src:  "defaults: &d {organization: acme}\nx: *d\n" + okStages,
			line: 2, msg: "YAML aliases (*d) are not supported", fix: "defaults:",
		},
		{
			name: "merge key",
			src:  "stages:\n  - name: us\n    <<: {region: us}\n    organization: acme\n",
			line: 3, msg: "merge keys (<<) are not supported", fix: "defaults:",
		},
		{
			name: "empty stage item",
			src:  okStages + "  -\n",
			line: 5, msg: "the stage is empty", fix: "name, region",
		},
		{
			name: "empty envvar item",
			src:  okStages + "tools:\n  t:\n    envvars:\n      -\n",
			line: 8, msg: "the envvar is empty", fix: "from_env",
		},
		{
			name: "several problems at once, in file order",
			src: `stages:
  - name: us
    region: mars
    organization: acme
    soak: forever
    active_cap: 9
`,
			line: 3, msg: `unknown region "mars"`, fix: "set base_url", nErrors: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("plan.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded; want an error about %q", tt.msg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid: %v", err)
			}
			first := firstError(t, err)
			if first.File != "plan.yaml" || first.Line != tt.line {
				t.Errorf("position = %s:%d, want plan.yaml:%d\n%v", first.File, first.Line, tt.line, err)
			}
			if !strings.Contains(first.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", first.Msg, tt.msg)
			}
			if !strings.Contains(first.Fix, tt.fix) {
				t.Errorf("fix %q does not contain %q", first.Fix, tt.fix)
			}
			if prefix := "plan.yaml:" + itoa(tt.line); !strings.HasPrefix(err.Error(), prefix) && !strings.Contains(err.Error(), "\n"+prefix) {
				t.Errorf("rendered error lacks %q:\n%v", prefix, err)
			}
			if tt.nErrors > 1 {
				var es Errors
				if !errors.As(err, &es) || len(es) != tt.nErrors {
					t.Errorf("want %d problems at once, got: %v", tt.nErrors, err)
				}
			}
		})
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

// firstError returns the first problem of err (an *Error or Errors).
func firstError(t *testing.T, err error) *Error {
	t.Helper()
	var es Errors
	if errors.As(err, &es) {
		return es[0]
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	t.Fatalf("error is neither *Error nor Errors: %T %v", err, err)
	return nil
}

func TestParse_sizeLimit(t *testing.T) {
	big := make([]byte, 10<<20)
	for i := range big {
		big[i] = '#'
		if i%80 == 79 {
			big[i] = '\n'
		}
	}
	_, err := Parse("big.yaml", big)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse(10 MB) = %v", err)
	}
	path := filepath.Join(t.TempDir(), "release.yaml")
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), path+": file is larger than") {
		t.Fatalf("Load(10 MB) = %v", err)
	}
}

func TestParse_aliasBomb(t *testing.T) {
	// The classic "billion laughs": each level refers to the previous one
	// nine times. It must be refused without being expanded.
	var b strings.Builder
	b.WriteString("a0: &a0 [\"lol\"]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + fmtInt(i) + ": &a" + fmtInt(i) + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + fmtInt(i-1))
		}
		b.WriteString("]\n")
	}
	b.WriteString(okStages)
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:2:") || !strings.Contains(err.Error(), "aliases (*a0) are not supported") {
		t.Fatalf("Parse(bomb) = %v", err)
	}
}

func TestLoad_missingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "file not found; fix: create it") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestParse_defaults(t *testing.T) {
	p := mustParse(t, "", []byte(okStages+"  - name: eu\n    region: eu-central-1\n    organization: acme\n"))
	if p.File != DefaultPath || p.Version != 1 {
		t.Errorf("File, Version = %q, %d", p.File, p.Version)
	}
	want := Stage{
		Name: "eu", Region: "eu-central-1", BaseURL: "https://api-eu-central-1.amigo.ai", Organization: "acme",
		Branch: "main", Needs: []string{"us"}, OnFailure: OnFailureHaltTool, ActiveCap: 3, Concurrency: 4,
		Credentials: Credentials{APIKeyEnv: "AMIGO_API_KEY", APIKeyIDEnv: "AMIGO_API_KEY_ID", UserIDEnv: "AMIGO_USER_ID"},
		Keep:        map[string][]amigo.Version{},
	}
	got, _ := p.Stage("eu")
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Stage{})); diff != "" && !onlyPositions(diff) {
		t.Errorf("eu stage (-want +got):\n%s", diff)
	}
	us, _ := p.Stage("us")
	if len(us.Needs) != 0 || us.Needs == nil {
		t.Errorf("first stage needs = %#v, want empty non-nil", us.Needs)
	}
	wantPub := Publish{RetryBudget: 30 * time.Minute, InitialInterval: 10 * time.Second, MaxInterval: 2 * time.Minute, Timeout: 8 * time.Minute}
	if diff := cmp.Diff(wantPub, p.Publish); diff != "" {
		t.Errorf("publish (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Discovery{Roots: []string{"."}, Include: []string{}, Exclude: []string{}, Shared: map[string][]string{}, Names: map[string]string{},
		Bump: Bump{Types: map[string]string{"feat": "minor", "fix": "patch", "perf": "patch"}, NonConventional: "none"}}, p.Discovery); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	if p.Tools == nil || len(p.Tools) != 0 {
		t.Errorf("Tools = %#v", p.Tools)
	}
}

// onlyPositions reports whether a cmp diff only concerns the unexported
// position fields.
func onlyPositions(diff string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if (strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+")) && !strings.Contains(l, "line") && !strings.Contains(l, "col") && !strings.Contains(l, "needsLine") {
			return false
		}
	}
	return true
}

func TestParse_baseURLStage(t *testing.T) {
	p := mustParse(t, "p.yaml", []byte("stages:\n  - name: local\n    base_url: http://127.0.0.1:8080/\n    organization: test-org\n"))
	s, ok := p.Stage("local")
	if !ok || s.Region != "" || s.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("stage = %+v, %v", s, ok)
	}
}

func TestPlan_Order(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		order []string
	}{
		{"default chain", "  - {name: a, region: us}\n  - {name: b, region: us}\n  - {name: c, region: us}\n", []string{"a", "b", "c"}},
		{"needs a later stage", "  - {name: c, region: us, needs: [b]}\n  - {name: a, region: us, needs: []}\n  - {name: b, region: us, needs: [a]}\n", []string{"a", "b", "c"}},
		{"diamond keeps file order among ready stages", "  - {name: us, region: us}\n  - {name: ca, region: ca-central-1, needs: [eu]}\n  - {name: eu, region: eu-central-1, needs: [us]}\n  - {name: ap, region: ap-southeast-2, needs: [us]}\n  - {name: all, region: us, needs: [ap, ca]}\n",
			[]string{"us", "eu", "ca", "ap", "all"}},
		{"two roots", "  - {name: x, region: us, needs: []}\n  - {name: y, region: us, needs: []}\n", []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "p.yaml", []byte("defaults: {organization: o}\nstages:\n"+tt.src))
			var got []string
			for _, s := range p.Order() {
				got = append(got, s.Name)
			}
			if diff := cmp.Diff(tt.order, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlan_CheckCredentials(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	env := map[string]string{
		"AMIGO_API_KEY": "k", "AMIGO_API_KEY_ID": "i", "AMIGO_USER_ID": "u",
		"AMIGO_EU_API_KEY": "k", "AMIGO_EU_API_KEY_ID": "i", "AMIGO_EU_USER_ID": "u",
	}
	getenv := func(k string) string { return env[k] }
	if err := p.CheckCredentials(getenv); err != nil {
		t.Fatalf("all set: %v", err)
	}
	delete(env, "AMIGO_EU_USER_ID")
	delete(env, "AMIGO_API_KEY")
	env["AMIGO_CA_TOKEN"] = "bearer"
	err := p.CheckCredentials(getenv)
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("want an error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`testdata/release.yaml:38:5: stages[0]: stage "us": missing credential variable(s) AMIGO_API_KEY; fix: set AMIGO_API_KEY`,
		`stage "eu": missing credential variable(s) AMIGO_EU_USER_ID`,
		`stage "ap": missing credential variable(s) AMIGO_API_KEY`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, `stage "ca"`) {
		t.Errorf("ca has its token and must not be reported:\n%s", msg)
	}
	delete(env, "AMIGO_CA_TOKEN")
	if err := p.CheckCredentials(getenv); err == nil || !strings.Contains(err.Error(), "or set AMIGO_CA_TOKEN to a bearer token") {
		t.Errorf("ca without token: %v", err)
	}
}

// TestPlan_CheckCredentialsUnsendable (issue 13, item 8): a credential
// value with a line break or another control character is bad input found
// before any call, naming the stage and the variable, never the value.
func TestPlan_CheckCredentialsUnsendable(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	env := map[string]string{
		"AMIGO_API_KEY": "sk-top-secret\n", "AMIGO_API_KEY_ID": "i", "AMIGO_USER_ID": "u",
		"AMIGO_EU_API_KEY": "k", "AMIGO_EU_API_KEY_ID": "i\x01", "AMIGO_EU_USER_ID": "u",
		"AMIGO_CA_TOKEN": "bearer\r\n",
	}
	err := p.CheckCredentials(func(k string) string { return env[k] })
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("want an error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`stage "us": AMIGO_API_KEY holds a line break`,
		`stage "eu": AMIGO_EU_API_KEY_ID holds a control character`,
		`stage "ca": AMIGO_CA_TOKEN holds a line break`,
		"printf %s",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "top-secret") || strings.Contains(msg, "bearer") {
		t.Errorf("error shows a value:\n%s", msg)
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"tools/*", "tools/weather", true},
		{"tools/*", "tools/weather/sub", false},
		{"libs/**", "libs/a/b/c.py", true},
		{"libs/**", "libs", true},
		{"**/pyproject.toml", "tools/x/pyproject.toml", true},
		{"tools/experimental_*", "tools/experimental_x", true},
		{"tools/[", "tools/[", false},
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.path); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestParse_errorCapAndOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString(okStages)
	b.WriteString("tools:\n")
	for i := 0; i < 40; i++ {
		b.WriteString("  Bad" + fmtInt(i) + ": {}\n")
	}
	_, err := Parse("p.yaml", []byte(b.String()))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	if len(es) != maxErrors {
		t.Errorf("%d problems reported, want the cap %d", len(es), maxErrors)
	}
	for i := 1; i < len(es); i++ {
		if es[i].Line < es[i-1].Line {
			t.Fatalf("problems out of file order: line %d after %d", es[i].Line, es[i-1].Line)
		}
	}
	if !strings.HasPrefix(err.Error(), "25 problems:\np.yaml:6:3: tools.Bad0: invalid tool name") {
		t.Errorf("rendering:\n%s", err)
	}
}

func TestErrors_neverContainSecretValues(t *testing.T) {
	const secret = "hunter2-7f3a9c"
	_, err := Parse("p.yaml", []byte(okStages+"tools:\n  t:\n    envvars:\n      - {name: KEY, value: "+secret+", secret: true}\n"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("parse error leaks or is missing: %v", err)
	}
	_, err = ParseProjectMeta("pyproject.toml", []byte("[[tool.amigo-release.envvars]]\nname = \"KEY\"\nvalue = \""+secret+"\"\nsecret = true\n"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("meta error leaks or is missing: %v", err)
	}
	p := mustParse(t, "p.yaml", []byte(okStages))
	meta := ProjectMeta{File: "pyproject.toml", RequiredSecretEnvvars: []string{"KEY"}, Envvars: []EnvvarSpec{{Name: "KEY", Value: secret}}}
	_, err = p.Resolve("t", meta, func(string) string { return secret })
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("resolve error leaks or is missing: %v", err)
	}
	// A secret from the environment through pyproject.toml is masked too.
	meta = ProjectMeta{File: "pyproject.toml", Envvars: []EnvvarSpec{{Name: "KEY", FromEnv: "SRC", Secret: true}}}
	s, err := p.Resolve("t", meta, func(k string) string {
		if k == "SRC" {
			return secret
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SecretValues(); len(got) != 1 || got[0] != secret {
		t.Errorf("SecretValues = %v", got)
	}
	if e, _ := s.Envvar("KEY"); strings.Contains(e.Source, secret) || e.Source != "pyproject.toml [tool.amigo-release] (from $SRC)" {
		t.Errorf("Source = %q", e.Source)
	}
}

func TestPlan_Dependents(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	if diff := cmp.Diff([]string{"ap", "ca"}, p.Dependents("eu")); diff != "" {
		t.Errorf("Dependents(eu): %s", diff)
	}
	if got := p.Dependents("ca"); len(got) != 0 {
		t.Errorf("Dependents(ca) = %v", got)
	}
	if diff := cmp.Diff([]string{"us", "eu", "ap", "ca"}, p.StageNames()); diff != "" {
		t.Errorf("StageNames: %s", diff)
	}
	if _, ok := p.Stage("nope"); ok {
		t.Error("Stage(nope) found")
	}
}

// mustParse parses a plan from src, failing the test if it is invalid.
func mustParse(t *testing.T, name string, src []byte) *Plan {
	t.Helper()
	p, err := Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad loads a plan file, failing the test if it is invalid.
func mustLoad(t *testing.T, path string) *Plan {
	t.Helper()
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLocation: the position of an error names only what is known, in the
// file:line:col form editors and CI annotations read, and Error starts
// with it.
func TestLocation(t *testing.T) {
	for _, c := range []struct {
		line, col int
		want      string
	}{
		{0, 0, "plan.yaml"},
		{0, 7, "plan.yaml"},
		{12, 0, "plan.yaml:12"},
		{12, 7, "plan.yaml:12:7"},
	} {
		if got := Location("plan.yaml", c.line, c.col); got != c.want {
			t.Errorf("Location(plan.yaml, %d, %d) = %q, want %q", c.line, c.col, got, c.want)
		}
		e := &Error{File: "plan.yaml", Line: c.line, Column: c.col, Msg: "bad"}
		if got, want := e.Error(), c.want+": bad"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
}
