package typed

// The typed consumers: a frame consumer plus a schema check and a codec.
//
// Every receive goes through frame's borrowed path (Read, Process, All),
// so the codec decodes (or views) the payload where it lies: in the ring
// slot for a single-frame message, in frame's reassembly buffer for a
// multi-frame one. There is no intermediate copy. The slot stays leased
// until the callback returns, so the producer cannot overwrite it while
// the codec reads.
//
// A message is consumed before any error about it is returned: a message
// with another schema's tag, or one the codec rejects, is gone when the
// caller sees the error, and the next call reads the next message. Errors
// of the frame layer (ErrEmpty, ErrEndOfStream, *ProtocolError, ...) pass
// through unchanged.

import (
	"context"
	"errors"
	"iter"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// ConsumerStats counts what a typed consumer decoded, with the frame
// layer's counters (and the ring's) below.
type ConsumerStats struct {
	Decoded      uint64              `json:"decoded"`       // messages decoded (or viewed)
	DecodeErrors uint64              `json:"decode_errors"` // messages the codec rejected (consumed)
	SchemaErrors uint64              `json:"schema_errors"` // messages with another schema's tag (consumed)
	Frame        frame.ConsumerStats `json:"frame"`         // read when Stats was called
}

// base is what both typed consumers share: the frame consumer, the schema
// check and the counters.
type base struct {
	fc       *frame.Consumer
	schema   Schema
	tag      uint8
	untagged bool
	skip     bool
	stats    ConsumerStats
	lastSkip *DecodeError // last decode error a batch path skipped
	iterErr  error        // what ended the last All loop
}

// attachBase attaches the frame consumer below and checks the ring's
// schema against s.
func attachBase(ctx context.Context, name string, s Schema, cfg *ConsumerConfig) (base, error) {
	fc, err := frame.Attach(ctx, name, cfg.frame())
	if err != nil {
		return base{}, err
	}
	if err := checkSchema(fc.UserMeta(), s, cfg.AcceptUntagged); err != nil {
		fc.Close()
		return base{}, err
	}
	return base{fc: fc, schema: s, tag: s.Tag(), untagged: cfg.AcceptUntagged, skip: cfg.SkipDecodeErrors}, nil
}

// checkTag is the slow path of the schema check (the fast one is
// m.Flags == b.tag, inline at the callers).
func (b *base) checkTag(m *Meta) error {
	if m.Flags == 0 && b.untagged {
		return nil
	}
	b.stats.SchemaErrors++
	l := b.fc.LayerCounters()
	l.Store(slotSchemaErrors, b.stats.SchemaErrors)
	l.LogError(ErrorKindSchema, int64(m.ID))
	return &SchemaError{ID: m.ID, Seq: m.Seq, Want: b.schema, WantTag: b.tag, GotTag: m.Flags}
}

func (b *base) decodeError(m *Meta, n int, err error) *DecodeError {
	b.stats.DecodeErrors++
	l := b.fc.LayerCounters()
	l.Store(slotDecodeErrors, b.stats.DecodeErrors)
	l.LogError(ErrorKindDecode, int64(m.ID))
	return &DecodeError{ID: m.ID, Seq: m.Seq, Kind: m.Kind, Len: n, Schema: b.schema, Err: err}
}

// skippable reports whether a batch path skips err (and records it).
func (b *base) skippable(err error) bool {
	if !b.skip {
		return false
	}
	var de *DecodeError
	if errors.As(err, &de) {
		b.lastSkip = de
		return true
	}
	return false
}

// Stats returns the consumer's decoding counters and the layers' below.
func (b *base) Stats() ConsumerStats {
	s := b.stats
	s.Frame = b.fc.Stats()
	return s
}

// ID returns the consumer's id in the ring.
func (b *base) ID() string { return b.fc.ID() }

// Geometry describes the ring's frames.
func (b *base) Geometry() frame.Geometry { return b.fc.Geometry() }

// Info describes the ring below.
func (b *base) Info() ring.RingInfo { return b.fc.Info() }

// LastDecodeError returns the last decode error a batch path skipped
// (ConsumerConfig.SkipDecodeErrors), or nil.
func (b *base) LastDecodeError() *DecodeError { return b.lastSkip }

// Schema returns the consumer's schema.
func (b *base) Schema() Schema { return b.schema }

// Err returns the error that ended the last All loop, or nil if it ended
// at end of stream or because the loop body stopped it.
func (b *base) Err() error { return b.iterErr }

// Close leaves the ring (see frame.Consumer.Close).
func (b *base) Close() error { return b.fc.Close() }

// Consumer receives values of type T decoded by a Codec (Layer 2).
//
// Only one goroutine may use a Consumer at a time. The zero value is not
// usable: make one with Attach.
type Consumer[T any] struct {
	_ noCopy
	base
	codec Codec[T]
	val   *T // the value Process and All decode into, reused
}

// Attach joins the typed ring name as a consumer of T values decoded with
// codec, waiting until ctx is done for the ring to be created and ready
// (the error then matches ErrNotFound, never created, or ErrNotReady,
// never initialised). The ring's schema must be codec's: otherwise a
// *SchemaError, before any message is read.
func Attach[T any](ctx context.Context, name string, codec Codec[T], cfg ConsumerConfig) (*Consumer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	b, err := attachBase(ctx, name, codec.Schema(), &cfg)
	if err != nil {
		return nil, err
	}
	return &Consumer[T]{base: b, codec: codec, val: new(T)}, nil
}

// decode checks m's schema tag and decodes p into v.
func (c *Consumer[T]) decode(m *Meta, p []byte, v *T) error {
	if m.Flags != c.tag {
		if err := c.checkTag(m); err != nil {
			return err
		}
	}
	if err := safeDecode(c.codec, p, v); err != nil {
		return c.decodeError(m, len(p), err)
	}
	c.stats.Decoded++
	return nil
}

// safeDecode runs the codec, turning a panic (a codec bug) into an error.
func safeDecode[T any](codec Codec[T], p []byte, v *T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return codec.Decode(p, v)
}

// Recv waits for the next message and decodes it into *v, returning its
// frame metadata (Meta.Flags is the schema tag). A message with another
// schema's tag is a *SchemaError, one the codec rejects a *DecodeError
// (*v may then be partly written); either way the message is consumed.
//
// Recv allocates nothing if the codec does not (codec/raw and
// codec/bincode into a reused value do not) and v points to a reused value
// (it reaches the codec through an interface, so a fresh local escapes).
func (c *Consumer[T]) Recv(ctx context.Context, v *T) (Meta, error) {
	var meta Meta
	err := c.fc.Read(ctx, func(m Meta, p []byte) error {
		meta = m
		return c.decode(&m, p, v)
	})
	return meta, err
}

// TryRecv is Recv that returns ErrEmpty instead of waiting.
func (c *Consumer[T]) TryRecv(v *T) (Meta, error) {
	var meta Meta
	err := c.fc.TryRead(func(m Meta, p []byte) error {
		meta = m
		return c.decode(&m, p, v)
	})
	return meta, err
}

// Process waits for at least one message, then decodes every message
// already readable, up to max (max <= 0: no limit), and hands each to fn.
// The *T handed to fn is the consumer's own value, reused (decoded over)
// for the next message: copy what you keep. Process returns how many
// messages fn saw. It stops at fn's first error and returns it; at a
// decode error it stops and returns the *DecodeError, or with
// SkipDecodeErrors skips the message and goes on; at a schema or frame
// error it stops and returns it. Every message up to the one that stopped
// it is consumed: call again to go on. max counts skipped messages too.
func (c *Consumer[T]) Process(ctx context.Context, max int, fn func(m Meta, v *T) error) (int, error) {
	return c.process(ctx, false, max, fn)
}

// TryProcess is Process that returns (0, ErrEmpty) instead of
// waiting.
func (c *Consumer[T]) TryProcess(max int, fn func(m Meta, v *T) error) (int, error) {
	return c.process(context.Background(), true, max, fn)
}

func (c *Consumer[T]) process(ctx context.Context, try bool, max int, fn func(Meta, *T) error) (int, error) {
	delivered := 0
	each := func(m Meta, p []byte) error {
		if err := c.decode(&m, p, c.val); err != nil {
			if c.skippable(err) {
				return nil
			}
			return err
		}
		delivered++
		return fn(m, c.val)
	}
	var err error
	if try {
		_, err = c.fc.TryProcess(max, each)
	} else {
		_, err = c.fc.Process(ctx, max, each)
	}
	return delivered, err
}

// All returns an iterator over decoded messages. It blocks waiting for
// messages. The *T yielded is the consumer's own value, reused for the
// next message: copy what you keep. Frame protocol errors and laps are
// skipped (counted in Stats().Frame), decode errors only with
// SkipDecodeErrors; the loop ends at end of stream, when the producer is
// gone, when ctx is done, at a schema mismatch, at an unskipped decode
// error, or at any other error, which Err reports.
func (c *Consumer[T]) All(ctx context.Context) iter.Seq2[Meta, *T] {
	return func(yield func(Meta, *T) bool) {
		c.iterErr = nil
		for m, p := range c.fc.All(ctx) {
			if err := c.decode(&m, p, c.val); err != nil {
				if c.skippable(err) {
					continue
				}
				c.iterErr = err
				return
			}
			if !yield(m, c.val) {
				return
			}
		}
		c.iterErr = c.fc.Err()
	}
}
