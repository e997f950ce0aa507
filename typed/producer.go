package typed

// The typed producer: encode into a reused buffer, then one frame send.
//
// The buffer is the only state between messages. Append extends buf[:0],
// so once buf has grown to the largest message a send allocates nothing;
// frame.Producer.SendFlags copies the bytes into the ring, after which the
// buffer is ours again. A message much larger than usual does not pin its
// buffer forever: a buffer grown past the ring's maximum message size
// (which no message can have) is dropped.

import (
	"context"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Producer sends values of type T, encoded by a Codec, as frame messages
// tagged with the codec's schema.
//
// Only one goroutine may use a Producer at a time (as for frame.Producer).
// The zero value is not usable: make one with Create or Join.
type Producer[T any] struct {
	_      noCopy
	fp     *frame.Producer // the frame producer below
	codec  Codec[T]        // read-only
	tag    uint8           // read-only: codec.Schema().Tag()
	buf    []byte          // hot: reused encode buffer
	retain int             // read-only: the ring's maximum message size
	stats  ProducerStats   // hot: process-local counters
}

// ProducerStats counts what a Producer encoded, with the frame layer's
// counters (and the ring's) below.
type ProducerStats struct {
	Sent         uint64              `json:"sent"`          // values encoded and sent
	Bytes        uint64              `json:"bytes"`         // encoded bytes of those
	EncodeErrors uint64              `json:"encode_errors"` // values the codec refused (not sent)
	Frame        frame.ProducerStats `json:"frame"`         // read when Stats was called
}

// Create creates the typed ring name, recording codec's schema in it, and
// returns a producer of T values encoded with codec. A segment of that
// name whose owner died is replaced (see Config.KeepStale).
func Create[T any](name string, codec Codec[T], cfg Config) (*Producer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	if cfg.Meta != nil {
		return nil, invalid("Config.Meta must be nil: the typed layer keeps the ring's schema there")
	}
	meta, err := encodeSchema(codec.Schema())
	if err != nil {
		return nil, err
	}
	cfg.Meta = meta
	fp, err := frame.Create(name, cfg)
	if err != nil {
		return nil, err
	}
	return newProducer(fp, codec), nil
}

// Join joins the multi-producer typed ring name as one more producer of T
// values encoded with codec, waiting for the ring until ctx is done as
// Attach does. The ring's schema must be codec's: otherwise a
// *SchemaError.
func Join[T any](ctx context.Context, name string, codec Codec[T], cfg JoinConfig) (*Producer[T], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	fp, err := frame.Join(ctx, name, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(fp.UserMeta(), codec.Schema(), false); err != nil {
		fp.Close()
		return nil, err
	}
	return newProducer(fp, codec), nil
}

func newProducer[T any](fp *frame.Producer, codec Codec[T]) *Producer[T] {
	return &Producer[T]{fp: fp, codec: codec, tag: codec.Schema().Tag(), retain: fp.Geometry().MaxMessageSize}
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

// SendKind is Send with an application kind, delivered in Meta.Kind.
func (p *Producer[T]) SendKind(ctx context.Context, kind uint8, v *T) (uint64, error) {
	return p.send(ctx, false, kind, v)
}

// TrySend is Send that returns ErrFull instead of waiting.
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
		l := p.fp.LayerCounters()
		l.Store(slotEncodeErrors, p.stats.EncodeErrors)
		l.LogError(ErrorKindEncode, 0)
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

// TrySendEncoded is SendEncoded that returns ErrFull instead of
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

// Require makes consumers required: every blocking send waits for them
// to attach and applies the stall policy while it waits for room (see
// frame.Producer.Require and ring.RequiredConfig).
func (p *Producer[T]) Require(cfg ring.RequiredConfig) error { return p.fp.Require(cfg) }

// WaitForConsumers waits until at least n consumers whose ids start with
// prefix are attached (see ring.Producer.WaitForConsumers).
func (p *Producer[T]) WaitForConsumers(ctx context.Context, n int, prefix string) error {
	return p.fp.WaitForConsumers(ctx, n, prefix)
}

// WaitForConsumerIDs waits until consumers with each of ids are attached.
func (p *Producer[T]) WaitForConsumerIDs(ctx context.Context, ids ...string) error {
	return p.fp.WaitForConsumerIDs(ctx, ids...)
}

// Drain waits until every consumer that holds the producer back has read
// every value sent so far, or ctx ends (see ring.Producer.Drain).
func (p *Producer[T]) Drain(ctx context.Context) error { return p.fp.Drain(ctx) }

// Schema returns the codec's schema.
func (p *Producer[T]) Schema() Schema { return p.codec.Schema() }

// Geometry describes the ring's frames.
func (p *Producer[T]) Geometry() frame.Geometry { return p.fp.Geometry() }

// Info describes the ring below.
func (p *Producer[T]) Info() ring.RingInfo { return p.fp.Info() }

// Stats returns the producer's encoding counters and the layers' below.
func (p *Producer[T]) Stats() ProducerStats {
	s := p.stats
	s.Frame = p.fp.Stats()
	return s
}

// Close closes the ring: consumers read what was sent, then get
// ErrEndOfStream.
func (p *Producer[T]) Close() error { return p.fp.Close() }

// noCopy makes go vet's copylocks check flag copies of handles.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
