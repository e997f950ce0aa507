package msgpack_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/myelon-go/myelon/codec/msgpack"
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
