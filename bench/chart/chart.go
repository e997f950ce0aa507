package chart

import (
	"bufio"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Scale is how an axis maps values to positions.
type Scale int

const (
	// Linear spaces values evenly; a linear axis always includes 0.
	Linear Scale = iota
	// Log2 spaces powers of two evenly (payload sizes); values must be > 0.
	Log2
	// Log10 spaces decades evenly (latencies); values must be > 0.
	Log10
)

// Point is one measurement: X is usually the payload in bytes, Y the
// latency in nanoseconds or the rate in operations per second.
type Point struct{ X, Y float64 }

// Series is one line of the chart: one layer or one peer.
type Series struct {
	Name   string
	Points []Point
}

// Chart describes one line chart. The zero value of each field means its
// documented default.
type Chart struct {
	Title  string
	XLabel string
	YLabel string
	XScale Scale // default Linear
	YScale Scale // default Linear
	// XFormat and YFormat label the ticks; nil means a short %g form. See
	// [FormatBytes], [FormatNanos] and [FormatRate].
	XFormat func(float64) string
	YFormat func(float64) string
	Series  []Series
	// Width and Height are the image size in pixels; zero means 800 × 480.
	Width, Height int
}

// ErrNoData is returned by [Chart.WriteSVG] when no series has a point.
var ErrNoData = errors.New("chart: no data points")

// ErrBadData matches every *[DataError] with errors.Is.
var ErrBadData = errors.New("chart: bad data point")

// ErrBadSize is returned for a negative or too small image size.
var ErrBadSize = errors.New("chart: image size too small")

// DataError reports a point the chart cannot place.
type DataError struct {
	Series string // the series name
	Index  int    // the point's index in the series
	Axis   string // "x" or "y"
	Value  float64
	Reason string
}

func (e *DataError) Error() string {
	return fmt.Sprintf("chart: series %q point %d: %s = %v: %s", e.Series, e.Index, e.Axis, e.Value, e.Reason)
}

// Is makes errors.Is(err, ErrBadData) true.
func (e *DataError) Is(target error) bool { return target == ErrBadData }

// Layout in pixels.
const (
	marginLeft   = 90
	marginRight  = 190 // room for the legend
	marginTop    = 48
	marginBottom = 64
	minPlot      = 40
)

// palette is ten colours that stay apart for common colour blindness
// (Tableau 10).
var palette = [...]string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// axis maps data values to pixel positions along one axis.
type axis struct {
	scale    Scale
	lo, hi   float64 // data range, in transformed units (log2 / log10 for log axes)
	p0, p1   float64 // pixel positions of lo and hi
	format   func(float64) string
	ticks    []float64 // in data units
	label    string
	vertical bool
}

func (a *axis) transform(v float64) float64 {
	switch a.scale {
	case Log2:
		return math.Log2(v)
	case Log10:
		return math.Log10(v)
	default:
		return v
	}
}

func (a *axis) pos(v float64) float64 {
	return a.p0 + (a.transform(v)-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// check reports why v cannot be placed on the axis, or "".
func (a *axis) check(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "not a finite number"
	case a.scale != Linear && v <= 0:
		return "not positive on a log axis"
	}
	return ""
}

// fit sets the range and ticks from the data extremes (in data units).
func (a *axis) fit(dmin, dmax float64) {
	if a.scale == Linear {
		dmin, dmax = min(dmin, 0), max(dmax, 0)
		if dmin == dmax {
			dmax = dmin + 1
		}
		step := niceStep((dmax - dmin) / 6)
		a.lo, a.hi = math.Floor(dmin/step)*step, math.Ceil(dmax/step)*step
		a.ticks = a.ticks[:0]
		for t := a.lo; t <= a.hi+step/2; t += step {
			a.ticks = append(a.ticks, t)
		}
		return
	}
	base := 10.0
	if a.scale == Log2 {
		base = 2
	}
	lo, hi := math.Floor(a.transform(dmin)), math.Ceil(a.transform(dmax))
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	// At most about eight ticks: skip exponents evenly, and end the axis on
	// a tick.
	every := math.Max(1, math.Ceil((hi-lo)/8))
	hi = lo + math.Ceil((hi-lo)/every)*every
	a.lo, a.hi = lo, hi
	a.ticks = a.ticks[:0]
	for e := lo; e <= hi; e += every {
		a.ticks = append(a.ticks, math.Pow(base, e))
	}
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func defaultFormat(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// WriteSVG checks the data and writes the chart to w as an SVG document.
// Points are drawn in order of X.
func (c *Chart) WriteSVG(w io.Writer) error {
	width, height := c.Width, c.Height
	if width == 0 {
		width = 800
	}
	if height == 0 {
		height = 480
	}
	if width < marginLeft+marginRight+minPlot || height < marginTop+marginBottom+minPlot {
		return fmt.Errorf("%w: %d×%d", ErrBadSize, width, height)
	}
	x := &axis{scale: c.XScale, p0: marginLeft, p1: float64(width - marginRight), format: c.XFormat, label: c.XLabel}
	y := &axis{scale: c.YScale, p0: float64(height - marginBottom), p1: marginTop, format: c.YFormat, label: c.YLabel, vertical: true}
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i, p := range s.Points {
			if r := x.check(p.X); r != "" {
				return &DataError{Series: s.Name, Index: i, Axis: "x", Value: p.X, Reason: r}
			}
			if r := y.check(p.Y); r != "" {
				return &DataError{Series: s.Name, Index: i, Axis: "y", Value: p.Y, Reason: r}
			}
			xmin, xmax = min(xmin, p.X), max(xmax, p.X)
			ymin, ymax = min(ymin, p.Y), max(ymax, p.Y)
		}
	}
	if math.IsInf(xmin, 1) {
		return ErrNoData
	}
	x.fit(xmin, xmax)
	y.fit(ymin, ymax)

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text class="title" x="%d" y="28" text-anchor="middle" font-size="16">%s</text>`+"\n",
		(marginLeft+width-marginRight)/2, esc(c.Title))
	drawAxis(bw, x, y)
	drawAxis(bw, y, x)
	for i, s := range c.Series {
		color := palette[i%len(palette)]
		dash := "" // a second round of the palette is dashed, so no two series look alike
		if i >= len(palette) {
			dash = ` stroke-dasharray="6 3"`
		}
		pts := slices.Clone(s.Points)
		slices.SortStableFunc(pts, func(a, b Point) int { return cmp.Compare(a.X, b.X) })
		var sb strings.Builder
		for j, p := range pts {
			if j > 0 {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%.1f,%.1f", x.pos(p.X), y.pos(p.Y))
		}
		fmt.Fprintf(bw, `<g class="series-group"><polyline class="series" data-name="%s" fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n",
			esc(s.Name), color, dash, sb.String())
		for _, p := range pts {
			fmt.Fprintf(bw, `<circle class="point" cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s, %s</title></circle>`+"\n",
				x.pos(p.X), y.pos(p.Y), color, esc(s.Name), esc(x.label1(p.X)), esc(y.label1(p.Y)))
		}
		fmt.Fprint(bw, "</g>\n")
		ly := marginTop + 8 + 20*i
		lx := width - marginRight + 16
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>`+"\n", lx, ly, lx+24, ly, color, dash)
		fmt.Fprintf(bw, `<text class="legend-entry" x="%d" y="%d">%s</text>`+"\n", lx+30, ly+4, esc(s.Name))
	}
	fmt.Fprint(bw, "</svg>\n")
	return bw.Flush()
}

// label1 formats one value with the axis's tick format.
func (a *axis) label1(v float64) string {
	if a.format != nil {
		return a.format(v)
	}
	return defaultFormat(v)
}

// drawAxis draws the grid lines, ticks, tick labels and label of a, which
// runs across other.
func drawAxis(w io.Writer, a, other *axis) {
	for _, t := range a.ticks {
		p := a.pos(t)
		if a.vertical {
			fmt.Fprintf(w, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", other.p0, p, other.p1, p)
			fmt.Fprintf(w, `<text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", other.p0-6, p+4, esc(a.label1(t)))
		} else {
			fmt.Fprintf(w, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>`+"\n", p, other.p0, p, other.p1)
			fmt.Fprintf(w, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", p, other.p0+18, esc(a.label1(t)))
		}
	}
	if a.vertical {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000000"/>`+"\n", other.p0, a.p0, other.p0, a.p1)
		cy := (a.p0 + a.p1) / 2
		fmt.Fprintf(w, `<text class="axis-label" x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">%s</text>`+"\n", cy, cy, esc(a.label))
	} else {
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000000"/>`+"\n", a.p0, other.p0, a.p1, other.p0)
		fmt.Fprintf(w, `<text class="axis-label" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (a.p0+a.p1)/2, other.p0+44, esc(a.label))
	}
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var sb strings.Builder
	// EscapeText writes to a strings.Builder, which never fails.
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}
