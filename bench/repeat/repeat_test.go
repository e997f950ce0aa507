package repeat

import (
	"errors"
	"math"
	"testing"
)

func TestOf_KnownSamples(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		in    []float64
		want  Stat
		noisy bool
	}{
		{[]float64{7}, Stat{N: 1, Median: 7, Min: 7, Max: 7}, false},
		{[]float64{3, 1, 2}, Stat{N: 3, Median: 2, Min: 1, Max: 3, Spread: 1}, true},
		{[]float64{4, 1, 3, 2}, Stat{N: 4, Median: 2.5, Min: 1, Max: 4, Spread: 1.2}, true},
		// The seven runs of the 64 B raw ring: one 851 ns outlier
		// and a bimodal 170/250 split.
		{[]float64{170, 251, 851, 251, 211, 170, 260}, Stat{N: 7, Median: 251, Min: 170, Max: 851, Spread: 681.0 / 251}, true},
		{[]float64{200, 210, 205, 195, 220}, Stat{N: 5, Median: 205, Min: 195, Max: 220, Spread: 25.0 / 205}, false},
		{[]float64{100, 125}, Stat{N: 2, Median: 112.5, Min: 100, Max: 125, Spread: 25 / 112.5}, false},
		{[]float64{0, 0}, Stat{N: 2}, false},
		{[]float64{-1, 0, 1}, Stat{N: 3, Min: -1, Max: 1, Spread: inf}, true},
	} {
		got, err := Of(tc.in)
		if err != nil {
			t.Fatalf("Of(%v): %v", tc.in, err)
		}
		if got.N != tc.want.N || got.Median != tc.want.Median || got.Min != tc.want.Min || got.Max != tc.want.Max ||
			math.Abs(got.Spread-tc.want.Spread) > 1e-12 && got.Spread != tc.want.Spread {
			t.Errorf("Of(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.Noisy() != tc.noisy {
			t.Errorf("Of(%v).Noisy() = %v, want %v", tc.in, got.Noisy(), tc.noisy)
		}
	}
}

func TestOf_DoesNotReorderInput(t *testing.T) {
	in := []float64{3, 1, 2}
	if _, err := Of(in); err != nil {
		t.Fatal(err)
	}
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("input reordered: %v", in)
	}
}

func TestOf_Rejects(t *testing.T) {
	for _, in := range [][]float64{nil, {}, {1, math.NaN()}, {math.Inf(-1)}} {
		if _, err := Of(in); !errors.Is(err, ErrNoSamples) {
			t.Errorf("Of(%v) err = %v, want ErrNoSamples", in, err)
		}
	}
}
