package frame

import (
	"context"
	"testing"
)

// BenchmarkChecksum measures what Config.Checksum costs a message: one
// Send and one Recv in the same goroutine over a heap ring, "plain"
// without the checksum and "crc32c" with it, run side by side per size;
// "crc-only" is crc32.Checksum (Castagnoli) alone over the same bytes, the
// floor of the difference. 64 B and 4 KiB messages fit one frame; 64 KiB
// ones travel in four 16 KiB frames and are reassembled.
//
//	go test ./frame -run '^$' -bench Checksum -count 5
func BenchmarkChecksum(b *testing.B) {
	ctx := context.Background()
	for _, s := range []struct {
		name          string
		size, capSize int
	}{
		{"64B", 64, 64},
		{"4KiB", 4 << 10, 4 << 10},
		{"64KiB", 64 << 10, 16 << 10},
	} {
		msg, dst := payloadFor(1, s.size), make([]byte, s.size)
		for _, sum := range []bool{false, true} {
			name := s.name + "/plain"
			if sum {
				name = s.name + "/crc32c"
			}
			b.Run(name, func(b *testing.B) {
				p, c := heapPair(b, Config{PayloadCapacity: s.capSize, Capacity: 64, Checksum: sum}, ConsumerConfig{})
				b.SetBytes(int64(s.size))
				for b.Loop() {
					if _, err := p.Send(ctx, 1, msg); err != nil {
						b.Fatal(err)
					}
					if _, _, err := c.Recv(ctx, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(s.name+"/crc-only", func(b *testing.B) {
			b.SetBytes(int64(s.size))
			var x uint32
			for b.Loop() {
				x += messageSum(msg)
			}
			sink = x
		})
	}
}

var sink uint32
