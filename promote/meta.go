package promote

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/amigo-release/amigo-release/amigo"
	"github.com/amigo-release/amigo-release/internal/bounds"
)

// MetaTable is the pyproject.toml table that holds a project's release
// metadata.
const MetaTable = "tool.amigo-release"

// ProjectMeta is what a project's pyproject.toml says about its release.
// Nil slices and maps were not set.
type ProjectMeta struct {
	// Dir is the project directory given to LoadProjectMeta; File is the
	// pyproject.toml path.
	Dir  string
	File string
	// Name and ProjectDescription come from the [project] table.
	Name               string
	ProjectDescription string

	// From [tool.amigo-release].
	Description string // "" when not set
	Tags        map[string]*string
	Envvars     []EnvvarSpec
	TestInputs  []amigo.Input
	SkipStages  []string

	// From [tool.amigo], the tool's runtime contract (read-only here).
	RequiredEnvvars       []string
	RequiredSecretEnvvars []string
	InputSchema           map[string]any

	src []byte // the file's text, to give later errors (Resolve's) a line
}

// line is the line of the key at path in the file (0: unknown).
func (m ProjectMeta) line(path string) int { return tomlKeyLine(m.src, path) }

// LoadProjectMeta reads dir/pyproject.toml. A missing file or table is not
// an error for the tables (the zero values mean "not set"), but a missing
// pyproject.toml is: a project is a directory with one. Errors name the file
// and the key and match ErrInvalid.
func LoadProjectMeta(dir string) (ProjectMeta, error) {
	file := filepath.Join(dir, "pyproject.toml")
	data, err := readLimited(file)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Msg == "file not found" {
			e.Fix = "a tool project is a directory with a pyproject.toml: add one, or exclude the directory in discovery.exclude"
		}
		return ProjectMeta{Dir: dir, File: file}, err
	}
	m, err := ParseProjectMeta(file, data)
	m.Dir = dir
	return m, err
}

// ParseProjectMeta decodes the contents of a pyproject.toml; file is used in
// messages only.
func ParseProjectMeta(file string, data []byte) (ProjectMeta, error) {
	m := ProjectMeta{File: file}
	if len(data) > MaxFileSize {
		return m, tooLarge(file)
	}
	m.src = data
	if err := bounds.TOML(data); err != nil {
		return m, tomlLimit(file, err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		e := &Error{File: file, Msg: "not valid TOML: " + err.Error(), Fix: "fix the TOML syntax on that line"}
		if pe, ok := err.(toml.ParseError); ok {
			e.Line, e.Column = pe.Position.Line, pe.Position.Col
			e.Msg = "not valid TOML: " + pe.Message
		}
		return m, e
	}
	t := &tomlDecoder{errorList: errorList{file: file}, src: data}
	if proj, ok := t.table(doc, "project", "project"); ok {
		if v, ok := proj["name"]; ok {
			m.Name, _ = t.str("project.name", v)
		}
		if v, ok := proj["description"]; ok {
			m.ProjectDescription, _ = t.str("project.description", v)
		}
	}
	tool, _ := t.table(doc, "tool", "tool")
	if amigoT, ok := t.table(tool, "amigo", "tool.amigo"); ok {
		if v, ok := amigoT["required_envvars"]; ok {
			m.RequiredEnvvars = t.strList("tool.amigo.required_envvars", v)
		}
		if v, ok := amigoT["required_secret_envvars"]; ok {
			m.RequiredSecretEnvvars = t.strList("tool.amigo.required_secret_envvars", v)
		}
		if v, ok := amigoT["input_schema"]; ok {
			if s, ok := v.(map[string]any); ok {
				m.InputSchema = s
			} else {
				t.errAt("tool.amigo.input_schema", "expected a table (a JSON Schema object), got "+tomlKind(v), "write input_schema as a TOML table")
			}
		}
	}
	if rel, ok := t.table(tool, "amigo-release", MetaTable); ok {
		t.release(rel, &m)
	}
	return m, t.err()
}

// tomlLimit is the error for a pyproject.toml that bounds.TOML refuses:
// the file, the line and the limit.
func tomlLimit(file string, err error) *Error {
	e := &Error{File: file, Msg: "not read: " + err.Error(),
		Fix: "flatten the nesting and shorten the keys (a tool's input_schema and test inputs are JSON values of at most 32 levels)"}
	if le, ok := err.(*bounds.LimitError); ok {
		e.Line = le.Line
	}
	return e
}

// tomlDecoder checks a decoded TOML document by key path. The TOML library
// keeps no position per key: errors name the key, and their line is found
// in the text (tomlKeyLine).
type tomlDecoder struct {
	errorList
	src []byte
}

func (t *tomlDecoder) errAt(path, msg, fix string) {
	t.add(tomlKeyLine(t.src, path), 0, path, msg, fix)
}

var metaKeys = []string{"description", "tags", "envvars", "test_inputs", "skip_stages"}

func (t *tomlDecoder) release(rel map[string]any, m *ProjectMeta) {
	for _, k := range slices.Sorted(maps.Keys(rel)) {
		v := rel[k]
		path := MetaTable + "." + k
		switch k {
		case "description":
			if s, ok := t.str(path, v); ok {
				if strings.TrimSpace(s) == "" {
					t.errAt(path, "must not be empty", "describe the tool in a sentence, or remove the key")
				}
				m.Description = s
			}
		case "tags":
			m.Tags = t.tags(path, v)
		case "envvars":
			m.Envvars = t.envvars(path, v)
		case "test_inputs":
			m.TestInputs = t.inputs(path, v)
		case "skip_stages":
			m.SkipStages = t.strList(path, v)
		default:
			t.errAt(path, fmt.Sprintf("unknown key %q in [%s]", k, MetaTable), suggest(k, metaKeys, "keys"))
		}
	}
}

func tomlKind(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", clip(x))
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %g", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

func (t *tomlDecoder) table(doc map[string]any, key, path string) (map[string]any, bool) {
	if doc == nil {
		return nil, false
	}
	v, ok := doc[key]
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.errAt(path, "expected a table, got "+tomlKind(v), fmt.Sprintf("write it as a [%s] table", path))
		return nil, false
	}
	return m, true
}

func (t *tomlDecoder) str(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		t.errAt(path, "expected a string, got "+tomlKind(v), "write it in double quotes")
	}
	return s, ok
}

// matching decodes a string that must match re; otherwise it reports
// msgf (a format for the string) and fix, and returns the string with false.
func (t *tomlDecoder) matching(path string, v any, re *regexp.Regexp, msgf, fix string) (string, bool) {
	s, ok := t.str(path, v)
	if ok && !re.MatchString(s) {
		t.errAt(path, fmt.Sprintf(msgf, s), fix)
		return s, false
	}
	return s, ok
}

func (t *tomlDecoder) strList(path string, v any) []string {
	items, ok := v.([]any)
	if !ok {
		t.errAt(path, "expected an array of strings, got "+tomlKind(v), `write ["A", "B"]`)
		return nil
	}
	out := []string{}
	for i, it := range items {
		if s, ok := t.str(index(path, i), it); ok {
			out = append(out, s)
		}
	}
	return out
}

func (t *tomlDecoder) tags(path string, v any) map[string]*string {
	m, ok := v.(map[string]any)
	if !ok {
		t.errAt(path, "expected a table of tag keys to values, got "+tomlKind(v), `write tags = { team = "weather", beta = "" }`)
		return nil
	}
	out := map[string]*string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := path + "." + k
		if !tagRE.MatchString(k) {
			t.errAt(p, fmt.Sprintf("invalid tag key %q: the API accepts letters, digits, '_' and spaces only", k), "rename the tag key")
			continue
		}
		s, ok := t.str(p, m[k])
		if !ok {
			continue
		}
		if s == "" {
			out[k] = nil
			continue
		}
		if !tagRE.MatchString(s) {
			t.errAt(p, fmt.Sprintf("invalid tag value %q: the API accepts letters, digits, '_' and spaces only", s), `change the value, or use "" for a tag without value`)
			continue
		}
		out[k] = &s
	}
	if len(out) > MaxTags {
		t.errAt(path, fmt.Sprintf("%d tags: the API accepts at most %d", len(out), MaxTags), "remove some tags")
	}
	return out
}

func tableArray(v any) ([]map[string]any, bool) {
	switch x := v.(type) {
	case []map[string]any:
		return x, true
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, it := range x {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	return nil, false
}

var envvarKeys = []string{"name", "value", "from_env", "secret"}

func (t *tomlDecoder) envvars(path string, v any) []EnvvarSpec {
	items, ok := tableArray(v)
	if !ok {
		t.errAt(path, "expected an array of tables, got "+tomlKind(v), fmt.Sprintf(`write one [[%s]] table per variable, with name and value or from_env`, path))
		return nil
	}
	out := []EnvvarSpec{}
	seen := map[string]bool{}
	for i, it := range items {
		p := index(path, i)
		e := EnvvarSpec{line: tomlKeyLine(t.src, p)}
		good := true
		for _, k := range slices.Sorted(maps.Keys(it)) {
			kp := p + "." + k
			switch k {
			case "name":
				e.Name, ok = t.matching(kp, it[k], envvarNameRE, "invalid environment variable name %q: tool envvar names must match [A-Z_]+", "rename it with upper-case letters and underscores only")
				good = good && ok
			case "value":
				e.Value, ok = t.str(kp, it[k])
				good = good && ok
			case "from_env":
				e.FromEnv, ok = t.matching(kp, it[k], posixEnvRE, "%q is not an environment variable name", "give the variable's name (letters, digits, underscores), never its value")
				good = good && ok
			case "secret":
				b, ok := it[k].(bool)
				if !ok {
					t.errAt(kp, "expected true or false, got "+tomlKind(it[k]), "write true or false, unquoted")
					good = false
				}
				e.Secret = b
			default:
				t.errAt(kp, fmt.Sprintf("unknown key %q in an envvar", k), suggest(k, envvarKeys, "keys"))
				good = false
			}
		}
		_, hasValue := it["value"]
		_, hasFrom := it["from_env"]
		switch {
		case it["name"] == nil:
			t.errAt(p, "envvar has no name", `add name = "SOME_NAME"`)
			good = false
		case hasValue && hasFrom:
			t.errAt(p, fmt.Sprintf("envvar %s has both value and from_env", e.Name), "keep one: value for a literal, from_env to read it from the release job's environment")
			good = false
		case !hasValue && !hasFrom:
			t.errAt(p, fmt.Sprintf("envvar %s has neither value nor from_env", e.Name), `add value = "..." or from_env = "VARIABLE"`)
			good = false
		case e.Secret && hasValue:
			t.errAt(p+".value", fmt.Sprintf("secret envvar %s has a literal value in the file", e.Name), fmt.Sprintf(`never commit secrets: use from_env = "%s" and set that variable in the CI secret store`, e.Name))
			good = false
		}
		if good && seen[e.Name] {
			t.errAt(p, fmt.Sprintf("envvar %s is listed twice", e.Name), "keep one entry per name")
			good = false
		}
		if good {
			seen[e.Name] = true
			out = append(out, e)
		}
	}
	return out
}

var inputKeys = []string{"input_parameters", "invocation_mode", "nonsensitive_user_variables", "sensitive_user_variables"}

func (t *tomlDecoder) inputs(path string, v any) []amigo.Input {
	items, ok := tableArray(v)
	if !ok {
		t.errAt(path, "expected an array of tables, got "+tomlKind(v), fmt.Sprintf("write one [[%s]] table per input", path))
		return nil
	}
	if len(items) < 1 || len(items) > MaxTestInputs {
		t.errAt(path, fmt.Sprintf("%d test inputs: test-tool and invoke take 1 to %d", len(items), MaxTestInputs), "give between 1 and 10 inputs (remove the key to use one empty input)")
	}
	out := []amigo.Input{}
	for i, it := range items {
		p := index(path, i)
		in := amigo.Input{InvocationMode: amigo.InvocationModeRegular, InputParameters: map[string]any{},
			NonsensitiveUserVariables: map[string]string{}, SensitiveUserVariables: map[string]string{}}
		for _, k := range slices.Sorted(maps.Keys(it)) {
			kp := p + "." + k
			switch k {
			case "input_parameters":
				m, ok := it[k].(map[string]any)
				if !ok {
					t.errAt(kp, "expected a table of parameter names to values, got "+tomlKind(it[k]), `write input_parameters = { city = "Paris" }`)
					continue
				}
				if x, ok := t.jsonValue(kp, m, 0); ok {
					in.InputParameters = x.(map[string]any)
				}
			case "invocation_mode":
				if s, ok := t.str(kp, it[k]); ok {
					if !slices.Contains(invocationModes, s) {
						t.errAt(kp, fmt.Sprintf("unknown invocation mode %q", s), suggest(s, invocationModes, "modes"))
						continue
					}
					in.InvocationMode = amigo.InvocationMode(s)
				}
			case "nonsensitive_user_variables", "sensitive_user_variables":
				m, ok := it[k].(map[string]any)
				if !ok {
					t.errAt(kp, "expected a table of strings, got "+tomlKind(it[k]), `write { name = "value" }`)
					continue
				}
				vars := map[string]string{}
				for _, vk := range slices.Sorted(maps.Keys(m)) {
					if s, ok := t.str(kp+"."+vk, m[vk]); ok {
						vars[vk] = s
					}
				}
				if k == "sensitive_user_variables" {
					in.SensitiveUserVariables = vars
				} else {
					in.NonsensitiveUserVariables = vars
				}
			default:
				t.errAt(kp, fmt.Sprintf("unknown key %q in a test input", k), suggest(k, inputKeys, "keys"))
			}
		}
		out = append(out, in)
	}
	return out
}

// jsonValue converts TOML values into what encoding/json sends; TOML dates
// and times become an error (say them as strings).
func (t *tomlDecoder) jsonValue(path string, v any, depth int) (any, bool) {
	if depth > 32 {
		t.errAt(path, "value is nested more than 32 levels deep", "flatten the input parameters")
		return nil, false
	}
	switch x := v.(type) {
	case string, bool, int64:
		return x, true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			t.errAt(path, "inf and nan cannot be sent as JSON", "use a finite number or a string")
			return nil, false
		}
		return x, true
	case map[string]any:
		out := make(map[string]any, len(x))
		good := true
		for _, k := range slices.Sorted(maps.Keys(x)) {
			y, ok := t.jsonValue(path+"."+k, x[k], depth+1)
			good = good && ok
			out[k] = y
		}
		return out, good
	case []map[string]any:
		return jsonArray(t, path, x, depth)
	case []any:
		return jsonArray(t, path, x, depth)
	}
	t.errAt(path, tomlKind(v)+" cannot be sent as JSON", "write dates and times as quoted strings")
	return nil, false
}

// jsonArray converts each item of a TOML array (of values or of tables)
// with jsonValue.
func jsonArray[E any](t *tomlDecoder, path string, items []E, depth int) ([]any, bool) {
	out := make([]any, 0, len(items))
	good := true
	for i, it := range items {
		y, ok := t.jsonValue(index(path, i), it, depth+1)
		good = good && ok
		out = append(out, y)
	}
	return out, good
}
