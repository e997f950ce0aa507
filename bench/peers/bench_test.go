package peers

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkPingPong runs b.N measured round trips of every built-in peer.
// ns/op is the mean round trip (not the wall time, which includes starting
// the echo process); p50-ns, p99-ns and p999-ns are its percentiles.
//
//	go test -run '^$' -bench PingPong -benchtime 20000x ./bench/peers
func BenchmarkPingPong(b *testing.B) {
	for _, peer := range Names() {
		if !isBuiltin(peer) {
			continue
		}
		for _, size := range []int{64, 4096} {
			b.Run(fmt.Sprintf("%s/%dB", peer, size), func(b *testing.B) {
				r, err := Run(context.Background(), peer, Config{Size: size, Count: b.N, Warmup: min(b.N/10, 10_000)})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.Latency.Mean, "ns/op")
				b.ReportMetric(float64(r.Latency.P50), "p50-ns")
				b.ReportMetric(float64(r.Latency.P99), "p99-ns")
				b.ReportMetric(float64(r.Latency.P999), "p999-ns")
			})
		}
	}
}
