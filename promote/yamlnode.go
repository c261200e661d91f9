package promote

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree and collects problems with positions.
type decoder struct {
	errorList
}

// fieldMap maps each key a mapping accepts to the function that decodes its
// value. The maps are also the key table that the schema test compares with
// schema.json.
type fieldMap map[string]func(path string, v *yaml.Node)

func (d *decoder) errAt(n *yaml.Node, path, msg, fix string) {
	if n == nil {
		d.add(0, 0, path, msg, fix)
		return
	}
	d.add(n.Line, n.Column, path, msg, fix)
}

// kindName names a node's type for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", clip(n.Value))
	case "!!int":
		return fmt.Sprintf("the integer %s", clip(n.Value))
	case "!!float":
		return fmt.Sprintf("the number %s", clip(n.Value))
	case "!!bool":
		return fmt.Sprintf("the boolean %s", n.Value)
	case "!!null":
		return "null (an empty value)"
	case "!!timestamp":
		return fmt.Sprintf("the timestamp %s", clip(n.Value))
	}
	return fmt.Sprintf("a value tagged %s", n.ShortTag())
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// object decodes a mapping with a fixed set of keys. It reports wrong kinds,
// non-string keys, duplicate keys and unknown keys (with a suggestion), calls
// the field function of each known key, and returns the key nodes seen.
func (d *decoder) object(n *yaml.Node, path, what string, fields fieldMap) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	valid := slices.Sorted(maps.Keys(fields))
	d.mapping(n, path, what, "a mapping of keys", func(key string, k, v *yaml.Node) {
		seen[key] = k
		fn, known := fields[key]
		if !known {
			d.errAt(k, join(path, key), fmt.Sprintf("unknown key %q in %s", key, what), suggest(key, valid, "keys"))
			return
		}
		fn(join(path, key), v)
	})
	return seen
}

// key checks that a mapping key is a plain string.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	if k.ShortTag() == "!!merge" {
		d.errAt(k, path, "merge keys (<<) are not supported", "repeat the values, or put shared stage settings under defaults:")
		return "", false
	}
	if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!int" && k.ShortTag() != "!!bool" && k.ShortTag() != "!!float" && k.ShortTag() != "!!null") {
		d.errAt(k, path, fmt.Sprintf("a key must be a plain string, got %s", kindName(k)), "write keys as plain words")
		return "", false
	}
	return k.Value, true
}

// entries walks a mapping with free keys (tool names, globs, tags),
// rejecting duplicates, and calls fn for each pair.
func (d *decoder) entries(n *yaml.Node, path, what string, fn func(key string, k, v *yaml.Node)) {
	d.mapping(n, path, what, "a mapping", fn)
}

// mapping walks a mapping node and calls fn for each pair whose key is a
// plain string seen for the first time; a bad or duplicate key is
// reported and skipped. Null is an empty mapping; any other kind is
// reported as not being shape (e.g. "a mapping").
func (d *decoder) mapping(n *yaml.Node, path, what, shape string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		if n.ShortTag() == "!!null" {
			return // "key:" with nothing after it: an empty mapping
		}
		d.errAt(n, path, fmt.Sprintf("expected %s (%s), got %s", what, shape, kindName(n)),
			fmt.Sprintf("write %s as indented `key: value` lines", what))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path)
		if !ok {
			continue
		}
		if line, dup := seen[key]; dup {
			d.errAt(k, join(path, key), fmt.Sprintf("duplicate key %q (first at line %d)", key, line), "keep one of them")
			continue
		}
		seen[key] = k.Line
		fn(key, k, v)
	}
}

// list walks a sequence and calls fn for each item.
func (d *decoder) list(n *yaml.Node, path, what string, fn func(i int, v *yaml.Node)) bool {
	if n.Kind != yaml.SequenceNode {
		d.errAt(n, path, fmt.Sprintf("expected %s (a list), got %s", what, kindName(n)),
			fmt.Sprintf("write %s as a list: `[a, b]` or lines starting with `- `", what))
		return false
	}
	for i, v := range n.Content {
		fn(i, v)
	}
	return true
}

func (d *decoder) str(path string, n *yaml.Node) (string, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return n.Value, true
	}
	fix := "write a string"
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		fix = fmt.Sprintf("quote it: %q", n.Value)
	}
	d.errAt(n, path, "expected a string, got "+kindName(n), fix)
	return "", false
}

// nonEmpty decodes a string that must not be empty.
func (d *decoder) nonEmpty(path string, n *yaml.Node, fix string) (string, bool) {
	s, ok := d.str(path, n)
	if ok && strings.TrimSpace(s) == "" {
		d.errAt(n, path, "must not be empty", fix)
		return "", false
	}
	return s, ok
}

func (d *decoder) boolean(path string, n *yaml.Node) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	d.errAt(n, path, "expected true or false, got "+kindName(n), "write true or false, unquoted")
	return false, false
}

func (d *decoder) integer(path string, n *yaml.Node, lo, hi int) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil && i >= int64(lo) && i <= int64(hi) {
			return int(i), true
		}
		d.errAt(n, path, fmt.Sprintf("%s is out of range", n.Value), fmt.Sprintf("use a whole number from %d to %d", lo, hi))
		return 0, false
	}
	d.errAt(n, path, "expected a whole number, got "+kindName(n), fmt.Sprintf("write a number from %d to %d, unquoted", lo, hi))
	return 0, false
}

const durationForm = `a duration string such as "90s", "10m" or "1h30m"`

func (d *decoder) duration(path string, n *yaml.Node, lo, hi time.Duration) (time.Duration, bool) {
	bounds := fmt.Sprintf("from %s to %s", fmtDur(lo), fmtDur(hi))
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		fix := "write " + durationForm + ", " + bounds
		if n.ShortTag() == "!!int" {
			fix = fmt.Sprintf("add a unit, e.g. \"%ss\" or \"%sm\" (%s)", n.Value, n.Value, bounds)
		}
		d.errAt(n, path, "expected "+durationForm+", got "+kindName(n), fix)
		return 0, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		d.errAt(n, path, fmt.Sprintf("%q is not a duration", n.Value), "write "+durationForm+" (units ns, us, ms, s, m, h; no days)")
		return 0, false
	}
	if v < lo || v > hi {
		d.errAt(n, path, fmt.Sprintf("%s is out of range", n.Value), "use a duration "+bounds)
		return 0, false
	}
	return v, true
}

// fmtDur prints a duration without trailing zero units ("10m", "1h30m").
func fmtDur(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *decoder) strList(path string, n *yaml.Node, what string, check func(path string, v *yaml.Node, s string) bool) []string {
	out := []string{}
	if n.ShortTag() == "!!null" {
		return out
	}
	seen := map[string]int{}
	d.list(n, path, what, func(i int, v *yaml.Node) {
		p := index(path, i)
		s, ok := d.str(p, v)
		if !ok {
			return
		}
		if check != nil && !check(p, v, s) {
			return
		}
		if line, dup := seen[s]; dup {
			d.errAt(v, p, fmt.Sprintf("%q is listed twice (first at line %d)", s, line), "remove the repeat")
			return
		}
		seen[s] = v.Line
		out = append(out, s)
	})
	return out
}

var (
	toolNameRE   = regexp.MustCompile(`^[a-z0-9_]+$`)
	envvarNameRE = regexp.MustCompile(`^[A-Z_]+$`)
	posixEnvRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	stageNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	tagRE        = regexp.MustCompile(`^[\w\s]+$`)
)

func (d *decoder) toolName(path string, n *yaml.Node, s string) bool {
	if toolNameRE.MatchString(s) && strings.Trim(s, "_") != "" {
		return true
	}
	if toolNameRE.MatchString(s) {
		// Discovery refuses such a name too ("---" in a pyproject.toml):
		// no project could ever be this tool.
		d.errAt(n, path, fmt.Sprintf("invalid tool name %q: it has no letter or digit", s),
			"name the tool with lower-case letters, digits and underscores, e.g. \"my_tool\"")
		return false
	}
	d.errAt(n, path, fmt.Sprintf("invalid tool name %q: the API accepts only ^[a-z0-9_]+$", s),
		fmt.Sprintf("use lower-case letters, digits and underscores, e.g. %q", normalizeToolName(s)))
	return false
}

// normalizeToolName suggests a valid tool name for s.
func normalizeToolName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '-' || r == '.' || r == ' ' || r == '/':
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "my_tool"
	}
	return b.String()
}

func (d *decoder) envvarName(path string, n *yaml.Node, s string) bool {
	if envvarNameRE.MatchString(s) {
		return true
	}
	fixed := strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r == '_':
			return r
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r == '-' || r == '.' || r == ' ':
			return '_'
		}
		return -1
	}, s)
	if fixed == "" {
		fixed = "MY_VARIABLE"
	}
	d.errAt(n, path, fmt.Sprintf("invalid environment variable name %q: tool envvar names must match [A-Z_]+ (no digits, no lower case)", s),
		fmt.Sprintf("rename it, e.g. %q", fixed))
	return false
}

// envRef checks the name of a variable of the release job's environment.
func (d *decoder) envRef(path string, n *yaml.Node, s string) bool {
	if posixEnvRE.MatchString(s) {
		return true
	}
	d.errAt(n, path, fmt.Sprintf("%q is not an environment variable name", s),
		"use letters, digits and underscores, not starting with a digit (e.g. WEATHER_API_KEY); give the variable's name, never its value")
	return false
}

// freeValue converts an arbitrary YAML value (input parameters) into the
// JSON-shaped Go value that encoding/json will send.
func (d *decoder) freeValue(path string, n *yaml.Node, depth int) (any, bool) {
	if depth > 32 {
		d.errAt(n, path, "value is nested more than 32 levels deep", "flatten the input parameters")
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		ok := true
		d.entries(n, path, "a mapping", func(key string, _, v *yaml.Node) {
			x, good := d.freeValue(join(path, key), v, depth+1)
			ok = ok && good
			m[key] = x
		})
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		ok := true
		for i, v := range n.Content {
			x, good := d.freeValue(index(path, i), v, depth+1)
			ok = ok && good
			s = append(s, x)
		}
		return s, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, true
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b, true
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, true
			}
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) {
				return f, true
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
		}
	}
	d.errAt(n, path, "value "+kindName(n)+" cannot be sent as JSON", "use strings, numbers, booleans, null, lists and mappings")
	return nil, false
}
