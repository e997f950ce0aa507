package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// svgCounts parses an SVG document and counts series lines, points and
// legend entries, failing on malformed XML.
func svgCounts(t *testing.T, doc []byte) (series, points, legend int, names []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	root := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("output is not XML: %v\n%s", err, doc)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !root {
			if se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element %v, want svg in the SVG namespace", se.Name)
			}
			root = true
		}
		class := ""
		for _, a := range se.Attr {
			if a.Name.Local == "class" {
				class = a.Value
			}
		}
		switch class {
		case "series":
			series++
			for _, a := range se.Attr {
				if a.Name.Local == "data-name" {
					names = append(names, a.Value)
				}
			}
		case "point":
			points++
		case "legend-entry":
			legend++
		}
	}
	return series, points, legend, names
}

func payloadChart() *Chart {
	sizes := []float64{64, 512, 1024, 4096, 65536, 2 << 20}
	mk := func(name string, base float64) Series {
		s := Series{Name: name}
		for _, x := range sizes {
			s.Points = append(s.Points, Point{X: x, Y: base + x/10})
		}
		return s
	}
	return &Chart{
		Title:   "Ping-pong round trip <p50> & friends",
		XLabel:  "payload",
		YLabel:  "round trip",
		XScale:  Log2,
		YScale:  Log10,
		XFormat: FormatBytes,
		YFormat: FormatNanos,
		Series:  []Series{mk("raw-atomic", 100), mk("ring", 150), mk("uds", 3000)},
	}
}

func TestChart_WriteSVG_SeriesCount(t *testing.T) {
	c := payloadChart()
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	series, points, legend, names := svgCounts(t, buf.Bytes())
	if series != 3 || legend != 3 || points != 18 {
		t.Fatalf("series/legend/points = %d/%d/%d, want 3/3/18", series, legend, points)
	}
	if strings.Join(names, ",") != "raw-atomic,ring,uds" {
		t.Fatalf("series names %v", names)
	}
	if !strings.Contains(buf.String(), "&lt;p50&gt; &amp; friends") {
		t.Fatalf("title not escaped:\n%s", buf.String())
	}
	for _, want := range []string{">64 B<", ">4 MiB<"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no tick label %q", want)
		}
	}
}

func TestChart_WriteSVG_LinearThroughput(t *testing.T) {
	c := &Chart{
		YFormat: FormatRate,
		XScale:  Log2,
		Series: []Series{
			{Name: "one point", Points: []Point{{X: 64, Y: 5.5e6}}},
			{Name: "empty"},
		},
	}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	series, points, legend, _ := svgCounts(t, buf.Bytes())
	if series != 2 || points != 1 || legend != 2 {
		t.Fatalf("series/points/legend = %d/%d/%d, want 2/1/2", series, points, legend)
	}
}

func TestChart_WriteSVG_BadData(t *testing.T) {
	for _, c := range []struct {
		name string
		ch   Chart
		axis string
	}{
		{"nan y", Chart{Series: []Series{{Name: "a", Points: []Point{{1, math.NaN()}}}}}, "y"},
		{"inf x", Chart{Series: []Series{{Name: "a", Points: []Point{{math.Inf(1), 1}}}}}, "x"},
		{"zero on log x", Chart{XScale: Log2, Series: []Series{{Name: "a", Points: []Point{{0, 1}}}}}, "x"},
		{"negative on log y", Chart{YScale: Log10, Series: []Series{{Name: "a", Points: []Point{{1, -3}}}}}, "y"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.ch.WriteSVG(io.Discard)
			var de *DataError
			if !errors.As(err, &de) || !errors.Is(err, ErrBadData) || de.Axis != c.axis {
				t.Fatalf("err = %v, want *DataError on axis %s", err, c.axis)
			}
		})
	}
}

func TestChart_WriteSVG_NoDataAndBadSize(t *testing.T) {
	if err := (&Chart{}).WriteSVG(io.Discard); !errors.Is(err, ErrNoData) {
		t.Fatalf("empty chart err = %v, want ErrNoData", err)
	}
	c := payloadChart()
	c.Width = 100
	if err := c.WriteSVG(io.Discard); !errors.Is(err, ErrBadSize) {
		t.Fatalf("tiny chart err = %v, want ErrBadSize", err)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatBytes(64), "64 B"}, {FormatBytes(4096), "4 KiB"}, {FormatBytes(2 << 20), "2 MiB"},
		{FormatBytes(1536), "1.5 KiB"}, {FormatNanos(130), "130 ns"}, {FormatNanos(2500), "2.5 µs"},
		{FormatNanos(1.234e6), "1.23 ms"}, {FormatNanos(3e9), "3 s"}, {FormatRate(950), "950 /s"},
		{FormatRate(5.58e6), "5.58 M/s"}, {FormatRate(133600), "134 k/s"}, {FormatRate(2e9), "2 G/s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
