// Package repeat summarises a figure measured in several runs of a
// benchmark: its median, its range and its spread, and whether the spread
// says the host was too noisy for the figure to be trusted.
//
// On a shared machine one run of a benchmark can be several times slower
// than the next. Repeating the run and reporting the median (with the
// range beside it) gives a figure that one disturbed run cannot move; the
// spread tells the reader how much the runs disagreed.
package repeat

import (
	"errors"
	"math"
	"slices"
)

// NoisySpread is the spread above which a figure is reported as noisy:
// its runs disagree by more than a quarter of the median.
const NoisySpread = 0.25

// ErrNoSamples: a Stat needs at least one sample, and only finite ones.
var ErrNoSamples = errors.New("repeat: no samples, or a sample that is not a finite number")

// Stat is one figure over N runs.
type Stat struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Spread is (Max - Min) / Median: 0 for a single run or identical
	// runs, 0.5 when the runs span half the median. It is 0 when the
	// median is 0 and the runs agree, +Inf when the median is 0 and they
	// do not.
	Spread float64 `json:"spread"`
}

// Of summarises samples. It fails with ErrNoSamples when there are none
// or one is NaN or infinite.
func Of(samples []float64) (Stat, error) {
	if len(samples) == 0 {
		return Stat{}, ErrNoSamples
	}
	s := slices.Clone(samples)
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Stat{}, ErrNoSamples
		}
	}
	slices.Sort(s)
	n := len(s)
	st := Stat{N: n, Min: s[0], Max: s[n-1], Median: s[n/2]}
	if n%2 == 0 {
		st.Median = (s[n/2-1] + s[n/2]) / 2
	}
	switch width := st.Max - st.Min; {
	case width == 0:
	case st.Median == 0:
		st.Spread = math.Inf(1)
	default:
		st.Spread = width / math.Abs(st.Median)
	}
	return st, nil
}

// Noisy reports whether the runs disagree by more than NoisySpread.
func (s Stat) Noisy() bool { return s.Spread > NoisySpread }
