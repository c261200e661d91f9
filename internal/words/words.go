// Package words holds the small wording helpers every package that writes
// for people shares: counting nouns and cutting long values. It imports
// nothing of the project, so any package may use it.
package words

import (
	"fmt"
	"unicode/utf8"
)

// Plural is "1 stage" or "4 stages": n with one when n is 1, else with many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Clip returns s when it has at most max runes, else its first max-1 runes
// and "…" (max runes in all; max below 1 counts as 1). It never splits a
// UTF-8 sequence and reads no more of s than it keeps, so a megabyte of
// input costs nothing.
func Clip(s string, max int) string {
	if max < 1 {
		max = 1
	}
	if len(s) <= max {
		return s // fewer bytes than max means fewer runes
	}
	n := 0
	for i := range s {
		if n == max-1 {
			if utf8.RuneCountInString(s[i:]) == 1 {
				return s
			}
			return s[:i] + "…"
		}
		n++
	}
	return s
}
