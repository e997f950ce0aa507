package bincode

// Append helpers: each appends one value in the wire format and returns
// the extended slice, like strconv.AppendInt.

import (
	"encoding/binary"
	"math"
	"slices"
)

var le = binary.LittleEndian

// AppendU8 appends a u8.
func AppendU8(b []byte, v uint8) []byte { return append(b, v) }

// AppendU16 appends a u16.
func AppendU16(b []byte, v uint16) []byte { return le.AppendUint16(b, v) }

// AppendU32 appends a u32.
func AppendU32(b []byte, v uint32) []byte { return le.AppendUint32(b, v) }

// AppendU64 appends a u64.
func AppendU64(b []byte, v uint64) []byte { return le.AppendUint64(b, v) }

// AppendI8 appends an i8.
func AppendI8(b []byte, v int8) []byte { return append(b, uint8(v)) }

// AppendI16 appends an i16.
func AppendI16(b []byte, v int16) []byte { return le.AppendUint16(b, uint16(v)) }

// AppendI32 appends an i32.
func AppendI32(b []byte, v int32) []byte { return le.AppendUint32(b, uint32(v)) }

// AppendI64 appends an i64.
func AppendI64(b []byte, v int64) []byte { return le.AppendUint64(b, uint64(v)) }

// AppendF32 appends an f32.
func AppendF32(b []byte, v float32) []byte { return le.AppendUint32(b, math.Float32bits(v)) }

// AppendF64 appends an f64.
func AppendF64(b []byte, v float64) []byte { return le.AppendUint64(b, math.Float64bits(v)) }

// AppendBool appends a bool (one byte, 0 or 1).
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendLen appends the u64 length prefix of a sequence, string or map of
// n elements.
func AppendLen(b []byte, n int) []byte { return le.AppendUint64(b, uint64(n)) }

// AppendVariant appends an enum's u32 variant index; the variant's fields
// follow.
func AppendVariant(b []byte, index uint32) []byte { return le.AppendUint32(b, index) }

// AppendOption appends an Option tag: 1 (Some, the value follows) or 0
// (None).
func AppendOption(b []byte, some bool) []byte { return AppendBool(b, some) }

// AppendString appends a String: u64 length, then the bytes. Rust
// requires UTF-8; s is not checked.
func AppendString(b []byte, s string) []byte {
	b = AppendLen(b, len(s))
	return append(b, s...)
}

// AppendBytes appends a Vec<u8> (or a String held as bytes): u64 length,
// then the bytes.
func AppendBytes(b []byte, p []byte) []byte {
	b = AppendLen(b, len(p))
	return append(b, p...)
}

// grow extends b by n bytes and returns it and the offset of the new ones.
func grow(b []byte, n int) ([]byte, int) {
	off := len(b)
	return slices.Grow(b, n)[:off+n], off
}

// AppendU16s appends a Vec<u16>.
func AppendU16s(b []byte, s []uint16) []byte {
	b, off := grow(AppendLen(b, len(s)), 2*len(s))
	for i, v := range s {
		le.PutUint16(b[off+2*i:], v)
	}
	return b
}

// AppendU32s appends a Vec<u32>.
func AppendU32s(b []byte, s []uint32) []byte {
	b, off := grow(AppendLen(b, len(s)), 4*len(s))
	for i, v := range s {
		le.PutUint32(b[off+4*i:], v)
	}
	return b
}

// AppendU64s appends a Vec<u64>.
func AppendU64s(b []byte, s []uint64) []byte {
	b, off := grow(AppendLen(b, len(s)), 8*len(s))
	for i, v := range s {
		le.PutUint64(b[off+8*i:], v)
	}
	return b
}

// AppendI32s appends a Vec<i32>.
func AppendI32s(b []byte, s []int32) []byte {
	b, off := grow(AppendLen(b, len(s)), 4*len(s))
	for i, v := range s {
		le.PutUint32(b[off+4*i:], uint32(v))
	}
	return b
}

// AppendI64s appends a Vec<i64>.
func AppendI64s(b []byte, s []int64) []byte {
	b, off := grow(AppendLen(b, len(s)), 8*len(s))
	for i, v := range s {
		le.PutUint64(b[off+8*i:], uint64(v))
	}
	return b
}

// AppendF32s appends a Vec<f32>.
func AppendF32s(b []byte, s []float32) []byte {
	b, off := grow(AppendLen(b, len(s)), 4*len(s))
	for i, v := range s {
		le.PutUint32(b[off+4*i:], math.Float32bits(v))
	}
	return b
}

// AppendF64s appends a Vec<f64>.
func AppendF64s(b []byte, s []float64) []byte {
	b, off := grow(AppendLen(b, len(s)), 8*len(s))
	for i, v := range s {
		le.PutUint64(b[off+8*i:], math.Float64bits(v))
	}
	return b
}
