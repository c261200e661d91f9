package amigo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestPreValidationSendsNothing(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client()
	ctx := context.Background()
	in1 := []amigo.Input{{}}
	tooManyTags := map[string]*string{}
	for i := 0; i < 21; i++ {
		tooManyTags[strings.Repeat("k", i+1)] = nil
	}
	manyVars := map[string]string{}
	for i := 0; i < 21; i++ {
		manyVars["var_"+strings.Repeat("x", i+1)] = "v"
	}
	eleven := make([]amigo.Input, 11)
	// Each makes the call of a case that needs only its request.
	create := func(req amigo.CreateToolRequest) func() error {
		return func() error { _, err := c.CreateTool(ctx, req); return err }
	}
	publish := func(req amigo.PublishRequest) func() error {
		return func() error { _, err := c.PublishVersion(ctx, testToolID, req); return err }
	}
	testTool := func(req amigo.TestToolRequest) func() error {
		return func() error { _, err := c.TestTool(ctx, req); return err }
	}
	envvars := func(req amigo.ModifyEnvvarsRequest) func() error {
		return func() error { return c.ModifyEnvvars(ctx, testToolID, req) }
	}
	invoke := func(req amigo.InvokeRequest) func() error {
		return func() error { _, err := c.Invoke(ctx, testToolID, "1.0.0", req); return err }
	}
	tests := []struct {
		name      string
		call      func() error
		wantField string
		wantRule  string
	}{
		{"tool name upper-case", create(amigo.CreateToolRequest{Name: "Weather", Description: "d"}), "name", "^[a-z0-9_]+$"},
		{"tool name with dash", create(amigo.CreateToolRequest{Name: "weather-tool", Description: "d"}), "name", "^[a-z0-9_]+$"},
		{"tool name empty", create(amigo.CreateToolRequest{Name: "  ", Description: "d"}), "name", "must not be empty"},
		{"description blank", create(amigo.CreateToolRequest{Name: "w", Description: " \t"}), "description", "must not be empty"},
		{"21 tags", create(amigo.CreateToolRequest{Name: "w", Description: "d", Tags: tooManyTags}), "tags", "at most 20"},
		{"tag key with colon", create(amigo.CreateToolRequest{Name: "w", Description: "d", Tags: map[string]*string{"team:x": nil}}), "tags key", `^[\w\s]+$`},
		{"tag value with dash", create(amigo.CreateToolRequest{Name: "w", Description: "d", Tags: map[string]*string{"team": ptr("core-infra")}}), "tags.team", `^[\w\s]+$`},
		{"tag value blank", func() error {
			tags := map[string]*string{"team": ptr("  ")}
			return c.ModifyTool(ctx, testToolID, amigo.ModifyToolRequest{Tags: &tags})
		}, "tags.team", "non-empty"},
		{"modify description blank", func() error {
			return c.ModifyTool(ctx, testToolID, amigo.ModifyToolRequest{Description: ptr("")})
		}, "description", "must not be empty"},
		// The schema's pattern [A-Z_]+ is unanchored and pydantic searches:
		// only a name without any upper-case letter or underscore fails.
		{"envvar lower-case", envvars(amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "apikey", Value: "v"}}}), "inserts[0].name", "[A-Z_]+"},
		{"envvar lower-case with dash", envvars(amigo.ModifyEnvvarsRequest{Updates: []amigo.EnvvarUpdate{{Name: "x-y"}}}), "updates[0].name", "[A-Z_]+"},
		{"envvar digits", envvars(amigo.ModifyEnvvarsRequest{Deletes: []amigo.EnvvarDelete{{Name: "42"}}}), "deletes[0].name", "[A-Z_]+"},
		{"envvar blank", envvars(amigo.ModifyEnvvarsRequest{Deletes: []amigo.EnvvarDelete{{Name: " "}}}), "deletes[0].name", "must not be empty"},
		{"project path with dot", publish(amigo.PublishRequest{ProjectPath: "tools/../x", BumpType: amigo.BumpMajor}), "project_path", `^[-\w\d_/]+$`},
		{"project path empty", testTool(amigo.TestToolRequest{Inputs: in1, CommitBranch: "main"}), "project_path", `^[-\w\d_/]+$`},
		{"bump type", publish(amigo.PublishRequest{ProjectPath: "p", BumpType: "huge"}), "bump_type", "major"},
		{"no inputs", testTool(amigo.TestToolRequest{CommitBranch: "main", ProjectPath: "p"}), "inputs", "between 1 and 10"},
		{"11 inputs", invoke(amigo.InvokeRequest{Inputs: eleven}), "inputs", "between 1 and 10"},
		{"user variable name", invoke(amigo.InvokeRequest{Inputs: []amigo.Input{{NonsensitiveUserVariables: map[string]string{"1st": "v"}}}}), "inputs[0].nonsensitive_user_variables", "^[a-z_][a-z0-9_]+$"},
		{"user variable one letter", testTool(amigo.TestToolRequest{ProjectPath: "p", Inputs: []amigo.Input{{}, {SensitiveUserVariables: map[string]string{"x": "v"}}}}), "inputs[1].sensitive_user_variables", "^[a-z_][a-z0-9_]+$"},
		{"21 user variables", testTool(amigo.TestToolRequest{ProjectPath: "p", Inputs: []amigo.Input{{SensitiveUserVariables: manyVars}}}), "inputs[0].sensitive_user_variables", "at most 20"},
		{"invocation mode", invoke(amigo.InvokeRequest{Inputs: []amigo.Input{{InvocationMode: "batch"}}}), "inputs[0].invocation_mode", "regular"},
		{"tool id", func() error { return c.DeprecateTool(ctx, "not-an-id") }, "tool_id", "24 lower-case hex"},
		{"tool id upper-case hex", func() error {
			_, err := c.ListVersions(ctx, strings.ToUpper(testToolID), amigo.ListVersionsOptions{})
			return err
		}, "tool_id", "24 lower-case hex"},
		{"tool id filter", func() error {
			_, err := c.ListTools(ctx, amigo.ListToolsOptions{IDs: []string{"abc"}})
			return err
		}, "id[0]", "24 lower-case hex"},
		{"tools limit 21", func() error {
			_, err := c.ListTools(ctx, amigo.ListToolsOptions{Limit: 21})
			return err
		}, "limit", "between 1 and 20"},
		{"versions limit 51", func() error {
			_, err := c.ListVersions(ctx, testToolID, amigo.ListVersionsOptions{Limit: 51})
			return err
		}, "limit", "between 0 and 50"},
		{"invocations limit 101", func() error {
			_, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{Limit: 101})
			return err
		}, "limit", "between 0 and 100"},
		{"negative token", func() error {
			_, err := c.ListTools(ctx, amigo.ListToolsOptions{ContinuationToken: -1})
			return err
		}, "continuation_token", "negative"},
		{"creator format", func() error {
			_, err := c.ListVersions(ctx, testToolID, amigo.ListVersionsOptions{Creators: []string{"justauser"}})
			return err
		}, "creator[0]", "org_id,user_id"},
		{"versions per tool id", func() error {
			_, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{Versions: []string{"==1.0.0"}})
			return err
		}, "version", "one per tool_id"},
		{"search query empty", func() error {
			_, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{})
			return err
		}, "query", "must not be empty"},
		{"search field", func() error {
			_, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "x", QueryAgainst: []string{"inputs"}})
			return err
		}, "query_against[0]", "must be one of"},
		{"source type", func() error {
			_, err := c.SearchInvocations(ctx, amigo.SearchInvocationsOptions{Query: "x", InvocationFilter: amigo.InvocationFilter{SourceTypes: []amigo.InvocationSourceType{"cron"}}})
			return err
		}, "invocation_source_type[0]", "regular-conversation"},
		{"empty constraint", func() error { return c.DeprecateVersions(ctx, testToolID, " ") }, "versions", "must name the versions"},
		{"constraint of commas", func() error { return c.DeprecateVersions(ctx, testToolID, ",") }, "versions", "matches every version"},
		{"empty version", func() error {
			_, err := c.Invoke(ctx, testToolID, "", amigo.InvokeRequest{Inputs: in1})
			return err
		}, "version", "1.2.3"},
		{"find bad name", func() error {
			_, err := c.FindToolByName(ctx, "Bad Name")
			return err
		}, "name", "^[a-z0-9_]+$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantValidation(t, err, tt.wantField, tt.wantRule)
		})
	}
	if got := f.all(); len(got) != 0 {
		t.Errorf("%d requests reached the server (first %s %s), want none", len(got), got[0].Method, got[0].Path)
	}
}

func TestValidInputsPass(t *testing.T) {
	for _, name := range []string{"weather", "w_2", " padded_name "} {
		if !amigo.ValidToolName(name) {
			t.Errorf("ValidToolName(%q) = false", name)
		}
	}
	for _, p := range []string{"tools/weather", "a-b/c_d/E9", "é/ü"} {
		if !amigo.ValidProjectPath(p) {
			t.Errorf("ValidProjectPath(%q) = false", p)
		}
	}
	for _, p := range []string{"", "a b", "a.b", "a\\b"} {
		if amigo.ValidProjectPath(p) {
			t.Errorf("ValidProjectPath(%q) = true", p)
		}
	}
	// As the server searches [A-Z_]+: one upper-case letter or underscore
	// anywhere will do.
	for _, n := range []string{"API_KEY", "_", "A", "X-Y", "API_key", "my_var", "KEY2"} {
		if !amigo.ValidEnvvarName(n) {
			t.Errorf("ValidEnvvarName(%q) = false", n)
		}
	}
	for _, n := range []string{"", "abc", "x-y", "42"} {
		if amigo.ValidEnvvarName(n) {
			t.Errorf("ValidEnvvarName(%q) = true", n)
		}
	}
	if !amigo.ValidToolID(testToolID) || amigo.ValidToolID(testToolID+"0") {
		t.Errorf("ValidToolID wrong")
	}
}

// wantValidation checks that err is the client's refusal of field for rule.
func wantValidation(t *testing.T, err error, field, rule string) {
	t.Helper()
	var ve *amigo.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if ve.Field != field || !strings.Contains(ve.Rule, rule) {
		t.Errorf("field %q rule %q; want field %q, rule containing %q", ve.Field, ve.Rule, field, rule)
	}
	if !amigo.IsValidation(err) || !strings.Contains(err.Error(), field) {
		t.Errorf("Error() = %q", err)
	}
}
