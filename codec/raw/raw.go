// Package raw is the identity codec for fixed-size, pointer-free Go
// structs: a value's encoding is its memory, copied (Layer 2), and its
// zero-copy view is a *T pointing into the payload (Layer 3).
//
// Like a typed ring (package ring), it accepts only types without
// pointers, slices, strings, maps, interfaces, channels or funcs, checked
// with reflect once in New: such values mean nothing in another address
// space. The schema name is a structural fingerprint of T (kinds, sizes,
// alignments, field names and offsets, recursively; not type names), so
// producer and consumer agree exactly when their layouts do. Both must run
// on the same architecture (byte order and alignment rules).
//
// # Views
//
// View returns (*T)(&payload[0]) after checking that the payload is
// exactly sizeof(T) bytes and that its address is a multiple of T's
// alignment. Frame payloads start on 8-byte boundaries (16 on aligned
// rings), and frame's reassembly buffer is 16-byte aligned, so every type
// whose alignment is at most 8 (all of Go's on amd64 and arm64) can be
// viewed on any frame ring, single- or multi-frame. A view is valid only
// inside the callback it is handed to (see typed.ViewConsumer) and is
// read-only: writing through it would write the ring slot.
package raw

// This file uses unsafe: the codec's whole job is to treat a
// value's memory as bytes and bytes as a value.

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/typed"
)

// CodecName is the codec name in raw schemas.
const CodecName = "raw"

// Codec is the raw codec for T: a typed.Codec[T] and a
// typed.ZeroCopyCodec[*T]. It is stateless and safe for concurrent use.
type Codec[T any] struct {
	size, align int
	schema      typed.Schema
}

// New returns the raw codec for T, or a *ring.TypeError (matching
// ring.ErrInvalidType) naming the field if T holds pointers or has no size:
// the same check, and the same structural fingerprint, as a typed ring's.
func New[T any]() (*Codec[T], error) {
	t := reflect.TypeFor[T]()
	fp, err := ring.Fingerprint(t)
	if err != nil {
		return nil, err
	}
	c := &Codec[T]{size: int(t.Size()), align: t.Align()}
	c.schema = typed.Schema{Codec: CodecName, Name: fmt.Sprintf("layout-%016x-size-%d", fp, t.Size()), Version: 1}
	return c, nil
}

// MustNew is New that panics on an invalid T (for package-level vars).
func MustNew[T any]() *Codec[T] {
	c, err := New[T]()
	if err != nil {
		panic(err)
	}
	return c
}

// Schema implements typed.Codec and typed.ZeroCopyCodec.
func (c *Codec[T]) Schema() typed.Schema { return c.schema }

// Size is sizeof(T), the length of every encoding.
func (c *Codec[T]) Size() int { return c.size }

// Alignment implements typed.Aligner: T's alignment.
func (c *Codec[T]) Alignment() int { return c.align }

// Append implements typed.Codec: it appends v's memory to dst.
func (c *Codec[T]) Append(dst []byte, v *T) ([]byte, error) {
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(v)), c.size)...), nil
}

// Decode implements typed.Codec: it copies src, which must be exactly
// Size bytes, into *v.
func (c *Codec[T]) Decode(src []byte, v *T) error {
	if len(src) != c.size {
		return &SizeError{Want: c.size, Got: len(src)}
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), c.size), src)
	return nil
}

// View implements typed.ZeroCopyCodec: a *T over src, which must be
// exactly Size bytes at an address aligned for T. The view aliases src.
func (c *Codec[T]) View(src []byte) (*T, error) {
	if len(src) != c.size {
		return nil, &SizeError{Want: c.size, Got: len(src)}
	}
	p := unsafe.Pointer(unsafe.SliceData(src))
	if m := uintptr(p) & uintptr(c.align-1); m != 0 {
		return nil, &AlignError{Align: c.align, Offset: int(m)}
	}
	return (*T)(p), nil
}

// SizeError reports a payload whose length is not sizeof(T).
type SizeError struct {
	Want, Got int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("raw: payload is %d bytes, the type is %d", e.Got, e.Want)
}

// AlignError reports a payload at an address not aligned for T.
type AlignError struct {
	Align  int // T's alignment
	Offset int // the payload address modulo Align
}

func (e *AlignError) Error() string {
	return fmt.Sprintf("raw: payload address is %d bytes past a %d-byte boundary", e.Offset, e.Align)
}
