// Package codectest is the conformance suite every typed.Codec of this
// repository runs (codec/raw, codec/bincode, codec/msgpack,
// codec/flatbuffers): Run checks what typed.Codec's documentation
// promises, whatever the encoding.
//
//	func TestConformance(t *testing.T) {
//		codectest.Run(t, codectest.Suite[tick]{
//			New:    func() typed.Codec[tick] { return raw.MustNew[tick]() },
//			Values: []tick{{}, {Seq: 1}},
//			Gen:    func(r *rand.Rand) tick { ... },
//		})
//	}
package codectest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/myelon-go/myelon/typed"
)

// Suite describes a codec under test and the values to try.
type Suite[T any] struct {
	// New returns a fresh codec. The suite encodes with one and decodes
	// with another, as a producer and a consumer in two processes do.
	New func() typed.Codec[T]

	// Values are hand-picked values (the zero value, extremes, empty and
	// long fields); Gen, if set, makes GenCount more from a seeded source.
	Values   []T
	Gen      func(r *rand.Rand) T
	GenCount int // 0: 64

	// Equal reports whether two values are the same; nil: reflect.DeepEqual.
	Equal func(a, b *T) bool

	// CodecName, if set, is the Schema().Codec the codec must report.
	CodecName string

	// ZeroAllocAppend: Append into a buffer with room allocates nothing.
	// ZeroAllocDecode: Decode into a value that held the same message
	// before allocates nothing.
	ZeroAllocAppend, ZeroAllocDecode bool

	// Invalid are inputs Decode must reject, besides the truncations of
	// every encoding, which it always must.
	Invalid [][]byte

	// RejectsTrailing: Decode rejects an encoding followed by one more
	// byte.
	RejectsTrailing bool

	// Padded: an encoding may end in bytes nothing in it refers to
	// (flatbuffers pads to its alignment), so a truncation that cuts only
	// those may decode, to the whole value.
	Padded bool

	// Canonical: a value has exactly one encoding (so encodings compare
	// byte for byte, and whatever Decode accepts re-encodes to exactly the
	// input). Otherwise two encodings are the same if they decode to equal
	// values (msgpack, for one, writes a map's keys in any order).
	Canonical bool

	// Known maps the name of a check (a subtest of Run) to a known,
	// reported and not yet fixed bug that makes the codec fail it: the
	// check is skipped with that reason. Every entry is a bug to fix.
	Known map[string]string
}

// Run runs the conformance suite, one subtest per property:
//
//   - schema: Schema names a codec and a type, has a non-zero tag, and is
//     the same for every codec New returns;
//   - round_trip: every value decodes, with a fresh codec and into a fresh
//     value, to an equal value, and re-encodes to the same encoding;
//   - append_keeps_prefix: Append leaves the bytes of dst before its
//     length alone, with or without spare capacity, appends the same
//     encoding as Append to nil, and does not change the value;
//   - decode_copies: a decoded value does not alias its source (the ring
//     slot is reused once Decode returns);
//   - decode_overwrites: decoding into a value that held another message
//     gives the same value as decoding into a zero value;
//   - truncated: every proper prefix of every encoding is an error, not a
//     panic (or, if Padded, decodes to the whole value);
//   - invalid: each of Suite.Invalid is an error, not a panic;
//   - trailing (RejectsTrailing): an encoding with a byte more is an error;
//   - garbage: random bytes and corrupted encodings never panic, and what
//     Decode accepts is a value that round-trips (re-encodes to the input
//     when Canonical);
//   - zero_alloc (ZeroAllocAppend, ZeroAllocDecode): the promised paths
//     allocate nothing once warm.
//
// A check named in Suite.Known is skipped, with the reason given there.
func Run[T any](t *testing.T, s Suite[T]) {
	t.Helper()
	if s.New == nil {
		t.Fatal("codectest: Suite.New is nil")
	}
	if s.Equal == nil {
		s.Equal = func(a, b *T) bool { return reflect.DeepEqual(a, b) }
	}
	vals := append([]T(nil), s.Values...)
	if s.Gen != nil {
		n := s.GenCount
		if n == 0 {
			n = 64
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range n {
			vals = append(vals, s.Gen(r))
		}
	}
	if len(vals) == 0 {
		t.Fatal("codectest: no values (Suite.Values and Suite.Gen are empty)")
	}
	enc := s.New()
	encs := make([][]byte, len(vals))
	for i := range vals {
		b, err := enc.Append(nil, &vals[i])
		if err != nil {
			t.Fatalf("Append of value %d (%+v): %v", i, vals[i], err)
		}
		encs[i] = b
	}
	s.run(t, "schema", func(t *testing.T) { s.schema(t) })
	s.run(t, "round_trip", func(t *testing.T) { s.roundTrip(t, vals, encs) })
	s.run(t, "append_keeps_prefix", func(t *testing.T) { s.appendKeepsPrefix(t, vals, encs) })
	s.run(t, "decode_copies", func(t *testing.T) { s.decodeCopies(t, vals, encs) })
	s.run(t, "decode_overwrites", func(t *testing.T) { s.decodeOverwrites(t, encs) })
	s.run(t, "truncated", func(t *testing.T) { s.truncated(t, encs) })
	s.run(t, "invalid", func(t *testing.T) {
		dec := s.New()
		for i, in := range s.Invalid {
			var v T
			if err := decode(t, dec, in, &v); err == nil {
				t.Errorf("invalid input %d (% x) decoded to %+v", i, in, v)
			}
		}
	})
	if s.RejectsTrailing {
		s.run(t, "trailing", func(t *testing.T) {
			dec := s.New()
			for i, b := range encs {
				var v T
				if err := decode(t, dec, append(b[:len(b):len(b)], 0), &v); err == nil {
					t.Errorf("value %d with a byte more decoded", i)
				}
			}
		})
	}
	s.run(t, "garbage", func(t *testing.T) { s.garbage(t, encs) })
	if s.ZeroAllocAppend || s.ZeroAllocDecode {
		s.run(t, "zero_alloc", func(t *testing.T) { s.zeroAlloc(t, vals) })
	}
}

// run runs the check name as a subtest, or skips it if it is Known.
func (s *Suite[T]) run(t *testing.T, name string, check func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		if why, ok := s.Known[name]; ok {
			t.Skip("known bug, not yet fixed: " + why)
		}
		check(t)
	})
}

// decode calls c.Decode, failing the test if it panics.
func decode[T any](t *testing.T, c typed.Codec[T], src []byte, v *T) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Decode panicked on %d bytes (% x): %v", len(src), head(src), p)
		}
	}()
	return c.Decode(src, v)
}

// same reports whether a and b are the same encoding: equal bytes, or, if
// the codec is not canonical, encodings of equal values.
func (s *Suite[T]) same(t *testing.T, dec typed.Codec[T], a, b []byte) bool {
	t.Helper()
	if bytes.Equal(a, b) {
		return true
	}
	if s.Canonical {
		return false
	}
	var va, vb T
	return decode(t, dec, a, &va) == nil && decode(t, dec, b, &vb) == nil && s.Equal(&va, &vb)
}

// head is the start of b, for messages.
func head(b []byte) []byte { return b[:min(len(b), 64)] }

func (s *Suite[T]) schema(t *testing.T) {
	a, b := s.New().Schema(), s.New().Schema()
	if a.Codec == "" || a.Name == "" {
		t.Errorf("schema %+v: want a codec and a name", a)
	}
	if s.CodecName != "" && a.Codec != s.CodecName {
		t.Errorf("schema codec %q, want %q", a.Codec, s.CodecName)
	}
	if a != b {
		t.Errorf("two codecs, two schemas: %v and %v", a, b)
	}
	if a.Tag() == 0 || a.String() == "" {
		t.Errorf("schema %+v: tag %d, string %q", a, a.Tag(), a.String())
	}
}

func (s *Suite[T]) roundTrip(t *testing.T, vals []T, encs [][]byte) {
	enc, dec := s.New(), s.New()
	for i := range vals {
		var back T
		if err := decode(t, dec, encs[i], &back); err != nil {
			t.Fatalf("value %d (%+v): Decode: %v", i, vals[i], err)
		}
		if !s.Equal(&vals[i], &back) {
			t.Fatalf("value %d: decoded %+v, want %+v", i, back, vals[i])
		}
		again, err := enc.Append(nil, &back)
		if err != nil || !s.same(t, dec, again, encs[i]) {
			t.Fatalf("value %d: re-encoded differs (%v):\n got % x\nwant % x", i, err, head(again), head(encs[i]))
		}
	}
}

func (s *Suite[T]) appendKeepsPrefix(t *testing.T, vals []T, encs [][]byte) {
	enc, dec := s.New(), s.New()
	prefix := []byte("prefix\x00\xff")
	for i := range vals {
		for _, spare := range []int{0, len(encs[i]) + 64} {
			dst := make([]byte, len(prefix), len(prefix)+spare)
			copy(dst, prefix)
			out, err := enc.Append(dst, &vals[i])
			if err != nil {
				t.Fatalf("value %d: Append after %d bytes: %v", i, len(prefix), err)
			}
			if !bytes.Equal(dst, prefix) || !bytes.Equal(out[:len(prefix)], prefix) {
				t.Fatalf("value %d, spare capacity %d: the bytes before dst's length changed: % x", i, spare, out[:len(prefix)])
			}
			if !s.same(t, dec, out[len(prefix):], encs[i]) {
				t.Fatalf("value %d, spare capacity %d: appended\n% x\nafter a prefix, but\n% x\nto nil", i, spare, head(out[len(prefix):]), head(encs[i]))
			}
		}
		if again, _ := enc.Append(nil, &vals[i]); !s.same(t, dec, again, encs[i]) {
			t.Fatalf("value %d: encodes differently after Append: it was changed", i)
		}
	}
}

func (s *Suite[T]) decodeCopies(t *testing.T, vals []T, encs [][]byte) {
	dec := s.New()
	for i := range vals {
		src := bytes.Clone(encs[i])
		var v T
		if err := decode(t, dec, src, &v); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		for j := range src {
			src[j] = ^src[j]
		}
		if !s.Equal(&vals[i], &v) {
			t.Fatalf("value %d changed with the bytes it was decoded from: %+v, want %+v", i, v, vals[i])
		}
	}
}

func (s *Suite[T]) decodeOverwrites(t *testing.T, encs [][]byte) {
	dec := s.New()
	var used T
	for i := range encs {
		var fresh T
		if err := decode(t, dec, encs[i], &fresh); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		// used holds the previous message (value i-1, or the last one).
		prev := encs[(i+len(encs)-1)%len(encs)]
		if err := decode(t, dec, prev, &used); err != nil {
			t.Fatalf("value %d: %v", (i+len(encs)-1)%len(encs), err)
		}
		if err := decode(t, dec, encs[i], &used); err != nil {
			t.Fatalf("value %d into a used value: %v", i, err)
		}
		if !s.Equal(&fresh, &used) {
			t.Fatalf("value %d decoded into a value that held another: %+v, into a zero value: %+v", i, used, fresh)
		}
	}
}

// prefixes are the lengths of the proper prefixes of an n-byte encoding to
// try: all of them up to 512, beyond that 512 spread evenly.
func prefixes(n int) []int {
	if n <= 512 {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, 1024)
	for i := range 512 {
		out = append(out, i, 512+i*(n-512)/512)
	}
	return out
}

func (s *Suite[T]) truncated(t *testing.T, encs [][]byte) {
	dec := s.New()
	for i, b := range encs {
		var whole T
		if err := decode(t, dec, b, &whole); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		for _, n := range prefixes(len(b)) {
			var v T
			// A prefix in a buffer of its own: nothing past it to read.
			if err := decode(t, dec, bytes.Clone(b[:n]), &v); err == nil && !(s.Padded && s.Equal(&v, &whole)) {
				t.Fatalf("value %d: its first %d of %d bytes decoded to %+v", i, n, len(b), v)
			}
		}
	}
}

func (s *Suite[T]) garbage(t *testing.T, encs [][]byte) {
	dec, enc := s.New(), s.New()
	r := rand.New(rand.NewPCG(3, 4))
	maxLen := 16
	for _, b := range encs {
		maxLen = max(maxLen, len(b))
	}
	check := func(what string, in []byte) {
		t.Helper()
		var v T
		if err := decode(t, dec, in, &v); err != nil {
			return
		}
		out, err := enc.Append(nil, &v)
		if err != nil {
			t.Fatalf("%s (% x) decoded to %+v, which does not encode: %v", what, head(in), v, err)
		}
		if s.Canonical && !bytes.Equal(out, in) {
			t.Fatalf("%s decoded, but re-encodes differently:\n in % x\nout % x", what, head(in), head(out))
		}
		var back T
		if err := decode(t, dec, out, &back); err != nil || !s.Equal(&v, &back) {
			t.Fatalf("%s (% x) decoded to %+v, which does not round-trip: %+v, %v", what, head(in), v, back, err)
		}
	}
	for k := range 2000 {
		in := make([]byte, r.IntN(2*maxLen+1))
		for j := range in {
			in[j] = byte(r.Uint32())
		}
		check(fmt.Sprintf("random input %d", k), in)
	}
	for k := range 2000 {
		b := bytes.Clone(encs[r.IntN(len(encs))])
		if len(b) == 0 {
			continue
		}
		for range 1 + r.IntN(4) {
			switch j := r.IntN(len(b)); r.IntN(3) {
			case 0:
				b[j] = byte(r.Uint32())
			case 1:
				b[j] ^= 1 << r.IntN(8)
			default:
				b[j] = []byte{0, 0x7f, 0x80, 0xff}[r.IntN(4)]
			}
		}
		check(fmt.Sprintf("corrupted encoding %d", k), b)
	}
}

func (s *Suite[T]) zeroAlloc(t *testing.T, vals []T) {
	enc, dec := s.New(), s.New()
	var buf []byte
	for i := range vals {
		v := &vals[i]
		var back T
		buf, _ = enc.Append(buf[:0], v) // warm up: grow the buffer, fill back
		if err := dec.Decode(buf, &back); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if s.ZeroAllocAppend {
			if n := testing.AllocsPerRun(100, func() { buf, _ = enc.Append(buf[:0], v) }); n != 0 {
				t.Errorf("value %d: Append into a buffer with room: %v allocations, want 0", i, n)
			}
		}
		if s.ZeroAllocDecode {
			if n := testing.AllocsPerRun(100, func() { dec.Decode(buf, &back) }); n != 0 {
				t.Errorf("value %d: Decode into a value that held it: %v allocations, want 0", i, n)
			}
		}
	}
}
