package amigo

import (
	"fmt"
	"net/url"
	"strconv"
)

// addPage sets the paging parameters every list operation takes: limit
// (0 sends none; any other value must be lo..hi) and continuation_token
// (0 sends none; never negative).
func addPage(op Op, q url.Values, limit, lo, hi, token int) error {
	if limit != 0 {
		if err := checkLimit(op, limit, lo, hi); err != nil {
			return err
		}
		q.Set("limit", strconv.Itoa(limit))
	}
	if token < 0 {
		return invalid(op, "continuation_token", strconv.Itoa(token), "must not be negative")
	}
	if token != 0 {
		q.Set("continuation_token", strconv.Itoa(token))
	}
	return nil
}

// maxPages bounds a listing: 1,000 pages hold 20,000 tools or 50,000
// versions; a server that keeps sending new tokens past that is refused
// rather than followed until memory runs out.
const maxPages = 1000

// paginate calls fetch until a page says has_more false, moving *token on.
// A page that has more but no new token is an error, not an endless loop,
// and so are more than maxPages pages.
func paginate(op Op, token *int, fetch func() (hasMore bool, next *int, err error)) error {
	seen := map[int]bool{*token: true}
	for pages := 1; ; pages++ {
		more, next, err := fetch()
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if next == nil {
			return fmt.Errorf("%s: the server said has_more but sent no continuation_token", op)
		}
		if seen[*next] {
			return fmt.Errorf("%s: the server repeated continuation_token %d; stopping to avoid a loop", op, *next)
		}
		if pages >= maxPages {
			return fmt.Errorf("%s: the server has more than %d pages (the limit); stopping", op, maxPages)
		}
		seen[*next] = true
		*token = *next
	}
}

// collect walks every page through paginate and returns the items of all
// of them, with those gathered so far when a page fails.
func collect[T any](op Op, token *int, fetch func() (items []T, hasMore bool, next *int, err error)) ([]T, error) {
	var all []T
	err := paginate(op, token, func() (bool, *int, error) {
		items, more, next, err := fetch()
		all = append(all, items...)
		return more, next, err
	})
	return all, err
}
