package ring

import (
	"context"
	"iter"
	"reflect"
)

// Producer publishes events of type E into a ring it created. E must be a
// fixed-size type without pointers (see Create).
//
// Only one goroutine may publish on a Producer at a time.
type Producer[E any] struct {
	_    noCopy
	p    *producer
	live *liveness // nil unless EnableLiveness
}

// Create creates the ring name and returns its single producer. E must hold
// no pointers, strings, slices, maps, interfaces, channels or funcs, at any
// depth: such an E is rejected with a *TypeError naming the field.
func Create[E any](name string, cfg Config) (*Producer[E], error) {
	info, err := inspectType(reflect.TypeFor[E]())
	if err != nil {
		return nil, err
	}
	p, err := createProducer(name, &cfg, kindTyped, info)
	if err != nil {
		return nil, err
	}
	return &Producer[E]{p: p}, nil
}

// createProducer creates a segment for cfg and returns its first producer.
func createProducer(name string, cfg *Config, kind uint32, elem elemInfo) (*producer, error) {
	g, err := cfg.geometry(kind, elem)
	if err != nil {
		return nil, err
	}
	s, err := createSegment(name, cfg, g, cfg.Meta)
	if err != nil {
		return nil, err
	}
	p, err := newProducer(s, cfg)
	if err != nil {
		s.m.Close()
		return nil, err
	}
	return p, nil
}

// Publish claims the next slot, calls fill with it and publishes it,
// waiting for space with the configured wait strategy. The slot holds
// whatever event last occupied it: fill must write every field it needs.
// fill must not keep the pointer.
func (p *Producer[E]) Publish(fill func(slot *E)) (int64, error) {
	return p.PublishContext(context.Background(), fill)
}

// PublishContext is Publish that gives up when ctx is done.
func (p *Producer[E]) PublishContext(ctx context.Context, fill func(slot *E)) (int64, error) {
	seq, err := p.p.claim(ctx, 1, false)
	if err != nil {
		return -1, err
	}
	fill((*E)(p.p.s.slot(seq)))
	p.p.commit(seq)
	return seq, nil
}

// TryPublish is Publish that returns ErrFull instead of waiting.
func (p *Producer[E]) TryPublish(fill func(slot *E)) (int64, error) {
	seq, err := p.p.claim(context.Background(), 1, true)
	if err != nil {
		return -1, err
	}
	fill((*E)(p.p.s.slot(seq)))
	p.p.commit(seq)
	return seq, nil
}

// Send publishes a copy of *ev.
func (p *Producer[E]) Send(ctx context.Context, ev *E) (int64, error) {
	seq, err := p.p.claim(ctx, 1, false)
	if err != nil {
		return -1, err
	}
	*(*E)(p.p.s.slot(seq)) = *ev
	p.p.commit(seq)
	return seq, nil
}

// PublishBatch claims n consecutive slots, calls fill for each (i from 0 to
// n-1) and publishes them all with one cursor store. It returns the last
// sequence. n must be in [1, capacity].
func (p *Producer[E]) PublishBatch(n int, fill func(i int, slot *E)) (int64, error) {
	return p.PublishBatchContext(context.Background(), n, fill)
}

// PublishBatchContext is PublishBatch that gives up when ctx is done.
func (p *Producer[E]) PublishBatchContext(ctx context.Context, n int, fill func(i int, slot *E)) (int64, error) {
	lo, err := p.p.claim(ctx, int64(n), false)
	return p.fillBatch(lo, err, n, fill)
}

// TryPublishBatch is PublishBatch that returns ErrFull instead of waiting.
func (p *Producer[E]) TryPublishBatch(n int, fill func(i int, slot *E)) (int64, error) {
	lo, err := p.p.claim(context.Background(), int64(n), true)
	return p.fillBatch(lo, err, n, fill)
}

// fillBatch fills and publishes the n slots claimed from lo (unless the
// claim failed with err).
func (p *Producer[E]) fillBatch(lo int64, err error, n int, fill func(i int, slot *E)) (int64, error) {
	if err != nil {
		return -1, err
	}
	for i := 0; i < n; i++ {
		fill(i, (*E)(p.p.s.slot(lo+int64(i))))
	}
	hi := lo + int64(n) - 1
	p.p.commit(hi)
	return hi, nil
}

// Info describes the ring (geometry, name, backend).
func (p *Producer[E]) Info() RingInfo { return p.p.s.info() }

// Stats reads the ring's counters and every consumer's position.
func (p *Producer[E]) Stats() Stats { return p.p.s.stats() }

// Close marks the ring closed (consumers drain what was published, then get
// ErrEndOfStream), removes the segment unless Config.KeepOnClose, and
// unmaps it.
func (p *Producer[E]) Close() error { return p.p.close() }

// Consumer reads every event of a ring, in order (broadcast: each consumer
// sees all events published after it joined).
//
// Only one goroutine may use a Consumer at a time.
type Consumer[E any] struct {
	_       noCopy
	c       *consumer
	scratch *E // observers: where Lease and Process copy events
}

// Attach joins ring name as a consumer of events of type E. The ring's
// element type must have the same layout and field names as E (compared by
// fingerprint): otherwise a *LayoutError naming "element_type".
func Attach[E any](name string, cfg ConsumerConfig) (*Consumer[E], error) {
	info, err := inspectType(reflect.TypeFor[E]())
	if err != nil {
		return nil, err
	}
	c, err := attachConsumer(name, &cfg, func(g geometry) error {
		if err := checkGeometry(g, kindTyped, cfg.Capacity, cfg.SlotSize); err != nil {
			return err
		}
		return checkElem(g, info, reflect.TypeFor[E]().String())
	})
	if err != nil {
		return nil, err
	}
	cons := &Consumer[E]{c: c}
	if cfg.Observer {
		cons.scratch = new(E)
	}
	return cons, nil
}

// take copies the next readable event into *dst and consumes it. For an
// observer it then validates the copy: on a *LappedError *dst is garbage
// and the observer has moved on (observer.go).
func (c *Consumer[E]) take(dst *E) error {
	seq := c.c.next
	*dst = *(*E)(c.c.s.slot(seq))
	if c.c.observer {
		return c.c.observed(seq)
	}
	c.c.advance(seq)
	return nil
}

// Next waits for the next event and returns a copy of it. An observer
// gets a *LappedError instead when the producer overtook it.
func (c *Consumer[E]) Next(ctx context.Context) (E, error) {
	var ev E
	if _, err := c.c.ready(ctx, false); err != nil {
		return ev, err
	}
	if err := c.take(&ev); err != nil {
		var zero E
		return zero, err
	}
	return ev, nil
}

// TryNext is Next that returns ErrEmpty instead of waiting.
func (c *Consumer[E]) TryNext() (E, error) {
	var ev E
	if _, err := c.c.ready(context.Background(), true); err != nil {
		return ev, err
	}
	if err := c.take(&ev); err != nil {
		var zero E
		return zero, err
	}
	return ev, nil
}

// Lease waits for the next event and returns a pointer into its slot (no
// copy) and its sequence. The slot is reserved until Release: the pointer
// must not be used after it. One lease at a time.
//
// An observer cannot reserve slots: its lease points to a validated copy
// owned by the Consumer, valid until the next call on it; the event counts
// as consumed at once.
func (c *Consumer[E]) Lease(ctx context.Context) (*E, int64, error) {
	return c.lease(ctx, false)
}

// TryLease is Lease that returns ErrEmpty instead of waiting.
func (c *Consumer[E]) TryLease() (*E, int64, error) {
	return c.lease(context.Background(), true)
}

func (c *Consumer[E]) lease(ctx context.Context, try bool) (*E, int64, error) {
	if _, err := c.c.ready(ctx, try); err != nil {
		return nil, -1, err
	}
	seq := c.c.next
	if c.c.observer {
		if c.scratch == nil {
			c.scratch = new(E) // evicted: an observer from now on
		}
		if err := c.take(c.scratch); err != nil {
			return nil, -1, err
		}
		c.c.leased = true
		return c.scratch, seq, nil
	}
	c.c.leased = true
	return (*E)(c.c.s.slot(seq)), seq, nil
}

// Release ends the lease taken by Lease and consumes its event.
func (c *Consumer[E]) Release() {
	if c.c.leased {
		c.c.leased = false
		if !c.c.observer { // an observer's lease consumed its copy already
			c.c.advance(c.c.next)
		}
	}
}

// Process waits for at least one event, then calls fn for every event
// available at that moment (at most max; max <= 0 means no limit), in
// order, in place, with endOfBatch set on the last. It commits once, after
// the batch. If fn returns an error, the events before the failing one are
// consumed, the failing one is not, and Process returns the error. It
// returns the number of events consumed.
//
// An observer's fn gets validated copies (valid only during the call), and
// Process may also stop early with a *LappedError after the events it
// delivered.
func (c *Consumer[E]) Process(ctx context.Context, max int, fn func(ev *E, seq int64, endOfBatch bool) error) (int, error) {
	return c.process(ctx, false, max, fn)
}

// TryProcess is Process that returns ErrEmpty instead of waiting.
func (c *Consumer[E]) TryProcess(max int, fn func(ev *E, seq int64, endOfBatch bool) error) (int, error) {
	return c.process(context.Background(), true, max, fn)
}

func (c *Consumer[E]) process(ctx context.Context, try bool, max int, fn func(*E, int64, bool) error) (int, error) {
	hi, err := c.c.ready(ctx, try)
	if err != nil {
		return 0, err
	}
	lo := c.c.next
	if max > 0 && hi-lo >= int64(max) {
		hi = lo + int64(max) - 1
	}
	if c.c.observer {
		return c.processCopies(lo, hi, fn)
	}
	for seq := lo; seq <= hi; seq++ {
		if err := fn((*E)(c.c.s.slot(seq)), seq, seq == hi); err != nil {
			if seq > lo {
				c.c.advance(seq - 1)
			}
			return int(seq - lo), err
		}
	}
	c.c.advance(hi)
	return int(hi - lo + 1), nil
}

// processCopies is process for an observer: copy, validate, then call fn.
func (c *Consumer[E]) processCopies(lo, hi int64, fn func(*E, int64, bool) error) (int, error) {
	if c.scratch == nil {
		c.scratch = new(E) // evicted: an observer from now on
	}
	for seq := lo; seq <= hi; seq++ {
		if err := c.take(c.scratch); err != nil {
			return int(seq - lo), err
		}
		if err := fn(c.scratch, seq, seq == hi); err != nil {
			c.c.unconsume(seq)
			return int(seq - lo), err
		}
	}
	return int(hi - lo + 1), nil
}

// All returns an iterator over copies of the events, waiting for each. It
// ends when ctx is done, the ring ends, or any other error; Err tells which
// (nil for a normal end of stream). An observer's loop ends with a
// *LappedError when the producer overtakes it; a new loop continues.
func (c *Consumer[E]) All(ctx context.Context) iter.Seq2[int64, E] {
	return func(yield func(int64, E) bool) {
		c.c.iterErr = nil // Err reports this loop, not an earlier one
		for {
			if _, err := c.c.ready(ctx, false); err != nil {
				c.c.iterErr = err
				return
			}
			seq := c.c.next
			var ev E
			if err := c.take(&ev); err != nil {
				c.c.iterErr = err
				return
			}
			if !yield(seq, ev) {
				return
			}
		}
	}
}

// Err returns the error that ended the last All loop; nil if it ended by
// ErrEndOfStream or by the loop body.
func (c *Consumer[E]) Err() error { return c.c.err() }

// Position returns the last sequence consumed.
func (c *Consumer[E]) Position() int64 { return c.c.position() }

// ID returns the consumer's id.
func (c *Consumer[E]) ID() string { return c.c.id }

// Info describes the ring.
func (c *Consumer[E]) Info() RingInfo { return c.c.s.info() }

// Stats reads the ring's counters and every consumer's position.
func (c *Consumer[E]) Stats() Stats { return c.c.s.stats() }

// Close leaves the ring. The consumer stops gating the producer at once
// (unless it is a required consumer of a managed producer, which keeps its
// place until it rejoins or the liveness policy gives up on it); its id
// keeps its position, so a consumer attaching later under the same id
// resumes after the last event this one consumed.
func (c *Consumer[E]) Close() error { return c.c.close() }

// noCopy makes go vet flag copies of handles.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// attachConsumer attaches to a segment that passes check and joins its
// consumer table.
func attachConsumer(name string, cfg *ConsumerConfig, check func(geometry) error) (*consumer, error) {
	s, err := attachSegment(name, cfg.attachOptions(), check)
	if err != nil {
		return nil, err
	}
	c, err := newConsumer(s, cfg, flagGating)
	if err != nil {
		s.m.Close()
		return nil, err
	}
	return c, nil
}

// checkElem compares a typed ring's element with the attacher's type.
func checkElem(g geometry, info elemInfo, name string) error {
	if g.elemSize != info.size {
		return &LayoutError{Field: "element_size", Want: info.size, Got: g.elemSize}
	}
	if g.fingerprint != info.fingerprint {
		return &LayoutError{Field: "element_type", Want: name, Got: "a type with another layout or field names"}
	}
	return nil
}
