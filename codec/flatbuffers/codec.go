package flatbuffers

import (
	fb "github.com/google/flatbuffers/go"

	"github.com/myelon-go/myelon/typed"
)

// CodecName is the codec name in flatbuffers schemas.
const CodecName = "flatbuffers"

// TablePtr is the constraint of a view's table type: a flatc-generated
// table (*Echo, *PayloadBatch, ...), which Init points at a buffer.
type TablePtr[T any] interface {
	*T
	Init(buf []byte, i fb.UOffsetT)
}

// View is a typed.ZeroCopyCodec[PT] over flatc-generated root tables:
// View verifies the buffer with the schema's verify function, then points
// the codec's own table at it. The table is reused: a view is valid until
// the next View call (and, in a typed consumer, only inside the callback).
// View allocates nothing.
type View[T any, PT TablePtr[T]] struct {
	schema typed.Schema
	verify func([]byte) error
	t      T
}

// NewView returns a view codec for the root table T with schema
// {flatbuffers, name, version}; verify must check every field the
// application reads (see Verifier).
func NewView[T any, PT TablePtr[T]](name string, version uint32, verify func([]byte) error) *View[T, PT] {
	return &View[T, PT]{schema: typed.Schema{Codec: CodecName, Name: name, Version: version}, verify: verify}
}

// Schema implements typed.ZeroCopyCodec.
func (c *View[T, PT]) Schema() typed.Schema { return c.schema }

// View implements typed.ZeroCopyCodec.
func (c *View[T, PT]) View(src []byte) (PT, error) {
	if err := c.verify(src); err != nil {
		return nil, err
	}
	p := PT(&c.t)
	p.Init(src, fb.GetUOffsetT(src))
	return p, nil
}

// Codec is a typed.Codec[O] for a flatc object-API type O (TestPayloadT,
// ...): Append packs the value with a reused Builder and copies the
// finished bytes; Decode verifies the buffer and unpacks it. Make it with
// NewCodec. The object API allocates when unpacking (fresh slices and
// strings); for reads without allocation use a View.
type Codec[O any] struct {
	schema typed.Schema
	b      *fb.Builder
	pack   func(b *fb.Builder, v *O) fb.UOffsetT
	decode func(buf []byte, v *O)
	verify func([]byte) error
}

// NewCodec returns an owned codec for O with schema {flatbuffers, name,
// version}: pack builds v (usually v.Pack), verify checks a buffer, and
// unpack fills v from a verified buffer (usually
// GetRootAsX(buf, 0).UnPackTo(v)).
func NewCodec[O any](name string, version uint32, verify func([]byte) error, pack func(*fb.Builder, *O) fb.UOffsetT, unpack func([]byte, *O)) *Codec[O] {
	return &Codec[O]{schema: typed.Schema{Codec: CodecName, Name: name, Version: version},
		b: fb.NewBuilder(1024), pack: pack, decode: unpack, verify: verify}
}

// Schema implements typed.Codec.
func (c *Codec[O]) Schema() typed.Schema { return c.schema }

// Append implements typed.Codec.
func (c *Codec[O]) Append(dst []byte, v *O) ([]byte, error) {
	c.b.Reset()
	c.b.Finish(c.pack(c.b, v))
	return append(dst, c.b.FinishedBytes()...), nil
}

// Decode implements typed.Codec.
func (c *Codec[O]) Decode(src []byte, v *O) error {
	if err := c.verify(src); err != nil {
		return err
	}
	c.decode(src, v)
	return nil
}
