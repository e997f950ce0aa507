// Package msgpack is a reflective MessagePack typed.Codec (Layer 2) over
// github.com/vmihailenco/msgpack/v5, for convenience and debugging: any Go
// value with msgpack (or exported) fields, no code to write. It allocates
// on every encode and decode and is several times slower than codec/bincode
// (see the seed's go-notes); prefer bincode or a zero-copy codec on hot
// paths.
package msgpack

import (
	"bytes"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/myelon-go/myelon/typed"
)

// CodecName is the codec name in msgpack schemas.
const CodecName = "msgpack"

// Codec is a typed.Codec[T] in MessagePack. Make it with New; it is used by
// one goroutine at a time (it keeps an encoder and a decoder).
type Codec[T any] struct {
	schema typed.Schema
	w      appendWriter
	enc    *msgpack.Encoder
	r      bytes.Reader
	dec    *msgpack.Decoder
}

// New returns a MessagePack codec for T with schema {msgpack, name,
// version}. Structs encode as maps keyed by field name (msgpack tags
// apply), so adding fields stays compatible.
func New[T any](name string, version uint32) *Codec[T] {
	c := &Codec[T]{schema: typed.Schema{Codec: CodecName, Name: name, Version: version}}
	c.enc = msgpack.NewEncoder(&c.w)
	c.dec = msgpack.NewDecoder(&c.r)
	return c
}

// Schema implements typed.Codec.
func (c *Codec[T]) Schema() typed.Schema { return c.schema }

// Append implements typed.Codec.
func (c *Codec[T]) Append(dst []byte, v *T) ([]byte, error) {
	c.w.b = dst
	err := c.enc.Encode(v)
	dst, c.w.b = c.w.b, nil
	return dst, err
}

// Decode implements typed.Codec. Bytes left after the value are an error,
// and so is nesting deeper than MaxDepth (*DepthError).
func (c *Codec[T]) Decode(src []byte, v *T) error {
	if err := checkDepth(src); err != nil {
		return err
	}
	c.r.Reset(src)
	c.dec.Reset(&c.r)
	err := c.dec.Decode(v)
	if err == nil && c.r.Len() != 0 {
		err = &TrailingError{Left: c.r.Len()}
	}
	c.r.Reset(nil)
	return err
}

// TrailingError reports bytes left after the decoded value.
type TrailingError struct{ Left int }

func (e *TrailingError) Error() string {
	return "msgpack: " + strconv.Itoa(e.Left) + " bytes left after the value"
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
