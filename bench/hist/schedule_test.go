package hist

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestSchedule_Intended(t *testing.T) {
	start := time.Now()
	for _, c := range []struct {
		rate float64
		i    int64
		want time.Duration
	}{
		{1e6, 0, 0},
		{1e6, 1, time.Microsecond},
		{1e6, 5, 5 * time.Microsecond},
		{1.2e6, 6, 5 * time.Microsecond},
		{3, 1, 333_333_333},
		{3, 2, 666_666_667},
		{3, 3, time.Second},
		{0.5, 1, 2 * time.Second},
		// Far into a run the time is still exact: no accumulated drift.
		{400_000, 400_000 * 3600, time.Hour},
		{7, 7 * 86400, 24 * time.Hour},
	} {
		s, err := NewSchedule(c.rate, start)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Intended(c.i).Sub(start); got != c.want {
			t.Errorf("rate %v: Intended(%d) = start+%v, want start+%v", c.rate, c.i, got, c.want)
		}
	}
}

func TestSchedule_PeriodAndLatency(t *testing.T) {
	start := time.Now()
	s, err := NewSchedule(2e5, start)
	if err != nil {
		t.Fatal(err)
	}
	if s.Period() != 5*time.Microsecond || !s.Start().Equal(start) {
		t.Fatalf("period/start = %v/%v", s.Period(), s.Start())
	}
	// Message 10 is due at start+50µs; finishing at start+80µs means 30µs of
	// corrected latency, however late it was actually sent.
	if got := s.Latency(10, start.Add(80*time.Microsecond)); got != 30*time.Microsecond {
		t.Fatalf("Latency = %v, want 30µs", got)
	}
}

func TestNewSchedule_BadRate(t *testing.T) {
	for _, r := range []float64{0, -1, math.NaN(), math.Inf(1), 2e9} {
		if _, err := NewSchedule(r, time.Now()); !errors.Is(err, ErrBadRate) {
			t.Errorf("NewSchedule(%v) err = %v, want ErrBadRate", r, err)
		}
	}
}

func TestSleepUntil(t *testing.T) {
	SleepUntil(time.Now().Add(-time.Hour)) // past: returns at once
	for _, d := range []time.Duration{50 * time.Microsecond, 3 * time.Millisecond} {
		due := time.Now().Add(d)
		SleepUntil(due)
		if late := time.Since(due); late < 0 {
			t.Fatalf("SleepUntil(now+%v) returned %v early", d, -late)
		}
	}
}
