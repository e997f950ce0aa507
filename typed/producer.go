package typed

// The typed producer: encode into a reused buffer, then one frame send.
//
// The buffer is the only state between messages. Append extends buf[:0],
// so once buf has grown to the largest message a send allocates nothing;
// frame.Producer.SendFlags copies the bytes into the ring, after which the
// buffer is ours again. A message much larger than usual does not pin its
// buffer forever: after sending, a buffer over Config.RetainBuffer is
// dropped.

import (
	"context"

	"github.com/myelon-go/myelon/frame"
)

// DefaultRetainBuffer is the largest encode buffer a producer keeps
// between messages when Config.RetainBuffer is zero: frame's default
// maximum message size, so that steady traffic never reallocates (with a
// 1 MiB default every message of 1 MiB allocated a fresh buffer).
const DefaultRetainBuffer = frame.DefaultMaxMessageSize

// Config describes a typed ring to create. The zero value is a usable
// frame ring with frame's defaults.
type Config struct {
	// Frame configures the frame ring below. Set Frame.Aligned for
	// zero-copy views that need 16-byte alignment.
	Frame frame.Config
	// RetainBuffer is the largest encode buffer kept between messages.
	// Zero: DefaultRetainBuffer.
	RetainBuffer int
}

// Producer sends values of type T, encoded by a Codec, as frame messages
// tagged with the codec's schema.
//
// Only one goroutine may use a Producer at a time (as for frame.Producer).
// The zero value is not usable: make one with Create or NewProducer.
type Producer[T any] struct {
	_      noCopy
	fp     *frame.Producer // the frame producer below
	codec  Codec[T]        // read-only
	tag    uint8           // read-only: codec.Schema().Tag()
	buf    []byte          // hot: reused encode buffer
	retain int             // read-only: Config.RetainBuffer
	stats  ProducerStats   // hot: process-local counters
}

// ProducerStats counts what a Producer encoded. Frame's own counters are
// in Frame().Stats().
type ProducerStats struct {
	Sent         uint64 `json:"sent"`          // values encoded and sent
	Bytes        uint64 `json:"bytes"`         // encoded bytes of those
	EncodeErrors uint64 `json:"encode_errors"` // values the codec refused (not sent)
}

// Create creates the frame ring name (frame.Create with cfg.Frame) and
// returns a producer of T values encoded with codec.
func Create[T any](name string, codec Codec[T], cfg Config) (*Producer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	if cfg.RetainBuffer < 0 {
		return nil, invalid("RetainBuffer < 0")
	}
	fp, err := frame.Create(name, cfg.Frame)
	if err != nil {
		return nil, err
	}
	p, _ := NewProducer(fp, codec)
	if cfg.RetainBuffer > 0 {
		p.retain = cfg.RetainBuffer
	}
	return p, nil
}

// Join joins the multi-producer frame ring name as one more producer
// (frame.JoinProducer with cfg) of T values encoded with codec. Every
// producer of a ring should use the same schema: consumers check each
// message's tag.
func Join[T any](name string, codec Codec[T], cfg frame.JoinConfig) (*Producer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	fp, err := frame.JoinProducer(name, cfg)
	if err != nil {
		return nil, err
	}
	return NewProducer(fp, codec)
}

// NewProducer wraps an existing frame producer (one from frame.Create, or
// one that joined a multi-producer ring). Closing the typed producer
// closes fp.
func NewProducer[T any](fp *frame.Producer, codec Codec[T]) (*Producer[T], error) {
	if fp == nil || codec == nil {
		return nil, invalid("nil frame producer or codec")
	}
	return &Producer[T]{fp: fp, codec: codec, tag: codec.Schema().Tag(), retain: DefaultRetainBuffer}, nil
}

// Send encodes *v and publishes it as one message of kind 0, waiting for
// room (see frame.Producer.Send), and returns the message id. An encode
// error is an *EncodeError and nothing is sent. Send allocates nothing once
// the encode buffer has grown, provided the codec does not and v points to
// a value that is already on the heap (a variable the caller reuses):
// v is passed to the codec through an interface, so escape analysis
// cannot keep a fresh local on the stack.
func (p *Producer[T]) Send(ctx context.Context, v *T) (uint64, error) {
	return p.send(ctx, false, 0, v)
}

// SendKind is Send with an application kind, delivered in frame.Meta.Kind.
func (p *Producer[T]) SendKind(ctx context.Context, kind uint8, v *T) (uint64, error) {
	return p.send(ctx, false, kind, v)
}

// TrySend is Send that returns frame.ErrFull instead of waiting.
func (p *Producer[T]) TrySend(v *T) (uint64, error) {
	return p.send(context.Background(), true, 0, v)
}

// TrySendKind is TrySend with an application kind.
func (p *Producer[T]) TrySendKind(kind uint8, v *T) (uint64, error) {
	return p.send(context.Background(), true, kind, v)
}

func (p *Producer[T]) send(ctx context.Context, try bool, kind uint8, v *T) (uint64, error) {
	buf, err := p.codec.Append(p.buf[:0], v)
	if err != nil {
		p.stats.EncodeErrors++
		return 0, &EncodeError{Schema: p.codec.Schema(), Err: err}
	}
	id, err := p.sendEncoded(ctx, try, kind, buf)
	if cap(buf) <= p.retain {
		p.buf = buf
	} else {
		p.buf = nil
	}
	if err == nil {
		p.stats.Sent++
		p.stats.Bytes += uint64(len(buf))
	}
	return id, err
}

// SendEncoded publishes payload, already encoded with this producer's
// codec (for example a message received from another typed ring and
// forwarded without decoding), tagged with the codec's schema.
func (p *Producer[T]) SendEncoded(ctx context.Context, kind uint8, payload []byte) (uint64, error) {
	return p.sendEncoded(ctx, false, kind, payload)
}

// TrySendEncoded is SendEncoded that returns frame.ErrFull instead of
// waiting.
func (p *Producer[T]) TrySendEncoded(kind uint8, payload []byte) (uint64, error) {
	return p.sendEncoded(context.Background(), true, kind, payload)
}

func (p *Producer[T]) sendEncoded(ctx context.Context, try bool, kind uint8, payload []byte) (uint64, error) {
	if try {
		return p.fp.TrySendFlags(kind, p.tag, payload)
	}
	return p.fp.SendFlags(ctx, kind, p.tag, payload)
}

// WaitForConsumers waits until at least n consumers whose ids start with
// prefix are attached (see frame.Producer.WaitForConsumers).
func (p *Producer[T]) WaitForConsumers(ctx context.Context, n int, prefix string) error {
	return p.fp.WaitForConsumers(ctx, n, prefix)
}

// Schema returns the codec's schema.
func (p *Producer[T]) Schema() Schema { return p.codec.Schema() }

// Stats returns the producer's encoding counters.
func (p *Producer[T]) Stats() ProducerStats { return p.stats }

// Frame returns the frame producer below (for its geometry, stats and
// coordination calls). Sending on it directly sends untagged messages.
func (p *Producer[T]) Frame() *frame.Producer { return p.fp }

// Close closes the ring: consumers read what was sent, then get
// frame.ErrEndOfStream.
func (p *Producer[T]) Close() error { return p.fp.Close() }

// noCopy makes go vet's copylocks check flag copies of handles.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
