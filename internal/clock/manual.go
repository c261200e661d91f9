package clock

import (
	"context"
	"sync"
	"time"
)

// Manual is a clock that moves only when told: Now stays where it is until
// Advance or Set moves it, and Sleep and timers wait until it has moved past
// their deadline. Waiters and BlockUntil let a test move it exactly when the
// code under test has started to wait. Safe for concurrent use.
//
// Manual suits a test that steps through a schedule itself. A test of a
// whole release, where many goroutines and an HTTP server wait on each
// other, runs instead inside a testing/synctest bubble with Real: there
// time.Now is the bubble's fake clock, which moves only while every
// goroutine of the bubble waits, so simulated time does not depend on how
// loaded the machine is (see amigotest.PipeNet).
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	armed   map[*manualTimer]bool
	changed chan struct{} // closed (and replaced) when a timer is armed
}

// NewManual returns a Manual clock that reads start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, armed: map[*manualTimer]bool{}, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Sleep waits until the clock has been moved on by d, or until ctx is done
// (then it returns ctx.Err()). A d of zero or less returns at once.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := m.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// NewTimer returns a timer that fires once the clock has been moved on by d.
func (m *Manual) NewTimer(d time.Duration) Timer {
	t := &manualTimer{m: m, c: make(chan time.Time, 1)}
	t.Start(d)
	return t
}

// Advance moves the clock on by d and fires every timer whose deadline it
// reaches.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(m.now.Add(d))
}

// Set moves the clock to t (never back) and fires every timer whose
// deadline it reaches.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.now) {
		m.setLocked(t)
	}
}

func (m *Manual) setLocked(t time.Time) {
	m.now = t
	for tm := range m.armed {
		if !tm.at.After(t) {
			delete(m.armed, tm)
			tm.fire(t)
		}
	}
}

// Waiters returns how many timers (sleeps included) are waiting.
func (m *Manual) Waiters() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.armed)
}

// BlockUntil waits until at least n timers (sleeps included) are waiting,
// or until ctx is done.
func (m *Manual) BlockUntil(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		waiting, changed := len(m.armed), m.changed
		m.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// manualTimer is a Manual clock's timer.
type manualTimer struct {
	m  *Manual
	c  chan time.Time
	at time.Time
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

// Start (re)arms the timer for d from the clock's time now; a d of zero or
// less fires it at once.
func (t *manualTimer) Start(d time.Duration) {
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.armed, t)
	select { // a value left from an earlier firing
	case <-t.c:
	default:
	}
	if d <= 0 {
		t.fire(m.now)
		return
	}
	t.at = m.now.Add(d)
	m.armed[t] = true
	close(m.changed)
	m.changed = make(chan struct{})
}

// Stop disarms the timer.
func (t *manualTimer) Stop() {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	delete(t.m.armed, t)
}

func (t *manualTimer) fire(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}
