package contract_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/contract"
)

// TestWireTypesMatchSchemas checks that every wire type of package amigo
// has exactly the properties of the contract schema(s) it stands for (a
// union type: of all its variants), so no field of the API is dropped on
// decoding or invented on encoding.
func TestWireTypesMatchSchemas(t *testing.T) {
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(contract.SpecJSON, &spec); err != nil {
		t.Fatal(err)
	}
	const ep = "src__app__endpoints__tool__"
	cases := []struct {
		goType  any
		schemas []string
		extra   []string // fields the Go type has beyond the schema, with a documented reason
	}{
		{amigo.Tag{}, []string{"Tag"}, nil},
		{amigo.UserInfo{}, []string{"amigo_lib__mongo__collections__tool__Tool__UserInfo"}, nil},
		{amigo.VersionUserInfo{}, []string{"amigo_lib__mongo__collections__tool_version__ToolVersion__UserInfo"}, nil},
		{amigo.Tool{}, []string{"ToolInstance"}, nil},
		{amigo.ToolVersion{}, []string{"ToolVersionInstance"}, nil},
		{amigo.Invocation{}, []string{"ToolInvocationInstance"}, nil},
		{amigo.Version{}, []string{"Version"}, nil},
		{amigo.Input{}, []string{"Input"}, nil},
		{amigo.EnvvarInsert{}, []string{"InsertRequest"}, nil},
		{amigo.EnvvarUpdate{}, []string{"UpdateRequest"}, nil},
		{amigo.EnvvarDelete{}, []string{ep + "modify_tool_envvars__Request__DeleteRequest"}, nil},
		{amigo.InvocationResult{}, []string{"SucceededInvocationResult", "FailedInvocationResult"}, nil},
		{amigo.InvocationStatus{}, []string{"SucceededInvocationStatus", "FailedInvocationStatus"}, nil},
		{amigo.InvocationSource{}, []string{"RegularConversationInvocationSource", "SimulationConversationInvocationSource"}, nil},
		{amigo.InvocationMetadata{}, []string{"EngageUserInvocationMetadata", "StateTransitionInvocationMetadata", "ToolCallStateInvocationMetadata"}, nil},
		{amigo.CreateToolRequest{}, []string{ep + "create_tool__Request"}, nil},
		{amigo.CreateToolResponse{}, []string{ep + "create_tool__Response"}, nil},
		{amigo.ModifyToolRequest{}, []string{ep + "modify_tool__Request"}, nil},
		{amigo.ModifyEnvvarsRequest{}, []string{ep + "modify_tool_envvars__Request"}, nil},
		{amigo.TestToolRequest{}, []string{ep + "test_tool__Request"}, nil},
		{amigo.TestToolResponse{}, []string{ep + "test_tool__Response"}, nil},
		// repo: shown on the docs page, not in the schema; sent only when set.
		{amigo.PublishRequest{}, []string{ep + "publish_tool_version__Request"}, []string{"repo"}},
		{amigo.PublishResponse{}, []string{ep + "publish_tool_version__Response"}, nil},
		{amigo.InvokeRequest{}, []string{ep + "invoke_tool_version__Request"}, nil},
		{amigo.InvokeResponse{}, []string{ep + "invoke_tool_version__Response"}, nil},
		{amigo.ListToolsResponse{}, []string{ep + "get_tools__Response"}, nil},
		{amigo.ToolFilterValues{}, []string{ep + "get_tools__Response__FilterValues"}, nil},
		{amigo.ListVersionsResponse{}, []string{ep + "get_tool_versions__Response"}, nil},
		{amigo.VersionFilterValues{}, []string{ep + "get_tool_versions__Response__FilterValues"}, nil},
		{amigo.ListInvocationsResponse{}, []string{ep + "get_tool_invocations__Response"}, nil},
		{amigo.SearchInvocationsResponse{}, []string{ep + "search_tool_invocations__Response"}, nil},
		{amigo.SignInResponse{}, []string{"src__app__endpoints__user__sign_in_with_api_key__Response"}, nil},
	}
	used := map[string]bool{}
	for _, tc := range cases {
		typ := reflect.TypeOf(tc.goType)
		var want []string
		for _, name := range tc.schemas {
			s, ok := spec.Components.Schemas[name]
			if !ok {
				t.Errorf("%s: schema %s is not in the contract", typ, name)
				continue
			}
			used[name] = true
			for p := range s.Properties {
				if !slices.Contains(want, p) {
					want = append(want, p)
				}
			}
		}
		want = append(want, tc.extra...)
		got := jsonFields(typ)
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s has JSON fields %v; the contract (%s) has %v", typ, got, strings.Join(tc.schemas, " | "), want)
		}
	}
	// Every object schema of the contract has a Go type.
	for name, s := range spec.Components.Schemas {
		if len(s.Properties) > 0 && !used[name] {
			t.Errorf("schema %s has no wire type in package amigo", name)
		}
	}
}

func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
