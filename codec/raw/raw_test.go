package raw_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/internal/codectest"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// tick is a fixed-size pointer-free record.
type tick struct {
	Seq    uint64
	Ts     int64
	Price  float64
	Qty    int32
	Side   uint8
	Symbol [16]byte
}

// sameLayout has tick's layout under another name: same schema.
type sameLayout struct {
	Seq    uint64
	Ts     int64
	Price  float64
	Qty    int32
	Side   uint8
	Symbol [16]byte
}

// renamed differs from tick in one field name: another schema.
type renamed struct {
	Seq    uint64
	Ts     int64
	Price  float64
	Qty    int32
	Side   uint8
	Ticker [16]byte
}

func TestNew_RejectsPointers(t *testing.T) {
	type withSlice struct {
		A uint64
		B []byte
	}
	type nested struct {
		X [2]struct{ P *int }
	}
	check := func(name string, err error, field string) {
		t.Helper()
		var te *ring.TypeError
		if !errors.Is(err, ring.ErrInvalidType) || !errors.As(err, &te) || te.Field != field {
			t.Fatalf("%s: got %v, want a *TypeError for field %s", name, err, field)
		}
	}
	_, err := raw.New[withSlice]()
	check("slice", err, "raw_test.withSlice.B")
	_, err = raw.New[nested]()
	check("nested pointer", err, "raw_test.nested.X[].P")
	_, err = raw.New[string]()
	check("string", err, "string")
	_, err = raw.New[struct{}]()
	check("zero size", err, "struct {}")
}

func TestCodec_Schema(t *testing.T) {
	a, b, c := raw.MustNew[tick](), raw.MustNew[sameLayout](), raw.MustNew[renamed]()
	if a.Schema() != b.Schema() {
		t.Fatalf("same layout, different schemas: %v, %v", a.Schema(), b.Schema())
	}
	if a.Schema() == c.Schema() {
		t.Fatalf("renamed field, same schema %v", a.Schema())
	}
	if a.Size() != int(unsafe.Sizeof(tick{})) || a.Alignment() != 8 {
		t.Fatalf("size %d align %d", a.Size(), a.Alignment())
	}
}

func TestCodec_RoundTripAndView(t *testing.T) {
	c := raw.MustNew[tick]()
	v := tick{Seq: 7, Ts: -1, Price: 101.25, Qty: 3, Side: 1}
	copy(v.Symbol[:], "BTC-USDT")
	buf, err := c.Append(nil, &v)
	if err != nil || len(buf) != c.Size() {
		t.Fatalf("Append: %d bytes, %v", len(buf), err)
	}
	var back tick
	if err := c.Decode(buf, &back); err != nil || back != v {
		t.Fatalf("Decode: %+v, %v", back, err)
	}
	// The view needs an aligned address: copy into an 8-aligned buffer.
	words := make([]uint64, (c.Size()+7)/8)
	al := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), c.Size())
	copy(al, buf)
	p, err := c.View(al)
	if err != nil || *p != v || unsafe.Pointer(p) != unsafe.Pointer(&al[0]) {
		t.Fatalf("View: %+v, %v", p, err)
	}
}

func TestCodec_Errors(t *testing.T) {
	c := raw.MustNew[tick]()
	var v tick
	var se *raw.SizeError
	for _, n := range []int{0, 1, c.Size() - 1, c.Size() + 1} {
		if err := c.Decode(make([]byte, n), &v); !errors.As(err, &se) || se.Got != n {
			t.Fatalf("Decode of %d bytes: %v", n, err)
		}
		if _, err := c.View(make([]byte, n)); !errors.As(err, &se) {
			t.Fatalf("View of %d bytes: %v", n, err)
		}
	}
	words := make([]uint64, c.Size()/8+2)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	var ae *raw.AlignError
	if _, err := c.View(b[3 : 3+c.Size()]); !errors.As(err, &ae) || ae.Offset != 3 || ae.Align != 8 {
		t.Fatalf("misaligned View: %v", err)
	}
}

func TestCodec_ZeroAlloc(t *testing.T) {
	c := raw.MustNew[tick]()
	v, back := &tick{Seq: 1}, &tick{}
	var buf []byte
	allocs := testing.AllocsPerRun(1000, func() {
		buf, _ = c.Append(buf[:0], v)
		if err := c.Decode(buf, back); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs, want 0", allocs)
	}
}

// FuzzView hands View hostile lengths, offsets and bytes: it must never
// panic, and must accept exactly the right-sized aligned payloads, whose
// view then reads what Decode copies.
func FuzzView(f *testing.F) {
	c := raw.MustNew[tick]()
	f.Add(make([]byte, c.Size()), uint8(0))
	f.Add(make([]byte, c.Size()+3), uint8(3))
	f.Add([]byte{1, 2, 3}, uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, off uint8) {
		words := make([]uint64, (len(in)+int(off)+7)/8+1)
		mem := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
		src := mem[off : int(off)+len(in)]
		copy(src, in)
		p, err := c.View(src)
		ok := len(in) == c.Size() && off%8 == 0
		if (err == nil) != ok {
			t.Fatalf("len %d off %d: err %v, want ok=%v", len(in), off, err, ok)
		}
		if err != nil {
			return
		}
		// Compare memory, not values: NaN != NaN.
		var v tick
		if err := c.Decode(src, &v); err != nil {
			t.Fatal(err)
		}
		got := unsafe.Slice((*byte)(unsafe.Pointer(p)), c.Size())
		want := unsafe.Slice((*byte)(unsafe.Pointer(&v)), c.Size())
		if string(got) != string(want) || string(got) != string(in) {
			t.Fatalf("view % x differs from decode % x or input % x", got, want, in)
		}
	})
}

// tickBytes is the memory of a tick: ticks compare by it (NaN prices
// included).
func tickBytes(v *tick) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v)) }

// TestConformance runs the suite every codec passes (internal/codectest).
func TestConformance(t *testing.T) {
	size := int(unsafe.Sizeof(tick{}))
	maxTick := tick{Seq: math.MaxUint64, Ts: math.MinInt64, Price: math.Inf(-1), Qty: math.MaxInt32, Side: 0xff}
	for i := range maxTick.Symbol {
		maxTick.Symbol[i] = 0xff
	}
	codectest.Run(t, codectest.Suite[tick]{
		New:       func() typed.Codec[tick] { return raw.MustNew[tick]() },
		CodecName: raw.CodecName,
		Values:    []tick{{}, {Seq: 7, Ts: -1, Price: 101.25, Qty: 3, Side: 1, Symbol: [16]byte{'B', 'T', 'C'}}, maxTick, {Price: math.NaN()}},
		Gen: func(r *rand.Rand) tick {
			v := tick{Seq: r.Uint64(), Ts: int64(r.Uint64()), Price: math.Float64frombits(r.Uint64()), Qty: int32(r.Uint32()), Side: uint8(r.Uint32())}
			for i := range v.Symbol {
				v.Symbol[i] = byte(r.Uint32())
			}
			return v
		},
		Equal:           func(a, b *tick) bool { return bytes.Equal(tickBytes(a), tickBytes(b)) },
		Invalid:         [][]byte{make([]byte, 2*size), make([]byte, size/2)},
		RejectsTrailing: true,
		Canonical:       true,
		ZeroAllocAppend: true,
		ZeroAllocDecode: true,
	})
}
