package hist

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"
)

// ErrBadRate is returned by [NewSchedule] for a rate that is not a positive,
// finite number of messages per second, or one too fast to schedule (over
// one per nanosecond).
var ErrBadRate = errors.New("hist: rate must be positive, finite and at most 1e9 per second")

// Schedule is a fixed-rate send schedule: message i is due at
// start + i × (1 s / rate). Each time is computed from the start, never by
// adding intervals, so the schedule does not drift. The zero value is not
// usable: call [NewSchedule].
type Schedule struct {
	start  time.Time
	period float64 // nanoseconds between messages
}

// NewSchedule returns the schedule of rate messages per second beginning at
// start. start should carry a monotonic reading (from time.Now) so that
// comparisons ignore wall-clock steps.
func NewSchedule(rate float64, start time.Time) (Schedule, error) {
	if !(rate > 0) || math.IsInf(rate, 0) || rate > 1e9 {
		return Schedule{}, fmt.Errorf("%w: %v", ErrBadRate, rate)
	}
	return Schedule{start: start, period: 1e9 / rate}, nil
}

// Start is the intended send time of message 0.
func (s Schedule) Start() time.Time { return s.start }

// Period is the interval between two intended send times, rounded to the
// nanosecond.
func (s Schedule) Period() time.Duration { return time.Duration(math.Round(s.period)) }

// Intended returns the time message i is due, rounded to the nanosecond.
// float64 keeps the error far below a nanosecond for any run shorter than
// weeks.
func (s Schedule) Intended(i int64) time.Time {
	return s.start.Add(time.Duration(math.Round(float64(i) * s.period)))
}

// Latency is the coordinated-omission corrected latency of message i that
// completed at done: done minus its intended send time.
func (s Schedule) Latency(i int64, done time.Time) time.Duration {
	return done.Sub(s.Intended(i))
}

// spinBelow is how close to the deadline SleepUntil stops sleeping and
// spins. Linux timer slack stretches short sleeps by about 50 µs, so sleeping
// closer than this would overshoot.
const spinBelow = time.Millisecond

// SleepUntil returns once t has passed: it sleeps while t is more than a
// millisecond away, then spins, yielding the processor to other goroutines
// between checks. It returns at once for a t in the past.
func SleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		if d > spinBelow {
			time.Sleep(d - spinBelow)
			continue
		}
		runtime.Gosched()
	}
}
