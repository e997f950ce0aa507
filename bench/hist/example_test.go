package hist_test

import (
	"fmt"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
)

// A fixed-rate loop: wait for each message's intended time, do the work, and
// record the latency from the intended time so stalls are not hidden.
func Example() {
	r := hist.New()
	start := time.Now()
	sched, err := hist.NewSchedule(100_000, start) // 100k messages per second
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range int64(100) {
		hist.SleepUntil(sched.Intended(i))
		// ... send message i and wait for its reply ...
		r.Record(int64(sched.Latency(i, time.Now())))
	}
	s, err := r.Summary(time.Since(start))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Count, s.Min <= s.P50 && s.P50 <= s.P99 && s.P99 <= s.Max)
	// Output: 100 true
}
