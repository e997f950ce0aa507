package typed

// The zero-copy consumer (Layer 3).
//
// Lifetime: a view aliases the payload bytes where frame hands them out
// borrowed. A single-frame message lies in its ring slot, which stays
// leased (the producer cannot reuse it) until the callback returns; a
// multi-frame message lies in the consumer's reassembly buffer, which the
// next receive overwrites. So a view, and every slice or string an
// accessor returns from it, is valid only inside the callback: copy out
// what you keep. The API makes the right thing the easy one (views are
// only ever passed to callbacks and loop bodies) but Go cannot stop a
// callback from storing one.
//
// Alignment: frame payloads start on 8-byte boundaries, on 16-byte ones
// in aligned rings (frame.Config.Aligned), and frame's reassembly buffer
// is 16-byte aligned too. A codec whose views need more than 8 (see
// Aligner) needs an aligned ring; AttachView checks.
//
// Trust: View validates the bytes before the callback runs. A peer with
// write access to the segment could still change them while the callback
// reads (the lease keeps the producer's well-behaved code out, not a
// hostile process); accessors of a view whose bytes changed after
// validation may then panic. The ring's permissions (mode 0600 by
// default) are what keeps such a peer out.

import (
	"context"
	"iter"
)

// ViewConsumer reads messages in place through a ZeroCopyCodec (Layer 3):
// each message is validated and handed to a callback as a read-only view
// V, valid only until the callback returns.
//
// Only one goroutine may use a ViewConsumer at a time. The zero value is
// not usable: make one with AttachView.
type ViewConsumer[V any] struct {
	_ noCopy
	base
	codec ZeroCopyCodec[V]
}

// AttachView joins the typed ring name as a consumer of views made by
// codec, waiting for the ring as Attach does. The ring's schema must be
// codec's (a *SchemaError), and a codec that needs more payload alignment
// than the ring gives is an *AlignmentError.
func AttachView[V any](ctx context.Context, name string, codec ZeroCopyCodec[V], cfg ConsumerConfig) (*ViewConsumer[V], error) {
	if codec == nil {
		return nil, invalid("nil codec")
	}
	b, err := attachBase(ctx, name, codec.Schema(), &cfg)
	if err != nil {
		return nil, err
	}
	if a, ok := codec.(Aligner); ok {
		need, have := a.Alignment(), 8
		if b.fc.Geometry().Aligned {
			have = 16
		}
		if need <= 0 || need&(need-1) != 0 {
			err = invalid("codec alignment is not a power of two")
		} else if need > have {
			err = &AlignmentError{Schema: codec.Schema(), Need: need, Have: have}
		}
	}
	if err != nil {
		b.fc.Close()
		return nil, err
	}
	return &ViewConsumer[V]{base: b, codec: codec}, nil
}

// view checks m's schema tag and makes the view of p.
func (c *ViewConsumer[V]) view(m *Meta, p []byte) (V, error) {
	if m.Flags != c.tag {
		if err := c.checkTag(m); err != nil {
			var zero V
			return zero, err
		}
	}
	v, err := safeView(c.codec, p)
	if err != nil {
		return v, c.decodeError(m, len(p), err)
	}
	c.stats.Decoded++
	return v, nil
}

func safeView[V any](codec ZeroCopyCodec[V], p []byte) (v V, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return codec.View(p)
}

// Read waits for the next message and calls fn with a view of it, valid
// only until fn returns. It returns fn's error, or without calling fn a
// *SchemaError or *DecodeError (View failed); the message is consumed in
// every case. Allocation-free if View is.
func (c *ViewConsumer[V]) Read(ctx context.Context, fn func(m Meta, v V) error) error {
	return c.fc.Read(ctx, func(m Meta, p []byte) error {
		v, err := c.view(&m, p)
		if err != nil {
			return err
		}
		return fn(m, v)
	})
}

// TryRead is Read that returns ErrEmpty instead of waiting.
func (c *ViewConsumer[V]) TryRead(fn func(m Meta, v V) error) error {
	return c.fc.TryRead(func(m Meta, p []byte) error {
		v, err := c.view(&m, p)
		if err != nil {
			return err
		}
		return fn(m, v)
	})
}

// Process waits for at least one message, then hands fn a view of every
// message already readable, up to max (max <= 0: no limit), releasing
// their slots with one store at the end. Each view is valid only until fn
// returns. Errors stop it as for Consumer.Process (with SkipDecodeErrors,
// messages View rejects are skipped). It returns how many views fn saw.
func (c *ViewConsumer[V]) Process(ctx context.Context, max int, fn func(m Meta, v V) error) (int, error) {
	return c.process(ctx, false, max, fn)
}

// TryProcess is Process that returns (0, ErrEmpty) instead of
// waiting.
func (c *ViewConsumer[V]) TryProcess(max int, fn func(m Meta, v V) error) (int, error) {
	return c.process(context.Background(), true, max, fn)
}

func (c *ViewConsumer[V]) process(ctx context.Context, try bool, max int, fn func(Meta, V) error) (int, error) {
	delivered := 0
	each := func(m Meta, p []byte) error {
		v, err := c.view(&m, p)
		if err != nil {
			if c.skippable(err) {
				return nil
			}
			return err
		}
		delivered++
		return fn(m, v)
	}
	var err error
	if try {
		_, err = c.fc.TryProcess(max, each)
	} else {
		_, err = c.fc.Process(ctx, max, each)
	}
	return delivered, err
}

// All returns an iterator over views, each valid only until the loop body
// returns. It blocks waiting for messages and ends as Consumer.All does;
// Err reports why.
func (c *ViewConsumer[V]) All(ctx context.Context) iter.Seq2[Meta, V] {
	return func(yield func(Meta, V) bool) {
		c.iterErr = nil
		for m, p := range c.fc.All(ctx) {
			v, err := c.view(&m, p)
			if err != nil {
				if c.skippable(err) {
					continue
				}
				c.iterErr = err
				return
			}
			if !yield(m, v) {
				return
			}
		}
		c.iterErr = c.fc.Err()
	}
}
