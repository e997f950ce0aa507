// Package typed is Layers 2 and 3 of myelon: Go values over a frame ring
// (package frame), encoded by a codec (Layer 2), or read in place through
// a zero-copy view (Layer 3).
//
// # Codecs
//
// A Codec[T] appends a value's encoding to a buffer and decodes a payload
// into a caller's value; a ZeroCopyCodec[V] validates a payload and
// returns a read-only view V over it. Codecs live in their own packages so
// a program pays only for what it imports:
//
//	codec/raw          fixed-size pointer-free structs: encoding = memory, view = *T
//	codec/bincode      Rust bincode 1.x (fixint) wire format, hand-written per type
//	codec/flatbuffers  flatbuffers tables with a verifying view (benchfb: the bench schema)
//	codec/msgpack      reflective MessagePack, for convenience
//
//	c := bincode.New[Order]("app.Order", 1)
//	p, _ := typed.Create("orders", c, typed.Config{}) // or typed.Join a multi-producer ring
//	p.Send(ctx, &order)
//
//	rc, _ := typed.Attach(ctx, "orders", bincode.New[Order]("app.Order", 1), typed.ConsumerConfig{})
//	var o Order
//	m, err := rc.Recv(ctx, &o)
//
// # Schemas
//
// Every codec names its encoding with a Schema (codec, type name,
// version). Create records the schema in the ring's header metadata, and
// Attach, AttachView and Join compare it with their codec's before any
// message: a consumer with the wrong codec, type or version gets a
// *SchemaError naming both schemas at attach. A ring made by frame.Create
// carries no schema and is refused unless ConsumerConfig.AcceptUntagged.
// Each message also carries the schema as a one-byte tag (Schema.Tag,
// never 0) in its frame user-flags byte (Meta.Flags), checked on every
// message (one byte compare), so a message written below the typed layer
// with another tag is a *SchemaError too. The application keeps the frame
// kind (SendKind, Meta.Kind).
//
// # Required consumers
//
// Producer.Require names consumers the producer must never run ahead of:
// every blocking send then waits for them and applies the stall policy of
// ring.RequiredConfig, as in packages frame and ring.
//
// # Receiving and decode failures
//
// Consumers decode (or view) payloads where frame lends them: in the ring
// slot for a single-frame message, in frame's reassembly buffer for a
// multi-frame one; nothing is copied on the way. Recv decodes into the
// caller's *T; Process and All decode into the consumer's own reused
// value. A message the codec rejects is a *DecodeError (with its message
// id, sequence and length, unwrapping to the codec's error) and a codec
// that panics is recovered into one (*PanicError); either way the message
// is consumed and counted, and the consumer goes on with the next one.
// Batch paths stop at it, or skip it with ConsumerConfig.SkipDecodeErrors.
// Nothing a peer writes makes a consumer panic.
//
// # Zero copy
//
// A ViewConsumer[V] hands each message to a callback as a view
// (Read(ctx, func(Meta, V) error)). The view aliases the slot or the
// reassembly buffer and is valid only until the callback returns: a
// callback must not keep it, or anything it points into. A view is made
// only after the codec validated the payload (a flatbuffers verifier, a
// length check), so its accessors never read out of bounds. Payloads are
// 8-byte aligned, 16 on rings created with Config.Aligned; a codec
// that needs more says so (Aligner) and AttachView checks it.
//
// # Allocation
//
// The producer encodes into one reused buffer and frame copies it into the
// ring; with codec/raw or codec/bincode (into reused values) neither Send
// nor Recv allocates. Values reach the codec through an interface, so pass
// pointers to values you reuse: a fresh local per call escapes to the heap.
package typed
