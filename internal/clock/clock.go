// Package clock is the one source of time for amigo-release. Nothing else
// calls time.Now or time.Sleep: retries, pacing, soaks and the emulator's
// publish latency all take a Clock, so tests and the demo can compress time.
//
// Real is wall-clock time; Scaled runs it faster (the demo, benchmarks);
// Manual moves only when a test moves it. Inside a testing/synctest bubble
// Real reads the bubble's fake clock, which moves only while every goroutine
// of the bubble waits: the tests whose outcome depends on simulated windows
// (retry budgets, rate limits, a publish still building) run there, so a
// loaded machine cannot stretch simulated time (see Manual).
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now is the current (possibly simulated) time.
	Now() time.Time
	// Sleep waits for d of this clock's time or until ctx is done, and
	// returns ctx.Err() in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
	// NewTimer returns a timer that fires once after d of this clock's time.
	NewTimer(d time.Duration) Timer
}

// Timer fires once on C. Its method set matches cenkalti/backoff's Timer
// (Start, Stop, C), so a Timer can drive backoff.RetryNotifyWithTimer.
type Timer interface {
	C() <-chan time.Time
	Start(d time.Duration)
	Stop()
}

// Real is wall-clock time.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits d of real time.
func (Real) Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

// NewTimer returns a real timer.
func (Real) NewTimer(d time.Duration) Timer { return newScaledTimer(1, d) }

// Scaled runs simulated time Factor times faster than real time: with
// Factor 60000 a simulated minute takes one real millisecond. Now starts at
// the real time when the clock was made and advances Factor times as fast.
type Scaled struct {
	Factor float64
	start  time.Time
}

// NewScaled returns a clock that runs factor times faster than real time.
// A factor below 1 is taken as 1.
func NewScaled(factor float64) *Scaled {
	if factor < 1 {
		factor = 1
	}
	return &Scaled{Factor: factor, start: time.Now()}
}

// Now returns the simulated time.
func (s *Scaled) Now() time.Time {
	elapsed := time.Since(s.start)
	return s.start.Add(time.Duration(float64(elapsed) * s.Factor))
}

// Sleep waits d of simulated time.
func (s *Scaled) Sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, s.Real(d))
}

// NewTimer returns a timer that fires after d of simulated time.
func (s *Scaled) NewTimer(d time.Duration) Timer { return newScaledTimer(s.Factor, d) }

// Real converts a simulated duration to the real duration it takes.
func (s *Scaled) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.Factor)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// scaledTimer is a real timer whose durations are divided by factor.
type scaledTimer struct {
	factor float64
	mu     sync.Mutex
	t      *time.Timer
	c      chan time.Time
}

func newScaledTimer(factor float64, d time.Duration) *scaledTimer {
	st := &scaledTimer{factor: factor, c: make(chan time.Time, 1)}
	st.Start(d)
	return st
}

func (st *scaledTimer) C() <-chan time.Time { return st.c }

// Start (re)arms the timer for d of simulated time.
func (st *scaledTimer) Start(d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.t != nil {
		st.t.Stop()
	}
	// Drain a value left from an earlier firing so C reports only this one.
	select {
	case <-st.c:
	default:
	}
	real := time.Duration(float64(d) / st.factor)
	st.t = time.AfterFunc(real, func() {
		select {
		case st.c <- time.Now():
		default:
		}
	})
}

// Stop disarms the timer.
func (st *scaledTimer) Stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.t != nil {
		st.t.Stop()
	}
}
