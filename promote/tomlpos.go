package promote

import (
	"strconv"
	"strings"
)

// tomlKeyLine returns the 1-based line of the key that path names in the
// TOML text data, or 0 when it cannot tell. path is as the pyproject.toml
// decoder names keys: dotted, with [i] after an array
// ("tool.amigo-release.envvars[1].name"). The BurntSushi decoder keeps no
// position per key, so this scans the text: table headers ([a.b]), array
// of tables headers ([[a.b]], counted for the index), and key lines
// (a.b = ...), skipping multi-line strings. It answers with the line of
// the deepest key it can match: an element of an inline array gives the
// line of the array's key.
func tomlKeyLine(data []byte, path string) int {
	want := splitKeyPath(path)
	if len(want) == 0 {
		return 0
	}
	var table []keySeg
	arrays := map[string]int{}
	best, bestScore := 0, 0
	inString := ""
	for n, line := range strings.Split(string(data), "\n") {
		if inString != "" {
			if strings.Count(line, inString)%2 == 1 {
				inString = ""
			}
			continue
		}
		s := strings.TrimSpace(line)
		var cand []keySeg
		switch {
		case strings.HasPrefix(s, "[["):
			keys, rest, ok := parseDottedKey(s[2:])
			if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "]]") {
				continue
			}
			id := strings.Join(keys, "\x00")
			table = segsOf(keys)
			table[len(table)-1].idx = arrays[id]
			arrays[id]++
			cand = table
		case strings.HasPrefix(s, "["):
			keys, rest, ok := parseDottedKey(s[1:])
			if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "]") {
				continue
			}
			table = segsOf(keys)
			cand = table
		default:
			keys, rest, ok := parseDottedKey(s)
			if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "=") {
				continue
			}
			cand = append(append([]keySeg{}, table...), segsOf(keys)...)
			value := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "="))
			for _, q := range []string{`"""`, `'''`} {
				if strings.HasPrefix(value, q) && strings.Count(value, q)%2 == 1 {
					inString = q
				}
			}
		}
		if score := matchKeySegs(want, cand); score > bestScore {
			best, bestScore = n+1, score
		}
	}
	return best
}

// keySeg is one key of a path and, for an element of an array, its index
// (-1: not an element).
type keySeg struct {
	key string
	idx int
}

func segsOf(keys []string) []keySeg {
	out := make([]keySeg, len(keys))
	for i, k := range keys {
		out[i] = keySeg{k, -1}
	}
	return out
}

// matchKeySegs counts how many leading keys of cand match want. A line for
// a whole array (no index) matches an element of it and ends the match.
func matchKeySegs(want, cand []keySeg) int {
	score := 0
	for i := 0; i < len(want) && i < len(cand); i++ {
		if want[i].key != cand[i].key {
			break
		}
		if cand[i].idx >= 0 && want[i].idx != cand[i].idx {
			break
		}
		score++
		if want[i].idx >= 0 && cand[i].idx < 0 {
			break // an inline array: its elements have no line of their own here
		}
	}
	// A candidate deeper than the path is another key.
	if score < len(cand) {
		return 0
	}
	return score
}

// splitKeyPath splits "a.b[2].c" into a, b (index 2), c. Keys of the
// decoder's paths are bare or hold no '.', '[' or ']'.
func splitKeyPath(path string) []keySeg {
	var out []keySeg
	for _, part := range strings.Split(path, ".") {
		seg := keySeg{key: part, idx: -1}
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return nil
			}
			seg = keySeg{key: part[:i], idx: n}
		}
		if seg.key == "" {
			return nil
		}
		out = append(out, seg)
	}
	return out
}

// parseDottedKey reads a TOML dotted key at the start of s (bare keys and
// quoted keys, with spaces around the dots) and returns its keys and the
// rest of s.
func parseDottedKey(s string) (keys []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var k string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, "", false
			}
			k, s = s[1:1+end], s[2+end:]
		default:
			i := 0
			for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_' || s[i] == '-') {
				i++
			}
			if i == 0 {
				return nil, "", false
			}
			k, s = s[:i], s[i:]
		}
		keys = append(keys, k)
		t := strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(t, ".") {
			return keys, s, true
		}
		s = t[1:]
	}
}
