package bincode

// The Reader: a cursor over untrusted input with a sticky error.
//
// Invariant: 0 <= off <= len(b). Every read checks the bytes it needs
// against len(b)-off before touching them; a read that fails records the
// first error and returns a zero value, and so does every read after it.

import (
	"math"
	"slices"
	"unicode/utf8"
)

// Reader decodes values from a byte slice in the wire format. The zero
// value reads from an empty input. A Reader does not allocate, except
// where a method says so (Str) and for the *Error of a failed read.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Reset makes r read b from its start, clearing any error.
func (r *Reader) Reset(b []byte) { r.b, r.off, r.err = b, 0, nil }

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Offset returns the offset of the next byte to read.
func (r *Reader) Offset() int { return r.off }

// Len returns the bytes left.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Finish returns the first error, or ErrTrailing if bytes are left.
func (r *Reader) Finish() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = &Error{Kind: ErrTrailing, What: "value", Offset: r.off, Have: len(r.b) - r.off}
	}
	return r.err
}

// Fail records a semantic error (ErrInvalid) about what at the current
// offset, unless an error is already recorded; for checks of a type's own,
// such as an unknown enum variant.
func (r *Reader) Fail(what, reason string) {
	if r.err == nil {
		r.err = &Error{Kind: ErrInvalid, What: what, Offset: r.off, Have: len(r.b) - r.off, Reason: reason}
	}
}

func (r *Reader) short(what string, need int) {
	if r.err == nil {
		r.err = &Error{Kind: ErrTruncated, What: what, Offset: r.off, Need: need, Have: len(r.b) - r.off}
	}
}

// take returns the next n bytes (aliasing the input), or nil after an
// error.
func (r *Reader) take(n int, what string) []byte {
	if r.err != nil || n > len(r.b)-r.off {
		r.short(what, n)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

// U8 reads a u8.
func (r *Reader) U8() uint8 {
	if r.err == nil && r.off < len(r.b) {
		v := r.b[r.off]
		r.off++
		return v
	}
	r.short("u8", 1)
	return 0
}

// U16 reads a u16.
func (r *Reader) U16() uint16 {
	if p := r.take(2, "u16"); p != nil {
		return le.Uint16(p)
	}
	return 0
}

// U32 reads a u32.
func (r *Reader) U32() uint32 {
	if p := r.take(4, "u32"); p != nil {
		return le.Uint32(p)
	}
	return 0
}

// U64 reads a u64.
func (r *Reader) U64() uint64 {
	if p := r.take(8, "u64"); p != nil {
		return le.Uint64(p)
	}
	return 0
}

// I8 reads an i8.
func (r *Reader) I8() int8 { return int8(r.U8()) }

// I16 reads an i16.
func (r *Reader) I16() int16 { return int16(r.U16()) }

// I32 reads an i32.
func (r *Reader) I32() int32 { return int32(r.U32()) }

// I64 reads an i64.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// F32 reads an f32.
func (r *Reader) F32() float32 { return math.Float32frombits(r.U32()) }

// F64 reads an f64.
func (r *Reader) F64() float64 { return math.Float64frombits(r.U64()) }

// Bool reads a bool; a byte other than 0 or 1 is ErrInvalid.
func (r *Reader) Bool() bool { return r.flag("bool") }

// Option reads an Option tag: true for Some (read the value next), false
// for None. A tag other than 0 or 1 is ErrInvalid.
func (r *Reader) Option() bool { return r.flag("option tag") }

func (r *Reader) flag(what string) bool {
	off := r.off
	switch v := r.U8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		if r.err == nil {
			r.err = &Error{Kind: ErrInvalid, What: what, Offset: off, Have: len(r.b) - off, Reason: "not 0 or 1"}
		}
		return false
	}
}

// Variant reads an enum's u32 variant index.
func (r *Reader) Variant() uint32 { return r.U32() }

// SeqLen reads the u64 length prefix of a sequence, string or map whose
// elements take at least elemSize bytes each (values below 1 count as 1).
// A length that the bytes left cannot hold is ErrTruncated, so a caller
// may allocate SeqLen elements without trusting the input. (A sequence of
// zero-size elements, like Vec<()>, is therefore capped at the bytes
// left.)
func (r *Reader) SeqLen(elemSize int) int {
	off := r.off
	n := r.U64()
	if r.err != nil {
		return 0
	}
	es := uint64(max(elemSize, 1))
	if left := uint64(len(r.b) - r.off); n > left/es {
		need := math.MaxInt // prefix and elements, saturated
		if n <= (uint64(math.MaxInt)-8)/es {
			need = 8 + int(n*es)
		}
		r.err = &Error{Kind: ErrTruncated, What: "sequence", Offset: off, Need: need, Have: len(r.b) - off}
		return 0
	}
	return int(n)
}

// Bytes reads a Vec<u8> (or a String's bytes, unchecked) and returns it
// aliasing the input: it is valid only as long as the input is. A typed
// consumer's input is a ring slot, valid only during Decode: use BytesInto
// to keep the bytes.
func (r *Reader) Bytes() []byte {
	n := r.SeqLen(1)
	return r.take(n, "bytes")
}

// BytesInto reads a Vec<u8> into dst's storage: it returns
// append(dst[:0], bytes...), allocating only if dst is too small.
func (r *Reader) BytesInto(dst []byte) []byte {
	p := r.Bytes()
	if r.err != nil {
		return dst[:0]
	}
	return append(dst[:0], p...)
}

// Str reads a String. It allocates the string; invalid UTF-8 is ErrInvalid.
func (r *Reader) Str() string {
	p := r.utf8()
	if r.err != nil {
		return ""
	}
	return string(p)
}

// StrBytes reads a String into dst's storage like BytesInto, checking
// that it is UTF-8 (ErrInvalid otherwise). With a reused dst it allocates
// nothing.
func (r *Reader) StrBytes(dst []byte) []byte {
	p := r.utf8()
	if r.err != nil {
		return dst[:0]
	}
	return append(dst[:0], p...)
}

func (r *Reader) utf8() []byte {
	off := r.off
	p := r.Bytes()
	if r.err == nil && !utf8.Valid(p) {
		r.err = &Error{Kind: ErrInvalid, What: "string", Offset: off, Have: len(r.b) - off, Reason: "not UTF-8"}
	}
	return p
}

// seq reads a length prefix and returns dst[:0] resized to it and the
// element bytes, or ok false after an error.
func seq[E any](r *Reader, dst []E, size int, what string) ([]E, []byte, bool) {
	n := r.SeqLen(size)
	p := r.take(n*size, what)
	if r.err != nil {
		return dst[:0], nil, false
	}
	return slices.Grow(dst[:0], n)[:n], p, true
}

// U16s reads a Vec<u16> into dst's storage (see BytesInto).
func (r *Reader) U16s(dst []uint16) []uint16 {
	s, p, ok := seq(r, dst, 2, "u16 sequence")
	if ok {
		for i := range s {
			s[i] = le.Uint16(p[2*i:])
		}
	}
	return s
}

// U32s reads a Vec<u32> into dst's storage (see BytesInto).
func (r *Reader) U32s(dst []uint32) []uint32 {
	s, p, ok := seq(r, dst, 4, "u32 sequence")
	if ok {
		for i := range s {
			s[i] = le.Uint32(p[4*i:])
		}
	}
	return s
}

// U64s reads a Vec<u64> into dst's storage (see BytesInto).
func (r *Reader) U64s(dst []uint64) []uint64 {
	s, p, ok := seq(r, dst, 8, "u64 sequence")
	if ok {
		for i := range s {
			s[i] = le.Uint64(p[8*i:])
		}
	}
	return s
}

// I32s reads a Vec<i32> into dst's storage (see BytesInto).
func (r *Reader) I32s(dst []int32) []int32 {
	s, p, ok := seq(r, dst, 4, "i32 sequence")
	if ok {
		for i := range s {
			s[i] = int32(le.Uint32(p[4*i:]))
		}
	}
	return s
}

// I64s reads a Vec<i64> into dst's storage (see BytesInto).
func (r *Reader) I64s(dst []int64) []int64 {
	s, p, ok := seq(r, dst, 8, "i64 sequence")
	if ok {
		for i := range s {
			s[i] = int64(le.Uint64(p[8*i:]))
		}
	}
	return s
}

// F32s reads a Vec<f32> into dst's storage (see BytesInto).
func (r *Reader) F32s(dst []float32) []float32 {
	s, p, ok := seq(r, dst, 4, "f32 sequence")
	if ok {
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(p[4*i:]))
		}
	}
	return s
}

// F64s reads a Vec<f64> into dst's storage (see BytesInto).
func (r *Reader) F64s(dst []float64) []float64 {
	s, p, ok := seq(r, dst, 8, "f64 sequence")
	if ok {
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(p[8*i:]))
		}
	}
	return s
}
