package hist

import (
	"errors"
	"fmt"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// MaxValue is the largest latency, in nanoseconds, a [Recorder] tells apart
// (100 s). Larger samples are recorded as MaxValue and counted as saturated.
const MaxValue = int64(100 * time.Second)

// SignificantDigits is the histogram precision: values are kept to within
// 0.1 % of their size.
const SignificantDigits = 3

// ErrNegativeElapsed is returned by [Recorder.Summary] for a negative elapsed
// time.
var ErrNegativeElapsed = errors.New("hist: negative elapsed time")

// Recorder accumulates nanosecond samples. The zero value is not usable: call
// [New]. A Recorder is not safe for concurrent use; give each goroutine its own
// and [Recorder.Merge] them.
type Recorder struct {
	h         *hdrhistogram.Histogram
	count     int64
	min, max  int64
	sum       float64 // exact enough: float64 holds integers to 2^53 ns
	sumSq     float64
	saturated int64
}

// New returns an empty Recorder covering 1 ns to [MaxValue].
func New() *Recorder {
	r := &Recorder{h: hdrhistogram.New(1, MaxValue, SignificantDigits)}
	r.Reset()
	return r
}

// Reset forgets every sample.
func (r *Recorder) Reset() {
	r.h.Reset()
	r.count, r.min, r.max, r.sum, r.sumSq, r.saturated = 0, math.MaxInt64, 0, 0, 0, 0
}

// Record adds one sample of ns nanoseconds. A negative sample is recorded as
// 0; one above [MaxValue] is recorded as MaxValue and counted as saturated.
// Record allocates nothing.
func (r *Recorder) Record(ns int64) {
	if ns < 0 {
		ns = 0
	} else if ns > MaxValue {
		ns = MaxValue
		r.saturated++
	}
	// ns is now inside [0, MaxValue], the histogram's range, so RecordValue
	// cannot fail.
	_ = r.h.RecordValue(ns)
	r.count++
	if ns < r.min {
		r.min = ns
	}
	if ns > r.max {
		r.max = ns
	}
	f := float64(ns)
	r.sum += f
	r.sumSq += f * f
}

// Count is the number of samples recorded.
func (r *Recorder) Count() int64 { return r.count }

// Merge adds every sample of o to r. o is unchanged.
func (r *Recorder) Merge(o *Recorder) {
	if o.count == 0 {
		return
	}
	// Both histograms have the same range, so nothing is dropped.
	r.h.Merge(o.h)
	r.count += o.count
	r.min = min(r.min, o.min)
	r.max = max(r.max, o.max)
	r.sum += o.sum
	r.sumSq += o.sumSq
	r.saturated += o.saturated
}

// Summary is the statistics of one measured run. Latencies are nanoseconds.
// JSON names follow the seed's `latency_stats` schema.
type Summary struct {
	Count   int64   `json:"count"`
	Min     int64   `json:"min"`
	Max     int64   `json:"max"`
	Mean    float64 `json:"mean"`
	Stdev   float64 `json:"stdev"`
	P1      int64   `json:"p1"`
	P10     int64   `json:"p10"`
	P25     int64   `json:"p25"`
	P50     int64   `json:"p50"`
	P75     int64   `json:"p75"`
	P90     int64   `json:"p90"`
	P95     int64   `json:"p95"`
	P99     int64   `json:"p99"`
	P999    int64   `json:"p999"`
	P9999   int64   `json:"p9999"`
	P99999  int64   `json:"p99999"`
	P999999 int64   `json:"p999999"`
	// Saturated counts samples above MaxValue, recorded as MaxValue.
	Saturated int64 `json:"saturated,omitempty"`
	// Throughput is the achieved rate: Count divided by DurationSecs, in
	// operations per second (0 when the duration is 0).
	Throughput float64 `json:"throughput"`
	// DurationSecs is the wall time of the measured loop.
	DurationSecs float64 `json:"duration_secs"`
}

// quantiles lists the percentiles of Summary in field order.
var quantiles = [...]float64{1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 99.999, 99.9999}

// Summary returns the statistics of the samples so far; elapsed is the wall
// time of the measured loop and gives the throughput. An empty Recorder gives
// a zero Summary apart from the duration.
func (r *Recorder) Summary(elapsed time.Duration) (Summary, error) {
	if elapsed < 0 {
		return Summary{}, fmt.Errorf("%w: %v", ErrNegativeElapsed, elapsed)
	}
	s := Summary{DurationSecs: elapsed.Seconds()}
	if r.count == 0 {
		return s, nil
	}
	n := float64(r.count)
	mean := r.sum / n
	s.Count, s.Min, s.Max, s.Mean, s.Saturated = r.count, r.min, r.max, mean, r.saturated
	s.Stdev = math.Sqrt(max(r.sumSq/n-mean*mean, 0))
	if elapsed > 0 {
		s.Throughput = n / elapsed.Seconds()
	}
	v := r.h.ValueAtPercentilesSlice(quantiles[:])
	// The histogram reports the top of a value's 0.1 % bucket; keep every
	// percentile inside the exact extremes so min <= p50 <= ... <= max holds.
	for i := range v {
		v[i] = min(max(v[i], r.min), r.max)
	}
	s.P1, s.P10, s.P25, s.P50, s.P75, s.P90 = v[0], v[1], v[2], v[3], v[4], v[5]
	s.P95, s.P99, s.P999, s.P9999, s.P99999, s.P999999 = v[6], v[7], v[8], v[9], v[10], v[11]
	return s, nil
}
