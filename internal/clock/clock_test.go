package clock

import (
	"context"
	"testing"
	"time"
)

func TestScaledSleepCompressesTime(t *testing.T) {
	c := NewScaled(60000) // a simulated minute is a real millisecond
	start := time.Now()
	simStart := c.Now()
	if err := c.Sleep(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	real := time.Since(start)
	if real > 2*time.Second {
		t.Errorf("5 simulated minutes took %v of real time, want about 5ms", real)
	}
	if sim := c.Now().Sub(simStart); sim < 5*time.Minute {
		t.Errorf("simulated clock advanced %v, want at least 5m", sim)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Real{}).Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestTimerRestart(t *testing.T) {
	c := NewScaled(1000)
	tm := c.NewTimer(time.Hour) // 3.6 s real: must not fire before the restart
	tm.Start(time.Second)       // 1 ms real
	select {
	case <-tm.C():
	case <-time.After(2 * time.Second):
		t.Fatal("restarted timer did not fire")
	}
	tm.Stop()
}

func TestManualMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := NewManual(start)
	slept := make(chan error, 1)
	go func() { slept <- m.Sleep(context.Background(), time.Minute) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.BlockUntil(ctx, 1); err != nil {
		t.Fatalf("the sleep never started waiting: %v", err)
	}
	if !m.Now().Equal(start) {
		t.Fatalf("Now moved by itself to %v", m.Now())
	}
	m.Advance(59 * time.Second)
	select {
	case err := <-slept:
		t.Fatalf("Sleep(1m) returned (%v) after 59s", err)
	default:
	}
	m.Advance(time.Second)
	if err := <-slept; err != nil {
		t.Fatalf("Sleep = %v", err)
	}
	if got := m.Now().Sub(start); got != time.Minute || m.Waiters() != 0 {
		t.Errorf("moved %v with %d waiters, want 1m and none", got, m.Waiters())
	}
}

func TestManualTimers(t *testing.T) {
	m := NewManual(time.Unix(0, 0))
	a, b := m.NewTimer(2*time.Second), m.NewTimer(time.Second)
	b.Start(3 * time.Second) // re-armed from now: fires after a
	m.Advance(2 * time.Second)
	select {
	case <-a.C():
	default:
		t.Fatal("a did not fire at its deadline")
	}
	select {
	case <-b.C():
		t.Fatal("b fired at its first deadline after a restart")
	default:
	}
	b.Stop()
	m.Set(time.Unix(100, 0))
	select {
	case <-b.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	if now := m.NewTimer(0); len(now.C()) != 1 {
		t.Error("a zero timer did not fire at once")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Sleep(ctx, time.Hour); err != context.Canceled || m.Waiters() != 0 {
		t.Errorf("Sleep on a cancelled context = %v (%d waiters), want context.Canceled and none left", err, m.Waiters())
	}
}
