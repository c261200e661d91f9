package amigo_test

import (
	"encoding/json"
	"testing"

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
