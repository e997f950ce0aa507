// Package hist records benchmark latencies and summarises them.
//
// It is a thin layer over HdrHistogram (github.com/HdrHistogram/hdrhistogram-go)
// with three significant digits, the precision the seed harness used, so every
// percentile comes from every sample and none is estimated from an average.
//
// # Recording
//
// A [Recorder] takes one sample per message with [Recorder.Record]. Recording
// allocates nothing. Values are nanoseconds; a value above [MaxValue] is
// recorded as MaxValue and counted in [Summary.Saturated], so a stall never
// disappears from the tail. Count, minimum, maximum, mean and standard
// deviation are exact (kept beside the histogram); percentiles carry the
// histogram's 0.1 % resolution and are clamped into [min, max].
//
// # Summaries
//
// [Recorder.Summary] turns the samples and the wall time of the measured loop
// into a [Summary]. Its JSON field names are those of the seed's
// `latency_stats` object (count, min, max, mean, stdev, p1 … p999999), plus the
// achieved rate (`throughput`, operations per second) and `duration_secs`.
//
// # Fixed-rate sending and coordinated omission
//
// A sender that waits for each reply before sending the next hides the
// messages it did not send while the system stalled ("coordinated omission").
// In fixed-rate mode a [Schedule] gives the intended send time of message i,
// start + i/rate, from an absolute base so the schedule never drifts; the
// sender waits with [SleepUntil] and measures latency from the intended send
// time, not from the moment it actually sent. A stall then shows as the
// latency every delayed message really suffered.
package hist
