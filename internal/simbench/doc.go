// Package simbench measures how long a release takes, on simulated time:
// the whole release (pipeline, amigo client and pacer, the emulator of
// every stage) runs in a testing/synctest bubble, where the clock moves
// only when every goroutine waits, so a 170-minute release of 150 tools
// takes seconds and its figures do not depend on how loaded the machine
// is. Its code is all in tests; scripts/bench-pipeline.sh runs it and
// prints the scaling table of issue 15 (see bench_test.go).
package simbench
