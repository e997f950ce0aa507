package chart_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/myelon-go/myelon/bench/chart"
)

// Latency against payload size, one line per transport, both axes logarithmic.
func Example() {
	c := &chart.Chart{
		Title:   "Ping-pong p50 round trip",
		XLabel:  "payload",
		YLabel:  "p50 round trip",
		XScale:  chart.Log2,
		YScale:  chart.Log10,
		XFormat: chart.FormatBytes,
		YFormat: chart.FormatNanos,
		Series: []chart.Series{
			{Name: "raw-atomic", Points: []chart.Point{{X: 64, Y: 180}, {X: 4096, Y: 900}}},
			{Name: "uds", Points: []chart.Point{{X: 64, Y: 9000}, {X: 4096, Y: 11000}}},
		},
	}
	dir, err := os.MkdirTemp("", "chart-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "latency.svg"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	fmt.Println(c.WriteSVG(f))
	// Output: <nil>
}
