package promote

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// CheckCredentials checks that every stage's credential variables are set
// (non-empty) in the environment that getenv reads (os.Getenv in
// production) and hold values that can be sent in an HTTP header. A stage
// whose token_env variable is set needs nothing else; otherwise it needs its
// API key, key id and user id variables. It is kept apart from Load so that
// the offline plan mode works without secrets. The error (matching
// ErrInvalid) has one problem per stage, naming the stage, the variables
// and the fix; it never contains a value.
func (p *Plan) CheckCredentials(getenv func(string) string) error {
	l := errorList{file: p.File}
	for i, s := range p.Stages {
		c := s.Credentials
		used := []string{c.APIKeyEnv, c.APIKeyIDEnv, c.UserIDEnv}
		if c.TokenEnv != "" && getenv(c.TokenEnv) != "" {
			used = []string{c.TokenEnv}
		}
		var missing, bad []string
		for _, name := range used {
			v := getenv(name)
			switch what := amigo.Unsendable(v); {
			case v == "":
				missing = append(missing, name)
			case what != "":
				bad = append(bad, name+" holds "+what)
			}
		}
		path := fmt.Sprintf("stages[%d]", i)
		if len(missing) > 0 {
			fix := fmt.Sprintf("set %s in the release job's environment (in CI, from the secret store)", strings.Join(missing, ", "))
			if c.TokenEnv != "" {
				fix += fmt.Sprintf(", or set %s to a bearer token", c.TokenEnv)
			}
			fix += fmt.Sprintf("; or point stages[%d].credentials (or defaults.credentials) at the variables that hold them", i)
			l.add(s.line, s.col, path, fmt.Sprintf("stage %q: missing credential variable(s) %s", s.Name, strings.Join(missing, ", ")), fix)
		}
		if len(bad) > 0 {
			l.add(s.line, s.col, path, fmt.Sprintf("stage %q: %s, which no HTTP header can carry", s.Name, strings.Join(bad, "; ")),
				"store the credential without it (a trailing newline, as `echo` writes one, is the usual cause: use `printf %s` or trim the secret); the value is never shown")
		}
	}
	return l.err()
}

// SecretEnvNames returns, sorted and without repeats, the names of every
// environment variable the plan reads whose value is a secret: each stage's
// credential variables and the from_env source of every secret tool envvar
// in tools:. The faces register these values for masking before anything is
// printed. (Secrets named by a project's pyproject.toml are in
// ToolSettings.SecretValues once resolved.)
func (p *Plan) SecretEnvNames() []string {
	set := map[string]bool{}
	for _, s := range p.Stages {
		for _, n := range []string{s.Credentials.APIKeyEnv, s.Credentials.APIKeyIDEnv, s.Credentials.UserIDEnv, s.Credentials.TokenEnv} {
			if n != "" {
				set[n] = true
			}
		}
	}
	for _, t := range p.Tools {
		for _, e := range t.Envvars {
			if e.Secret && e.FromEnv != "" {
				set[e.FromEnv] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}
