package contract

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Coverage records which (operation, status) pairs were seen in validated
// responses. It is safe for concurrent use; the zero value is ready.
type Coverage struct {
	mu   sync.Mutex
	seen map[string]map[int]int // operationId -> status -> count
}

// NewCoverage returns an empty Coverage.
func NewCoverage() *Coverage { return &Coverage{} }

// Record notes one response of operation op with status.
func (c *Coverage) Record(op string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]map[int]int{}
	}
	if c.seen[op] == nil {
		c.seen[op] = map[int]int{}
	}
	c.seen[op][status]++
}

// Statuses returns the statuses seen for op, ascending.
func (c *Coverage) Statuses(op string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(c.seen[op]))
	for s := range c.seen[op] {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// Count returns how many responses of op with status were seen.
func (c *Coverage) Count(op string, status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[op][status]
}

// Missing returns, for each operation of v, the documented statuses not seen
// (operations with nothing missing are left out).
func (c *Coverage) Missing(v *Validator) map[string][]int {
	out := map[string][]int{}
	for _, op := range v.Operations() {
		seen := c.Statuses(op.ID)
		for _, s := range op.Statuses {
			if !slices.Contains(seen, s) {
				out[op.ID] = append(out[op.ID], s)
			}
		}
	}
	return out
}

// WithoutSuccess returns the operations of v whose success status was never
// seen, in v's order.
func (c *Coverage) WithoutSuccess(v *Validator) []string {
	var out []string
	for _, op := range v.Operations() {
		if c.Count(op.ID, op.Success) == 0 {
			out = append(out, op.ID)
		}
	}
	return out
}

// Table renders one line per operation of v: the statuses seen (with
// counts) and the documented statuses not seen. Statuses seen but not
// documented are marked with "!".
func (c *Coverage) Table(v *Validator) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-26s %-44s %s\n", "operation", "covered (count)", "not covered")
	for _, op := range v.Operations() {
		var got, miss []string
		for _, s := range c.Statuses(op.ID) {
			mark := ""
			if !slices.Contains(op.Statuses, s) {
				mark = "!"
			}
			got = append(got, fmt.Sprintf("%d%s(%d)", s, mark, c.Count(op.ID, s)))
		}
		for _, s := range c.Missing(v)[op.ID] {
			miss = append(miss, fmt.Sprint(s))
		}
		fmt.Fprintf(&b, "%-26s %-44s %s\n", op.ID, strings.Join(got, " "), strings.Join(miss, " "))
	}
	return b.String()
}
