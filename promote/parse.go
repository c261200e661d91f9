package promote

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amigo-release/amigo-release/amigo"
	"gopkg.in/yaml.v3"
)

// Parse decodes and validates a plan. filename is used in error messages
// only. Every problem found is reported with its file:line:column and a fix;
// several problems come back together as Errors. Both *Error and Errors
// match ErrInvalid.
func Parse(filename string, data []byte) (*Plan, error) {
	if filename == "" {
		filename = DefaultPath
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(filename)
	}
	if n := yamlNodeBound(data); n > MaxPlanNodes {
		return nil, &Error{File: filename, Msg: fmt.Sprintf("more than %d YAML values and separators (the limit)", MaxPlanNodes),
			Fix: "a release plan is a few kilobytes: check that the path names the plan file, and move per-tool settings into each project's pyproject.toml"}
	}
	root, err := parseYAML(filename, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{errorList: errorList{file: filename}}
	p := &Plan{File: filename, Tools: map[string]ToolConfig{}}
	r := &rawPlan{}
	d.object(root, "", "the plan", d.planFields(p, r))
	d.finish(root, p, r)
	if err := d.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// MaxPlanNodes bounds yamlNodeBound: the YAML decoder keeps a node of
// about 200 bytes for every value of a plan, so a megabyte of "[1,1,1,…"
// would take it past 100 MB.
const MaxPlanNodes = 250_000

// yamlNodeBound is an upper bound on the nodes the YAML decoder makes of
// data: every value starts a line, follows a ',' or a ': ', is a
// sequence item ("- ") or opens a flow collection. It counts those
// anywhere, quoted text and comments included (which only makes the bound
// higher), so nothing can hide values from it.
func yamlNodeBound(data []byte) int {
	n := 1
	for i, c := range data {
		switch c {
		case '\n', ',', '[', '{':
			n++
		case ':', '-', '?':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\t' || data[i+1] == '\r' {
				n++
			}
		}
	}
	return n
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlParserProblems are the messages of yaml.v3's parser errors, whose line
// numbers are 0-based (its scanner errors are 1-based).
var yamlParserProblems = []string{"did not find expected", "found undefined tag handle", "found duplicate %TAG directive"}

// parseYAML reads exactly one YAML document into a node tree and rejects
// aliases (anchor bombs, and hidden sharing in a file meant to be read).
func parseYAML(filename string, data []byte) (*yaml.Node, error) {
	empty := &Error{File: filename, Line: 1, Msg: "the plan file is empty",
		Fix: "add at least `stages:` with one stage (see promote/REFERENCE.md for a complete example)"}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, empty
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty
		}
		return nil, yamlError(filename, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: filename, Line: extra.Line, Column: extra.Column,
			Msg: "the file holds more than one YAML document", Fix: "remove the `---` separator and keep one plan per file"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(filename, data, err)
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].ShortTag() == "!!null") {
		return nil, empty
	}
	// Reject aliases before anything can expand them; report the first one
	// in the file. The walk visits each parsed node once (aliases are leaves).
	var first *yaml.Node
	stack := []*yaml.Node{doc.Content[0]}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Kind == yaml.AliasNode && (first == nil || n.Line < first.Line || n.Line == first.Line && n.Column < first.Column) {
			first = n
		}
		stack = append(stack, n.Content...)
	}
	if first != nil {
		return nil, &Error{File: filename, Line: first.Line, Column: first.Column,
			Msg: fmt.Sprintf("YAML aliases (*%s) are not supported in a plan file", first.Value),
			Fix: "write the values out in full; stage settings shared by all stages go under defaults:"}
	}
	return doc.Content[0], nil
}

func yamlError(filename string, data []byte, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// yaml.v3 counts lines from 0 for parser (not scanner) errors.
	for _, p := range yamlParserProblems {
		if strings.HasPrefix(msg, p) {
			line++
			break
		}
	}
	if strings.Contains(msg, "cannot start any token") {
		lines := strings.Split(string(data), "\n")
		for i, l := range lines {
			if (line == 0 || i+1 == line) && strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
				line = i + 1
				msg += " (a tab in the indentation)"
				break
			}
		}
	}
	return &Error{File: filename, Line: line, Msg: "not valid YAML: " + msg,
		Fix: "check the indentation (spaces, not tabs) and quoting on that line"}
}

// rawPlan keeps what the decoder saw, for defaults and cross-checks.
type rawPlan struct {
	stagesNode   *yaml.Node
	stages       []*rawStage
	defaultsSet  map[string]*yaml.Node
	defCredsSet  map[string]*yaml.Node
	versionNode  *yaml.Node
	bumpTypes    map[string]string
	toolSkipNode map[string][]*yaml.Node // tool → skip_stages item nodes
}

// rawStage is a stage as written, before defaults.
type rawStage struct {
	Stage
	node      *yaml.Node
	set       map[string]*yaml.Node
	credsSet  map[string]*yaml.Node
	nameNode  *yaml.Node
	needsNode []*yaml.Node
	// hadErrors: some key of the stage was wrong (unknown, mistyped), so
	// "missing key" checks would only add noise.
	hadErrors bool
}

func (d *decoder) planFields(p *Plan, r *rawPlan) fieldMap {
	return fieldMap{
		"version": func(path string, v *yaml.Node) {
			r.versionNode = v
			if n, ok := d.integer(path, v, 1, 1<<30); ok {
				if n != 1 {
					d.errAt(v, path, fmt.Sprintf("plan format version %d is not supported by this release of amigo-release", n), "write `version: 1`, or upgrade amigo-release")
				}
				p.Version = n
			}
		},
		"discovery": func(path string, v *yaml.Node) {
			d.object(v, path, "discovery", d.discoveryFields(&p.Discovery, r))
		},
		"publish": func(path string, v *yaml.Node) {
			d.object(v, path, "publish", d.publishFields(&p.Publish))
		},
		"records": func(path string, v *yaml.Node) {
			d.object(v, path, "records", d.recordsFields(&p.Records))
		},
		"defaults": func(path string, v *yaml.Node) {
			r.defaultsSet = d.object(v, path, "defaults", d.defaultsFields(&p.Defaults, r))
		},
		"stages": func(path string, v *yaml.Node) {
			r.stagesNode = v
			d.list(v, path, "stages", func(i int, sv *yaml.Node) {
				if sv.ShortTag() == "!!null" {
					d.errAt(sv, index(path, i), "the stage is empty", "give it at least name, region (or base_url) and organization")
					return
				}
				rs := &rawStage{node: sv}
				before := len(d.errs)
				rs.set = d.object(sv, index(path, i), "a stage", d.stageFields(rs))
				rs.hadErrors = len(d.errs) > before
				r.stages = append(r.stages, rs)
			})
		},
		"tools": func(path string, v *yaml.Node) {
			if r.toolSkipNode == nil {
				r.toolSkipNode = map[string][]*yaml.Node{}
			}
			d.entries(v, path, "tools", func(name string, k, tv *yaml.Node) {
				if !d.toolName(join(path, name), k, name) {
					return
				}
				var tc ToolConfig
				var skipNodes []*yaml.Node
				d.object(tv, join(path, name), "a tool", d.toolFields(&tc, &skipNodes))
				tc.line, tc.col = k.Line, k.Column
				p.Tools[name] = tc
				r.toolSkipNode[name] = skipNodes
			})
		},
	}
}

func (d *decoder) discoveryFields(x *Discovery, r *rawPlan) fieldMap {
	return fieldMap{
		"roots": func(path string, v *yaml.Node) {
			x.Roots = d.strList(path, v, "roots", d.relPath)
		},
		"include": func(path string, v *yaml.Node) {
			x.Include = d.strList(path, v, "include globs", d.glob)
		},
		"exclude": func(path string, v *yaml.Node) {
			x.Exclude = d.strList(path, v, "exclude globs", d.glob)
		},
		"shared": func(path string, v *yaml.Node) {
			x.Shared = map[string][]string{}
			d.entries(v, path, "shared", func(glob string, k, lv *yaml.Node) {
				p := join(path, glob)
				if !d.glob(p, k, glob) {
					return
				}
				x.Shared[glob] = d.strList(p, lv, "tool names", func(ip string, iv *yaml.Node, s string) bool {
					return s == "*" || d.toolName(ip, iv, s)
				})
			})
		},
		"names": func(path string, v *yaml.Node) {
			x.Names = map[string]string{}
			d.entries(v, path, "names", func(dir string, k, nv *yaml.Node) {
				p := join(path, dir)
				if !d.relPath(p, k, dir) {
					return
				}
				if s, ok := d.str(p, nv); ok && d.toolName(p, nv, s) {
					x.Names[strings.TrimSuffix(dir, "/")] = s
				}
			})
		},
		"bump": func(path string, v *yaml.Node) {
			d.object(v, path, "bump", d.bumpFields(&x.Bump, r))
		},
	}
}

var bumpValues = []string{"major", "minor", "patch", "none"}

func (d *decoder) bumpFields(x *Bump, r *rawPlan) fieldMap {
	return fieldMap{
		"types": func(path string, v *yaml.Node) {
			r.bumpTypes = map[string]string{}
			d.entries(v, path, "bump types", func(typ string, k, bv *yaml.Node) {
				p := join(path, typ)
				if !regexp.MustCompile(`^[a-z][a-z0-9-]*$`).MatchString(typ) {
					d.errAt(k, p, fmt.Sprintf("%q is not a Conventional Commit type", typ), "use a lower-case word such as feat, fix, perf, refactor, docs")
					return
				}
				if s, ok := d.str(p, bv); ok {
					if !slices.Contains(bumpValues, s) {
						d.errAt(bv, p, fmt.Sprintf("unknown bump %q", s), suggest(s, bumpValues, "bumps"))
						return
					}
					r.bumpTypes[typ] = s
				}
			})
		},
		"non_conventional": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				if s != "patch" && s != "none" {
					d.errAt(v, path, fmt.Sprintf("%q is not allowed here", s), `use "patch" (release every commit) or "none" (ignore non-conventional messages)`)
					return
				}
				x.NonConventional = s
			}
		},
	}
}

func (d *decoder) publishFields(x *Publish) fieldMap {
	return fieldMap{
		"retry_budget": func(path string, v *yaml.Node) {
			if t, ok := d.duration(path, v, 0, 24*time.Hour); ok {
				x.RetryBudget = t
			}
		},
		"initial_interval": func(path string, v *yaml.Node) {
			if t, ok := d.duration(path, v, time.Second, time.Hour); ok {
				x.InitialInterval = t
			}
		},
		"max_interval": func(path string, v *yaml.Node) {
			if t, ok := d.duration(path, v, time.Second, time.Hour); ok {
				x.MaxInterval = t
			}
		},
		"timeout": func(path string, v *yaml.Node) {
			if t, ok := d.duration(path, v, 6*time.Minute, 2*time.Hour); ok {
				x.Timeout = t
			}
		},
		"repo": d.setNonEmpty(&x.Repo, "remove the key, or give the repository the Amigo team branch lives in"),
		"deprecate_untested": func(path string, v *yaml.Node) {
			x.DeprecateUntested, _ = d.boolean(path, v)
		},
	}
}

var onFailureValues = []string{OnFailureHalt, OnFailureHaltTool, OnFailureContinue}

func (d *decoder) onFailure(path string, v *yaml.Node) (string, bool) {
	s, ok := d.str(path, v)
	if !ok {
		return "", false
	}
	if !slices.Contains(onFailureValues, s) {
		d.errAt(v, path, fmt.Sprintf("unknown failure policy %q", s),
			suggest(s, onFailureValues, "policies")+` (halt: stop the whole run; halt_tool: stop this tool's later stages; continue: go on to later stages)`)
		return "", false
	}
	return s, true
}

func (d *decoder) defaultsFields(x *Defaults, r *rawPlan) fieldMap {
	return fieldMap{
		"branch":       d.setNonEmpty(&x.Branch, fixBranch),
		"organization": d.organization(&x.Organization),
		"credentials": func(path string, v *yaml.Node) {
			r.defCredsSet = d.object(v, path, "credentials", d.credentialsFields(&x.Credentials))
		},
		"active_cap": func(path string, v *yaml.Node) {
			if n, ok := d.integer(path, v, 1, MaxActiveCap); ok {
				x.ActiveCap = n
			}
		},
		"concurrency": func(path string, v *yaml.Node) {
			if n, ok := d.integer(path, v, 1, MaxConcurrency); ok {
				x.Concurrency = n
			}
		},
		"on_failure": func(path string, v *yaml.Node) {
			if s, ok := d.onFailure(path, v); ok {
				x.OnFailure = s
			}
		},
	}
}

// The fixes for organization and branch, which defaults and every stage take.
const (
	fixOrganization = "give the Amigo organization id"
	fixBranch       = "name the team branch that test-tool builds, e.g. main"
)

// organization decodes an organization id: non-empty, and one the client
// can put in a request's path (amigo.CheckOrganization).
func (d *decoder) organization(dst *string) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) {
		s, ok := d.nonEmpty(path, v, fixOrganization)
		if !ok {
			return
		}
		if err := amigo.CheckOrganization(s); err != nil {
			d.errAt(v, path, fmt.Sprintf("organization %q %v", s, err), "give the bare Amigo organization id: it goes into every request's path")
			return
		}
		*dst = s
	}
}

// setNonEmpty returns a field decoder that stores a non-empty string in
// *dst; anything else is reported with fix and leaves *dst as it was.
func (d *decoder) setNonEmpty(dst *string, fix string) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) {
		if s, ok := d.nonEmpty(path, v, fix); ok {
			*dst = s
		}
	}
}

func (d *decoder) credentialsFields(x *Credentials) fieldMap {
	ref := func(dst *string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok && d.envRef(path, v, s) {
				*dst = s
			}
		}
	}
	return fieldMap{
		"api_key_env":    ref(&x.APIKeyEnv),
		"api_key_id_env": ref(&x.APIKeyIDEnv),
		"user_id_env":    ref(&x.UserIDEnv),
		"token_env":      ref(&x.TokenEnv),
	}
}

func (d *decoder) stageFields(rs *rawStage) fieldMap {
	x := &rs.Stage
	return fieldMap{
		"name": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				if !stageNameRE.MatchString(s) {
					d.errAt(v, path, fmt.Sprintf("invalid stage name %q", s), "use 1–64 letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. us, eu-central-1)")
					return
				}
				x.Name = s
				rs.nameNode = v
			}
		},
		"region": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				u, known := amigo.RegionURL(s)
				if !known {
					d.errAt(v, path, fmt.Sprintf("unknown region %q", s), suggest(s, regionNames(), "regions")+", or set base_url instead")
					return
				}
				x.Region, x.BaseURL = s, u
			}
		},
		"base_url": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
					d.errAt(v, path, fmt.Sprintf("%q is not an absolute http(s) URL", s), `write the server's root, e.g. "https://api.amigo.ai" or "http://127.0.0.1:8080" for the emulator`)
					return
				}
				x.BaseURL = strings.TrimSuffix(s, "/")
			}
		},
		"organization": d.organization(&x.Organization),
		"branch":       d.setNonEmpty(&x.Branch, fixBranch),
		"credentials": func(path string, v *yaml.Node) {
			rs.credsSet = d.object(v, path, "credentials", d.credentialsFields(&x.Credentials))
		},
		"needs": func(path string, v *yaml.Node) {
			x.Needs = []string{}
			if v.ShortTag() == "!!null" {
				d.errAt(v, path, "needs is empty", "write `needs: []` for a stage that needs nothing, or list stage names")
				return
			}
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" {
				d.errAt(v, path, "expected a list of stage names, got "+kindName(v), fmt.Sprintf("write `needs: [%s]`", v.Value))
				return
			}
			d.list(v, path, "needs", func(i int, nv *yaml.Node) {
				if s, ok := d.str(index(path, i), nv); ok {
					x.Needs = append(x.Needs, s)
					rs.needsNode = append(rs.needsNode, nv)
				}
			})
		},
		"test": func(path string, v *yaml.Node) {
			x.Test, _ = d.boolean(path, v)
		},
		"smoke": func(path string, v *yaml.Node) {
			x.Smoke, _ = d.boolean(path, v)
		},
		"soak": func(path string, v *yaml.Node) {
			x.Soak, _ = d.duration(path, v, 0, 7*24*time.Hour)
		},
		"on_failure": func(path string, v *yaml.Node) {
			x.OnFailure, _ = d.onFailure(path, v)
		},
		"active_cap": func(path string, v *yaml.Node) {
			x.ActiveCap, _ = d.integer(path, v, 1, MaxActiveCap)
		},
		"concurrency": func(path string, v *yaml.Node) {
			x.Concurrency, _ = d.integer(path, v, 1, MaxConcurrency)
		},
		"keep": func(path string, v *yaml.Node) {
			x.Keep = map[string][]amigo.Version{}
			d.entries(v, path, "keep (tool name → versions)", func(tool string, k, lv *yaml.Node) {
				p := join(path, tool)
				if !d.toolName(p, k, tool) {
					return
				}
				var vs []amigo.Version
				if lv.Kind == yaml.ScalarNode && lv.ShortTag() == "!!str" {
					d.errAt(lv, p, "expected a list of versions, got "+kindName(lv), fmt.Sprintf(`write ["%s"]`, lv.Value))
					return
				}
				d.list(lv, p, "pinned versions", func(i int, iv *yaml.Node) {
					ip := index(p, i)
					s, ok := d.str(ip, iv)
					if !ok {
						return
					}
					ver, err := amigo.ParseVersion(strings.TrimPrefix(s, "=="))
					if err != nil {
						d.errAt(iv, ip, fmt.Sprintf("pinned version %v", err), `write MAJOR.MINOR.PATCH in quotes, e.g. "1.4.2"`)
						return
					}
					vs = append(vs, ver)
				})
				x.Keep[tool] = vs
			})
		},
	}
}

func (d *decoder) toolFields(x *ToolConfig, skipNodes *[]*yaml.Node) fieldMap {
	return fieldMap{
		"description": func(path string, v *yaml.Node) {
			if s, ok := d.nonEmpty(path, v, "describe the tool in a sentence, or remove the key"); ok {
				x.Description = &s
			}
		},
		"tags": func(path string, v *yaml.Node) {
			x.Tags = d.tags(path, v)
		},
		"envvars": func(path string, v *yaml.Node) {
			x.Envvars = []EnvvarSpec{}
			seen := map[string]int{}
			d.list(v, path, "envvars", func(i int, ev *yaml.Node) {
				p := index(path, i)
				e := EnvvarSpec{line: ev.Line, col: ev.Column}
				set := d.object(ev, p, "an envvar", d.envvarFields(&e))
				if !d.checkEnvvar(p, ev, e, set) {
					return
				}
				if line, dup := seen[e.Name]; dup {
					d.errAt(ev, p, fmt.Sprintf("envvar %s is listed twice (first at line %d)", e.Name, line), "keep one entry per name")
					return
				}
				seen[e.Name] = ev.Line
				x.Envvars = append(x.Envvars, e)
			})
		},
		"test_inputs": func(path string, v *yaml.Node) {
			x.TestInputs = d.testInputs(path, v)
		},
		"skip_stages": func(path string, v *yaml.Node) {
			x.SkipStages = d.strList(path, v, "stage names", nil)
			if v.Kind == yaml.SequenceNode {
				*skipNodes = v.Content
			}
		},
	}
}

func (d *decoder) envvarFields(x *EnvvarSpec) fieldMap {
	return fieldMap{
		"name": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok && d.envvarName(path, v, s) {
				x.Name = s
			}
		},
		"value": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				x.Value = s
			}
		},
		"from_env": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok && d.envRef(path, v, s) {
				x.FromEnv = s
			}
		},
		"secret": func(path string, v *yaml.Node) {
			x.Secret, _ = d.boolean(path, v)
		},
	}
}

// checkEnvvar checks an envvar's combination of keys.
func (d *decoder) checkEnvvar(path string, n *yaml.Node, e EnvvarSpec, set map[string]*yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		if n.ShortTag() == "!!null" {
			d.errAt(n, path, "the envvar is empty", "give it `name:` and `value:` or `from_env:`")
		}
		return false
	}
	if set["name"] == nil {
		d.errAt(n, path, "envvar has no name", "add `name: SOME_NAME`")
		return false
	}
	if e.Name == "" {
		return false // already reported
	}
	_, hasValue := set["value"]
	_, hasFrom := set["from_env"]
	switch {
	case hasValue && hasFrom:
		d.errAt(set["from_env"], path, fmt.Sprintf("envvar %s has both value and from_env", e.Name), "keep one: value for a literal, from_env to read it from the release job's environment")
		return false
	case !hasValue && !hasFrom:
		d.errAt(n, path, fmt.Sprintf("envvar %s has neither value nor from_env", e.Name), "add `value: ...`, or `from_env: VARIABLE` to read it from the release job's environment")
		return false
	case e.Secret && hasValue:
		d.errAt(set["value"], path, fmt.Sprintf("secret envvar %s has a literal value in the file", e.Name), fmt.Sprintf("never commit secrets: use `from_env: %s` and set that variable in the CI secret store", e.Name))
		return false
	}
	return true
}

// tags decodes a tag mapping (key → value or null).
func (d *decoder) tags(path string, v *yaml.Node) map[string]*string {
	out := map[string]*string{}
	d.entries(v, path, "tags", func(key string, k, tv *yaml.Node) {
		p := join(path, key)
		if !tagRE.MatchString(key) {
			d.errAt(k, p, fmt.Sprintf("invalid tag key %q: the API accepts letters, digits, '_' and spaces only", key), "rename the tag key")
			return
		}
		if tv.ShortTag() == "!!null" {
			out[key] = nil
			return
		}
		s, ok := d.str(p, tv)
		if !ok {
			return
		}
		if s == "" {
			out[key] = nil
			return
		}
		if !tagRE.MatchString(s) {
			d.errAt(tv, p, fmt.Sprintf("invalid tag value %q: the API accepts letters, digits, '_' and spaces only", s), "change the value, or leave it empty for a tag without value")
			return
		}
		out[key] = &s
	})
	if len(out) > MaxTags {
		d.errAt(v, path, fmt.Sprintf("%d tags: the API accepts at most %d", len(out), MaxTags), "remove some tags")
	}
	return out
}

func (d *decoder) testInputs(path string, v *yaml.Node) []amigo.Input {
	out := []amigo.Input{}
	ok := d.list(v, path, "test inputs", func(i int, iv *yaml.Node) {
		in := amigo.Input{InvocationMode: amigo.InvocationModeRegular}
		d.object(iv, index(path, i), "a test input", d.inputFields(&in))
		if in.InputParameters == nil {
			in.InputParameters = map[string]any{}
		}
		if in.NonsensitiveUserVariables == nil {
			in.NonsensitiveUserVariables = map[string]string{}
		}
		if in.SensitiveUserVariables == nil {
			in.SensitiveUserVariables = map[string]string{}
		}
		out = append(out, in)
	})
	if ok && (len(out) < 1 || len(out) > MaxTestInputs) {
		d.errAt(v, path, fmt.Sprintf("%d test inputs: test-tool and invoke take 1 to %d", len(out), MaxTestInputs), "give between 1 and 10 inputs (remove the key to use one empty input)")
	}
	return out
}

var invocationModes = []string{string(amigo.InvocationModeRegular), string(amigo.InvocationModeConversationSimulation)}

func (d *decoder) inputFields(x *amigo.Input) fieldMap {
	vars := func(dst *map[string]string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) {
			m := map[string]string{}
			d.entries(v, path, "user variables", func(key string, _, sv *yaml.Node) {
				if s, ok := d.str(join(path, key), sv); ok {
					m[key] = s
				}
			})
			*dst = m
		}
	}
	return fieldMap{
		"input_parameters": func(path string, v *yaml.Node) {
			if v.Kind != yaml.MappingNode && v.ShortTag() != "!!null" {
				d.errAt(v, path, "expected a mapping of parameter names to values, got "+kindName(v), "write `input_parameters: {city: Paris}`")
				return
			}
			val, ok := d.freeValue(path, v, 0)
			if m, isMap := val.(map[string]any); ok && isMap {
				x.InputParameters = m
			}
		},
		"invocation_mode": func(path string, v *yaml.Node) {
			if s, ok := d.str(path, v); ok {
				if !slices.Contains(invocationModes, s) {
					d.errAt(v, path, fmt.Sprintf("unknown invocation mode %q", s), suggest(s, invocationModes, "modes"))
					return
				}
				x.InvocationMode = amigo.InvocationMode(s)
			}
		},
		"nonsensitive_user_variables": vars(&x.NonsensitiveUserVariables),
		"sensitive_user_variables":    vars(&x.SensitiveUserVariables),
	}
}

// relPath checks a repository-relative path.
func (d *decoder) relPath(path string, n *yaml.Node, s string) bool {
	if s == "" || strings.HasPrefix(s, "/") || s == ".." || strings.HasPrefix(s, "../") || strings.Contains(s, "/../") || strings.Contains(s, `\`) {
		d.errAt(n, path, fmt.Sprintf("%q is not a path inside the repository", s), `write a path relative to the repository root with '/' separators, e.g. "tools"`)
		return false
	}
	return true
}

// glob checks a glob pattern (path.Match syntax per segment, plus "**").
func (d *decoder) glob(path string, n *yaml.Node, s string) bool {
	if !d.relPath(path, n, s) {
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "**" {
			continue
		}
		if _, err := matchSegment(seg, ""); err != nil {
			d.errAt(n, path, fmt.Sprintf("%q is not a valid glob: %v", s, err), `use *, ?, [a-z] within a segment and ** for any number of directories, e.g. "libs/common/**"`)
			return false
		}
	}
	return true
}

func regionNames() []string {
	out := make([]string, len(amigo.Regions))
	for i, r := range amigo.Regions {
		out[i] = r.Name
	}
	return out
}
