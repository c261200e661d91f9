package promote

import (
	"path"
	"strings"
)

func matchSegment(pattern, name string) (bool, error) { return path.Match(pattern, name) }

// MatchGlob reports whether the slash-separated path p matches pattern, where
// each segment of pattern uses path.Match syntax and a "**" segment matches
// any number of directories (including none). An invalid pattern matches
// nothing (Parse rejects invalid patterns in a plan).
func MatchGlob(pattern, p string) bool {
	var pat []string
	for _, seg := range strings.Split(strings.Trim(pattern, "/"), "/") {
		if seg == "**" && len(pat) > 0 && pat[len(pat)-1] == "**" {
			continue // "**/**" is "**": keeps matching linear in practice
		}
		pat = append(pat, seg)
	}
	return matchSegs(pat, strings.Split(strings.Trim(p, "/"), "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(segs); i++ {
				if matchSegs(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		ok, err := path.Match(pat[0], segs[0])
		if err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
