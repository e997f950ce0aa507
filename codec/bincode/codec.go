package bincode

import "github.com/myelon-go/myelon/typed"

// Marshaler is implemented by types that append their own bincode
// encoding (field by field, in the Rust type's order).
type Marshaler interface {
	AppendBincode(dst []byte) []byte
}

// Unmarshaler is implemented by types that decode themselves from a
// Reader. UnmarshalBincode returns r.Err() (or an error of its own, for
// example through r.Fail). It must copy what it keeps out of slices that
// alias the input (Reader.Bytes).
type Unmarshaler interface {
	UnmarshalBincode(r *Reader) error
}

// Ptr is the constraint of Codec's second type parameter: *T implements
// both interfaces.
type Ptr[T any] interface {
	*T
	Marshaler
	Unmarshaler
}

// CodecName is the codec name in bincode schemas.
const CodecName = "bincode"

// Codec is a typed.Codec[T] in the bincode format, for a T whose pointer
// implements Marshaler and Unmarshaler. Make one with New; like every
// typed codec it is used by one goroutine at a time (it keeps a Reader).
type Codec[T any, PT Ptr[T]] struct {
	schema typed.Schema
	r      Reader
}

// New returns a Codec for T with the schema {bincode, name, version}:
// name the type as producer and consumer agree (for example the Rust
// type's path) and bump version on incompatible changes. PT is inferred:
// New[Order]("app.Order", 1).
func New[T any, PT Ptr[T]](name string, version uint32) *Codec[T, PT] {
	return &Codec[T, PT]{schema: typed.Schema{Codec: CodecName, Name: name, Version: version}}
}

// Schema implements typed.Codec.
func (c *Codec[T, PT]) Schema() typed.Schema { return c.schema }

// Append implements typed.Codec: it appends v's encoding to dst.
func (c *Codec[T, PT]) Append(dst []byte, v *T) ([]byte, error) {
	return PT(v).AppendBincode(dst), nil
}

// Decode implements typed.Codec: it decodes src into *v and refuses
// trailing bytes. It does not keep src.
func (c *Codec[T, PT]) Decode(src []byte, v *T) error {
	c.r.Reset(src)
	err := PT(v).UnmarshalBincode(&c.r)
	if err == nil {
		err = c.r.Finish()
	}
	c.r.Reset(nil) // do not pin the slot's memory
	return err
}

// Marshal returns v's encoding in a new slice.
func Marshal(v Marshaler) []byte { return v.AppendBincode(nil) }

// Unmarshal decodes b into v, refusing trailing bytes.
func Unmarshal(b []byte, v Unmarshaler) error {
	r := NewReader(b)
	if err := v.UnmarshalBincode(&r); err != nil {
		return err
	}
	return r.Finish()
}
