package simbench

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
)

var (
	rowsFlag = flag.String("simbench.rows", "", "rows of the scaling table: TOOLSxOTHERS, comma-separated (e.g. 12x0,50x450); empty: only the quick check")
	outFlag  = flag.String("simbench.out", "", "write the table's figures as tab-separated lines to this file")
)

func parseRows(t *testing.T, s string) [][2]int {
	var out [][2]int
	for _, f := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(f), "x")
		n, err1 := strconv.Atoi(a)
		o, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || n < 1 || o < 0 {
			t.Fatalf("-simbench.rows: %q is not TOOLSxOTHERS", f)
		}
		out = append(out, [2]int{n, o})
	}
	return out
}

func mins(d time.Duration) string { return fmt.Sprintf("%.2f", d.Minutes()) }

// TestScale runs the rows of -simbench.rows and logs their figures.
func TestScale(t *testing.T) {
	if *rowsFlag == "" {
		t.Skip("no -simbench.rows: scripts/bench-pipeline.sh runs the table")
	}
	for _, rc := range parseRows(t, *rowsFlag) {
		for _, lim := range []amigotest.RateLimiter{amigotest.LimiterBucket, amigotest.LimiterWindow} {
			rw := simulateRow(t, rc[0], rc[1], lim, true)
			p, h := rw.Plain, rw.WithHistory
			t.Logf("%d tools +%d others (%s): plain makespan %s own %s (x%.3f) best %s (x%.3f) first %s gap %s calls/tool %.2f 429 %d ok %v | history makespan %s (x%.3f best, x%.3f own) first %s gap %s calls/tool %.2f 429 %d ok %v | serial %s speedup %.2f",
				rw.Tools, rw.Others, lim, mins(p.Makespan), mins(rw.OwnBound), p.Makespan.Minutes()/rw.OwnBound.Minutes(), mins(rw.BestBound), p.Makespan.Minutes()/rw.BestBound.Minutes(),
				p.FirstTest, p.MeanGap, float64(p.Calls)/float64(rw.Tools), p.N429, p.OK,
				mins(h.Makespan), h.Makespan.Minutes()/rw.BestBound.Minutes(), h.Makespan.Minutes()/rw.HistOwnBound.Minutes(), h.FirstTest, h.MeanGap, float64(h.Calls)/float64(rw.Tools), h.N429, h.OK,
				mins(rw.Serial), rw.Serial.Minutes()/p.Makespan.Minutes())
			t.Logf("ops plain: %v", p.ByOp)
			if !p.OK || !h.OK {
				t.Errorf("a release failed:\n%s%s", p.Failures, h.Failures)
			}
		}
	}
}

// TestSimulatedRelease is the quick check that keeps the harness honest in
// every `go test ./...`: a small row on both limiters releases every tool
// twice without a single 429, and the release with history tests in the
// best order (longest chain first).
func TestSimulatedRelease(t *testing.T) {
	for _, lim := range []amigotest.RateLimiter{amigotest.LimiterBucket, amigotest.LimiterWindow} {
		rw := simulateRow(t, 6, 30, lim, false)
		for name, res := range map[string]result{"first": rw.Plain, "with history": rw.WithHistory} {
			if !res.OK {
				t.Errorf("%s, %s release failed:\n%s", lim, name, res.Failures)
			}
			if res.N429 != 0 || res.Tests != 6 {
				t.Errorf("%s, %s release: %d tests, %d × 429; want 6 and none", lim, name, res.Tests, res.N429)
			}
		}
		if rw.HistOwnBound != rw.BestBound {
			t.Errorf("%s: with history the tests went out in the order %v, whose bound %s is not the best %s", lim, rw.WithHistory.Order, rw.HistOwnBound, rw.BestBound)
		}
	}
}

// TestFanOutKeepsTheLimits is the quick check of the fan-out: 6 tools, 3
// jobs at once on one key, no 429 on either limiter; without slots (each
// job with the whole limits, as before) the same jobs get 429s.
func TestFanOutKeepsTheLimits(t *testing.T) {
	for _, lim := range []amigotest.RateLimiter{amigotest.LimiterBucket, amigotest.LimiterWindow} {
		res := fanOut(t, 6, 3, true, lim)
		if !res.OK || res.N429 != 0 {
			t.Errorf("%s: fan-out with slots: ok %v, %d × 429; want ok and none\n%s", lim, res.OK, res.N429, res.Failures)
		}
	}
	if res := fanOut(t, 6, 3, false, amigotest.LimiterBucket); res.N429 == 0 {
		t.Errorf("without slots, 3 jobs on one key got no 429: the check above would show nothing")
	}
}
