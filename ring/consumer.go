package ring

// A consumer.
//
// What a consumer may read: once it has loaded a producer cursor value c,
// every slot with sequence in [next, c] holds the event the producer wrote
// before storing c (the store/load pair on S.cursor orders them). Those
// slots stay intact while the consumer's own cursor (the gating sequence)
// is below them and the entry is active: the producer never writes past
// min(gating) + capacity. The consumer releases slots by storing its cursor
// (commit); after that store the producer owns them again, so no reference
// into a released slot may be kept. An observer (ConsumerConfig.Observer)
// has no such guarantee: it never gates, so it validates every copy after
// taking it (observer.go).

import (
	"github.com/myelon-go/myelon/internal/fault"

	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"
)

// consumer is the engine behind Consumer[E] and BytesConsumer. Only one
// goroutine may use it at a time.
//
// One engine serves the three roles, not a type per role: a broadcast
// consumer gates with its cursor; an observer (observer.go) never gates
// and validates every copy; a group member (group.go) gates with its
// group and its held claim. The roles share the hot path ([next, avail]
// and ready's inlined fast path), which must not pay for a dynamic call,
// and a role can change mid-stream: an evicted consumer goes on as an
// observer. Whether the ring has one producer or several is the segment's
// business (s.multi), not a role.
type consumer struct {
	s     *segment       // read-only after construction
	ent   *consumerEntry // this consumer's entry: its cursor is the gating sequence
	prod  *producerBlock // s.prod, one load nearer for the hot paths
	next  int64          // hot: next sequence to read
	avail int64          // hot: cached producer cursor; [next, avail] is readable
	seen  int64          // highest producer cursor loaded (single producer)
	wait  WaitStrategy
	idx   int
	id    string
	// guardAll, guardCalls: as the producer's (ConsumerConfig.TruncationGuard).
	guardAll, guardCalls bool

	closed bool
	// plain: a gating consumer of a single-producer ring with nothing to
	// report (not closed, no pending lap report, not an observer, not a
	// member), whose refresh may take readySlow's lean head (refresh).
	// Kept by setPlain wherever one of those changes.
	plain   bool
	lagMax  int64     // the lag high-water mark stored in ent.lagMax
	missed  int64     // events lost at join, reported by the first read
	probed  time.Time // last liveness probe on the Try path
	iterErr error     // what ended the last iterator loop

	// Multi-producer rings: a sequence found unpublished, and since when
	// (checkStuck), and how long before asking whether its producer died.
	unblock time.Duration
	stuck   struct {
		seq   int64
		since time.Time
	}

	// Roles. observer: does not gate, reads by copy-then-validate.
	// member: a group member, with its group and whether it holds a claim
	// (next is then the claimed sequence, recorded in ent.held).
	observer bool
	member   bool
	holding  bool
	group    *groupEntry
}

func newConsumer(ctx context.Context, s *segment, cfg *ConsumerConfig, flags uint32) (*consumer, error) {
	id := cfg.ID
	if id == "" {
		id = anonymousID()
	}
	if err := validateID(id); err != nil {
		return nil, err
	}
	if cfg.Start.explicit && cfg.Start.seq < 0 {
		return nil, fmt.Errorf("%w: StartAt(%d): sequences start at 0", ErrInvalidConfig, cfg.Start.seq)
	}
	o := cfg.attachOptions()
	if cfg.Observer {
		flags = flags&^flagGating | flagObserver
	}
	if cfg.Group != "" {
		if err := validateGroup(cfg); err != nil {
			return nil, err
		}
		flags |= flagMember
	}
	jr, err := s.join(ctx, joinRequest{id: id, flags: flags, start: cfg.Start, group: cfg.Group})
	if err != nil {
		return nil, err
	}
	c := &consumer{s: s, ent: &s.consumers[jr.idx], prod: s.prod, next: jr.cursor + 1, avail: jr.cursor, wait: cfg.Wait, idx: jr.idx, id: id, missed: jr.missed, seen: math.MinInt64}
	c.lagMax = int64(c.ent.lagMax.load())
	s.layer = newLayerRef(s, &c.ent.layer)
	s.selfConsumer = jr.idx
	s.event(slog.LevelInfo, "consumer attached", slog.String("id", id), slog.Int("entry", jr.idx), slog.Int64("position", jr.cursor))
	c.unblock = o.unblock
	c.guardAll, c.guardCalls = cfg.TruncationGuard, cfg.TruncationGuard
	s.onTruncated = c.truncated
	c.stuck.seq = -1
	c.observer = cfg.Observer
	if cfg.Group != "" {
		// A member's cursor does not gate and its own lap does not count:
		// its group's does (group.go).
		c.member, c.missed = true, 0
		c.group = &s.groups[jr.group]
		c.joinGroup()
		return c, nil
	}
	if jr.missed > 0 {
		c.ent.lapped.add(uint64(jr.missed))
	}
	c.setPlain()
	return c, nil
}

// setPlain recomputes plain; called wherever closed, missed, observer or
// member changes.
func (c *consumer) setPlain() {
	c.plain = !c.closed && c.missed == 0 && !c.observer && !c.member && !c.s.multi()
}

// truncated closes the consumer when its segment was truncated
// (segment.onTruncated): every read then takes the slow path, which
// reports it, and nothing touches the mapping but Close.
func (c *consumer) truncated() {
	c.closed, c.plain = true, false
	c.avail = math.MinInt64
}

// poll reports whether the event at c.next is readable, refreshing the
// cached producer cursor only when the cache says no.
func (c *consumer) poll() bool {
	if c.next <= c.avail {
		return true
	}
	if c.member {
		return c.pollMember()
	}
	if c.s.multi() {
		return c.pollMulti()
	}
	// Pairs with the producer's cursor store in producer.commit.
	p := c.s.prod.cursor.load()
	c.seen = max(c.seen, p)
	if p <= c.avail {
		return false // nothing new (checkBackwards catches a cursor that went back)
	}
	c.avail = p
	c.noteLag()
	return true
}

// noteLag keeps the lag high-water mark: the most events ever found
// waiting at a refresh of the readable range. A store only when it grows.
func (c *consumer) noteLag() {
	if lag := c.avail - c.next + 1; lag > c.lagMax {
		c.lagMax = lag
		c.ent.lagMax.store(uint64(lag))
	}
}

// checkBackwards (single producer) reports a producer cursor below one
// this consumer already loaded: no correct producer moves it back, so a
// peer scribbled on it. Without this check a garbage value far ahead,
// followed by the real one, would leave the consumer waiting for a
// sequence that never comes. The consumer resynchronises at the current
// cursor.
func (c *consumer) checkBackwards() error {
	if c.s.multi() {
		return nil
	}
	p := c.s.prod.cursor.load()
	if p >= c.seen {
		return nil
	}
	c.seen, c.avail, c.next = p, p, p+1
	c.commit(p)
	c.s.logError(ErrorCorrupt, p)
	return &CorruptError{Word: "producer cursor (moved back)", Value: p}
}

// pollMulti extends the readable range over consecutive published markers
// (pairs with the marker stores in commitMulti), skipping abandoned
// sequences at its head. Precondition: avail == next-1.
func (c *consumer) pollMulti() bool {
	s := c.s
	seq := c.avail + 1
	for seq-c.next < s.cap {
		m := s.marker(seq).load()
		if m == seq || c.observer && (m > seq && (m-seq)&s.mask == 0 || m < 0 && ^m > seq && (^m-seq)&s.mask == 0) {
			// Published; for an observer, possibly already overwritten by a
			// later lap (published or abandoned), which the copy's check
			// reports (observer.go).
			seq++
			continue
		}
		if m == ^seq && seq == c.next {
			// Abandoned by a dead producer: skip and release it.
			c.ent.abandoned.add(1)
			seq++
			c.advance(seq - 1)
			continue
		}
		break
	}
	c.avail = seq - 1
	c.noteLag()
	return c.next <= c.avail
}

// checkStuck (multi-producer) notices a claimed sequence that stays
// unpublished and, after UnblockTimeout, asks whether its producer died.
func (c *consumer) checkStuck() {
	s := c.s
	// An observer never unblocks: it may be laps behind, where a marker
	// it would rewrite belongs to a later lap.
	if !s.multi() || c.observer || s.head() < c.next {
		return
	}
	if c.stuck.seq != c.next {
		c.stuck.seq, c.stuck.since = c.next, time.Now()
		return
	}
	if time.Since(c.stuck.since) >= c.unblock && s.unblock(c.next) {
		c.poll()
	}
}

// checkLap catches the one way [next, avail] can be wider than the ring: a
// producer cursor that no correct producer writes while we gate.
func (c *consumer) checkLap() error {
	if c.avail-c.next < c.s.cap {
		return nil
	}
	oldest := c.avail - c.s.cap + 1
	missed := oldest - c.next
	c.next = oldest
	c.commit(oldest - 1)
	c.ent.lapped.add(uint64(missed))
	c.s.logError(ErrorLapped, missed)
	return &LappedError{Missed: missed, ResumeAt: oldest}
}

// ready waits (unless try) until at least one event is readable: then
// [next, avail] is the readable range. Its fast path must stay inlinable
// (TestInlining): whoever sets missed also sets avail below next, so a
// pending lap report always takes the slow path.
func (c *consumer) ready(ctx context.Context, try bool) error {
	if c.next <= c.avail {
		return nil
	}
	return c.readySlow(ctx, try)
}

// readySlow is ready when the cached range is used up: a keeping-up
// consumer comes here once per batch, so its head is the lean refresh of a
// plain consumer (one load of its entry's state, one of the producer
// cursor), which returns when new events are there and within a lap; it
// is poll and checkLap of readyFull with everything a plain consumer
// cannot need left out. Anything else (nothing new, a lap, a report to
// make, a role) takes readyFull, which looks again from the start.
func (c *consumer) readySlow(ctx context.Context, try bool) error {
	// The state check stays first, as in readyFull: an evicted consumer
	// must not read in place again.
	if c.plain && c.ent.state.Load() == entryActive {
		// Pairs with the producer's cursor store in producer.commit.
		p := c.prod.cursor.load()
		if p > c.avail && p-c.next < c.s.cap {
			c.seen = max(c.seen, p)
			c.avail = p
			c.noteLag()
			return nil
		}
	}
	return c.readyFull(ctx, try)
}

func (c *consumer) readyFull(ctx context.Context, try bool) error {
	switch {
	case c.closed: // by Close, or by a truncation (truncated)
		return c.s.closedErr()
	case c.missed > 0:
		err := &LappedError{Missed: c.missed, ResumeAt: c.next}
		c.s.logError(ErrorLapped, c.missed)
		c.missed = 0
		c.setPlain()
		return err
	case !c.observer && c.ent.state.Load() != entryActive:
		// Evicted (required.go): no longer gating, so in-place reads are
		// unsafe from now on; validate copies like an observer.
		c.observer = true
		c.setPlain()
		return ErrEvicted
	}
	if !c.poll() {
		if err := c.checkBackwards(); err != nil {
			return err
		}
		if err := c.endOfStream(false); err != nil {
			return err
		}
		c.ent.emptyWaits.add(1)
		c.s.layer.onIdle()
		if try {
			// A polling consumer must learn of a dead producer too; probe
			// (a syscall) at most once per liveness interval.
			if now := time.Now(); now.Sub(c.probed) >= c.s.liveness {
				c.probed = now
				if err := c.endOfStream(true); err != nil {
					return err
				}
			}
			return ErrEmpty
		}
		if err := c.waitData(ctx); err != nil {
			return err
		}
	}
	var err error
	if c.observer {
		err = c.observerLap()
	} else {
		err = c.checkLap()
	}
	if err != nil {
		return err
	}
	return nil
}

// endOfStream is called on an empty ring: it reports ErrEndOfStream after a
// clean close, and ErrProducerGone when probe is set and the producer's
// liveness lock is free. A last poll closes the race with a final publish.
func (c *consumer) endOfStream(probe bool) error {
	if probe {
		c.checkStuck()
		if c.member {
			// An idle member returns the claims of dead members (group.go).
			c.s.sweepDeadMembers(c.idx)
		}
	}
	if c.s.closed() {
		if c.poll() || c.s.head() >= c.next || c.s.multi() && c.s.claimInFlight(c.next) {
			return nil // more to read, or a claim still in flight
		}
		return ErrEndOfStream
	}
	if probe {
		if !c.s.producerAlive() {
			if c.poll() || c.s.closed() || c.s.head() >= c.next {
				return c.endOfStream(false)
			}
			c.s.logError(ErrorProducerGone, c.next-1)
			return ErrProducerGone
		}
	}
	return nil
}

// waitData waits until poll succeeds, the ring ends or ctx is done.
//
// It runs under the truncation guard whatever
// ConsumerConfig.TruncationGuard says: a wait is where a truncation is
// likely to find a consumer, and the guard costs nothing next to waiting.
func (c *consumer) waitData(ctx context.Context) (err error) {
	defer c.guard(debug.SetPanicOnFault(true), nil, &err)
	s := c.s
	// The liveness interval is timed from the wait's first check, not its
	// start: a keeping-up spinning consumer waits here once per batch, and
	// most waits end long before their first check (spinCheckEvery polls),
	// so they read no clock at all. That delays a probe by at most one
	// check interval.
	var lastProbe time.Time
	for i := 1; ; i++ {
		if c.poll() {
			return nil
		}
		if c.wait.checkAt(i) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.checkBackwards(); err != nil {
				return err
			}
			if lastProbe.IsZero() {
				lastProbe = time.Now()
			}
			probe := time.Since(lastProbe) >= s.liveness
			if probe {
				lastProbe = time.Now()
			}
			if err := c.endOfStream(probe); err != nil || c.next <= c.avail {
				return err
			}
		}
		if c.wait.kind == waitBlock && i > blockSpinRounds {
			if c.park(ctx) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			probe := time.Since(lastProbe) >= s.liveness // not per wake-up: syscalls
			if probe {
				lastProbe = time.Now()
				// A peer may have scribbled on our cursor while we slept;
				// store it again so the producer is not gated by garbage.
				// (A member's cursor does not gate: group.go.)
				if !c.member && !c.observer {
					c.ent.cursor.store(c.next - 1)
				}
			}
			if err := c.endOfStream(probe); err != nil || c.next <= c.avail {
				return err
			}
		} else {
			c.wait.pause()
		}
	}
}

// park sleeps on the data wake word until the producer publishes, the
// liveness interval passes or ctx ends. It reports whether an event is
// readable.
func (c *consumer) park(ctx context.Context) bool {
	fault.Hit(fault.Park)
	s := c.s
	s.prod.dataWaiters.Add(1)
	defer s.prod.dataWaiters.Add(math.MaxUint32) // -1
	w := s.prod.dataWake.Load()
	// Re-check after announcing ourselves. The producer stores its cursor
	// and then loads dataWaiters; we increment dataWaiters and then load the
	// cursor. With sequentially consistent atomics one of the two loads sees
	// the other side's store: either we see the event here, or the producer
	// sees us and bumps the wake word, so FutexWait returns at once (value
	// changed) or is woken. No wake-up is lost.
	if c.poll() || s.closed() {
		return c.next <= c.avail
	}
	c.ent.parks.add(1)
	s.parkOn(ctx, &s.prod.dataWake, w)
	return c.poll()
}

// commit releases every sequence up to seq to the producer. Its common
// case is a gating consumer and no producer parked for space; a member
// and a wake-up are commitSlow.
func (c *consumer) commit(seq int64) {
	if !c.member {
		// Release: after this store the producer may overwrite the slots.
		c.ent.cursor.store(seq)
		// Same store-then-load pairing as producer.commit, mirrored: a
		// sequentially consistent store, then a sequentially consistent
		// load, against parkSpace's increment-then-refresh.
		if c.prod.spaceWaiters.Load() == 0 {
			return
		}
	}
	c.commitSlow(seq)
}

// commitSlow is commit for a member, or the wake-up of a parked producer
// after a gating consumer's store.
func (c *consumer) commitSlow(seq int64) {
	if c.member {
		c.memberDone(seq) // a member releases by its held word (group.go)
		return
	}
	c.ent.wakes.add(1)
	c.s.wake(&c.s.prod.spaceWake)
}

// advance consumes through seq.
func (c *consumer) advance(seq int64) {
	c.next = seq + 1
	c.commit(seq)
}

// close leaves the consumer table (keeping the id's cursor for a rejoin)
// and unmaps the segment.
func (c *consumer) close() error {
	if c.s.unmapped() { // not c.closed: a truncation closes it too (truncated)
		return nil
	}
	c.closed, c.plain = true, false
	err := c.leave()
	c.avail = math.MinInt64 // no fast path may touch the unmapped slots
	if uerr := c.s.unmap(); err == nil {
		err = uerr
	}
	return err
}

// leave gives up this consumer's entry in the segment: ErrTruncated if
// the segment is gone.
func (c *consumer) leave() (err error) {
	defer c.guard(debug.SetPanicOnFault(true), nil, &err)
	if c.s.truncated != nil {
		return c.s.truncated
	}
	if c.member {
		// A claim we still hold goes back to the group (group.go).
		c.s.deposit(c.ent, c.group)
	}
	c.s.leave(c.idx)
	c.s.event(slog.LevelInfo, "consumer detached", slog.String("id", c.id), slog.Int64("position", c.next-1))
	return nil
}

func (c *consumer) err() error {
	if c.iterErr == ErrEndOfStream {
		return nil
	}
	return c.iterErr
}

// position is the last sequence this consumer consumed.
func (c *consumer) position() int64 { return c.next - 1 }
