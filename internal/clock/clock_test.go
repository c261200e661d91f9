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
