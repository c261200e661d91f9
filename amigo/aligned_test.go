package amigo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
)

// The client's pre-validation shares its rules with the emulator (issue 19):
// what one accepts the other accepts, through the contract checks on both
// sides. Each case goes through the real client to the emulator.

func TestUnicodeTagsPassBothSides(t *testing.T) {
	e := newEmulated(t, nil)
	c := e.client(t)
	ctx := context.Background()
	tags := map[string]*string{"ünï": ptr("wert"), "e\u0301cole": ptr("déjà vu"), "東京": nil, "kind": ptr("Ⅻ‿x")}
	created, err := c.CreateTool(ctx, amigo.CreateToolRequest{Name: "unicode", Description: "d", Tags: tags})
	if err != nil {
		t.Fatalf("CreateTool with Unicode tags: %v", err)
	}
	tl, ok := e.emu.ToolByName(testOrg, "unicode")
	if !ok || tl.ID != created.ID || len(tl.Tags) != len(tags) {
		t.Fatalf("stored tool %+v", tl)
	}
	// What the server refuses, the client refuses before sending.
	before := e.count("", 0)
	for _, bad := range []string{"x²", "a-b", "½", "emoji😀"} {
		bt := map[string]*string{"k": ptr(bad)}
		err := c.ModifyTool(ctx, created.ID, amigo.ModifyToolRequest{Tags: &bt})
		wantValidation(t, err, "tags.k", `^[\w\s]+$`)
	}
	if n := e.count("", 0) - before; n != 0 {
		t.Errorf("%d refused modifications reached the server", n)
	}
	if !amigo.ValidProjectPath("tools/wétter") || amigo.ValidProjectPath("tools/wé.tter") {
		t.Errorf("project_path is not judged with Unicode \\w")
	}
}

func TestEnvvarNamesAsTheServerSearchesThem(t *testing.T) {
	e := newEmulated(t, nil)
	c, id := e.withWeather(t)
	ctx := context.Background()
	err := c.ModifyEnvvars(ctx, id, amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{
		{Name: "X-Y", Value: "1"}, {Name: "my_var", Value: "2"}, {Name: "aB", Value: "3"},
	}})
	if err != nil {
		t.Fatalf("names the server takes: %v", err)
	}
	names := map[string]bool{}
	for _, ev := range e.emu.Envvars(testOrg, id) {
		names[ev.Name] = true
	}
	if !names["X-Y"] || !names["my_var"] || !names["aB"] {
		t.Errorf("stored envvars %v", names)
	}
}

func TestRepeatedEnvvarNamesRefusedBeforeSending(t *testing.T) {
	e := newEmulated(t, nil)
	c, id := e.withWeather(t)
	ctx := context.Background()
	before := e.count("", 0)
	for _, c2 := range []struct {
		req          amigo.ModifyEnvvarsRequest
		field, where string
	}{
		{amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "A"}, {Name: "A"}}}, "inserts[1].name", "inserts[0]"},
		{amigo.ModifyEnvvarsRequest{Inserts: []amigo.EnvvarInsert{{Name: "B"}}, Deletes: []amigo.EnvvarDelete{{Name: " B"}}}, "deletes[0].name", "inserts[0]"},
		{amigo.ModifyEnvvarsRequest{Updates: []amigo.EnvvarUpdate{{Name: "WEATHER_API_BASE"}}, Deletes: []amigo.EnvvarDelete{{Name: "WEATHER_API_BASE"}}}, "deletes[0].name", "updates[0]"},
	} {
		err := c.ModifyEnvvars(ctx, id, c2.req)
		wantValidation(t, err, c2.field, "repeats "+c2.where+".name")
	}
	if n := e.count("", 0) - before; n != 0 {
		t.Errorf("%d refused requests reached the server", n)
	}
}

// weatherAt100 is the weather tool with its envvars and version 1.0.0.
func weatherAt100(t *testing.T) (*amigo.Client, string) {
	t.Helper()
	c := newEmulated(t, nil).client(t)
	id := setUpWeather(t, c)
	if _, err := c.PublishVersion(context.Background(), id, amigo.PublishRequest{ProjectPath: "tools/weather", BumpType: amigo.BumpMajor}); err != nil {
		t.Fatal(err)
	}
	return c, id
}

func TestEmptyVersionsFilterAndZeroPaddedInvoke(t *testing.T) {
	c, id := weatherAt100(t)
	ctx := context.Background()
	for _, spec := range []string{" ", ",", ""} {
		page, err := c.ListVersions(ctx, id, amigo.ListVersionsOptions{Versions: spec})
		if err != nil || len(page.ToolVersions) != 1 {
			t.Errorf("versions %q: %v, %v", spec, page, err)
		}
	}
	for _, ref := range []string{"1.0", "1", "1.0.0.0"} {
		out, err := c.Invoke(ctx, id, ref, amigo.InvokeRequest{Inputs: []amigo.Input{{InputParameters: map[string]any{"city": "Oslo"}}}})
		if err != nil || !strings.Contains(out.InvocationResults[0].Output, `"version":"1.0.0"`) {
			t.Errorf("invoke %s: %v, %v", ref, out, err)
		}
	}
}

func TestSimulatedInvocationsListedAsSimulations(t *testing.T) {
	c, id := weatherAt100(t)
	ctx := context.Background()
	in := amigo.Input{InputParameters: map[string]any{"city": "Oslo"}, InvocationMode: amigo.InvocationModeConversationSimulation}
	if _, err := c.Invoke(ctx, id, "1.0.0", amigo.InvokeRequest{Inputs: []amigo.Input{in}}); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListInvocations(ctx, amigo.ListInvocationsOptions{InvocationFilter: amigo.InvocationFilter{
		SourceTypes: []amigo.InvocationSourceType{amigo.SourceSimulationConversation}}})
	if err != nil || len(page.ToolInvocations) != 1 || page.ToolInvocations[0].InvocationSource.Type != amigo.SourceSimulationConversation {
		t.Fatalf("simulations: %+v, %v", page, err)
	}
}
