package amigo

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The server's 422 rules, checked before any request is sent. The API is a
// Python (pydantic) service whose regular expressions treat \w and \s as
// Unicode classes, so these do too. "Stripped" strings are trimmed by the
// server before the check, so they are trimmed here as well.
var (
	toolNameRe    = regexp.MustCompile(`^[a-z0-9_]+$`)
	tagRe         = regexp.MustCompile(`^[\p{L}\p{N}\p{M}_\s]+$`)
	envvarRe      = regexp.MustCompile(`^[A-Z_]+$`)
	projectPathRe = regexp.MustCompile(`^[-\p{L}\p{N}\p{M}_/]+$`)
	userVarRe     = regexp.MustCompile(`^[a-z_][a-z0-9_]+$`)
	toolIDRe      = regexp.MustCompile(`^[a-f0-9]{24}$`)
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
		value = clip(value, 80)
	}
	return &ValidationError{Op: op, Field: field, Value: value, Rule: rule}
}

// ValidToolName reports whether name is a valid tool name (after trimming).
func ValidToolName(name string) bool { return toolNameRe.MatchString(strings.TrimSpace(name)) }

// ValidToolID reports whether id looks like a tool id (24 hex digits).
func ValidToolID(id string) bool { return toolIDRe.MatchString(id) }

// ValidEnvvarName reports whether name is a valid envvar name: upper-case
// letters and underscores only.
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
			return invalid(op, "tags key", k, `must be non-empty and match ^[\w\s]+$ (letters, digits, underscores and spaces)`)
		}
		if v := tags[k]; v != nil {
			if s := strings.TrimSpace(*v); s == "" || !tagRe.MatchString(s) {
				return invalid(op, "tags."+k, *v, `must be null, or non-empty and match ^[\w\s]+$ (letters, digits, underscores and spaces)`)
			}
		}
	}
	return nil
}

func checkEnvvarName(op Op, field, name string) error {
	if !ValidEnvvarName(name) {
		return invalid(op, field, name, "must be upper-case letters and underscores only ([A-Z_]+)")
	}
	return nil
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
