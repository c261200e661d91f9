package promote

import (
	"strings"
	"testing"
)

func TestRecords_defaultsAndTagName(t *testing.T) {
	p, err := Parse("p.yaml", []byte(okStages))
	if err != nil {
		t.Fatal(err)
	}
	if p.Records.Tags || p.Records.Releases {
		t.Errorf("records are on by default: %+v", p.Records)
	}
	if got := p.Records.TagName("weather_lookup", "1.3.0"); got != "weather_lookup/v1.3.0" {
		t.Errorf("default tag name %q", got)
	}
	p, err = Parse("p.yaml", []byte(okStages+"records:\n  tags: true\n  tag_format: \"release/{version}-{tool}\"\n  releases: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Records.Tags || !p.Records.Releases {
		t.Errorf("records not read: %+v", p.Records)
	}
	if got := p.Records.TagName("calendar", "2.0.1"); got != "release/2.0.1-calendar" {
		t.Errorf("tag name %q", got)
	}
	pre, suf := p.Records.TagPattern("calendar")
	if pre != "release/" || suf != "-calendar" {
		t.Errorf("pattern %q %q", pre, suf)
	}
}

func TestRecords_badInput(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"no version":        {"records:\n  tag_format: \"{tool}\"\n", "exactly once"},
		"two versions":      {"records:\n  tag_format: \"{tool}/{version}/{version}\"\n", "{version} exactly once"},
		"no tool":           {"records:\n  tag_format: \"v{version}\"\n", "tags of different tools would clash"},
		"unknown holder":    {"records:\n  tag_format: \"{tool}/{major}/{version}\"\n", "only placeholders"},
		"space":             {"records:\n  tag_format: \"{tool} v{version}\"\n", "git refuses ' '"},
		"double dot":        {"records:\n  tag_format: \"{tool}..{version}\"\n", "'..'"},
		"lock":              {"records:\n  tag_format: \"{tool}.lock/{version}\"\n", ".lock"},
		"leading dash":      {"records:\n  tag_format: \"-{tool}/{version}\"\n", "start with '-'"},
		"releases, no tags": {"records:\n  releases: true\n", "set records.tags: true"},
		"not a boolean":     {"records:\n  tags: yes please\n", "expected true or false"},
		"unknown key":       {"records:\n  tag: true\n", `did you mean "tags"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(okStages+tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p.yaml:") {
				t.Errorf("error %q does not say %q with the file and line", err, tc.want)
			}
		})
	}
}
