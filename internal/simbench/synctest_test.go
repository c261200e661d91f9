package simbench

import (
	"testing"
	"testing/synctest"
)

// synctestRun runs f in a synctest bubble: time.Now, timers and sleeps
// are the bubble's fake clock, which jumps ahead whenever every goroutine
// of the bubble waits.
func synctestRun(t *testing.T, f func(*testing.T)) { synctest.Test(t, f) }
