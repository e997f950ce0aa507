package frame

// The framed consumer.
//
// What it may read: the ring hands out a readable range [lo, hi] of
// sequences whose slots the producer wrote before publishing and will not
// overwrite until this consumer releases them (ReleaseThrough). The
// consumer walks pos through that range, feeding each slot to the
// reassembler, and releases lazily: through pos-1 at the end of every
// receive call and before asking the ring for more. So a single-frame
// message handed out in place (borrowed) stays intact until the callback
// returns, and a message larger than the ring still flows, because every
// slot behind pos is released before the consumer waits.
//
// An observer (ConsumerConfig.Observer) gets no such range: its
// source copies one frame at a time out of the ring, validated, and the
// readable range is that one copy (observer.go). Everything below holds
// for it unchanged.
//
// Positions: released <= pos-1 <= hi. pos only moves forward except where
// the ring says otherwise: after a lap (or any other jump) the ring's lo
// differs from pos, and the consumer takes the ring's word and
// resynchronises at the next message start.
//
// Nothing read from a slot is trusted: every header is decoded once into a
// local Header, checked against the local geometry (header.go) and by the
// reassembler's sequence rules before a byte of payload is sliced, and all
// slicing uses the checked local lengths. A peer writing garbage costs a
// *ProtocolError, never a panic or an out-of-range access; a peer flooding
// garbage cannot pin a receive call forever (see scanBudget).

import (
	"context"
	"errors"
	"iter"
	"math"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// source is the part of a byte-ring consumer that Consumer needs.
// *ring.BytesConsumer implements it for gating consumers, observerSource
// for observers; tests use fakes to control exactly which frames are
// visible when.
type source interface {
	Wait(ctx context.Context) (lo, hi int64, err error)
	TryWait() (lo, hi int64, err error)
	Slot(seq int64) []byte
	ReleaseThrough(seq int64)
}

// Meta describes a received message (its length is the payload's). It
// has six fields on purpose: with them, Recv's results and the callbacks'
// arguments travel in registers.
type Meta struct {
	ID       uint64 `json:"id"`       // per-producer message id, from 1
	Seq      int64  `json:"seq"`      // ring sequence of its first frame
	Sent     int64  `json:"sent"`     // send time, Unix ns; 0 unless the producer stamps (Config.Timestamps)
	Received int64  `json:"received"` // receive time, Unix ns; 0 unless stamped (see ConsumerConfig.ReceiveTimestamps)
	Kind     uint8  `json:"kind"`     // application kind
	Flags    uint8  `json:"flags"`    // application flags
}

// Latency returns the one-way latency Received-Sent, if both are known
// and not reversed (both come from the wall clock of one host).
func (m Meta) Latency() (time.Duration, bool) {
	if m.Sent == 0 || m.Received == 0 || m.Received < m.Sent {
		return 0, false
	}
	return time.Duration(m.Received - m.Sent), true
}

// Consumer receives messages from a frame ring.
//
// Only one goroutine may use a Consumer at a time. Payloads handed to
// callbacks or yielded by All are borrowed: valid until the callback (or
// loop body) returns, not after.
type Consumer struct {
	_        noCopy
	src      source      // hot: the ring below
	asm      reassembler // hot: message in progress
	pos      int64       // hot: next sequence to look at
	hi       int64       // hot: highest readable sequence known
	released int64       // hot: highest sequence released to the ring
	g        geometry    // read-only: local copy of the geometry
	stampRx  bool        // read-only: ConsumerConfig.ReceiveTimestamps
	touchAt  int         // read-only: offset of the slot byte next touches early
	touch    byte        // sink for that load
	closed   bool
	copies   bool          // src copies frames out one at a time (an observer)
	guard    bool          // read-only: ConsumerConfig.TruncationGuard
	v        view          // the message next found, until consumed
	stats    ConsumerStats // counted here, flushed to the segment (stats.go)
	flushed  uint64        // stats.Messages at the last flush
	iterErr  error         // what ended the last All loop

	rc *ring.BytesConsumer // slow paths
	// direct is src when it is the ring's own consumer (not an observer's
	// copying source, not a test's): the hot paths call it directly, not
	// through the interface, so that Slot inlines.
	direct *ring.BytesConsumer
}

// Attach joins the frame ring name as a consumer, waiting until ctx is
// done for the ring to be created and ready (see ring.Attach: the error
// then matches ErrNotFound or ErrNotReady). The ring must have
// been created by Create: a ring without frame metadata, or whose geometry
// differs from cfg's expectations, is a *GeometryError naming the field.
// A consumer that joins in the middle of a message (or resumes its id
// there) starts at the next message start; the skipped frames are counted
// in Stats.LateJoinFrames. With cfg.Observer the consumer is an
// observer: it never gates the producer, reads validated copies of the
// frames, and when lapped reports ErrLapped and resynchronises at the next
// message start (see the package doc).
func Attach(ctx context.Context, name string, cfg ConsumerConfig) (*Consumer, error) {
	rc, err := ring.AttachBytes(ctx, name, cfg.ring())
	if err != nil {
		return nil, err
	}
	info := rc.Info()
	g, err := parseMeta(rc.UserMeta(), rc.SlotSize(), info.Capacity, info.MaxProducers)
	if err == nil {
		err = cfg.expect(&g)
	}
	if err == nil && g.aligned {
		if m := misalignment(rc.Slot(0)); m != 0 {
			err = &GeometryError{Field: "aligned", Reason: "the backend mapped the slots off a 16-byte boundary", Got: m}
		}
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	if cfg.Observer {
		c := newConsumer(newObserverSource(rc, g.slotSize), g, rc.Position(), cfg.ReceiveTimestamps, rc)
		c.copies, c.guard = true, cfg.TruncationGuard
		return c, nil
	}
	c := newConsumer(rc, g, rc.Position(), cfg.ReceiveTimestamps, rc)
	c.guard = cfg.TruncationGuard
	return c, nil
}

func newConsumer(src source, g geometry, position int64, stampRx bool, rc *ring.BytesConsumer) *Consumer {
	c := &Consumer{src: src, g: g, pos: position + 1, hi: position, released: position, stampRx: stampRx, rc: rc}
	c.direct, _ = src.(*ring.BytesConsumer)
	c.touchAt = min(g.slotSize, 128) - 1
	c.asm = newReassembler(&c.g, &c.stats)
	if rc != nil {
		rc.LayerCounters().OnIdle(c.flush)
	}
	return c
}

// flush writes the counters to the segment. Not inlined: it would push
// its callers on the per-message path over the inlining budget.
//
//go:noinline
func (c *Consumer) flush() {
	if c.rc != nil {
		c.stats.store(c.rc.LayerCounters())
		c.flushed = c.stats.Messages
	}
}

// logged records a protocol error in the ring's error log, and returns it.
func (c *Consumer) logged(err error) error {
	var pe *ProtocolError
	if c.rc == nil || !errors.As(err, &pe) {
		return err
	}
	if pe.Reason == ReasonChecksum {
		c.rc.LayerCounters().LogError(ErrorKindChecksum, int64(pe.ID))
	} else {
		c.rc.LayerCounters().LogError(ErrorKindProtocol, int64(pe.Reason))
	}
	return err
}

// waitMode says what next does when it runs out of readable frames.
type waitMode uint8

const (
	modeWait waitMode = iota // wait for the ring
	modeTry                  // ask the ring once, do not wait
	modeHave                 // only what is already known readable (batch drains)
)

// view is a complete message, not yet consumed. Its Meta is built on
// demand (meta) from the header it came from, straight into the caller's
// result: a materialised Meta copied up the call chain cost ~10 ns a
// message in store-forwarding stalls.
type view struct {
	p      []byte
	single bool  // p is in the slot at seq; header in asm.cur
	inExt  bool  // p is the caller's buffer
	seq    int64 // single: the slot's sequence
	recv   int64 // receive time, Unix ns, or 0
}

// scanBudget bounds the frames one call consumes without completing a
// message before it checks its context (or, for Try calls, gives up with
// ErrEmpty): a peer that floods the ring with garbage or endless
// continuations cannot hold a receive call forever.
func (c *Consumer) scanBudget() int64 { return max(c.g.ringCap, 64) }

// next finds the next complete message and describes it in c.v without
// consuming it: consume does that once the caller is done with it. (The
// view lives in the Consumer rather than in return values, for the reason
// given on view.)
func (c *Consumer) next(ctx context.Context, mode waitMode) error {
	if c.asm.ready {
		c.readyView()
		return nil
	}
	budget := c.scanBudget()
	for {
		if c.pos > c.hi {
			if err := c.refill(ctx, mode); err != nil {
				return err
			}
		}
		var slot []byte
		if c.direct != nil {
			slot = c.direct.Slot(c.pos)
		} else {
			slot = c.src.Slot(c.pos)
		}
		// Load the slot's second cache line now, at an address that does
		// not depend on the header: the header line and this one then
		// cross from the producer's core in parallel. Without it the copy,
		// whose length comes from the header, fetches the second line only
		// after the first arrived: two misses in series, which measured
		// ~250 ns more per 64-byte round trip between processes.
		c.touch += slot[c.touchAt]
		// The common frame, a whole message that passes every check, takes
		// the reassembler's fast path without the general push.
		if c.asm.state != asmAssembling && !c.g.checksum && c.asm.single(slot) {
			c.singleView(slot)
			return nil
		}
		st, err := c.asm.push(slot, c.pos)
		switch st {
		case stepSingle:
			if c.g.checksum {
				if err := c.verifySingle(slot); err != nil {
					c.pos++ // skipped
					return c.logged(err)
				}
			}
			c.singleView(slot)
			return nil
		case stepDone:
			c.pos++
			if c.g.checksum {
				if err := c.asm.verify(); err != nil {
					return c.logged(err)
				}
			}
			if c.stampRx || c.asm.first.Flags&FlagStamped != 0 {
				c.asm.recv = time.Now().UnixNano()
			} else {
				c.asm.recv = 0
			}
			c.readyView()
			return nil
		case stepErrorKeep:
			return c.logged(err)
		case stepError:
			c.pos++
			return c.logged(err)
		}
		c.pos++ // stepMore, stepSkip
		if budget--; budget <= 0 {
			budget = c.scanBudget()
			if mode != modeWait {
				return ErrEmpty
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// refill releases what was read and asks the ring for more frames.
func (c *Consumer) refill(ctx context.Context, mode waitMode) error {
	c.release()
	if c.stats.Messages-c.flushed >= flushEvery {
		c.flush()
	}
	var lo, hi int64
	var err error
	switch mode {
	case modeWait:
		if c.direct != nil {
			lo, hi, err = c.direct.Wait(ctx)
		} else {
			lo, hi, err = c.src.Wait(ctx)
		}
	case modeTry:
		if c.direct != nil {
			lo, hi, err = c.direct.TryWait()
		} else {
			lo, hi, err = c.src.TryWait()
		}
	default:
		if !c.copies {
			return ErrEmpty
		}
		// An observer's source holds one frame at a time: a batch drain
		// asks the ring for each next one without waiting.
		lo, hi, err = c.src.TryWait()
	}
	if err != nil {
		if errors.Is(err, ErrLapped) {
			c.stats.Lapped++
			c.asm.gap()
		}
		if errors.Is(err, ErrEvicted) && !c.copies {
			// The producer's required-consumer policy evicted us: the ring no longer
			// keeps our frames, so read validated copies from now on, as
			// an observer does; what we were assembling may be gone.
			c.src, c.copies, c.direct = newObserverSource(c.rc, c.g.slotSize), true, nil
			c.asm.gap()
		}
		return err
	}
	if lo != c.pos {
		// Frames we never saw (the ring moved us): whatever we were
		// assembling is gone.
		c.asm.gap()
	}
	c.pos, c.hi, c.released = lo, hi, lo-1
	return nil
}

// release gives every slot behind pos back to the producer (one store).
// Small enough to inline: most calls have nothing to release.
func (c *Consumer) release() {
	if c.pos-1 > c.released && !c.closed {
		c.releaseThrough()
	}
}

func (c *Consumer) releaseThrough() {
	c.released = c.pos - 1
	if c.direct != nil {
		c.direct.ReleaseThrough(c.released)
	} else {
		c.src.ReleaseThrough(c.released)
	}
}

// verifySingle checks the single-frame message in slot (header in
// asm.cur) against its sum (checksummed rings).
func (c *Consumer) verifySingle(slot []byte) error {
	h := &c.asm.cur
	want := c.g.sum(slot)
	if got := messageSum(slot[HeaderSize : HeaderSize+int(h.FrameLen)]); got != want {
		c.stats.ChecksumErrors++
		return c.asm.fail(sumError(c.pos, h.ID, want, got))
	}
	return nil
}

func (c *Consumer) singleView(slot []byte) {
	h := &c.asm.cur
	v := &c.v
	v.single, v.inExt, v.seq, v.recv = true, false, c.pos, 0
	v.p = slot[HeaderSize : HeaderSize+int(h.FrameLen)]
	if c.stampRx || h.Flags&FlagStamped != 0 {
		v.recv = time.Now().UnixNano()
	}
}

func (c *Consumer) readyView() {
	a := &c.asm
	v := &c.v
	v.single, v.inExt, v.seq, v.recv = false, a.inExt, a.seq, a.recv
	v.p = a.message()
}

// meta describes the message in c.v into m, field by field. (A Meta
// literal is built in a zeroed temporary and block-copied out, and that
// copy stalls on the narrow stores that built it; see view.)
func (c *Consumer) meta(m *Meta) {
	v := &c.v
	h := &c.asm.cur
	if !v.single {
		h = &c.asm.first
	}
	m.ID, m.Seq, m.Sent, m.Received, m.Kind, m.Flags = h.ID, v.seq, h.Sent, v.recv, h.Kind, h.UserFlags
}

// consume marks v read.
func (c *Consumer) consume(v *view) {
	if v.single {
		c.pos = v.seq + 1
		c.stats.Fragments++
	} else {
		c.asm.taken()
	}
	c.stats.Messages++
	c.stats.Bytes += uint64(len(v.p))
}

// guarded runs a receive under the ring's truncation guard
// (ConsumerConfig.TruncationGuard): a segment truncated under it is
// ring.ErrTruncated, not a SIGBUS, including in the callbacks of Read and
// Process, which read the payload in place.
func (c *Consumer) guarded(fn func() error) (err error) {
	c.guard = false // fn runs the same method again, which must not guard a second time
	defer func() { c.guard = true }()
	defer c.rc.EndGuard(c.rc.Guard(), &err) // deferred itself: recover works only there
	return fn()
}

// Recv waits for the next message and copies it into dst, returning its
// length. If dst is too short it returns a *ShortBufferError with the size
// needed and leaves the message unread. Fragments of a message that fits
// are reassembled straight into dst (one copy). Allocation-free.
func (c *Consumer) Recv(ctx context.Context, dst []byte) (int, Meta, error) {
	return c.recv(ctx, modeWait, dst)
}

// TryRecv is Recv that returns ErrEmpty instead of waiting. A message
// whose frames are only partly published stays in progress for the next
// call; so may one larger than the ring, after a ring's worth of frames.
func (c *Consumer) TryRecv(dst []byte) (int, Meta, error) {
	return c.recv(context.Background(), modeTry, dst)
}

// recv, recvAppend, read and process are where a consumer with
// TruncationGuard installs its guard: the public methods stay small enough
// to inline.
func (c *Consumer) recv(ctx context.Context, mode waitMode, dst []byte) (n int, m Meta, err error) {
	if c.guard { // locals, not the results: captured, those would live in memory
		var n int
		var m Meta
		err := c.guarded(func() (err error) { n, m, err = c.recv(ctx, mode, dst); return err })
		return n, m, err
	}
	c.asm.ext = dst
	err = c.next(ctx, mode)
	c.asm.detach()
	if err != nil {
		c.release()
		return 0, m, err
	}
	v := &c.v
	n = len(v.p)
	c.meta(&m)
	if n > len(dst) {
		c.release()
		return 0, m, &ShortBufferError{Need: n, Have: len(dst)}
	}
	if !v.inExt {
		copy(dst, v.p)
	}
	c.consume(v)
	c.release()
	return n, m, nil
}

// RecvAppend waits for the next message and appends it to dst.
func (c *Consumer) RecvAppend(ctx context.Context, dst []byte) ([]byte, Meta, error) {
	return c.recvAppend(ctx, dst)
}

func (c *Consumer) recvAppend(ctx context.Context, dst []byte) (_ []byte, m Meta, err error) {
	if c.guard {
		var m Meta
		err := c.guarded(func() (err error) { dst, m, err = c.recvAppend(ctx, dst); return err })
		return dst, m, err
	}
	if err := c.next(ctx, modeWait); err != nil {
		c.release()
		return dst, m, err
	}
	v := &c.v
	dst = append(dst, v.p...)
	c.meta(&m)
	c.consume(v)
	c.release()
	return dst, m, nil
}

// Read waits for the next message and calls fn with it in place: a
// single-frame message in its ring slot, a multi-frame one in the
// reassembly buffer. payload is valid only until fn returns. Read returns
// fn's error; the message is consumed either way. Allocation-free.
func (c *Consumer) Read(ctx context.Context, fn func(m Meta, payload []byte) error) error {
	return c.read(ctx, modeWait, fn)
}

// TryRead is Read that returns ErrEmpty instead of waiting.
func (c *Consumer) TryRead(fn func(m Meta, payload []byte) error) error {
	return c.read(context.Background(), modeTry, fn)
}

func (c *Consumer) read(ctx context.Context, mode waitMode, fn func(Meta, []byte) error) error {
	if c.guard {
		return c.guarded(func() error { return c.read(ctx, mode, fn) })
	}
	if err := c.next(ctx, mode); err != nil {
		c.release()
		return err
	}
	var m Meta
	c.meta(&m)
	ferr := fn(m, c.v.p)
	c.consume(&c.v)
	c.release()
	return ferr
}

// Process waits for at least one message, then hands fn every message
// already readable, up to max (max <= 0: no limit), each in place as in
// Read, and releases their slots with one store at the end. It returns how
// many messages fn saw. It stops at fn's first error (that message is
// consumed) and at a protocol error, returning it; call again to go on.
func (c *Consumer) Process(ctx context.Context, max int, fn func(m Meta, payload []byte) error) (int, error) {
	return c.process(ctx, modeWait, max, fn)
}

// TryProcess is Process that returns (0, ErrEmpty) instead of waiting.
func (c *Consumer) TryProcess(max int, fn func(m Meta, payload []byte) error) (int, error) {
	return c.process(context.Background(), modeTry, max, fn)
}

func (c *Consumer) process(ctx context.Context, mode waitMode, max int, fn func(Meta, []byte) error) (int, error) {
	if c.guard {
		var n int
		err := c.guarded(func() (err error) { n, err = c.process(ctx, mode, max, fn); return err })
		return n, err
	}
	if max <= 0 {
		max = math.MaxInt
	}
	// Every return releases what the batch consumed (one store). Not a
	// defer, which cost a closure call per batch: a panicking fn leaves
	// its batch unreleased until the next call, as ring's Process does.
	n := 0
	for n < max {
		if err := c.next(ctx, mode); err != nil {
			c.release()
			if n > 0 && err == ErrEmpty {
				return n, nil
			}
			return n, err
		}
		var m Meta
		c.meta(&m)
		ferr := fn(m, c.v.p)
		c.consume(&c.v)
		n++
		if ferr != nil {
			c.release()
			return n, ferr
		}
		mode = modeHave
		if c.pos > c.hi && !c.asm.ready && !c.copies {
			// Nothing more in hand: what next(modeHave) would find out
			// by a refill that returns ErrEmpty.
			break
		}
	}
	c.release()
	return n, nil
}

// All returns an iterator over messages, each yielded in place as in Read
// (valid until the loop body returns). It blocks waiting for messages.
// Protocol errors and laps are skipped (they are counted in Stats); the
// loop ends at end of stream, when the producer is gone, when ctx is done,
// or at any other error, which Err reports.
func (c *Consumer) All(ctx context.Context) iter.Seq2[Meta, []byte] {
	return func(yield func(Meta, []byte) bool) {
		c.iterErr = nil
		defer c.rc.EndGuard(c.rc.Guard(), &c.iterErr)
		defer c.release()
		for {
			if err := c.next(ctx, modeWait); err != nil {
				if (errors.Is(err, ErrProtocol) || errors.Is(err, ErrLapped)) && ctx.Err() == nil {
					continue // a peer flooding garbage cannot hide cancellation
				}
				c.iterErr = err
				return
			}
			var m Meta
			c.meta(&m)
			ok := yield(m, c.v.p)
			c.consume(&c.v)
			c.release()
			if !ok {
				return
			}
		}
	}
}

// Err returns the error that ended the last All loop, or nil if it ended
// at end of stream or because the loop body stopped it.
func (c *Consumer) Err() error {
	if c.iterErr == ErrEndOfStream {
		return nil
	}
	return c.iterErr
}

// Geometry describes the ring's frames.
func (c *Consumer) Geometry() Geometry { return c.g.public() }

// Stats returns the consumer's framing counters and the ring's.
func (c *Consumer) Stats() ConsumerStats {
	c.flush()
	s := c.stats
	s.Ring = c.rc.Stats()
	return s
}

// ID returns the consumer's id in the ring.
func (c *Consumer) ID() string { return c.rc.ID() }

// Info describes the ring below.
func (c *Consumer) Info() ring.RingInfo { return c.rc.Info() }

// LayerCounters returns the consumer's counters in the ring's segment:
// slots 0 to LayerSlots-1 are frame's (ConsumerStatsOf reads them), the
// rest are the layer above's. Frame flushes its counts from OnIdle: do not
// replace it.
func (c *Consumer) LayerCounters() ring.LayerCounters { return c.rc.LayerCounters() }

// UserMeta returns the metadata stored at creation for the layer above
// (Config.Meta, zero-padded to UserMetaSize bytes).
func (c *Consumer) UserMeta() []byte { return upperMeta(c.rc.UserMeta()) }

// Close releases what was read and leaves the ring (keeping the id's
// position for a rejoin; see ring.BytesConsumer.Close).
func (c *Consumer) Close() error {
	if c.closed {
		return nil
	}
	c.release()
	c.closed = true
	c.hi = math.MinInt64 // no cached range may touch the unmapped slots
	c.asm.ready = false
	return c.rc.Close()
}
