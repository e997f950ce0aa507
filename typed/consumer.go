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
	"time"

	"github.com/myelon-go/myelon/frame"
)

// ConsumerConfig describes how to attach a typed consumer. The zero value
// attaches like frame's zero ConsumerConfig, requires every message to
// carry the codec's schema tag, and stops batch reads at a decode error.
type ConsumerConfig struct {
	// Frame configures the frame consumer below (ring id, start, wait
	// strategy, expected geometry, ...).
	Frame frame.ConsumerConfig
	// AcceptUntagged accepts messages without a schema tag (user flags 0),
	// as sent by a plain frame producer, and decodes them with the codec.
	// Messages carrying another schema's tag are still refused.
	AcceptUntagged bool
	// SkipDecodeErrors makes the batch paths (Process, TryProcess, All) skip
	// a message the codec cannot decode (counted in Stats.DecodeErrors; the
	// last one is kept in LastDecodeError) and go on. Without it they stop
	// at it and return its *DecodeError. Schema mismatches always stop them:
	// they mean a misconfigured pair of processes, not one bad message.
	SkipDecodeErrors bool
}

// ConsumerStats counts what a typed consumer decoded. Frame's counters
// are in Frame().Stats().
type ConsumerStats struct {
	Decoded      uint64 `json:"decoded"`       // messages decoded (or viewed)
	DecodeErrors uint64 `json:"decode_errors"` // messages the codec rejected (consumed)
	SchemaErrors uint64 `json:"schema_errors"` // messages with another schema's tag (consumed)
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

func newBase(fc *frame.Consumer, s Schema, cfg *ConsumerConfig) base {
	return base{fc: fc, schema: s, tag: s.Tag(), untagged: cfg.AcceptUntagged, skip: cfg.SkipDecodeErrors}
}

// checkTag is the slow path of the schema check (the fast one is
// m.Flags == b.tag, inline at the callers).
func (b *base) checkTag(m *frame.Meta) error {
	if m.Flags == 0 && b.untagged {
		return nil
	}
	b.stats.SchemaErrors++
	return &SchemaError{ID: m.ID, Seq: m.Seq, Want: b.schema, WantTag: b.tag, GotTag: m.Flags}
}

func (b *base) decodeError(m *frame.Meta, n int, err error) *DecodeError {
	b.stats.DecodeErrors++
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

// Stats returns the consumer's decoding counters.
func (b *base) Stats() ConsumerStats { return b.stats }

// LastDecodeError returns the last decode error a batch path skipped
// (ConsumerConfig.SkipDecodeErrors), or nil.
func (b *base) LastDecodeError() *DecodeError { return b.lastSkip }

// Schema returns the consumer's schema.
func (b *base) Schema() Schema { return b.schema }

// Frame returns the frame consumer below (for its geometry, stats and id).
// Reading from it directly bypasses the schema check and the codec.
func (b *base) Frame() *frame.Consumer { return b.fc }

// Err returns the error that ended the last All loop, or nil if it ended
// at end of stream or because the loop body stopped it.
func (b *base) Err() error { return b.iterErr }

// Close leaves the ring (see frame.Consumer.Close).
func (b *base) Close() error { return b.fc.Close() }

// Consumer receives values of type T decoded by a Codec (Layer 2).
//
// Only one goroutine may use a Consumer at a time. The zero value is not
// usable: make one with Attach or NewConsumer.
type Consumer[T any] struct {
	_ noCopy
	base
	codec Codec[T]
	val   *T // the value Process and All decode into, reused
}

// Attach joins the frame ring name (frame.Attach with cfg.Frame) as a
// consumer of T values decoded with codec.
func Attach[T any](name string, codec Codec[T], cfg ConsumerConfig) (*Consumer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	fc, err := frame.Attach(name, cfg.Frame)
	if err != nil {
		return nil, err
	}
	return NewConsumer(fc, codec, cfg)
}

// NewConsumer wraps an attached frame consumer; cfg.Frame is ignored.
// Closing the typed consumer closes fc.
func NewConsumer[T any](fc *frame.Consumer, codec Codec[T], cfg ConsumerConfig) (*Consumer[T], error) {
	if fc == nil || codec == nil {
		return nil, invalid("nil frame consumer or codec")
	}
	return &Consumer[T]{base: newBase(fc, codec.Schema(), &cfg), codec: codec, val: new(T)}, nil
}

// decode checks m's schema tag and decodes p into v.
func (c *Consumer[T]) decode(m *frame.Meta, p []byte, v *T) error {
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
func (c *Consumer[T]) Recv(ctx context.Context, v *T) (frame.Meta, error) {
	var meta frame.Meta
	err := c.fc.Read(ctx, func(m frame.Meta, p []byte) error {
		meta = m
		return c.decode(&m, p, v)
	})
	return meta, err
}

// TryRecv is Recv that returns frame.ErrEmpty instead of waiting.
func (c *Consumer[T]) TryRecv(v *T) (frame.Meta, error) {
	var meta frame.Meta
	err := c.fc.TryRead(func(m frame.Meta, p []byte) error {
		meta = m
		return c.decode(&m, p, v)
	})
	return meta, err
}

// RecvTimeout is Recv that gives up with frame.ErrTimeout after d.
func (c *Consumer[T]) RecvTimeout(v *T, d time.Duration) (frame.Meta, error) {
	var meta frame.Meta
	err := c.fc.ReadTimeout(d, func(m frame.Meta, p []byte) error {
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
func (c *Consumer[T]) Process(ctx context.Context, max int, fn func(m frame.Meta, v *T) error) (int, error) {
	return c.process(ctx, false, max, fn)
}

// TryProcess is Process that returns (0, frame.ErrEmpty) instead of
// waiting.
func (c *Consumer[T]) TryProcess(max int, fn func(m frame.Meta, v *T) error) (int, error) {
	return c.process(context.Background(), true, max, fn)
}

func (c *Consumer[T]) process(ctx context.Context, try bool, max int, fn func(frame.Meta, *T) error) (int, error) {
	delivered := 0
	each := func(m frame.Meta, p []byte) error {
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
// skipped (counted in Frame().Stats()), decode errors only with
// SkipDecodeErrors; the loop ends at end of stream, when the producer is
// gone, when ctx is done, at a schema mismatch, at an unskipped decode
// error, or at any other error, which Err reports.
func (c *Consumer[T]) All(ctx context.Context) iter.Seq2[frame.Meta, *T] {
	return func(yield func(frame.Meta, *T) bool) {
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
