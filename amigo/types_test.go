package amigo_test

import (
	"encoding/json"
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
// versions and invocations are read as RFC 3339 and also without an offset
// (a Python naive datetime, taken as UTC), and the emulator's encoding
// round-trips exactly.
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
		for name, got := range map[string][2]*time.Time{
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
	err := json.Unmarshal([]byte(`{"tool_versions":[{"id":"x","updated_at":"yesterday"}]}`), &amigo.ListVersionsResponse{})
	if err == nil || !strings.Contains(err.Error(), `updated_at "yesterday" is not a date-time`) {
		t.Errorf("bad timestamp error = %v", err)
	}

	// What the emulator writes (time.Time's RFC 3339) reads back equal.
	enc, err := json.Marshal(amigo.Tool{ID: "x", CreatedAt: &want, UpdatedAt: &want})
	if err != nil {
		t.Fatal(err)
	}
	var back amigo.Tool
	if err := json.Unmarshal(enc, &back); err != nil || back.CreatedAt == nil || !back.CreatedAt.Equal(want) || !back.UpdatedAt.Equal(want) {
		t.Errorf("round trip of %s = %+v, %v", enc, back, err)
	}
}
