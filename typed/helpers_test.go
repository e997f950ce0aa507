package typed_test

import (
	"fmt"
	"testing"

	"github.com/myelon-go/myelon/internal/testrecord"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/ring"
)

// testPayload is the seed's bench record (internal/testrecord).
type testPayload = testrecord.Payload

func payloadCodec() *bincode.Codec[testPayload, *testPayload] { return testrecord.Codec() }

func payloadFor(p *testPayload, i uint64)         { testrecord.Fill(p, i) }
func checkPayload(p *testPayload, i uint64) error { return testrecord.Check(p, i) }

// tick is a fixed-size pointer-free record for codec/raw.
type tick struct {
	Seq    uint64
	Ts     int64
	Price  float64
	Qty    int32
	Side   uint8
	Symbol [16]byte
}

func tickFor(i uint64) tick {
	t := tick{Seq: i, Ts: int64(i) * 1000, Price: float64(i) / 4, Qty: int32(i % 1000), Side: uint8(i & 1)}
	copy(t.Symbol[:], fmt.Sprintf("SYM-%d", i%97))
	return t
}

// heapName is a fresh ring name for the Heap backend.
func heapName(t testing.TB) string { return ring.PortableName("ty") }
