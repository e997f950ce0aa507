package bincode_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/myelon-go/myelon/codec/bincode"
	"github.com/myelon-go/myelon/internal/codectest"
	"github.com/myelon-go/myelon/internal/testrecord"
	"github.com/myelon-go/myelon/typed"
)

// testPayload is the seed's bench record (Rust: struct TestPayload { id:
// u64, token_ids: Vec<u32>, block_table: Vec<u32>, temperature: f32,
// label: String }), shared with the other packages' tests
// (internal/testrecord). Label is a []byte holding the String's UTF-8
// bytes, so decoding into a reused value allocates nothing.
type testPayload = testrecord.Payload

var equalPayload = testrecord.Equal

// unhex decodes a golden vector written as spaced hex bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden vectors, each derived by hand from the bincode 1.x fixint format:
// little-endian fixed-width integers, IEEE floats, bool as one byte,
// u64 length prefixes, u8 Option tags and u32 enum variant indices. The
// TestPayload, f32, f64, i64::MIN, "é", Option, enum, tuple, Vec<u16> and
// Vec<f64> vectors were also checked once against Rust's
// bincode::serialize (bincode 1.3.3, serde 1.0.152, from Debian's
// librust-bincode-dev); the test needs no Rust.
func TestGolden_Primitives(t *testing.T) {
	cases := []struct {
		name string
		enc  []byte
		want string
	}{
		{"u8 0xab", bincode.AppendU8(nil, 0xab), "ab"},
		{"u16 0x1234", bincode.AppendU16(nil, 0x1234), "34 12"},
		{"u32 0xdeadbeef", bincode.AppendU32(nil, 0xdeadbeef), "ef be ad de"},
		{"u64 1", bincode.AppendU64(nil, 1), "01 00 00 00 00 00 00 00"},
		{"u64 max", bincode.AppendU64(nil, math.MaxUint64), "ff ff ff ff ff ff ff ff"},
		{"i8 -1", bincode.AppendI8(nil, -1), "ff"},
		{"i16 -2", bincode.AppendI16(nil, -2), "fe ff"},
		{"i32 -2", bincode.AppendI32(nil, -2), "fe ff ff ff"},
		{"i64 -1", bincode.AppendI64(nil, -1), "ff ff ff ff ff ff ff ff"},
		{"i64 min", bincode.AppendI64(nil, math.MinInt64), "00 00 00 00 00 00 00 80"},
		{"bool true", bincode.AppendBool(nil, true), "01"},
		{"bool false", bincode.AppendBool(nil, false), "00"},
		// 0.7f32 = 0x3f333333 (sign 0, exponent 126, mantissa 0x333333).
		{"f32 0.7", bincode.AppendF32(nil, 0.7), "33 33 33 3f"},
		// 1.5f64 = 0x3ff8000000000000.
		{"f64 1.5", bincode.AppendF64(nil, 1.5), "00 00 00 00 00 00 f8 3f"},
		{"f64 -0", bincode.AppendF64(nil, math.Copysign(0, -1)), "00 00 00 00 00 00 00 80"},
		{"String empty", bincode.AppendString(nil, ""), "00 00 00 00 00 00 00 00"},
		{`String "seq_1"`, bincode.AppendString(nil, "seq_1"), "05 00 00 00 00 00 00 00 73 65 71 5f 31"},
		{`String "é" (2 UTF-8 bytes)`, bincode.AppendString(nil, "é"), "02 00 00 00 00 00 00 00 c3 a9"},
		{"Vec<u8> [1,2,3]", bincode.AppendBytes(nil, []byte{1, 2, 3}), "03 00 00 00 00 00 00 00 01 02 03"},
		{"Vec<u16> [1,0x100]", bincode.AppendU16s(nil, []uint16{1, 0x100}), "02 00 00 00 00 00 00 00 01 00 00 01"},
		{"Vec<u32> [1,2]", bincode.AppendU32s(nil, []uint32{1, 2}), "02 00 00 00 00 00 00 00 01 00 00 00 02 00 00 00"},
		{"Vec<u32> []", bincode.AppendU32s(nil, nil), "00 00 00 00 00 00 00 00"},
		{"Vec<u64> [3]", bincode.AppendU64s(nil, []uint64{3}), "01 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00"},
		{"Vec<i32> [-1]", bincode.AppendI32s(nil, []int32{-1}), "01 00 00 00 00 00 00 00 ff ff ff ff"},
		{"Vec<i64> [-2]", bincode.AppendI64s(nil, []int64{-2}), "01 00 00 00 00 00 00 00 fe ff ff ff ff ff ff ff"},
		{"Vec<f32> [0.5]", bincode.AppendF32s(nil, []float32{0.5}), "01 00 00 00 00 00 00 00 00 00 00 3f"},
		{"Vec<f64> [2]", bincode.AppendF64s(nil, []float64{2}), "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 40"},
		{"Option<u32> None", bincode.AppendOption(nil, false), "00"},
		{"Option<u32> Some(7)", bincode.AppendU32(bincode.AppendOption(nil, true), 7), "01 07 00 00 00"},
		// enum E { A, B(u8), C { x: u16 } }: E::C { x: 5 } is variant 2.
		{"enum variant 2 {x: u16 5}", bincode.AppendU16(bincode.AppendVariant(nil, 2), 5), "02 00 00 00 05 00"},
		// (u8, bool) tuple: the fields in order.
		{"tuple (7u8, true)", bincode.AppendBool(bincode.AppendU8(nil, 7), true), "07 01"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if want := unhex(t, c.want); !bytes.Equal(c.enc, want) {
				t.Fatalf("got % x, want % x", c.enc, want)
			}
		})
	}
}

// goldenPayload is TestPayload { id: 42, token_ids: vec![1, 256],
// block_table: vec![7], temperature: 0.7, label: "seq_42".into() }.
const goldenPayload = `
	2a 00 00 00 00 00 00 00
	02 00 00 00 00 00 00 00  01 00 00 00  00 01 00 00
	01 00 00 00 00 00 00 00  07 00 00 00
	33 33 33 3f
	06 00 00 00 00 00 00 00  73 65 71 5f 34 32`

func goldenValue() testPayload {
	return testPayload{ID: 42, TokenIDs: []uint32{1, 256}, BlockTable: []uint32{7}, Temperature: 0.7, Label: []byte("seq_42")}
}

func TestGolden_TestPayload(t *testing.T) {
	v := goldenValue()
	want := unhex(t, goldenPayload)
	if got := bincode.Marshal(&v); !bytes.Equal(got, want) {
		t.Fatalf("Marshal:\n got % x\nwant % x", got, want)
	}
	var back testPayload
	if err := bincode.Unmarshal(want, &back); err != nil {
		t.Fatal(err)
	}
	if !equalPayload(&v, &back) {
		t.Fatalf("Unmarshal: got %+v, want %+v", back, v)
	}
}

func TestReader_Primitives(t *testing.T) {
	var b []byte
	b = bincode.AppendU8(b, 1)
	b = bincode.AppendU16(b, 2)
	b = bincode.AppendU32(b, 3)
	b = bincode.AppendU64(b, 4)
	b = bincode.AppendI8(b, -5)
	b = bincode.AppendI16(b, -6)
	b = bincode.AppendI32(b, -7)
	b = bincode.AppendI64(b, -8)
	b = bincode.AppendF32(b, 9.5)
	b = bincode.AppendF64(b, -10.25)
	b = bincode.AppendBool(b, true)
	b = bincode.AppendOption(b, false)
	b = bincode.AppendVariant(b, 11)
	b = bincode.AppendString(b, "twelve")
	b = bincode.AppendBytes(b, []byte{13})
	b = bincode.AppendU16s(b, []uint16{14})
	b = bincode.AppendU64s(b, []uint64{15})
	b = bincode.AppendI32s(b, []int32{-16})
	b = bincode.AppendI64s(b, []int64{-17})
	b = bincode.AppendF32s(b, []float32{18})
	b = bincode.AppendF64s(b, []float64{19})
	r := bincode.NewReader(b)
	got := []any{r.U8(), r.U16(), r.U32(), r.U64(), r.I8(), r.I16(), r.I32(), r.I64(), r.F32(), r.F64(),
		r.Bool(), r.Option(), r.Variant(), r.Str(), r.Bytes()[0], r.U16s(nil)[0], r.U64s(nil)[0], r.I32s(nil)[0],
		r.I64s(nil)[0], r.F32s(nil)[0], r.F64s(nil)[0]}
	want := []any{uint8(1), uint16(2), uint32(3), uint64(4), int8(-5), int16(-6), int32(-7), int64(-8), float32(9.5), -10.25,
		true, false, uint32(11), "twelve", byte(13), uint16(14), uint64(15), int32(-16), int64(-17), float32(18), float64(19)}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d: got %v (%T), want %v (%T)", i, got[i], got[i], want[i], want[i])
		}
	}
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestReader_Truncated(t *testing.T) {
	full := unhex(t, goldenPayload)
	// Every proper prefix of a valid message is truncated, never a panic.
	for n := range len(full) {
		var v testPayload
		err := bincode.Unmarshal(full[:n], &v)
		var be *bincode.Error
		if !errors.Is(err, bincode.ErrTruncated) || !errors.As(err, &be) {
			t.Fatalf("prefix of %d bytes: got %v, want ErrTruncated", n, err)
		}
		if be.Offset < 0 || be.Offset > n || be.Have != n-be.Offset {
			t.Fatalf("prefix of %d bytes: implausible %+v", n, be)
		}
	}
}

func TestReader_Invalid(t *testing.T) {
	cases := []struct {
		name string
		in   string
		read func(r *bincode.Reader)
		want error
	}{
		{"bool 2", "02", func(r *bincode.Reader) { r.Bool() }, bincode.ErrInvalid},
		{"option tag 9", "09", func(r *bincode.Reader) { r.Option() }, bincode.ErrInvalid},
		{"string not UTF-8", "01 00 00 00 00 00 00 00 ff", func(r *bincode.Reader) { r.Str() }, bincode.ErrInvalid},
		{"string bytes not UTF-8", "02 00 00 00 00 00 00 00 c3 28", func(r *bincode.Reader) { r.StrBytes(nil) }, bincode.ErrInvalid},
		// A length of 2^64-1 u32s: must fail before allocating anything.
		{"huge length", "ff ff ff ff ff ff ff ff 00", func(r *bincode.Reader) { r.U32s(nil) }, bincode.ErrTruncated},
		{"length past the end", "03 00 00 00 00 00 00 00 01 02", func(r *bincode.Reader) { r.Bytes() }, bincode.ErrTruncated},
		{"u32s odd bytes", "02 00 00 00 00 00 00 00 01 00 00 00 02 00", func(r *bincode.Reader) { r.U32s(nil) }, bincode.ErrTruncated},
		{"trailing", "01 02", func(r *bincode.Reader) { r.U8() }, bincode.ErrTrailing},
		{"fail", "", func(r *bincode.Reader) { r.Fail("variant", "unknown variant 9") }, bincode.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := bincode.NewReader(unhex(t, c.in))
			c.read(&r)
			if err := r.Finish(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			// Sticky: later reads return zero values and keep the error.
			first := r.Err()
			if r.U64() != 0 || r.Str() != "" || len(r.U32s(nil)) != 0 || r.Err() != first {
				t.Fatal("reads after an error were not zero or changed the error")
			}
		})
	}
}

func TestCodec_RoundTrip(t *testing.T) {
	c := bincode.New[testPayload]("bench.TestPayload", 1)
	if s := c.Schema(); s.Codec != "bincode" || s.Name != "bench.TestPayload" || s.Version != 1 {
		t.Fatalf("schema %+v", s)
	}
	vals := []testPayload{
		goldenValue(),
		{},
		{ID: math.MaxUint64, TokenIDs: make([]uint32, 128), BlockTable: []uint32{1, 2, 3, 4, 5, 6, 7, 8}, Temperature: float32(math.Inf(-1)), Label: []byte("ünïcödé")},
	}
	var buf []byte
	var back testPayload
	for i, v := range vals {
		var err error
		if buf, err = c.Append(buf[:0], &v); err != nil {
			t.Fatal(err)
		}
		if err := c.Decode(buf, &back); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if !equalPayload(&v, &back) {
			t.Fatalf("value %d: got %+v, want %+v", i, back, v)
		}
	}
	if err := c.Decode(append(buf, 0), &back); !errors.Is(err, bincode.ErrTrailing) {
		t.Fatalf("trailing byte: got %v", err)
	}
}

func TestCodec_ZeroAlloc(t *testing.T) {
	c := bincode.New[testPayload]("bench.TestPayload", 1)
	v := &testPayload{ID: 1, TokenIDs: make([]uint32, 128), BlockTable: make([]uint32, 8), Temperature: 0.7, Label: []byte("seq_1")}
	back := &testPayload{}
	var buf []byte
	allocs := testing.AllocsPerRun(1000, func() {
		buf, _ = c.Append(buf[:0], v)
		if err := c.Decode(buf, back); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Append+Decode into reused buffers: %v allocs, want 0", allocs)
	}
}

func BenchmarkCodec_TestPayload(b *testing.B) {
	c := bincode.New[testPayload]("bench.TestPayload", 1)
	v := &testPayload{ID: 1, TokenIDs: make([]uint32, 128), BlockTable: make([]uint32, 8), Temperature: 0.7, Label: []byte("seq_1")}
	back := &testPayload{}
	buf, _ := c.Append(nil, v)
	b.SetBytes(int64(len(buf)))
	b.Run("Append", func(b *testing.B) {
		for b.Loop() {
			buf, _ = c.Append(buf[:0], v)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		for b.Loop() {
			if err := c.Decode(buf, back); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecode feeds hostile bytes to the TestPayload decoder: it must never
// panic, and whatever it accepts must re-encode to exactly the input (the
// fixint format has one encoding per value).
func FuzzDecode(f *testing.F) {
	f.Add(unhex(f, goldenPayload))
	f.Add([]byte{})
	f.Add(unhex(f, "ff ff ff ff ff ff ff ff 00 00"))
	c := bincode.New[testPayload]("bench.TestPayload", 1)
	f.Fuzz(func(t *testing.T, in []byte) {
		var v testPayload
		if err := c.Decode(in, &v); err != nil {
			var be *bincode.Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v is not a *bincode.Error", err)
			}
			return
		}
		out, _ := c.Append(nil, &v)
		if !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", in, out)
		}
	})
}

// TestConformance runs the suite every codec passes (internal/codectest).
func TestConformance(t *testing.T) {
	badLabel := unhex(t, goldenPayload)
	badLabel[len(badLabel)-1] = 0xff // the label is not UTF-8
	codectest.Run(t, codectest.Suite[testPayload]{
		New:       func() typed.Codec[testPayload] { return testrecord.Codec() },
		CodecName: bincode.CodecName,
		Values: []testPayload{
			goldenValue(),
			{},
			{ID: math.MaxUint64, TokenIDs: make([]uint32, 128), BlockTable: []uint32{1, 2, 3, 4, 5, 6, 7, 8}, Temperature: float32(math.Inf(-1)), Label: []byte("ünïcödé")},
			{Temperature: float32(math.NaN()), Label: []byte{}},
		},
		Gen: func(r *rand.Rand) testPayload {
			var v testPayload
			testrecord.Fill(&v, r.Uint64N(1000))
			v.TokenIDs = v.TokenIDs[:r.IntN(len(v.TokenIDs)+1)]
			v.Temperature = math.Float32frombits(r.Uint32())
			return v
		},
		Equal: equalPayload,
		Invalid: [][]byte{
			badLabel,
			unhex(t, "ff ff ff ff ff ff ff ff 00 00"),
			unhex(t, "00 00 00 00 00 00 00 00  ff ff ff ff ff ff ff ff"), // 2^64-1 token ids
		},
		RejectsTrailing: true,
		Canonical:       true,
		ZeroAllocAppend: true,
		ZeroAllocDecode: true,
	})
}
