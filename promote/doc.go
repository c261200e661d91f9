// Package promote reads the release plan file (default .amigo/release.yaml)
// and the per-project release metadata, and answers the questions the
// pipeline asks of them: which stages, in which order, with which gates and
// credentials, and which settings a tool is released with.
//
// # The plan file
//
// Load (or Parse) decodes the YAML strictly with gopkg.in/yaml.v3 through a
// yaml.Node tree, so every problem carries file:line:column, what is wrong
// and the fix: unknown keys (with a "did you mean"), wrong types, duplicate
// keys and stage names, unknown or cyclic needs (the cycle is printed),
// unknown regions (the valid ones are listed), region and base_url both or
// neither set, invalid tool names (^[a-z0-9_]+$), envvar names not [A-Z_]+,
// bad durations ("10m"), out-of-range numbers and bad on_failure values.
// Several problems are reported at once as Errors; a single one as *Error;
// both match ErrInvalid. Files over MaxFileSize, YAML aliases and more than
// one document are rejected before decoding. REFERENCE.md documents every
// key; Schema returns the JSON Schema (draft 2020-12) for editors.
//
// The API:
//
//	func Load(path string) (*Plan, error)                 // "" means DefaultPath
//	func Parse(filename string, data []byte) (*Plan, error)
//	func (p *Plan) Order() []Stage                        // DAG order, stable by file order
//	func (p *Plan) Stage(name string) (Stage, bool)
//	func (p *Plan) StageNames() []string                  // file order
//	func (p *Plan) Dependents(name string) []string       // stages that need name
//	func (p *Plan) CheckCredentials(getenv func(string) string) error
//	func (p *Plan) SecretEnvNames() []string              // mask these variables' values
//	func (p *Plan) Resolve(tool string, meta ProjectMeta, getenv func(string) string) (ToolSettings, error)
//	func (s Stage) Pinned(tool string, v amigo.Version) bool
//	func (p *Plan) ToolName(projectPath string, meta ProjectMeta) (string, error)
//	func (s ToolSettings) Skips(stage string) bool
//	func (s ToolSettings) SecretValues() []string        // mask these values
//	func (s ToolSettings) Envvar(name string) (Envvar, bool)
//	func (s ToolSettings) MissingEnvvars(onTool []string) []string
//	func LoadProjectMeta(dir string) (ProjectMeta, error) // dir/pyproject.toml
//	func ParseProjectMeta(file string, data []byte) (ProjectMeta, error)
//	func MatchGlob(pattern, path string) bool             // discovery globs ("**" aware)
//	func Schema() []byte                                  // schema.json
//
// Every Plan from Parse has its defaults applied: each Stage has a BaseURL,
// an Organization, a Branch, all three credential variable names, Needs
// (the previous stage when not written; `needs: []` makes a root), an
// OnFailure policy, an ActiveCap and a Concurrency. Durations are
// time.Duration values; pinned versions are amigo.Version values.
//
// # Project metadata
//
// A project's release metadata lives in one place: the [tool.amigo-release]
// table of its pyproject.toml (description, tags, envvars, test_inputs,
// skip_stages). LoadProjectMeta reads it, together with [project].name and
// [project].description and, read-only, the [tool.amigo] table that is the
// tool's runtime contract (required_envvars, required_secret_envvars,
// input_schema).
//
// Resolve merges, field by field, with this precedence: the plan's
// tools.<name> entry, then [tool.amigo-release], then defaults
// ([project].description, one test input with empty input_parameters). Tags
// and envvars merge per key/name (the plan wins); test_inputs and
// skip_stages are replaced as a whole. Envvar values with from_env are read
// from the environment at Resolve time; a missing variable is an error.
//
// Nothing in this package prints or logs; no error message contains a
// secret value.
package promote
