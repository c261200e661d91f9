package amigotest

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	"github.com/amigo-release/amigo-release/internal/bounds"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	gitobj "github.com/go-git/go-git/v5/plumbing/object"
)

// project is a tool project read at a commit: the contract it declares in
// the [tool.amigo] table of its pyproject.toml.
type project struct {
	Commit                string
	Directory             string // project_path, without surrounding slashes
	Name                  string // [project].name, else the directory's base name
	RequiredEnvvars       []string
	RequiredSecretEnvvars []string
	InputSchema           map[string]any
	BuildError            string
}

// notFoundError is a missing branch, commit or project directory (404).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// buildError is a project that fails to build (400).
type buildError struct{ msg string }

func (e *buildError) Error() string { return e.msg }

// repoReader reads projects from the local git repository at path. It opens
// the repository per read so that commits made meanwhile are seen.
type repoReader struct {
	path string
	mu   sync.Mutex // go-git repositories are not safe for concurrent use
}

func (rr *repoReader) open() (*git.Repository, error) {
	repo, err := git.PlainOpenWithOptions(rr.path, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, fmt.Errorf("emulator: open tools repository %s: %w", rr.path, err)
	}
	return repo, nil
}

func branchTip(repo *git.Repository, branch string) (*gitobj.Commit, error) {
	for _, name := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(branch), plumbing.NewRemoteReferenceName("origin", branch)} {
		ref, err := repo.Reference(name, true)
		if err != nil {
			continue
		}
		return repo.CommitObject(ref.Hash())
	}
	return nil, &notFoundError{fmt.Sprintf("The branch %q does not exist in the tools repository.", branch)}
}

// read returns the project at projectPath on the tip of branch.
func (rr *repoReader) read(branch, projectPath string) (*project, error) {
	if rr == nil {
		return nil, &notFoundError{"The tools repository does not exist (the emulator was started without a repository: Options.RepoPath / --repo)."}
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	repo, err := rr.open()
	if err != nil {
		return nil, err
	}
	commit, err := branchTip(repo, branch)
	if err != nil {
		return nil, err
	}
	return readProject(commit, projectPath)
}

// isOlder reports whether commit a is a strict ancestor of commit b (both
// hex hashes). Unknown commits are not older.
func (rr *repoReader) isOlder(a, b string) bool {
	if rr == nil || a == b || a == "" || b == "" {
		return false
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	repo, err := rr.open()
	if err != nil {
		return false
	}
	ca, err := repo.CommitObject(plumbing.NewHash(a))
	if err != nil {
		return false
	}
	cb, err := repo.CommitObject(plumbing.NewHash(b))
	if err != nil {
		return false
	}
	ok, err := ca.IsAncestor(cb)
	return err == nil && ok
}

var envNameRe = regexp.MustCompile(`^[A-Z_]+$`)

func readProject(commit *gitobj.Commit, projectPath string) (*project, error) {
	dir := strings.Trim(projectPath, "/")
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("emulator: reading tree of %s: %w", commit.Hash, err)
	}
	sub, err := tree.Tree(dir)
	if err != nil {
		return nil, &notFoundError{fmt.Sprintf("The project directory %q does not exist at commit %s.", dir, commit.Hash)}
	}
	p := &project{Commit: commit.Hash.String(), Directory: dir, Name: path.Base(dir),
		RequiredEnvvars: []string{}, RequiredSecretEnvvars: []string{}, InputSchema: map[string]any{}}
	f, err := sub.File("pyproject.toml")
	if err != nil {
		return nil, &buildError{fmt.Sprintf("Tool build failed: %s/pyproject.toml is missing at commit %s.", dir, commit.Hash)}
	}
	text, err := f.Contents()
	if err != nil {
		return nil, fmt.Errorf("emulator: reading %s/pyproject.toml: %w", dir, err)
	}
	if err := p.parse(text); err != nil {
		return nil, &buildError{fmt.Sprintf("Tool build failed: %s/pyproject.toml at commit %s: %v", dir, commit.Hash, err)}
	}
	return p, nil
}

// parse reads [project].name and the [tool.amigo] table.
func (p *project) parse(text string) error {
	var doc struct {
		Project struct {
			Name string `toml:"name"`
		} `toml:"project"`
		Tool struct {
			Amigo map[string]any `toml:"amigo"`
		} `toml:"tool"`
	}
	if err := bounds.TOML([]byte(text)); err != nil {
		return err
	}
	if _, err := toml.Decode(text, &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return err
	}
	if doc.Project.Name != "" {
		p.Name = doc.Project.Name
	}
	a := doc.Tool.Amigo
	for _, k := range slices.Sorted(maps.Keys(a)) {
		v := a[k]
		switch k {
		case "required_envvars", "required_secret_envvars":
			names, err := envNames(v)
			if err != nil {
				return fmt.Errorf("[tool.amigo] %s: %v", k, err)
			}
			if k == "required_envvars" {
				p.RequiredEnvvars = names
			} else {
				p.RequiredSecretEnvvars = names
			}
		case "input_schema":
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("[tool.amigo] input_schema: want a table, got %T", v)
			}
			if err := checkSchemaDecl(m); err != nil {
				return fmt.Errorf("[tool.amigo] input_schema: %v", err)
			}
			p.InputSchema = normalizeTOML(m).(map[string]any)
		case "build_error":
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("[tool.amigo] build_error: want a string, got %T", v)
			}
			p.BuildError = s
		default:
			return fmt.Errorf("[tool.amigo] has unknown key %q (known: required_envvars, required_secret_envvars, input_schema, build_error)", k)
		}
	}
	for _, n := range p.RequiredEnvvars {
		if slices.Contains(p.RequiredSecretEnvvars, n) {
			return fmt.Errorf("[tool.amigo]: %s is listed both in required_envvars and required_secret_envvars", n)
		}
	}
	return nil
}

func envNames(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want an array of names, got %T", v)
	}
	out := []string{}
	for i, x := range list {
		s, ok := x.(string)
		if !ok || !envNameRe.MatchString(s) {
			return nil, fmt.Errorf("item %d (%v) is not a name matching ^[A-Z_]+$", i, x)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

var schemaTypes = []string{"string", "integer", "number", "boolean", "object", "array", "null"}

// checkSchemaDecl checks the parts of an input schema the emulator
// enforces: "required" is a list of strings and each property's "type" is a
// JSON-schema type name (or a list of them).
func checkSchemaDecl(m map[string]any) error {
	if r, ok := m["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return fmt.Errorf("required: want an array of property names, got %T", r)
		}
		for i, x := range list {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("required[%d]: want a string, got %T", i, x)
			}
		}
	}
	if pr, ok := m["properties"]; ok {
		props, ok := pr.(map[string]any)
		if !ok {
			return fmt.Errorf("properties: want a table, got %T", pr)
		}
		for _, name := range slices.Sorted(maps.Keys(props)) {
			prop, ok := props[name].(map[string]any)
			if !ok {
				return fmt.Errorf("properties.%s: want a table, got %T", name, props[name])
			}
			if _, err := typeNames(prop["type"]); err != nil {
				return fmt.Errorf("properties.%s.type: %v", name, err)
			}
		}
	}
	return nil
}

func typeNames(v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !slices.Contains(schemaTypes, t) {
			return nil, fmt.Errorf("unknown type %q (use one of %s)", t, strings.Join(schemaTypes, ", "))
		}
		return []string{t}, nil
	case []any:
		var out []string
		for _, x := range t {
			n, err := typeNames(x)
			if err != nil {
				return nil, err
			}
			out = append(out, n...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a type name or a list of them, got %T", v)
}

// normalizeTOML converts TOML-decoded values into JSON-shaped ones
// (int64 → float64-compatible numbers are kept as int64, maps stay maps).
func normalizeTOML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalizeTOML(x)
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalizeTOML(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalizeTOML(x)
		}
		return out
	default:
		return v
	}
}

// validateInput checks input parameters against an input schema: every
// "required" key is present and every declared property has its "type".
// It returns one message per violation.
func validateInput(schema, params map[string]any) []string {
	var out []string
	if req, ok := schema["required"].([]any); ok {
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := params[name]; !ok {
				out = append(out, fmt.Sprintf("%s: field required", name))
			}
		}
	}
	props, _ := schema["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(props)) {
		prop, _ := props[name].(map[string]any)
		v, present := params[name]
		if !present || prop == nil {
			continue
		}
		types, _ := typeNames(prop["type"])
		if len(types) == 0 {
			continue
		}
		ok := false
		for _, t := range types {
			if jsonType(v, t) {
				ok = true
			}
		}
		if !ok {
			out = append(out, fmt.Sprintf("%s: want %s, got %s", name, strings.Join(types, " or "), describe(v)))
		}
	}
	return out
}

func jsonType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "null":
		return v == nil
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
