package typed_test

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/ring"
)

// testPayload is the seed's bench record (see codec/bincode's tests),
// with every field derived from its id (payloadFor), so a torn, stale or
// misdecoded record shows without a reference copy.
type testPayload struct {
	ID          uint64
	TokenIDs    []uint32
	BlockTable  []uint32
	Temperature float32
	Label       []byte
}

func (p *testPayload) AppendBincode(b []byte) []byte {
	b = bincode.AppendU64(b, p.ID)
	b = bincode.AppendU32s(b, p.TokenIDs)
	b = bincode.AppendU32s(b, p.BlockTable)
	b = bincode.AppendF32(b, p.Temperature)
	return bincode.AppendBytes(b, p.Label)
}

func (p *testPayload) UnmarshalBincode(r *bincode.Reader) error {
	p.ID = r.U64()
	p.TokenIDs = r.U32s(p.TokenIDs)
	p.BlockTable = r.U32s(p.BlockTable)
	p.Temperature = r.F32()
	p.Label = r.StrBytes(p.Label)
	return r.Err()
}

func payloadCodec() *bincode.Codec[testPayload, *testPayload] {
	return bincode.New[testPayload]("bench.TestPayload", 1)
}

// tokensFor is the number of token ids of record i: 128 as in the seed,
// every seventh record 1024 (about 4.5 KB, several frames on small-frame
// rings).
func tokensFor(i uint64) int {
	if i%7 == 3 {
		return 1024
	}
	return 128
}

// payloadFor fills p (reusing its slices) as record i.
func payloadFor(p *testPayload, i uint64) {
	p.ID = i
	p.TokenIDs = p.TokenIDs[:0]
	for k := range tokensFor(i) {
		p.TokenIDs = append(p.TokenIDs, uint32(i)*31+uint32(k))
	}
	p.BlockTable = p.BlockTable[:0]
	for k := range 8 {
		p.BlockTable = append(p.BlockTable, uint32(i>>3)+uint32(k))
	}
	p.Temperature = 0.7 + float32(i%10)/100
	p.Label = fmt.Appendf(p.Label[:0], "seq_%d", i)
}

// checkPayload reports how p differs from record i.
func checkPayload(p *testPayload, i uint64) error {
	var want testPayload
	payloadFor(&want, i)
	switch {
	case p.ID != want.ID:
		return fmt.Errorf("record %d: id %d", i, p.ID)
	case !slices.Equal(p.TokenIDs, want.TokenIDs):
		return fmt.Errorf("record %d: %d token ids differ", i, len(p.TokenIDs))
	case !slices.Equal(p.BlockTable, want.BlockTable):
		return fmt.Errorf("record %d: block table %v", i, p.BlockTable)
	case math.Float32bits(p.Temperature) != math.Float32bits(want.Temperature):
		return fmt.Errorf("record %d: temperature %v", i, p.Temperature)
	case !bytes.Equal(p.Label, want.Label):
		return fmt.Errorf("record %d: label %q", i, p.Label)
	}
	return nil
}

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
