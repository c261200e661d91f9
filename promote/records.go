package promote

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultTagFormat is records.tag_format's default: "weather_lookup/v1.3.0".
const DefaultTagFormat = "{tool}/v{version}"

// Records says what a release leaves in the repository besides the
// versions on the servers: a git tag per tool version and, on GitHub, a
// GitHub Release per tool version. Both are off by default: creating them
// needs a token that may write the repository's contents (GitHub:
// `permissions: contents: write`; Azure DevOps: the build identity's
// "Contribute" and "Create tag"), which a release job does not otherwise
// need, so a plan opts in. Release notes in the pull request comment and
// the job summary need no key.
type Records struct {
	// Tags creates the tag TagName(tool, version) on the tested commit,
	// through the CI platform's API, once the version serves in the first
	// stage. An existing tag is never moved.
	Tags bool
	// TagFormat is the tag name with {tool} and {version} placeholders
	// (default DefaultTagFormat). The version is the first stage's number.
	TagFormat string
	// Releases creates a GitHub Release per tool version on the tag, with
	// the version's release notes (GitHub only; needs Tags).
	Releases bool
}

// TagName is the tag of a tool version: the format with {tool} and
// {version} replaced.
func (r Records) TagName(tool, version string) string {
	f := r.TagFormat
	if f == "" {
		f = DefaultTagFormat
	}
	return strings.NewReplacer("{tool}", tool, "{version}", version).Replace(f)
}

// TagPattern splits the format around {version} for a tool, so that a
// tag name can be recognised as one of the tool's: prefix + version +
// suffix.
func (r Records) TagPattern(tool string) (prefix, suffix string) {
	f := r.TagFormat
	if f == "" {
		f = DefaultTagFormat
	}
	pre, post, _ := strings.Cut(f, "{version}")
	rep := strings.NewReplacer("{tool}", tool)
	return rep.Replace(pre), rep.Replace(post)
}

// checkTagFormat returns why f cannot name tags, or "": it must hold
// {tool} and {version} once each, no other {placeholder}, and give a valid
// git ref name (git check-ref-format) for any tool and version.
func checkTagFormat(f string) string {
	switch {
	case strings.Count(f, "{version}") != 1:
		return "it must contain {version} exactly once"
	case strings.Count(f, "{tool}") != 1:
		return "it must contain {tool} exactly once (tags of different tools would clash)"
	case len(f) > 200:
		return "it is longer than 200 characters"
	}
	rest := strings.NewReplacer("{tool}", "", "{version}", "").Replace(f)
	if strings.ContainsAny(rest, "{}") {
		return "the only placeholders are {tool} and {version}"
	}
	return checkRefName(Records{TagFormat: f}.TagName("tool_name", "1.2.3"))
}

// checkRefName applies git check-ref-format's rules to a tag name (the part
// after refs/tags/), or returns "".
func checkRefName(name string) string {
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Sprintf("git refuses %q in a tag name", r)
		}
	}
	switch {
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return "a tag name cannot start or end with '/' or hold '//'"
	case strings.HasSuffix(name, "."):
		return "a tag name cannot end with '.'"
	case strings.Contains(name, ".."):
		return "a tag name cannot hold '..'"
	case strings.Contains(name, "@{"):
		return "a tag name cannot hold '@{'"
	case name == "@":
		return "a tag name cannot be '@'"
	case strings.HasPrefix(name, "-"):
		return "a tag name cannot start with '-'"
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return "no part of a tag name between '/' may start with '.' or end with '.lock'"
		}
	}
	return ""
}

func (d *decoder) recordsFields(x *Records) fieldMap {
	return fieldMap{
		"tags": func(path string, v *yaml.Node) {
			x.Tags, _ = d.boolean(path, v)
		},
		"tag_format": func(path string, v *yaml.Node) {
			s, ok := d.str(path, v)
			if !ok {
				return
			}
			if why := checkTagFormat(s); why != "" {
				d.errAt(v, path, fmt.Sprintf("tag format %q: %s", s, why), `write a format such as "{tool}/v{version}" (the default) or "{tool}@{version}"`)
				return
			}
			x.TagFormat = s
		},
		"releases": func(path string, v *yaml.Node) {
			x.Releases, _ = d.boolean(path, v)
		},
	}
}

// finishRecords applies the default format and checks that releases come
// with their tags.
func (d *decoder) finishRecords(root *yaml.Node, p *Plan) {
	if p.Records.TagFormat == "" {
		p.Records.TagFormat = DefaultTagFormat
	}
	if p.Records.Releases && !p.Records.Tags {
		d.errAt(mapValue(mapValue(root, "records"), "releases"), "records.releases",
			"a GitHub Release needs its tag, but records.tags is false", "set records.tags: true, or remove records.releases")
	}
}
