package ring

import (
	"context"
	"fmt"
)

// BytesProducer publishes into a ring of fixed-size byte slots. It is the
// base Layer 1 builds on: claim one or more consecutive slots, fill them,
// commit them together.
//
// Only one goroutine may use a BytesProducer at a time.
type BytesProducer struct {
	_       noCopy
	p       *producer
	claimed int64 // slots claimed and not yet committed
	lo      int64 // first claimed sequence
}

// CreateBytes creates the byte-slot ring name (slot size cfg.SlotSize) and
// returns its single producer.
func CreateBytes(name string, cfg Config) (*BytesProducer, error) {
	p, err := createProducer(name, &cfg, kindBytes, elemInfo{})
	if err != nil {
		return nil, err
	}
	return &BytesProducer{p: p}, nil
}

// Claim reserves n consecutive slots (1 <= n <= capacity), waiting for
// space until ctx is done, and returns the first sequence. Fill them
// through Slot, then Commit. A second Claim before Commit is an error.
func (p *BytesProducer) Claim(ctx context.Context, n int) (int64, error) {
	return p.claim(ctx, n, false)
}

// TryClaim is Claim that returns ErrFull instead of waiting.
func (p *BytesProducer) TryClaim(n int) (int64, error) {
	return p.claim(context.Background(), n, true)
}

// claim, send and recv are where a handle with TruncationGuard installs
// its guard: the public methods stay small enough to inline.
func (p *BytesProducer) claim(ctx context.Context, n int, try bool) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.claim(ctx, n, try) })
	}
	if p.claimed != 0 {
		if err := p.p.s.truncated; err != nil {
			p.claimed = 0 // the claim faulted (a Send), and the ring is gone
			return -1, err
		}
		return -1, errClaimPending(p.claimed)
	}
	var lo int64
	var err error
	switch {
	case n != 1:
		lo, err = p.p.acquire(ctx, int64(n), try)
	case try:
		lo, err = p.p.tryAcquireOne()
	default:
		lo, err = p.p.acquireOne(ctx) // a Send's claim, or a one-slot Claim
	}
	if err != nil {
		return -1, err
	}
	p.claimed = int64(n)
	p.lo = lo
	return lo, nil
}

func errClaimPending(n int64) error {
	return fmt.Errorf("ring: Claim with %d slots already claimed: Commit first", n)
}

// Slot returns the slot of a claimed sequence. It must not be used after
// Close. Its bytes are the segment's: if a peer truncated the segment,
// touching them faults; code that fills slots itself guards that with
// Guard and EndGuard.
func (p *BytesProducer) Slot(seq int64) []byte { return p.p.s.slotBytes(seq) }

// Commit publishes every claimed slot with one cursor store and returns the
// last sequence published.
func (p *BytesProducer) Commit() int64 {
	if p.p.guardCalls {
		seq, _ := p.p.guardedSeq(func() (int64, error) { return p.Commit(), nil })
		return seq
	}
	if p.claimed == 0 {
		return p.lo - 1
	}
	if p.p.closed { // closed with a claim pending: nothing to publish into
		p.claimed = 0
		return -1
	}
	hi := p.lo + p.claimed - 1
	p.claimed = 0
	p.p.commit(hi)
	return hi
}

// Send copies b (at most the slot size) into the next slot and publishes
// it, waiting for space until ctx is done. Bytes of the slot beyond len(b)
// keep old contents.
func (p *BytesProducer) Send(ctx context.Context, b []byte) (int64, error) {
	return p.send(ctx, b, false)
}

// TrySend is Send that returns ErrFull instead of waiting.
func (p *BytesProducer) TrySend(b []byte) (int64, error) {
	return p.send(context.Background(), b, true)
}

func (p *BytesProducer) send(ctx context.Context, b []byte, try bool) (int64, error) {
	if p.p.guardCalls {
		return p.p.guardedSeq(func() (int64, error) { return p.send(ctx, b, try) })
	}
	if len(b) > int(p.p.s.slotSize) {
		return -1, fmt.Errorf("%w: %d bytes into a %d-byte slot", ErrInvalidConfig, len(b), p.p.s.slotSize)
	}
	seq, err := p.claim(ctx, 1, try)
	if err != nil {
		return -1, err
	}
	copy(p.Slot(seq), b)
	return p.Commit(), nil
}

// SlotSize returns the slot size.
func (p *BytesProducer) SlotSize() int { return int(p.p.s.slotSize) }

// UserMeta returns the upper-layer metadata stored at creation (Config.Meta).
func (p *BytesProducer) UserMeta() [UserMetaSize]byte { return p.p.s.meta }

// Info describes the ring.
func (p *BytesProducer) Info() RingInfo { return p.p.s.info() }

// Stats reads the ring's counters.
func (p *BytesProducer) Stats() Stats { return p.p.s.guardedStats() }

// LayerCounters returns this producer's counters in the segment.
func (p *BytesProducer) LayerCounters() LayerCounters { return LayerCounters{p.p.s.layer} }

// Close marks the ring closed and (as owner) removes it; see Producer.Close.
func (p *BytesProducer) Close() error { return p.p.close() }

// BytesConsumer reads a byte-slot ring. Besides copies (Recv) it
// exposes the readable range, so Layer 1 can look at several slots before
// releasing them.
//
// Only one goroutine may use a BytesConsumer at a time.
type BytesConsumer struct {
	_ noCopy
	c *consumer
}

// AttachBytes joins the byte-slot ring name as a consumer, waiting for it
// as Attach does.
func AttachBytes(ctx context.Context, name string, cfg ConsumerConfig) (*BytesConsumer, error) {
	c, err := attachConsumer(ctx, name, &cfg, func(g geometry) error {
		return checkGeometry(g, kindBytes, cfg.Capacity, cfg.SlotSize)
	})
	if err != nil {
		return nil, err
	}
	return &BytesConsumer{c: c}, nil
}

// Wait waits until at least one slot is readable (or ctx is done) and
// returns the readable range [lo, hi]. The slots stay reserved until
// ReleaseThrough. An observer cannot reserve slots: it gets
// ErrObserverInPlace (use Recv).
func (c *BytesConsumer) Wait(ctx context.Context) (lo, hi int64, err error) {
	if c.c.guardCalls {
		var lo, hi int64 // locals, not the results: captured, those would live in memory
		err := c.c.guardedErr(func() (err error) { lo, hi, err = c.Wait(ctx); return err })
		return lo, hi, err
	}
	if c.c.observer {
		return c.c.next, -1, ErrObserverInPlace
	}
	err = c.c.ready(ctx, false)
	hi = c.c.avail
	return c.c.next, hi, err
}

// TryWait is Wait that returns ErrEmpty instead of waiting.
func (c *BytesConsumer) TryWait() (lo, hi int64, err error) {
	if c.c.guardCalls {
		var lo, hi int64
		err := c.c.guardedErr(func() (err error) { lo, hi, err = c.TryWait(); return err })
		return lo, hi, err
	}
	if c.c.observer {
		return c.c.next, -1, ErrObserverInPlace
	}
	err = c.c.ready(context.Background(), true)
	hi = c.c.avail
	return c.c.next, hi, err
}

// Slot returns the slot of a sequence in the readable range returned by
// Wait. It must not be used after ReleaseThrough passes it. As for
// BytesProducer.Slot, touching a truncated segment's bytes faults: guard
// the reads with Guard and EndGuard.
func (c *BytesConsumer) Slot(seq int64) []byte { return c.c.s.slotBytes(seq) }

// ReleaseThrough consumes every sequence up to seq (which must lie in the
// readable range) with one cursor store.
func (c *BytesConsumer) ReleaseThrough(seq int64) {
	if c.c.guardCalls {
		c.c.guardedErr(func() error { c.ReleaseThrough(seq); return nil })
		return
	}
	if seq >= c.c.next && seq <= c.c.avail {
		c.c.advance(seq)
	}
}

// Recv waits for the next slot until ctx is done and copies it into dst
// (up to len(dst)), returning the sequence. An observer gets a
// *LappedError instead when the producer overtook it (dst then holds
// garbage).
func (c *BytesConsumer) Recv(ctx context.Context, dst []byte) (int64, error) {
	return c.recv(ctx, dst, false)
}

// TryRecv is Recv that returns ErrEmpty instead of waiting.
func (c *BytesConsumer) TryRecv(dst []byte) (int64, error) {
	return c.recv(context.Background(), dst, true)
}

func (c *BytesConsumer) recv(ctx context.Context, dst []byte, try bool) (int64, error) {
	if c.c.guardCalls {
		return c.c.guardedSeq(func() (int64, error) { return c.recv(ctx, dst, try) })
	}
	if err := c.c.ready(ctx, try); err != nil {
		return -1, err
	}
	seq := c.c.next
	copy(dst, c.c.s.slotBytes(seq))
	if c.c.observer {
		if err := c.c.observed(seq); err != nil {
			return -1, err
		}
		return seq, nil
	}
	c.c.advance(seq)
	return seq, nil
}

// SlotSize returns the slot size.
func (c *BytesConsumer) SlotSize() int { return int(c.c.s.slotSize) }

// UserMeta returns the upper-layer metadata stored at creation (Config.Meta).
func (c *BytesConsumer) UserMeta() [UserMetaSize]byte { return c.c.s.meta }

// Position returns the last sequence consumed.
func (c *BytesConsumer) Position() int64 { return c.c.position() }

// ID returns the consumer's id.
func (c *BytesConsumer) ID() string { return c.c.id }

// Info describes the ring.
func (c *BytesConsumer) Info() RingInfo { return c.c.s.info() }

// Stats reads the ring's counters.
func (c *BytesConsumer) Stats() Stats { return c.c.s.guardedStats() }

// LayerCounters returns this consumer's counters in the segment.
func (c *BytesConsumer) LayerCounters() LayerCounters { return LayerCounters{c.c.s.layer} }

// Close leaves the ring; see Consumer.Close.
func (c *BytesConsumer) Close() error { return c.c.close() }
