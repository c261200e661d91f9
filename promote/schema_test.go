package promote

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/amigo-release/amigo-release/amigo"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// decoderKeys is the decoder's key table: for each object kind of the plan,
// the keys its field map accepts. The kinds are the schema's $defs names;
// "" is the plan itself.
func decoderKeys() map[string][]string {
	d := &decoder{}
	var skip []*yaml.Node
	tables := map[string]fieldMap{
		"":            d.planFields(&Plan{}, &rawPlan{}),
		"discovery":   d.discoveryFields(&Discovery{}, &rawPlan{}),
		"bump":        d.bumpFields(&Bump{}, &rawPlan{}),
		"publish":     d.publishFields(&Publish{}),
		"records":     d.recordsFields(&Records{}),
		"defaults":    d.defaultsFields(&Defaults{}, &rawPlan{}),
		"credentials": d.credentialsFields(&Credentials{}),
		"stage":       d.stageFields(&rawStage{}),
		"tool":        d.toolFields(&ToolConfig{}, &skip),
		"envvar":      d.envvarFields(&EnvvarSpec{}),
		"test_input":  d.inputFields(&amigo.Input{}),
	}
	out := map[string][]string{}
	for kind, fm := range tables {
		out[kind] = slices.Sorted(maps.Keys(fm))
	}
	return out
}

type schemaNode struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Defs       map[string]json.RawMessage `json:"$defs"`
	Type       any                        `json:"type"`
}

func loadSchema(t *testing.T) (schemaNode, map[string]schemaNode) {
	t.Helper()
	var root schemaNode
	if err := json.Unmarshal(Schema(), &root); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	defs := map[string]schemaNode{}
	for name, raw := range root.Defs {
		var n schemaNode
		if err := json.Unmarshal(raw, &n); err != nil {
			t.Fatalf("$defs.%s: %v", name, err)
		}
		defs[name] = n
	}
	return root, defs
}

// TestSchema_inSyncWithDecoder compares the decoder's key table and the
// schema's properties in both directions.
func TestSchema_inSyncWithDecoder(t *testing.T) {
	root, defs := loadSchema(t)
	keys := decoderKeys()
	for kind, want := range keys {
		node := root
		if kind != "" {
			var ok bool
			if node, ok = defs[kind]; !ok {
				t.Errorf("schema has no $defs.%s for the decoder's %q mapping", kind, kind)
				continue
			}
		}
		if diff := cmp.Diff(want, slices.Sorted(maps.Keys(node.Properties))); diff != "" {
			t.Errorf("keys of %q: decoder (-) vs schema (+):\n%s", kind, diff)
		}
	}
	for name, n := range defs {
		if len(n.Properties) > 0 {
			if _, ok := keys[name]; !ok {
				t.Errorf("schema $defs.%s has properties the decoder knows nothing of", name)
			}
		}
	}
	// The pyproject.toml table accepts exactly the keys of a plan's tool
	// entry, envvar and test input.
	sorted := func(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }
	for _, c := range []struct {
		kind string
		meta []string
	}{{"tool", metaKeys}, {"envvar", envvarKeys}, {"test_input", inputKeys}} {
		if diff := cmp.Diff(keys[c.kind], sorted(c.meta)); diff != "" {
			t.Errorf("[tool.amigo-release] keys of %s differ from the plan's (-plan +pyproject):\n%s", c.kind, diff)
		}
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compile schema.json: %v", err)
	}
	return s
}

// yamlToJSONValue turns a YAML document into the value a JSON Schema
// validator expects.
func yamlToJSONValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// examplePlans returns every example plan: testdata/*.yaml and the yaml
// blocks of REFERENCE.md.
func examplePlans(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	for i, block := range markdownBlocks(t, "yaml") {
		out["REFERENCE.md yaml block "+fmtInt(i+1)] = []byte(block)
	}
	if len(out) < 3 {
		t.Fatalf("only %d example plans found", len(out))
	}
	return out
}

var fenceRE = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")

func markdownBlocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range fenceRE.FindAllStringSubmatch(string(b), -1) {
		if m[1] == lang {
			out = append(out, m[2])
		}
	}
	return out
}

func TestSchema_examplesValidate(t *testing.T) {
	s := compileSchema(t)
	for name, src := range examplePlans(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(name, src); err != nil {
				t.Errorf("Parse: %v", err)
			}
			if err := s.Validate(yamlToJSONValue(t, src)); err != nil {
				t.Errorf("schema: %v", err)
			}
		})
	}
}

// TestSchema_rejectsBadPlans checks that the schema is not vacuous: plans
// that Parse rejects for reasons a schema can express fail it too.
func TestSchema_rejectsBadPlans(t *testing.T) {
	s := compileSchema(t)
	for name, src := range map[string]string{
		"unknown stage key":         okStages + "    soka: 10m\n",
		"unknown region":            "stages:\n  - {name: x, region: mars, organization: o}\n",
		"region and base_url":       okStages + "    base_url: http://x\n",
		"neither":                   "stages:\n  - {name: x, organization: o}\n",
		"duration without unit":     okStages + "    soak: 10\n",
		"active_cap":                okStages + "    active_cap: 7\n",
		"on_failure":                okStages + "    on_failure: stop\n",
		"tool name":                 okStages + "tools:\n  Bad-Name: {}\n",
		"envvar name":               okStages + "tools:\n  t:\n    envvars: [{name: low, value: x}]\n",
		"envvar both":               okStages + "tools:\n  t:\n    envvars: [{name: A, value: x, from_env: B}]\n",
		"no stages":                 "defaults: {organization: o}\n",
		"tag format without {tool}": okStages + "records:\n  tag_format: v{version}\n",
		"11 inputs":                 okStages + "tools:\n  t:\n    test_inputs: [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse("p.yaml", []byte(src)); err == nil {
				t.Errorf("Parse accepted it")
			}
			if err := s.Validate(yamlToJSONValue(t, []byte(src))); err == nil {
				t.Errorf("schema accepted it")
			}
		})
	}
}

// schemaKeys returns every property name in the schema.
func schemaKeys(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok {
			for k := range props {
				out[k] = true
			}
		}
		for _, y := range x {
			schemaKeys(y, out)
		}
	case []any:
		for _, y := range x {
			schemaKeys(y, out)
		}
	}
}

func TestReference_documentsEveryKey(t *testing.T) {
	var doc any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	schemaKeys(doc, keys)
	ref, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	// Each key has a row of its own in a key table ("| `key` | type | ..."),
	// not merely a mention in prose or the example.
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !strings.Contains(string(ref), "\n| `"+k+"` |") {
			t.Errorf("REFERENCE.md has no table row for `%s`", k)
		}
	}
	if len(keys) < 40 {
		t.Errorf("only %d keys found in the schema", len(keys))
	}
}

// TestReference_exampleIsTheTestedOne keeps the complete example in
// REFERENCE.md identical to testdata/release.yaml, which the other tests load.
func TestReference_exampleIsTheTestedOne(t *testing.T) {
	want, err := os.ReadFile("testdata/release.yaml")
	if err != nil {
		t.Fatal(err)
	}
	blocks := markdownBlocks(t, "yaml")
	if len(blocks) == 0 || blocks[0] != string(want) {
		t.Errorf("the first yaml block of REFERENCE.md differs from testdata/release.yaml")
	}
	toml := markdownBlocks(t, "toml")
	pp, err := os.ReadFile("testdata/weather/pyproject.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(toml) == 0 || toml[0] != string(pp) {
		t.Errorf("the first toml block of REFERENCE.md differs from testdata/weather/pyproject.toml")
	}
}

// TestSchema_versionedURL checks that the README and REFERENCE.md point
// editors at the schema of a release (a vX.Y.Z tag), never a branch: a
// branch's schema may accept keys the release a user runs rejects.
func TestSchema_versionedURL(t *testing.T) {
	url := regexp.MustCompile(`https://raw\.githubusercontent\.com/amigo-release/amigo-release/([^/\s]+)/promote/schema\.json`)
	for _, f := range []string{"../README.md", "REFERENCE.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		refs := url.FindAllStringSubmatch(string(b), -1)
		if len(refs) == 0 {
			t.Errorf("%s gives no schema URL for the YAML language server", f)
		}
		for _, m := range refs {
			if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(m[1]) {
				t.Errorf("%s: schema URL %s is under %q, want a release tag (vX.Y.Z)", f, m[0], m[1])
			}
		}
	}
}
