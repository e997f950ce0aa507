// Package chart draws the benchmark charts as standalone SVG line charts:
// latency against payload size and throughput against payload size, one
// line per layer or peer.
//
// The SVG is written by hand, with no dependency beyond the standard library,
// so the bench tool stays light; any browser or image viewer opens it. A
// [Chart] holds the title, axis labels and scales, and the [Series]; the x
// axis is usually [Log2] (payload sizes 64 B … 2 MiB) and the latency axis
// [Log10]. [Chart.WriteSVG] checks the data first and returns a *[DataError]
// for a value it cannot place (NaN, infinite, or not positive on a log axis),
// so a bad run never yields a chart that silently lies.
//
// In the output every series is one <polyline class="series"> with a
// data-name attribute and one <circle class="point"> per point, and the
// legend holds one <text class="legend-entry"> per series, which keeps the
// file easy to check by machine.
package chart
