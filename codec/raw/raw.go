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
	"hash/fnv"
	"reflect"
	"strconv"
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

// New returns the raw codec for T, or a *TypeError (matching
// ring.ErrInvalidType) if T holds pointers or has no size.
func New[T any]() (*Codec[T], error) {
	t := reflect.TypeFor[T]()
	h := fnv.New64a()
	if err := walk(t, t.String(), t.String(), h); err != nil {
		return nil, err
	}
	if t.Size() == 0 {
		return nil, &TypeError{Type: t.String(), Field: t.String(), Kind: "zero-size type"}
	}
	c := &Codec[T]{size: int(t.Size()), align: t.Align()}
	c.schema = typed.Schema{Codec: CodecName, Name: fmt.Sprintf("layout-%016x-size-%d", h.Sum64(), t.Size()), Version: 1}
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

// walk checks that t is fixed-size and pointer-free and hashes its
// structure (as package ring fingerprints element types).
func walk(t reflect.Type, root, path string, h interface{ Write([]byte) (int, error) }) error {
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	write(t.Kind().String(), strconv.FormatUint(uint64(t.Size()), 10), strconv.Itoa(t.Align()))
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		write(strconv.Itoa(t.Len()))
		return walk(t.Elem(), root, path+"[]", h)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			write(f.Name, strconv.FormatUint(uint64(f.Offset), 10))
			if err := walk(f.Type, root, path+"."+f.Name, h); err != nil {
				return err
			}
		}
		return nil
	}
	return &TypeError{Type: root, Field: path, Kind: t.Kind().String()}
}

// TypeError names the field of T that cannot be copied between processes.
// It matches ring.ErrInvalidType.
type TypeError struct {
	Type, Field, Kind string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("raw: invalid type %s: field %s is a %s (only fixed-size pointer-free types cross processes)", e.Type, e.Field, e.Kind)
}

// Is reports ring.ErrInvalidType.
func (e *TypeError) Is(target error) bool { return target == ring.ErrInvalidType }

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
