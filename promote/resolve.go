package promote

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/amigo-release/amigo-release/amigo"
)

// ToolSettings is everything a tool is released with, merged from the plan,
// the project's metadata and the defaults (see Resolve).
type ToolSettings struct {
	Name        string
	Description string
	// Tags maps a tag key to its value (nil: a tag without value), the shape
	// of amigo.CreateToolRequest.Tags.
	Tags map[string]*string
	// Envvars, sorted by name, with their values resolved.
	Envvars []Envvar
	// TestInputs are the inputs of the test gate and the smoke invoke (1–10).
	TestInputs []amigo.Input
	// SkipStages lists the stages this tool is not released to.
	SkipStages []string
	// Stages are the plan's stages in DAG order without the skipped ones.
	Stages []Stage
	// RequiredEnvvars and RequiredSecretEnvvars are the tool's runtime
	// contract from [tool.amigo] (copied from ProjectMeta).
	RequiredEnvvars       []string
	RequiredSecretEnvvars []string
}

// Envvar is a tool environment variable with its value resolved.
type Envvar struct {
	Name   string
	Value  string
	Secret bool
	// Source says where the setting came from, for messages: e.g.
	// ".amigo/release.yaml:88 (from $WEATHER_API_KEY_PROD)" or
	// "tools/weather/pyproject.toml [tool.amigo-release]". Never a value.
	Source string
}

// Skips reports whether the tool skips the named stage.
func (s ToolSettings) Skips(stage string) bool { return slices.Contains(s.SkipStages, stage) }

// SecretValues returns the non-empty values of the secret envvars, for the
// faces to mask.
func (s ToolSettings) SecretValues() []string {
	var out []string
	for _, e := range s.Envvars {
		if e.Secret && e.Value != "" {
			out = append(out, e.Value)
		}
	}
	return out
}

// Envvar returns the configured envvar with that name.
func (s ToolSettings) Envvar(name string) (Envvar, bool) {
	for _, e := range s.Envvars {
		if e.Name == name {
			return e, true
		}
	}
	return Envvar{}, false
}

// MissingEnvvars returns, sorted, the required envvars (both lists of the
// runtime contract) that are neither configured in s nor named in onTool
// (the envvars already on the live tool). A publish would be refused for
// them.
func (s ToolSettings) MissingEnvvars(onTool []string) []string {
	var out []string
	for _, n := range append(append([]string(nil), s.RequiredEnvvars...), s.RequiredSecretEnvvars...) {
		if _, ok := s.Envvar(n); ok || slices.Contains(onTool, n) || slices.Contains(out, n) {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Resolve merges the settings of one tool, field by field:
//
//  1. the plan's tools.<name> entry,
//  2. the project's [tool.amigo-release] table (meta),
//  3. defaults: description from [project].description, else
//     "Amigo tool <name>"; no tags; no envvars; one test input with empty
//     input_parameters; no skipped stages.
//
// Tags and envvars merge per key/name across 1 and 2 (the plan wins); a
// required secret envvar ([tool.amigo] required_secret_envvars) is always
// marked secret. test_inputs and skip_stages are taken whole from the first
// level that sets them. Values with from_env are read with getenv; an empty
// or unset variable is an error naming it. Unknown stage names in
// skip_stages are errors. Errors match ErrInvalid and never contain a
// value.
func (p *Plan) Resolve(tool string, meta ProjectMeta, getenv func(string) string) (ToolSettings, error) {
	l := errorList{file: p.File}
	if !toolNameRE.MatchString(tool) {
		l.add(0, 0, "", fmt.Sprintf("invalid tool name %q: the API accepts only ^[a-z0-9_]+$", tool),
			fmt.Sprintf("name the project %q in [project].name, or map its path in discovery.names", normalizeToolName(tool)))
		return ToolSettings{}, l.err()
	}
	tc := p.Tools[tool]
	metaWhere := meta.File + " [" + MetaTable + "]"
	s := ToolSettings{
		Name:                  tool,
		RequiredEnvvars:       append([]string(nil), meta.RequiredEnvvars...),
		RequiredSecretEnvvars: append([]string(nil), meta.RequiredSecretEnvvars...),
	}

	switch {
	case tc.Description != nil:
		s.Description = *tc.Description
	case strings.TrimSpace(meta.Description) != "":
		s.Description = meta.Description
	case strings.TrimSpace(meta.ProjectDescription) != "":
		s.Description = meta.ProjectDescription
	default:
		s.Description = "Amigo tool " + tool
	}

	s.Tags = map[string]*string{}
	for k, v := range meta.Tags {
		s.Tags[k] = v
	}
	for k, v := range tc.Tags {
		s.Tags[k] = v
	}
	if len(s.Tags) > MaxTags {
		l.add(0, 0, "tools."+tool+".tags", fmt.Sprintf("%d tags after merging the plan and %s: the API accepts at most %d", len(s.Tags), metaWhere, MaxTags), "remove some tags")
	}

	type specAt struct {
		spec  EnvvarSpec
		where string
		file  string
	}
	specs := map[string]specAt{}
	for _, e := range meta.Envvars {
		specs[e.Name] = specAt{e, metaWhere, meta.File}
	}
	for _, e := range tc.Envvars {
		specs[e.Name] = specAt{e, fmt.Sprintf("%s:%d", p.File, e.line), p.File}
	}
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		sa := specs[name]
		e := Envvar{Name: name, Secret: sa.spec.Secret || slices.Contains(meta.RequiredSecretEnvvars, name), Source: sa.where}
		if sa.spec.FromEnv != "" {
			e.Source += " (from $" + sa.spec.FromEnv + ")"
			e.Value = getenv(sa.spec.FromEnv)
			if e.Value == "" {
				l.errs = append(l.errs, &Error{File: sa.file, Line: sa.spec.line, Column: sa.spec.col,
					Path: fmt.Sprintf("tool %s envvar %s", tool, name),
					Msg:  fmt.Sprintf("environment variable %s is not set (or empty)", sa.spec.FromEnv),
					Fix:  fmt.Sprintf("set %s in the release job's environment (in CI, from the secret store)", sa.spec.FromEnv)})
				continue
			}
		} else {
			e.Value = sa.spec.Value
			if e.Secret {
				l.errs = append(l.errs, &Error{File: sa.file, Line: sa.spec.line, Column: sa.spec.col,
					Path: fmt.Sprintf("tool %s envvar %s", tool, name),
					Msg:  fmt.Sprintf("%s is a required secret of the tool ([tool.amigo] required_secret_envvars) but has a literal value", name),
					Fix:  fmt.Sprintf("move the value to the CI secret store and use from_env: %s", name)})
				continue
			}
		}
		s.Envvars = append(s.Envvars, e)
	}

	switch {
	case tc.TestInputs != nil:
		s.TestInputs = tc.TestInputs
	case meta.TestInputs != nil:
		s.TestInputs = meta.TestInputs
	default:
		s.TestInputs = []amigo.Input{{InputParameters: map[string]any{}, InvocationMode: amigo.InvocationModeRegular,
			NonsensitiveUserVariables: map[string]string{}, SensitiveUserVariables: map[string]string{}}}
	}

	switch {
	case tc.SkipStages != nil:
		s.SkipStages = tc.SkipStages // checked by Parse
	case meta.SkipStages != nil:
		for i, name := range meta.SkipStages {
			if _, ok := p.Stage(name); !ok {
				l.errs = append(l.errs, &Error{File: meta.File, Line: meta.line(index(MetaTable+".skip_stages", i)), Path: index(MetaTable+".skip_stages", i),
					Msg: fmt.Sprintf("unknown stage %q", name), Fix: suggest(name, p.StageNames(), "stage names of "+p.File)})
				continue
			}
			s.SkipStages = append(s.SkipStages, name)
		}
	}
	if s.SkipStages == nil {
		s.SkipStages = []string{}
	}
	for _, st := range p.Order() {
		if !s.Skips(st.Name) {
			s.Stages = append(s.Stages, st)
		}
	}
	if err := l.err(); err != nil {
		return ToolSettings{}, err
	}
	return s, nil
}

// ToolName returns the tool name of the project at projectPath (relative to
// the repository root, '/'-separated): discovery.names when it maps the
// path, else [project].name lower-cased with '-', '.' and ' ' turned into
// '_' (as Python normalises distribution names). The result always matches
// ^[a-z0-9_]+$, or the error says how to fix it.
func (p *Plan) ToolName(projectPath string, meta ProjectMeta) (string, error) {
	projectPath = strings.Trim(projectPath, "/")
	if n, ok := p.Discovery.Names[projectPath]; ok {
		return n, nil
	}
	if meta.Name == "" {
		return "", &Error{File: meta.File, Path: "project.name", Msg: "the project has no [project].name",
			Fix: fmt.Sprintf("add name = \"...\" under [project], or map %q to a tool name in discovery.names of %s", projectPath, p.File)}
	}
	n := strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ':
			return '_'
		}
		return r
	}, strings.ToLower(meta.Name))
	if !toolNameRE.MatchString(n) {
		return "", &Error{File: meta.File, Path: "project.name",
			Msg: fmt.Sprintf("[project].name %q does not give a valid tool name (^[a-z0-9_]+$)", meta.Name),
			Fix: fmt.Sprintf("map %q to a tool name in discovery.names of %s, e.g. %q", projectPath, p.File, normalizeToolName(meta.Name))}
	}
	return n, nil
}
