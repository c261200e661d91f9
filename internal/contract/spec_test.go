package contract

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// specWith returns the embedded contract after edit changed its JSON.
func specWith(t *testing.T, edit func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(SpecJSON, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func schemas(doc map[string]any) map[string]any {
	return doc["components"].(map[string]any)["schemas"].(map[string]any)
}

func TestAdjustmentsApplied(t *testing.T) {
	v := MustLoad(t)
	for _, name := range []string{"InvocationResult", "InvocationStatus", "InvocationSource", "AgentFrameworkInvocationMetadata"} {
		s := v.doc.Components.Schemas[name].Value
		if s.Discriminator != nil {
			t.Errorf("%s keeps its discriminator", name)
		}
		for _, variant := range s.OneOf {
			prop := "type"
			if strings.HasPrefix(name, "Invocation") && name != "InvocationSource" {
				prop = "succeeded"
			}
			if !slices.Contains(variant.Value.Required, prop) || variant.Value.Properties[prop].Value.Const == nil {
				t.Errorf("%s: variant %s does not require a const %q", name, variant.Ref, prop)
			}
		}
	}
	if len(v.doc.Servers) != 1 || v.doc.Servers[0].URL != "/" {
		t.Errorf("servers = %v", v.doc.Servers)
	}
	if len(v.doc.Security) != 2 {
		t.Errorf("security = %v, want Bearer or Basic", v.doc.Security)
	}
}

func TestAdjustRefusesAContractItWasNotWrittenFor(t *testing.T) {
	cases := []struct {
		name string
		edit func(doc map[string]any)
		want string
	}{
		{"security changed", func(doc map[string]any) {
			doc["security"] = []any{map[string]any{"Bearer-Authorization": []any{}}}
		}, "revisit adjustment 2"},
		{"bearer scheme changed", func(doc map[string]any) {
			doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["Bearer-Authorization"] = map[string]any{"type": "apiKey", "in": "header", "name": "X-Token"}
		}, "Bearer-Authorization"},
		{"mapping contradicts const", func(doc map[string]any) {
			d := schemas(doc)["InvocationResult"].(map[string]any)["discriminator"].(map[string]any)
			d["mapping"] = map[string]any{"True": "#/components/schemas/FailedInvocationResult", "False": "#/components/schemas/SucceededInvocationResult"}
		}, "const"},
		{"boolean mapping key", func(doc map[string]any) {
			d := schemas(doc)["InvocationStatus"].(map[string]any)["discriminator"].(map[string]any)
			d["mapping"] = map[string]any{"yes": "#/components/schemas/SucceededInvocationStatus", "False": "#/components/schemas/FailedInvocationStatus"}
		}, "True or False"},
		{"not 3.1", func(doc map[string]any) { doc["openapi"] = "3.0.3" }, "OpenAPI 3.0.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := newValidator(specWith(t, c.edit))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
	if _, err := newValidator(specWith(t, func(map[string]any) {})); err != nil {
		t.Fatalf("the unchanged contract: %v", err)
	}
}
