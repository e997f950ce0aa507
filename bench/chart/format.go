package chart

import (
	"math"
	"strconv"
)

// FormatBytes labels a size in bytes with binary units: 64 B, 4 KiB, 2 MiB.
func FormatBytes(v float64) string {
	units := [...]string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return short(v) + " " + units[i]
}

// FormatNanos labels a duration given in nanoseconds: 130 ns, 2.5 µs, 1.2 ms.
func FormatNanos(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return short(v/1e9) + " s"
	case a >= 1e6:
		return short(v/1e6) + " ms"
	case a >= 1e3:
		return short(v/1e3) + " µs"
	}
	return short(v) + " ns"
}

// FormatRate labels a rate in operations per second: 950 /s, 5.6 M/s.
func FormatRate(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return short(v/1e9) + " G/s"
	case a >= 1e6:
		return short(v/1e6) + " M/s"
	case a >= 1e3:
		return short(v/1e3) + " k/s"
	}
	return short(v) + " /s"
}

// short prints v rounded to three significant digits without an exponent.
func short(v float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil { // unreachable: FormatFloat output always parses
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
