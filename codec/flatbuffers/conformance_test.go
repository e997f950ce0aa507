package flatbuffers_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/myelon-go/myelon/codec/flatbuffers"
	"github.com/myelon-go/myelon/codec/flatbuffers/benchfb"
	"github.com/myelon-go/myelon/internal/codectest"
	"github.com/myelon-go/myelon/internal/testrecord"
	"github.com/myelon-go/myelon/typed"
)

// payloadT is the bench record i (internal/testrecord) in flatc's object
// API.
func payloadT(i uint64) benchfb.TestPayloadT {
	var p testrecord.Payload
	testrecord.Fill(&p, i)
	return benchfb.TestPayloadT{Id: p.ID, TokenIds: p.TokenIDs, BlockTable: p.BlockTable, Temperature: p.Temperature, Label: string(p.Label)}
}

func payloadEqual(a, b *benchfb.TestPayloadT) bool {
	return a.Id == b.Id && slices.Equal(a.TokenIds, b.TokenIds) && slices.Equal(a.BlockTable, b.BlockTable) &&
		math.Float32bits(a.Temperature) == math.Float32bits(b.Temperature) && a.Label == b.Label
}

// invalid are buffers no root type accepts: shorter than a root offset, a
// root offset past the end, a table whose vtable lies before the buffer.
var invalid = [][]byte{
	{4, 0, 0},
	{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},
	{4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f},
}

// TestConformance runs the suite every codec passes (internal/codectest)
// on the object-API codecs of bench.fbs's root types.
func TestConformance(t *testing.T) {
	t.Run("TestPayload", func(t *testing.T) {
		codectest.Run(t, codectest.Suite[benchfb.TestPayloadT]{
			New:       func() typed.Codec[benchfb.TestPayloadT] { return benchfb.NewTestPayloadCodec() },
			CodecName: flatbuffers.CodecName,
			Values: []benchfb.TestPayloadT{
				{}, payloadT(0), payloadT(3),
				{Id: math.MaxUint64, Temperature: float32(math.NaN()), Label: "ünïcödé", TokenIds: []uint32{math.MaxUint32}},
			},
			Gen: func(r *rand.Rand) benchfb.TestPayloadT {
				v := payloadT(r.Uint64N(1000))
				v.TokenIds = v.TokenIds[:r.IntN(len(v.TokenIds)+1)]
				return v
			},
			Equal:   payloadEqual,
			Invalid: invalid,
			Padded:  true,
		})
	})
	t.Run("PayloadBatch", func(t *testing.T) {
		codectest.Run(t, codectest.Suite[benchfb.PayloadBatchT]{
			New:       func() typed.Codec[benchfb.PayloadBatchT] { return benchfb.NewPayloadBatchCodec() },
			CodecName: flatbuffers.CodecName,
			Values:    []benchfb.PayloadBatchT{{}},
			Gen: func(r *rand.Rand) benchfb.PayloadBatchT {
				var b benchfb.PayloadBatchT
				for range r.IntN(6) {
					p := payloadT(r.Uint64N(1000))
					b.Entries = append(b.Entries, &p)
				}
				return b
			},
			GenCount: 16,
			Equal: func(a, b *benchfb.PayloadBatchT) bool {
				return slices.EqualFunc(a.Entries, b.Entries, payloadEqual)
			},
			Invalid: invalid,
			Padded:  true,
		})
	})
	t.Run("Echo", func(t *testing.T) {
		codectest.Run(t, codectest.Suite[benchfb.EchoT]{
			New:       func() typed.Codec[benchfb.EchoT] { return benchfb.NewEchoCodec() },
			CodecName: flatbuffers.CodecName,
			Values:    []benchfb.EchoT{{}, {Seq: 42, Data: []byte("0123456789abcdef")}},
			Gen: func(r *rand.Rand) benchfb.EchoT {
				v := benchfb.EchoT{Seq: r.Uint64(), Data: make([]byte, r.IntN(100))}
				for i := range v.Data {
					v.Data[i] = byte(r.Uint32())
				}
				return v
			},
			Equal:   func(a, b *benchfb.EchoT) bool { return a.Seq == b.Seq && string(a.Data) == string(b.Data) },
			Invalid: invalid,
			Padded:  true,
			Known: map[string]string{
				"decode_copies": "the generated Echo.UnPackTo sets Data to DataBytes(), a slice of the source, and Codec.Decode does not copy it: a consumer's EchoT.Data aliases the ring slot, which the producer reuses",
			},
		})
	})
}
