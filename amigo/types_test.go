package amigo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
)

func TestInvocationStatusVariants(t *testing.T) {
	for _, tt := range []struct {
		in        string
		succeeded bool
		output    string
		excType   string
	}{
		{`{"succeeded":true,"output":"ok"}`, true, "ok", ""},
		{`{"output":"ok"}`, true, "ok", ""}, // discriminator defaulted
		{`{"succeeded":false,"exception_message":"m","exception_type":"KeyError","exception_stack_trace":[]}`, false, "", "KeyError"},
		{`{"exception_message":"m","exception_type":"ValueError","exception_stack_trace":["a"]}`, false, "", "ValueError"},
	} {
		var s amigo.InvocationStatus
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if s.Succeeded != tt.succeeded || s.Output != tt.output || s.ExceptionType != tt.excType {
			t.Errorf("%s decoded as %+v", tt.in, s)
		}
		out, _ := json.Marshal(s)
		var back amigo.InvocationStatus
		if err := json.Unmarshal(out, &back); err != nil || back.Succeeded != s.Succeeded {
			t.Errorf("round trip of %s: %s, %v", tt.in, out, err)
		}
	}
	var s amigo.InvocationStatus
	if err := json.Unmarshal([]byte(`{}`), &s); err == nil {
		t.Errorf("an empty status decoded without error")
	}
}

func TestInvocationResultAndSourceRoundTrip(t *testing.T) {
	in := `{"id":"i","org_id":"o","invocation_status":{"succeeded":false,"exception_message":"m","exception_type":"E","exception_stack_trace":["l1"]},` +
		`"invocation_source":{"type":"simulation-conversation","simulation_unit_test_set_run_id":null,"unit_test_id":"u","run_index":2,` +
		`"invocation_metadata":{"type":"state-transition","current_state_machine_and_version":["sm",3],"state_name":"s","state_transition_index":1,"tool_call_round_index":0}},` +
		`"duration_ms":5,"tool_id":"t","tool_version":{"major":1,"minor":2,"patch":3},"inputs":{}}`
	var inv amigo.Invocation
	if err := json.Unmarshal([]byte(in), &inv); err != nil {
		t.Fatal(err)
	}
	src := inv.InvocationSource
	if src.Type != amigo.SourceSimulationConversation || *src.UnitTestID != "u" || *src.RunIndex != 2 || src.SimulationUnitTestSetRunID != nil ||
		src.InvocationMetadata.CurrentStateMachineAndVersion != (amigo.StateMachineVersion{Name: "sm", Version: 3}) || *src.InvocationMetadata.ToolCallRoundIndex != 0 {
		t.Errorf("source = %+v", src)
	}
	out, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal([]byte(in), &a)
	json.Unmarshal(out, &b)
	if ja, jb := mustJSON(a), mustJSON(b); ja != jb {
		t.Errorf("round trip:\n got %s\nwant %s", jb, ja)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTimestampsDecodeLeniently: created_at and updated_at of tools,
// versions and invocations (one type, amigo.Timestamp) are read as RFC 3339
// and also without an offset (a Python naive datetime, taken as UTC), and
// the emulator's encoding round-trips exactly.
func TestTimestampsDecodeLeniently(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	for _, spelling := range []string{
		`"2026-01-02T03:04:05.123456Z"`,
		`"2026-01-02T03:04:05.123456+00:00"`,
		`"2026-01-02T04:04:05.123456+01:00"`,
		`"2026-01-02T03:04:05.123456"`,
		`"2026-01-02 03:04:05.123456"`,
		`1767323045.123456`,
	} {
		body := `{"id":"x","created_at":` + spelling + `,"updated_at":` + spelling + `,"name":"n","version":{"major":1,"minor":2,"patch":3},"tool_version":{"major":1,"minor":0,"patch":0},"invocation_status":{"succeeded":true,"output":"o"}}`
		var tool amigo.Tool
		var ver amigo.ToolVersion
		var inv amigo.Invocation
		for name, dst := range map[string]any{"tool": &tool, "version": &ver, "invocation": &inv} {
			if err := json.Unmarshal([]byte(body), dst); err != nil {
				t.Fatalf("%s with %s: %v", name, spelling, err)
			}
		}
		for name, got := range map[string][2]*amigo.Timestamp{
			"tool": {tool.CreatedAt, tool.UpdatedAt}, "version": {ver.CreatedAt, ver.UpdatedAt}, "invocation": {inv.CreatedAt, inv.UpdatedAt},
		} {
			for i, g := range got {
				// Unix seconds as a float64 lose the last microsecond digits.
				if g == nil || g.Sub(want).Abs() > time.Microsecond {
					t.Errorf("%s %s[%d] = %v, want %v", spelling, name, i, g, want)
				}
			}
		}
		// The other fields still decode (the embedded plain type).
		if tool.ID != "x" || tool.Name != "n" || ver.Version.String() != "1.2.3" || inv.ToolVersion.String() != "1.0.0" || !inv.InvocationStatus.Succeeded {
			t.Errorf("%s: other fields lost: %+v %+v %+v", spelling, tool, ver, inv)
		}
	}

	// Absent or null: nil. Garbage: an error naming the field.
	var tool amigo.Tool
	if err := json.Unmarshal([]byte(`{"id":"x","created_at":null}`), &tool); err != nil || tool.CreatedAt != nil || tool.UpdatedAt != nil {
		t.Errorf("null/absent timestamps: %+v, %v", tool, err)
	}
	if tool.CreatedAt.GetTime() != nil {
		t.Errorf("GetTime of a nil Timestamp = %v, want nil", tool.CreatedAt.GetTime())
	}
	for body, field := range map[string]string{
		`{"tool_versions":[{"id":"x","updated_at":"yesterday"}]}`:    "ToolVersion.tool_versions.updated_at",
		`{"tools":[{"id":"x","created_at":"2026-13-01T00:00:00Z"}]}`: "Tool.tools.created_at",
		`{"tool_invocations":[{"id":"x","created_at":true}]}`:        "Invocation.tool_invocations.created_at",
		`{"tools":[{"id":"x","updated_at":-5}]}`:                     "Tool.tools.updated_at",
	} {
		var dst any = &amigo.ListVersionsResponse{}
		switch {
		case strings.Contains(body, `"tools"`):
			dst = &amigo.ListToolsResponse{}
		case strings.Contains(body, `"tool_invocations"`):
			dst = &amigo.ListInvocationsResponse{}
		}
		err := json.Unmarshal([]byte(body), dst)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "date-time") {
			t.Errorf("%s: error = %v, want one naming %s and saying date-time", body, err, field)
		}
	}

	// What the emulator writes (time.Time's RFC 3339) reads back equal.
	enc, err := json.Marshal(amigo.Tool{ID: "x", CreatedAt: &amigo.Timestamp{Time: want}, UpdatedAt: &amigo.Timestamp{Time: want}})
	if err != nil {
		t.Fatal(err)
	}
	var back amigo.Tool
	if err := json.Unmarshal(enc, &back); err != nil || back.CreatedAt == nil || !back.CreatedAt.Equal(want) || !back.UpdatedAt.Equal(want) {
		t.Errorf("round trip of %s = %+v, %v", enc, back, err)
	}
}

// TestParseVersion: the one version parser accepts exactly what Semantic
// Versioning 2.0.0 calls MAJOR.MINOR.PATCH and nothing the hand-written
// parser before it let through (leading zeros, signs, spaces).
func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want amigo.Version
	}{
		{"0.0.0", amigo.Version{}},
		{"1.2.3", amigo.Version{Major: 1, Minor: 2, Patch: 3}},
		{"10.20.30", amigo.Version{Major: 10, Minor: 20, Patch: 30}},
		{"2147483647.0.0", amigo.Version{Major: 2147483647}},
	} {
		got, err := amigo.ParseVersion(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseVersion(%q).String() = %q: does not round-trip", tt.in, got.String())
		}
	}
	for _, tt := range []struct{ in, why string }{
		{"01.2.3", "starts with 0"},
		{"1.02.3", "starts with 0"},
		{"1.2.03", "starts with 0"},
		{"+1.2.3", "digits only"},
		{"-1.2.3", "digits only"},
		{"1. 2.3", "digits only"},
		{" 1.2.3", "digits only"},
		{"1.2.3 ", "digits only"},
		{"v1.2.3", "no v prefix"},
		{"V1.2.3", "no v prefix"},
		{"1.2", "MAJOR.MINOR.PATCH"},
		{"1.2.3.4", "digits only"},
		{"", "MAJOR.MINOR.PATCH"},
		{"1.2.3-rc.1", "no pre-release or build part"},
		{"1.2.3+build.5", "no pre-release or build part"},
		{"2147483648.0.0", "larger than"},
		{"99999999999999999999.0.0", "MAJOR.MINOR.PATCH"},
		{"1.2.x", "digits only"},
	} {
		v, err := amigo.ParseVersion(tt.in)
		if err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", tt.in, v)
			continue
		}
		if !strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("ParseVersion(%q) error %q: want it to name the input and say %q", tt.in, err, tt.why)
		}
	}
}

func TestVersionBumpAndCompare(t *testing.T) {
	v := amigo.Version{Major: 1, Minor: 4, Patch: 2}
	for b, want := range map[amigo.BumpType]string{amigo.BumpMajor: "2.0.0", amigo.BumpMinor: "1.5.0", amigo.BumpPatch: "1.4.3"} {
		if got := v.Bump(b).String(); got != want {
			t.Errorf("%s bump of %s = %s, want %s", b, v, got, want)
		}
	}
	order := []string{"0.0.1", "0.1.0", "0.9.9", "1.0.0", "1.0.10", "1.2.0", "1.10.0", "2.0.0", "10.0.0"}
	for i, a := range order {
		for j, b := range order {
			va, _ := amigo.ParseVersion(a)
			vb, _ := amigo.ParseVersion(b)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
			if va.Less(vb) != (want < 0) {
				t.Errorf("Less(%s, %s) = %v", a, b, va.Less(vb))
			}
		}
	}
}
