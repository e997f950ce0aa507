package ring

import (
	"context"
	"iter"
	"reflect"
	"runtime/debug"
)

// Producer publishes events of type E into a ring. E must be a fixed-size
// type without pointers (see Create).
//
// Publishing comes in two shapes: Send copies a value in; Publish calls a
// fill function with the slot itself, so an event is written in place
// with no copy.
// Every blocking call takes a context and has a Try form that never waits
// (ErrFull instead).
//
// Only one goroutine may publish on a Producer at a time.
type Producer[E any] struct {
	_ noCopy
	p *producer
}

// Create creates the ring name and returns its single producer. E must hold
// no pointers, strings, slices, maps, interfaces, channels or funcs, at any
// depth: such an E is rejected with a *TypeError naming the field.
//
// A segment of that name whose owner died is replaced (see
// Config.KeepStale); one whose owner is alive is an ErrExist.
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
	var p *producer
	err = guarded(s.m, func() (err error) {
		p, err = newProducer(s, cfg)
		return err
	})
	if err != nil {
		s.m.Close()
		return nil, err
	}
	return p, nil
}

// Publish claims the next slot, calls fill with it and publishes it,
// waiting for space (with the configured wait strategy) until ctx is done.
// The slot holds whatever event last occupied it: fill must write every
// field it needs. fill must not keep the pointer.
func (p *Producer[E]) Publish(ctx context.Context, fill func(slot *E)) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.Publish(ctx, fill) })
	}
	seq, err := p.p.acquireOne(ctx)
	if err != nil {
		return -1, err
	}
	fill((*E)(p.p.s.slot(seq)))
	p.p.commit(seq)
	return seq, nil
}

// TryPublish is Publish that returns ErrFull instead of waiting.
func (p *Producer[E]) TryPublish(fill func(slot *E)) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.TryPublish(fill) })
	}
	seq, err := p.p.tryAcquireOne()
	if err != nil {
		return -1, err
	}
	fill((*E)(p.p.s.slot(seq)))
	p.p.commit(seq)
	return seq, nil
}

// Send publishes a copy of *ev, waiting for space until ctx is done.
func (p *Producer[E]) Send(ctx context.Context, ev *E) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.Send(ctx, ev) })
	}
	seq, err := p.p.acquireOne(ctx)
	return p.put(seq, err, ev)
}

// TrySend is Send that returns ErrFull instead of waiting.
func (p *Producer[E]) TrySend(ev *E) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.TrySend(ev) })
	}
	seq, err := p.p.tryAcquireOne()
	return p.put(seq, err, ev)
}

// put copies *ev into the slot claimed at seq and publishes it (unless the
// claim failed with err).
func (p *Producer[E]) put(seq int64, err error, ev *E) (int64, error) {
	if err != nil {
		return -1, err
	}
	*(*E)(p.p.s.slot(seq)) = *ev
	p.p.commit(seq)
	return seq, nil
}

// PublishBatch claims n consecutive slots, calls fill for each (i from 0 to
// n-1) and publishes them all with one cursor store, waiting for space
// until ctx is done. It returns the last sequence. n must be in [1,
// capacity].
func (p *Producer[E]) PublishBatch(ctx context.Context, n int, fill func(i int, slot *E)) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.PublishBatch(ctx, n, fill) })
	}
	lo, err := p.p.acquire(ctx, int64(n), false)
	return p.fillBatch(lo, err, n, fill)
}

// TryPublishBatch is PublishBatch that returns ErrFull instead of waiting.
func (p *Producer[E]) TryPublishBatch(n int, fill func(i int, slot *E)) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.TryPublishBatch(n, fill) })
	}
	lo, err := p.p.acquire(context.Background(), int64(n), true)
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
func (p *Producer[E]) Stats() Stats { return p.p.s.guardedStats() }

// LayerCounters returns this producer's counters in the segment.
func (p *Producer[E]) LayerCounters() LayerCounters { return LayerCounters{p.p.s.layer} }

// Close marks the ring closed (consumers drain what was published, then get
// ErrEndOfStream), removes the segment unless Config.KeepOnClose, and
// unmaps it.
func (p *Producer[E]) Close() error { return p.p.close() }

// Consumer reads every event of a ring, in order (broadcast: each consumer
// sees all events published after it joined).
//
// Reading comes in three shapes, the same at every layer: Recv returns a
// copy; Read lends the event in place to a callback; Process lends every
// event already published, in one batch with one commit; and All ranges
// over copies. Callbacks get the event first and its sequence after, as
// the Disruptor's event handlers do; All yields the sequence first, as Go
// iterators yield the index. Every blocking call takes a context and has
// a Try form that never waits (ErrEmpty instead).
//
// Only one goroutine may use a Consumer at a time.
type Consumer[E any] struct {
	_       noCopy
	c       *consumer
	scratch *E // observers: where Read and Process copy events
}

// Attach joins ring name as a consumer of events of type E, waiting until
// ctx is done for the ring to be created and ready: consumers and producer
// may start in any order. If ctx ends first the error matches ErrNotFound
// (never created) or ErrNotReady (created, never ready), and ctx.Err().
// The ring's element type must have the same layout and field names as E
// (compared by fingerprint): otherwise a *LayoutError naming
// "element_type".
func Attach[E any](ctx context.Context, name string, cfg ConsumerConfig) (*Consumer[E], error) {
	info, err := inspectType(reflect.TypeFor[E]())
	if err != nil {
		return nil, err
	}
	c, err := attachConsumer(ctx, name, &cfg, func(g geometry) error {
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

// Recv waits for the next event until ctx is done and returns a copy of
// it. An observer gets a *LappedError instead when the producer overtook
// it.
func (c *Consumer[E]) Recv(ctx context.Context) (E, error) {
	return c.recv(ctx, false)
}

// TryRecv is Recv that returns ErrEmpty instead of waiting.
func (c *Consumer[E]) TryRecv() (E, error) {
	return c.recv(context.Background(), true)
}

// recv, read and process are where a consumer with TruncationGuard
// installs its guard: the public methods stay small enough to inline.
func (c *Consumer[E]) recv(ctx context.Context, try bool) (E, error) {
	if c.c.guardCalls {
		return consumerGuarded(c.c, func() (E, error) { return c.recv(ctx, try) })
	}
	var ev E
	if err := c.c.ready(ctx, try); err != nil {
		return ev, err
	}
	if err := c.take(&ev); err != nil {
		var zero E
		return zero, err
	}
	return ev, nil
}

// Read waits for the next event until ctx is done and calls fn with a
// pointer into its slot (no copy) and its sequence. The pointer is valid
// only during the call. The event is consumed when fn returns, whatever it
// returns; Read returns fn's error.
//
// An observer cannot hold slots in place: its fn gets a validated copy.
func (c *Consumer[E]) Read(ctx context.Context, fn func(ev *E, seq int64) error) error {
	return c.read(ctx, false, fn)
}

// TryRead is Read that returns ErrEmpty instead of waiting.
func (c *Consumer[E]) TryRead(fn func(ev *E, seq int64) error) error {
	return c.read(context.Background(), true, fn)
}

func (c *Consumer[E]) read(ctx context.Context, try bool, fn func(*E, int64) error) error {
	if c.c.guardCalls {
		return c.c.guardedErr(func() error { return c.read(ctx, try, fn) })
	}
	if err := c.c.ready(ctx, try); err != nil {
		return err
	}
	seq := c.c.next
	if c.c.observer {
		if c.scratch == nil {
			c.scratch = new(E) // evicted: an observer from now on
		}
		if err := c.take(c.scratch); err != nil {
			return err
		}
		return fn(c.scratch, seq)
	}
	err := fn((*E)(c.c.s.slot(seq)), seq)
	c.c.advance(seq)
	return err
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
	if c.c.guardCalls {
		return consumerGuarded(c.c, func() (int, error) { return c.process(ctx, try, max, fn) })
	}
	err := c.c.ready(ctx, try)
	hi := c.c.avail
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
		defer c.c.guard(debug.SetPanicOnFault(true), nil, &c.c.iterErr)
		for {
			if err := c.c.ready(ctx, false); err != nil {
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
func (c *Consumer[E]) Stats() Stats { return c.c.s.guardedStats() }

// LayerCounters returns this consumer's counters in the segment.
func (c *Consumer[E]) LayerCounters() LayerCounters { return LayerCounters{c.c.s.layer} }

// Close leaves the ring. The consumer stops gating the producer at once
// (unless it is a required consumer (Producer.Require), which keeps its
// place until it rejoins or the producer's policy gives up on it); its id
// keeps its position, so a consumer attaching later under the same id
// resumes after the last event this one consumed.
func (c *Consumer[E]) Close() error { return c.c.close() }

// noCopy makes go vet flag copies of handles.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// attachConsumer attaches to a segment that passes check and joins its
// consumer table.
func attachConsumer(ctx context.Context, name string, cfg *ConsumerConfig, check func(geometry) error) (*consumer, error) {
	s, err := attachSegment(ctx, name, cfg.attachOptions(), check)
	if err != nil {
		return nil, err
	}
	var c *consumer
	err = guarded(s.m, func() (err error) {
		c, err = newConsumer(ctx, s, cfg, flagGating)
		return err
	})
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
