package workload

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkLanes publishes one 64-byte event and reads it, in one
// goroutine, on each lane of signal: the instructions per event of the
// reference against the ring and framed lanes, exact under callgrind
// (nothing waits, nothing crosses cores; see docs/results.md).
func BenchmarkLanes(b *testing.B) {
	ctx := context.Background()
	fill := func(seq int64, ev []byte) { binary.LittleEndian.PutUint64(ev, uint64(seq)) }
	read := func(int64, []byte) error { return nil }
	for _, lane := range []string{LaneReference, LaneRing, LaneFramed} {
		b.Run(lane, func(b *testing.B) {
			cfg, err := Config{Workload: Signal, Lane: lane, Count: b.N, Wait: "spin"}.withDefaults()
			if err != nil {
				b.Fatal(err)
			}
			p, err := newPublisher(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer p.close()
			var s subscriber
			addr, files := p.link()
			if lane == LaneReference {
				fd, derr := unix.Dup(int(files[0].Fd()))
				if derr != nil {
					b.Fatal(derr)
				}
				s, err = newRefSubscriber(cfg, "c0", os.NewFile(uintptr(fd), addr))
			} else {
				s, err = newSubscriber(ctx, cfg, addr, "c0", 0)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			b.ResetTimer()
			for range b.N {
				if err := p.publish(ctx, 1, fill); err != nil {
					b.Fatal(err)
				}
				if err := s.next(ctx, read); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
