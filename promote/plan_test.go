package promote

import (
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/google/go-cmp/cmp"
)

func TestLoad_example(t *testing.T) {
	p := mustLoad(t, "testdata/release.yaml")
	var order []string
	for _, s := range p.Order() {
		order = append(order, s.Name)
	}
	if diff := cmp.Diff([]string{"us", "eu", "ap", "ca"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	us, _ := p.Stage("us")
	if !us.Test || !us.Smoke || us.Soak != 10*time.Minute || us.OnFailure != OnFailureHalt || us.BaseURL != "https://api.amigo.ai" {
		t.Errorf("us = %+v", us)
	}
	if !us.Pinned("weather_lookup", amigo.Version{Major: 1, Minor: 4, Patch: 2}) {
		t.Errorf("pin missing: %+v", us.Keep)
	}
	eu, _ := p.Stage("eu")
	if diff := cmp.Diff([]string{"us"}, eu.Needs); diff != "" {
		t.Errorf("eu needs default: %s", diff)
	}
	if eu.Credentials.APIKeyEnv != "AMIGO_EU_API_KEY" || eu.Organization != "acme" || eu.ActiveCap != 3 || eu.OnFailure != OnFailureHaltTool {
		t.Errorf("eu = %+v", eu)
	}
	ca, _ := p.Stage("ca")
	if ca.Credentials.TokenEnv != "AMIGO_CA_TOKEN" || ca.Credentials.APIKeyEnv != "AMIGO_API_KEY" || ca.Organization != "acme-canada" {
		t.Errorf("ca = %+v", ca)
	}
	want := []string{"AMIGO_API_KEY", "AMIGO_API_KEY_ID", "AMIGO_CA_TOKEN", "AMIGO_EU_API_KEY", "AMIGO_EU_API_KEY_ID", "AMIGO_EU_USER_ID", "AMIGO_USER_ID", "WEATHER_API_KEY_PROD"}
	if diff := cmp.Diff(want, p.SecretEnvNames()); diff != "" {
		t.Errorf("SecretEnvNames (-want +got):\n%s", diff)
	}
}
