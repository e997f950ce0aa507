package workload

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkLanes publishes 64-byte events and reads them, in one
// goroutine, on each lane of signal, one event per publish (lane) and 64
// (lane-batch64, as `myelon bench signal -batch 64`): the instructions per
// event of the reference against the ring and framed lanes, exact under
// callgrind (nothing waits, nothing crosses cores; see docs/results.md).
func BenchmarkLanes(b *testing.B) {
	for _, lane := range []string{LaneReference, LaneRing, LaneFramed} {
		for _, batch := range []int{1, 64} {
			name := lane
			if batch > 1 {
				name = fmt.Sprintf("%s-batch%d", lane, batch)
			}
			b.Run(name, func(b *testing.B) { benchLane(b, lane, batch) })
		}
	}
}

// benchLane publishes b.N events on lane, batch at a time, each batch read
// before the next is published.
func benchLane(b *testing.B, lane string, batch int) {
	ctx := context.Background()
	fill := func(seq int64, ev []byte) { binary.LittleEndian.PutUint64(ev, uint64(seq)) }
	read := func(int64, []byte) error { return nil }
	cfg, p := publisherOf(b, Config{Workload: Signal, Lane: lane, Count: b.N, Wait: "spin"})
	var s subscriber
	var err error
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
	for i := 0; i < b.N; i += batch {
		if err := p.publish(ctx, min(batch, b.N-i), fill); err != nil {
			b.Fatal(err)
		}
		if err := s.next(ctx, read); err != nil {
			b.Fatal(err)
		}
	}
}
