package promote

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/google/go-cmp/cmp"
)

// schemaValues collects, per property (or $defs) name, the enum and default
// values the schema gives it anywhere (a name used twice must agree).
func schemaValues(t *testing.T) (enums map[string][]string, defaults map[string]any) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	enums, defaults = map[string][]string{}, map[string]any{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, key := range []string{"properties", "$defs"} {
				props, _ := x[key].(map[string]any)
				for name, p := range props {
					pm, _ := p.(map[string]any)
					if e, ok := pm["enum"].([]any); ok {
						var s []string
						for _, v := range e {
							s = append(s, fmt.Sprint(v))
						}
						sort.Strings(s)
						if old, ok := enums[name]; ok && !cmp.Equal(old, s) {
							t.Errorf("schema: %s has two enums: %v and %v", name, old, s)
						}
						enums[name] = s
					}
					if ap, ok := pm["additionalProperties"].(map[string]any); ok {
						if e, ok := ap["enum"].([]any); ok {
							var s []string
							for _, v := range e {
								s = append(s, fmt.Sprint(v))
							}
							sort.Strings(s)
							enums[name+".*"] = s
						}
					}
					if d, ok := pm["default"]; ok {
						if old, ok := defaults[name]; ok && !cmp.Equal(old, d) {
							t.Errorf("schema: %s has two defaults: %v and %v", name, old, d)
						}
						defaults[name] = d
					}
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(doc)
	return enums, defaults
}

// TestSchema_valuesMatchCode keeps the schema's enums and defaults equal to
// the values the decoder accepts and applies, so an editor never offers a
// value Parse refuses nor documents a default Parse does not apply.
func TestSchema_valuesMatchCode(t *testing.T) {
	enums, defaults := schemaValues(t)
	sorted := func(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }
	var regions []string
	for _, r := range amigo.Regions {
		regions = append(regions, r.Name)
	}
	for name, want := range map[string][]string{
		"region":           sorted(regions),
		"on_failure":       sorted(onFailureValues),
		"invocation_mode":  sorted(invocationModes),
		"types.*":          sorted(bumpValues),
		"non_conventional": {"none", "patch"},
	} {
		if diff := cmp.Diff(want, enums[name]); diff != "" {
			t.Errorf("enum of %s: code (-) vs schema (+):\n%s", name, diff)
		}
	}

	// The defaults Parse applies to a minimal plan.
	p, err := Parse("p.yaml", []byte("stages:\n  - {name: us, region: us, organization: acme}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Order()[0]
	parseDur := func(name string) time.Duration {
		d, err := time.ParseDuration(fmt.Sprint(defaults[name]))
		if err != nil {
			t.Errorf("schema default of %s: %v", name, err)
		}
		return d
	}
	for name, want := range map[string]any{
		"active_cap": float64(s.ActiveCap), "concurrency": float64(s.Concurrency), "on_failure": s.OnFailure,
		"branch": s.Branch, "api_key_env": s.Credentials.APIKeyEnv, "api_key_id_env": s.Credentials.APIKeyIDEnv,
		"user_id_env": s.Credentials.UserIDEnv, "test": s.Test, "smoke": s.Smoke,
		"non_conventional": p.Discovery.Bump.NonConventional, "version": float64(1),
		"tags": p.Records.Tags, "releases": p.Records.Releases, "tag_format": p.Records.TagFormat,
	} {
		if got, ok := defaults[name]; !ok || !cmp.Equal(got, want) {
			t.Errorf("schema default of %s = %v, Parse applies %v", name, got, want)
		}
	}
	for name, want := range map[string]time.Duration{
		"soak": s.Soak, "retry_budget": p.Publish.RetryBudget, "initial_interval": p.Publish.InitialInterval,
		"max_interval": p.Publish.MaxInterval, "timeout": p.Publish.Timeout,
	} {
		if got := parseDur(name); got != want {
			t.Errorf("schema default of %s = %v, Parse applies %v", name, got, want)
		}
	}
}
