package msgpack_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/myelon-go/myelon/codec/msgpack"
	"github.com/myelon-go/myelon/internal/codectest"
	"github.com/myelon-go/myelon/internal/testrecord"
	"github.com/myelon-go/myelon/typed"
)

type order struct {
	ID     uint64            `msgpack:"id"`
	Symbol string            `msgpack:"symbol"`
	Prices []float64         `msgpack:"prices"`
	Tags   map[string]string `msgpack:"tags"`
}

func TestCodec_RoundTrip(t *testing.T) {
	c := msgpack.New[order]("test.order", 1)
	in := order{ID: 7, Symbol: "BTC", Prices: []float64{1.5, 2}, Tags: map[string]string{"venue": "x"}}
	buf, err := c.Append([]byte("prefix"), &in)
	if err != nil || string(buf[:6]) != "prefix" {
		t.Fatalf("Append: %v", err)
	}
	var out order
	if err := c.Decode(buf[6:], &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("Decode: %+v, %v", out, err)
	}
	var te *msgpack.TrailingError
	if err := c.Decode(append(buf[6:], 0xc0), &out); !errors.As(err, &te) || te.Left != 1 {
		t.Fatalf("trailing: %v", err)
	}
	// Truncations and garbage are errors, not panics.
	for n := range len(buf) - 6 {
		if err := c.Decode(buf[6:6+n], &out); err == nil {
			t.Fatalf("prefix %d decoded", n)
		}
	}
	if err := c.Decode([]byte{0xc1, 0xff, 0x00}, &out); err == nil {
		t.Fatal("garbage decoded")
	}
}

// orderEqual is reflect.DeepEqual with prices compared bit for bit (NaN
// equals NaN).
func orderEqual(a, b *order) bool {
	bits := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	return a.ID == b.ID && a.Symbol == b.Symbol &&
		(a.Prices == nil) == (b.Prices == nil) && slices.EqualFunc(a.Prices, b.Prices, bits) &&
		(a.Tags == nil) == (b.Tags == nil) && maps.Equal(a.Tags, b.Tags)
}

// TestConformance runs the suite every codec passes (internal/codectest),
// on a struct with a string, a slice and a map, and on the bench record.
func TestConformance(t *testing.T) {
	t.Run("order", func(t *testing.T) {
		codectest.Run(t, codectest.Suite[order]{
			New:       func() typed.Codec[order] { return msgpack.New[order]("test.order", 1) },
			CodecName: msgpack.CodecName,
			Values: []order{
				{},
				{ID: 7, Symbol: "BTC", Prices: []float64{1.5, 2}, Tags: map[string]string{"venue": "x"}},
				{ID: math.MaxUint64, Symbol: "ünïcödé", Prices: []float64{math.Inf(1), -0.5}, Tags: map[string]string{"a": "1", "b": "2", "c": ""}},
			},
			Gen: func(r *rand.Rand) order {
				v := order{ID: r.Uint64() >> r.IntN(64), Symbol: fmt.Sprintf("S%d", r.IntN(1000))}
				for range r.IntN(5) {
					v.Prices = append(v.Prices, r.Float64()*1000)
				}
				if n := r.IntN(4); n > 0 {
					v.Tags = map[string]string{}
					for k := range n {
						v.Tags[fmt.Sprint("k", k)] = fmt.Sprint(r.IntN(100))
					}
				}
				return v
			},
			Equal:           orderEqual,
			Invalid:         [][]byte{{0xc1, 0xff, 0x00}, {0xdf, 0xff, 0xff, 0xff, 0xff}},
			RejectsTrailing: true,
			Known: map[string]string{
				"decode_overwrites": "Decode merges a message's map into the map the value already holds, so a consumer that reuses its value (typed.Consumer.Recv) keeps keys of earlier messages",
			},
		})
	})
	t.Run("bench_record", func(t *testing.T) {
		codectest.Run(t, codectest.Suite[testrecord.Payload]{
			New:       func() typed.Codec[testrecord.Payload] { return msgpack.New[testrecord.Payload]("bench.TestPayload", 1) },
			CodecName: msgpack.CodecName,
			Values:    []testrecord.Payload{{}, {ID: 1, TokenIDs: []uint32{1, 2}, Label: []byte("seq_1")}},
			Gen: func(r *rand.Rand) testrecord.Payload {
				var v testrecord.Payload
				testrecord.Fill(&v, r.Uint64N(1000))
				return v
			},
			Equal:           testrecord.Equal,
			RejectsTrailing: true,
		})
	})
}
