package amigo

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/amigo-release/amigo-release/internal/pattern"
	"github.com/amigo-release/amigo-release/internal/words"
)

// The patterns of the contract's schemas, verbatim. The client's
// pre-validation and the emulator (amigotest) both compile them with
// internal/pattern, which gives them the server's meaning: pydantic-core
// searches (a pattern without ^...$ may match anywhere) and its \w, \d and
// \s are Unicode classes (see that package for exactly which characters).
// internal/contract checks that the contract uses no other pattern.
const (
	PatternToolName     = `^[a-z0-9_]+$`       // CreateToolRequest.name
	PatternTag          = `^[\w\s]+$`          // tag keys and values
	PatternEnvvarName   = `[A-Z_]+`            // envvar names: unanchored, as written
	PatternProjectPath  = `^[-\w\d_/]+$`       // project_path of test and publish
	PatternUserVariable = `^[a-z_][a-z0-9_]+$` // user variable names of an input
	PatternObjectID     = `^[a-f0-9]{24}$`     // tool_id and the other ids
)

// The server's 422 rules, checked before any request is sent. "Stripped"
// strings are trimmed by the server (pydantic's strip_whitespace: Unicode
// White_Space) before the pattern is checked, so they are trimmed here too.
var (
	toolNameRe    = pattern.MustCompile(PatternToolName)
	tagRe         = pattern.MustCompile(PatternTag)
	envvarRe      = pattern.MustCompile(PatternEnvvarName)
	projectPathRe = pattern.MustCompile(PatternProjectPath)
	userVarRe     = pattern.MustCompile(PatternUserVariable)
	toolIDRe      = pattern.MustCompile(PatternObjectID)
)

// Limits of the request schemas.
const (
	MaxTags          = 20
	MaxInputs        = 10
	MaxUserVariables = 20
	MaxToolsPage     = 20
	MaxVersionsPage  = 50
	MaxInvocations   = 100
)

func invalid(op Op, field, value, rule string) *ValidationError {
	if len(value) > 80 {
		value = words.Clip(value, 80)
	}
	return &ValidationError{Op: op, Field: field, Value: value, Rule: rule}
}

// ValidToolName reports whether name is a valid tool name (after trimming).
func ValidToolName(name string) bool { return toolNameRe.MatchString(strings.TrimSpace(name)) }

// ValidToolID reports whether id looks like a tool id (24 hex digits).
func ValidToolID(id string) bool { return toolIDRe.MatchString(id) }

// ValidEnvvarName reports whether the server takes name as an envvar name.
// The contract's pattern [A-Z_]+ is not anchored and pydantic searches, so
// any name holding an upper-case ASCII letter or an underscore passes
// ("X-Y" and "my_var" do; "abc" and "123" do not). The plan file has its own,
// stricter rule for the names it configures (promote).
func ValidEnvvarName(name string) bool { return envvarRe.MatchString(strings.TrimSpace(name)) }

// ValidProjectPath reports whether p is a valid project_path.
func ValidProjectPath(p string) bool { return projectPathRe.MatchString(p) }

func checkToolID(op Op, field, id string) error {
	if !toolIDRe.MatchString(id) {
		return invalid(op, field, id, "must be a tool id of 24 lower-case hex digits (^[a-f0-9]{24}$)")
	}
	return nil
}

func checkToolName(op Op, name string) error {
	if strings.TrimSpace(name) == "" {
		return invalid(op, "name", "", "must not be empty")
	}
	if !ValidToolName(name) {
		return invalid(op, "name", name, "must match ^[a-z0-9_]+$ (lower-case letters, digits and underscores)")
	}
	return nil
}

func checkDescription(op Op, d string) error {
	if strings.TrimSpace(d) == "" {
		return invalid(op, "description", "", "must not be empty")
	}
	return nil
}

func checkTags(op Op, tags map[string]*string) error {
	if len(tags) > MaxTags {
		return invalid(op, "tags", "", fmt.Sprintf("has %d entries, at most %d are allowed", len(tags), MaxTags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if s := strings.TrimSpace(k); s == "" || !tagRe.MatchString(s) {
			return invalid(op, "tags key", k, `must be non-empty and match ^[\w\s]+$ (letters, marks, digits, underscores and spaces, in any script)`)
		}
		if v := tags[k]; v != nil {
			if s := strings.TrimSpace(*v); s == "" || !tagRe.MatchString(s) {
				return invalid(op, "tags."+k, *v, `must be null, or non-empty and match ^[\w\s]+$ (letters, marks, digits, underscores and spaces, in any script)`)
			}
		}
	}
	return nil
}

func checkEnvvarName(op Op, field, name string) error {
	if strings.TrimSpace(name) == "" {
		return invalid(op, field, "", "must not be empty")
	}
	if !ValidEnvvarName(name) {
		return invalid(op, field, name, "must contain an upper-case letter or an underscore (the API's pattern [A-Z_]+); conventionally the whole name is, e.g. API_KEY")
	}
	return nil
}

// RepeatedEnvvar finds a name that req touches twice (two inserts, an
// insert and a delete, ...; names compared as the server strips them). a
// and b locate the two entries, e.g. "inserts[0]" and "deletes[1]". The
// contract sets no rule for it, and no order of the operations within one
// request is documented, so the emulator refuses such a request (400, as it
// refuses other envvar requests it cannot apply) and the client refuses to
// send one.
func RepeatedEnvvar(req ModifyEnvvarsRequest) (a, b, name string, ok bool) {
	type entry struct{ where, name string }
	var all []entry
	for i, e := range req.Inserts {
		all = append(all, entry{fmt.Sprintf("inserts[%d]", i), e.Name})
	}
	for i, e := range req.Updates {
		all = append(all, entry{fmt.Sprintf("updates[%d]", i), e.Name})
	}
	for i, e := range req.Deletes {
		all = append(all, entry{fmt.Sprintf("deletes[%d]", i), e.Name})
	}
	first := map[string]string{}
	for _, e := range all {
		n := strings.TrimSpace(e.name)
		if w, dup := first[n]; dup {
			return w, e.where, n, true
		}
		first[n] = e.where
	}
	return "", "", "", false
}

func checkProjectPath(op Op, p string) error {
	if !ValidProjectPath(p) {
		return invalid(op, "project_path", p, `must match ^[-\w\d_/]+$ (letters, digits, '_', '-' and '/'; no dots or spaces)`)
	}
	return nil
}

func checkInputs(op Op, inputs []Input) error {
	if len(inputs) < 1 || len(inputs) > MaxInputs {
		return invalid(op, "inputs", "", fmt.Sprintf("has %d inputs: between 1 and %d are required", len(inputs), MaxInputs))
	}
	for i, in := range inputs {
		switch in.InvocationMode {
		case "", InvocationModeRegular, InvocationModeConversationSimulation:
		default:
			return invalid(op, fmt.Sprintf("inputs[%d].invocation_mode", i), string(in.InvocationMode), `must be "regular" or "conversation-simulation"`)
		}
		for _, m := range []struct {
			name string
			vars map[string]string
		}{{"nonsensitive_user_variables", in.NonsensitiveUserVariables}, {"sensitive_user_variables", in.SensitiveUserVariables}} {
			field := fmt.Sprintf("inputs[%d].%s", i, m.name)
			if len(m.vars) > MaxUserVariables {
				return invalid(op, field, "", fmt.Sprintf("has %d entries, at most %d are allowed", len(m.vars), MaxUserVariables))
			}
			for _, k := range slices.Sorted(maps.Keys(m.vars)) {
				if !userVarRe.MatchString(strings.TrimSpace(k)) {
					return invalid(op, field, k, "names must match ^[a-z_][a-z0-9_]+$ (lower-case, at least 2 characters, not starting with a digit)")
				}
			}
		}
	}
	return nil
}

// normInputs returns inputs with the schema's required maps present (as {})
// and the invocation mode defaulted to "regular".
func normInputs(inputs []Input) []Input {
	out := make([]Input, len(inputs))
	for i, in := range inputs {
		if in.InputParameters == nil {
			in.InputParameters = map[string]any{}
		}
		if in.InvocationMode == "" {
			in.InvocationMode = InvocationModeRegular
		}
		if in.NonsensitiveUserVariables == nil {
			in.NonsensitiveUserVariables = map[string]string{}
		}
		if in.SensitiveUserVariables == nil {
			in.SensitiveUserVariables = map[string]string{}
		}
		out[i] = in
	}
	return out
}

func checkLimit(op Op, limit, lo, hi int) error {
	if limit < lo || limit > hi {
		return invalid(op, "limit", fmt.Sprint(limit), fmt.Sprintf("must be between %d and %d", lo, hi))
	}
	return nil
}

// checkUnique refuses a repeated value in a list query parameter the
// contract declares uniqueItems (the server answers 422 "Input should be a
// valid set"). name is the parameter as the API spells it.
func checkUnique[T ~string](op Op, name string, vals []T) error {
	first := make(map[T]int, len(vals))
	for i, v := range vals {
		if j, ok := first[v]; ok {
			return invalid(op, fmt.Sprintf("%s[%d]", name, i), string(v), fmt.Sprintf("repeats %s[%d]: the API takes each %s once (uniqueItems); drop the duplicate", name, j, name))
		}
		first[v] = i
	}
	return nil
}

// checkTagFilter refuses a tag query value that is not "key:value".
func checkTagFilter(op Op, i int, tag string) error {
	if !strings.Contains(tag, ":") {
		return invalid(op, fmt.Sprintf("tag[%d]", i), tag, `must be "key:value" ("key:*" for any value, "key:" for a tag without one), e.g. "team:core"`)
	}
	return nil
}

// The fields each list operation can sort by (sort_by), from the
// parameter descriptions of the contract.
var (
	toolSortFields       = []string{"name", "deprecated"}
	versionSortFields    = []string{"created_at", "version.major", "version.minor", "version.patch", "deprecated"}
	invocationSortFields = []string{"created_at", "version.major", "version.minor", "version.patch", "tool_id", "invocation_source.type", "invocation_status.succeeded"}
)

// checkSortBy refuses a sort_by value that is not an allowed field with an
// optional + (ascending) or - (descending) prefix.
func checkSortBy(op Op, keys []string, allowed []string) error {
	for i, s := range keys {
		f := s
		if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
			f = s[1:] // one sign only: "+-name" is not a field
		}
		if !slices.Contains(allowed, f) {
			return invalid(op, fmt.Sprintf("sort_by[%d]", i), s, fmt.Sprintf("must be one of %s, with an optional + (ascending) or - (descending) prefix", strings.Join(allowed, ", ")))
		}
	}
	return nil
}
