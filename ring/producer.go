package ring

// The single producer.
//
// Invariants (S = the segment, P = this producer):
//
//   - P.next-1 == S.cursor: everything below next is published; the cursor
//     moves only here, by one atomic store per publish or per batch.
//   - P.limit is the highest sequence P may write without looking at the
//     consumers again. It was computed as min(gating cursors) + capacity at
//     the last refresh, so writing any sequence <= limit overwrites only
//     slots every gating consumer has released. Consumers only move forward,
//     so the cached limit can only be too small, never too large; it is
//     refreshed when a claim would pass it (about once per lap when the
//     consumers keep up).
//   - A consumer that joins after a refresh is not in that limit. Joins
//     handle this themselves (see join in registry.go); the limit is also
//     stored in S.limit for them.

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/myelon-go/myelon/internal/fault"
	"github.com/myelon-go/myelon/internal/shm"
)

// producer is the engine behind Producer[E] and BytesProducer.
//
// Only one goroutine may use a producer at a time: next and limit are
// process-local caches with no synchronisation.
type producer struct {
	s    *segment       // read-only after construction
	prod *producerBlock // s.prod, one load nearer for commit
	next int64          // hot: next sequence to claim
	// guardAll: every public call runs under the truncation guard, fast
	// paths too (Config.TruncationGuard); else only waits (fault.go).
	// guardCalls: the next public call installs one; false inside a guard.
	guardAll, guardCalls bool
	limit                int64 // hot: cached clearance (see file comment); MinInt64 on multi-producer rings
	wait                 WaitStrategy
	owner                bool
	keep                 bool
	closed               bool
	live                 *policy // the required-consumer policy (required.go); nil: none
	// probed is when a wait for space last probed the consumers'
	// liveness. Kept across waits: the required-consumer policy waits in
	// CheckInterval slices, and a probe timer reset by each would never
	// reach the liveness interval.
	probed time.Time

	// Multi-producer rings only (producer_multi.go).
	multi     bool
	mlimit    int64  // cached clearance, as limit is on single-producer rings
	slot      int    // this producer's entry in the producer table
	claimLo   int64  // first sequence of the current claim
	published uint64 // events published, flushed to the entry on slow paths
}

func newProducer(s *segment, cfg *Config) (*producer, error) {
	p := &producer{s: s, prod: s.prod, next: 0, limit: -1, wait: cfg.Wait, owner: true, keep: cfg.KeepOnClose, guardAll: cfg.TruncationGuard, guardCalls: cfg.TruncationGuard}
	s.producing = true
	s.onTruncated = p.truncated
	if s.multi() {
		p.multi = true
		p.limit, p.mlimit = math.MinInt64, math.MinInt64
		slot, err := s.joinProducerTable()
		if err != nil {
			return nil, err
		}
		p.slot, s.selfProducer = slot, slot
		s.layer = newLayerRef(s, &s.producers[slot].layer)
	} else {
		s.layer = newLayerRef(s, &s.prod.layer)
	}
	return p, nil
}

// truncated closes the producer when its segment was truncated
// (segment.onTruncated): every claim then takes the slow path, which
// reports it, and nothing touches the mapping but Close.
func (p *producer) truncated() {
	p.closed = true
	p.limit, p.mlimit = math.MinInt64, math.MinInt64
}

// acquireOne and tryAcquireOne claim one event for a public publish,
// waiting or not. Their fast path, room already known, must stay
// inlinable (TestInlining). It needs no other test because p.limit is kept
// below p.next whenever the fast path must not be taken: on a
// multi-producer ring (whose claims use mlimit), after Close, and while the
// required-consumer policy has a step to take (required.go); and a
// one-event claim needs no announcement for observers (announceBatch).
func (p *producer) acquireOne(ctx context.Context) (int64, error) {
	if p.next <= p.limit {
		return p.next, nil
	}
	return p.acquireOneSlow(ctx)
}

func (p *producer) tryAcquireOne() (int64, error) {
	if p.next <= p.limit {
		return p.next, nil
	}
	return p.tryAcquireOneSlow()
}

// The slow paths are out of line so that the fast ones stay inlinable.

//go:noinline
func (p *producer) acquireOneSlow(ctx context.Context) (int64, error) {
	return p.acquire(ctx, 1, false)
}

//go:noinline
func (p *producer) tryAcquireOneSlow() (int64, error) {
	return p.acquire(context.Background(), 1, true)
}

// acquire is the claim of every public publish: under the required-consumer
// policy once Require was called, a plain claim otherwise.
func (p *producer) acquire(ctx context.Context, n int64, try bool) (int64, error) {
	if p.live != nil {
		return p.claimManaged(ctx, n, try)
	}
	return p.claim(ctx, n, try)
}

// claim reserves n sequences starting at p.next and returns the first. It
// does not move p.next; commit does.
func (p *producer) claim(ctx context.Context, n int64, try bool) (int64, error) {
	if n > 0 && n <= p.s.cap && p.next+n-1 <= p.limit {
		p.announceBatch(n)
		return p.next, nil
	}
	return p.claimSlow(ctx, n, try)
}

func (p *producer) claimSlow(ctx context.Context, n int64, try bool) (int64, error) {
	if p.multi {
		return p.claimMulti(ctx, n, try)
	}
	if p.closed || p.s.closed() { // closed by us or by a truncation, or shut down by the required-consumer policy
		return -1, p.s.closedErr()
	}
	if n <= 0 || n > p.s.cap {
		return -1, ErrBatchTooLarge
	}
	hi := p.next + n - 1
	if hi <= p.refresh() {
		p.announceBatch(n)
		return p.next, nil
	}
	p.s.counters.fullWaits.add(1)
	p.s.layer.onIdle()
	if try {
		return -1, ErrFull
	}
	if err := p.waitSpace(ctx, hi); err != nil {
		return -1, err
	}
	p.announceBatch(n)
	return p.next, nil
}

// commit publishes every sequence up to hi.
func (p *producer) commit(hi int64) {
	fault.Hit(fault.ClaimPublish) // the slots are claimed and written, not published
	if p.multi {
		p.commitMulti(hi)
		return
	}
	// Publish: the slot writes above happen before this store; a consumer
	// that loads a cursor >= hi may read them (pairs with consumer.poll).
	// A swap, not a store: the same XCHG on amd64, and on arm64 it keeps
	// the next event's slot writes from overtaking it, which observers
	// rely on (observer.go, writeFront).
	p.prod.cursor.swap(hi)
	p.next = hi + 1
	// Only wake when someone may be parked. Do not "simplify" this into an
	// unconditional wake (a syscall per event), nor move the load before the
	// store: the store-then-load order against the reader's
	// increment-then-recheck order is what makes a lost wake-up impossible
	// (see waitData).
	if p.prod.dataWaiters.Load() != 0 {
		p.s.wakeReaders()
	}
}

// refresh recomputes the cached clearance from the gating consumers and
// returns it: p.limit, or p.mlimit on a multi-producer ring.
func (p *producer) refresh() int64 {
	if p.multi {
		return p.refreshMulti(p.s.prod.claim.load())
	}
	published := p.next - 1
	limit := p.s.minGating(published, published-p.s.cap) + p.s.cap
	// Store for joining consumers, then look again: a consumer that became
	// active before the second scan is in it; one that became active after
	// it reads this stored limit when it joins (registry.go, join).
	p.s.prod.limit.store(limit)
	if again := p.s.minGating(published, published-p.s.cap) + p.s.cap; again < limit {
		limit = again
		p.s.prod.limit.store(limit)
	}
	p.limit = limit
	return limit
}

// minGating returns the lowest cursor of the active gating consumers,
// bounded to [floor, head]. A single producer passes floor =
// published-capacity: no correct consumer is further behind, so a lower
// cursor is garbage and must not stall the producer beyond one lap. (A
// multi-producer ring has claims beyond the limit, so it passes no floor.)
// With no gating consumer it returns head: events nobody reads are dropped.
func (s *segment) minGating(head, floor int64) int64 {
	m := head
	for i := range s.consumers {
		if c, ok := s.gatePosition(&s.consumers[i]); ok {
			m = min(m, max(min(c, head), floor))
		}
	}
	return m
}

// gatePosition returns the position at which consumer entry e holds the
// producer back, and whether it does at all.
func (s *segment) gatePosition(e *consumerEntry) (int64, bool) {
	flags := e.flags.Load()
	if !gates(e.state.Load(), flags) {
		return 0, false
	}
	if flags&flagMember != 0 {
		return s.memberGate(e), true // a group member gates by its group (group.go)
	}
	return e.cursor.load(), true
}

// gates reports whether an entry in this state, with these flags, holds
// the producer back: an active gating consumer, or a required consumer
// (required.go) that detached or died, whose position is kept until it
// rejoins or the required-consumer policy gives up on it.
func gates(state, flags uint32) bool {
	return state == entryActive && flags&flagGating != 0 || state == entryDetached && flags&flagRequired != 0
}

// waitSpace waits until hi is within the clearance (refresh). While it waits it probes consumer
// liveness every liveness interval, so a dead consumer stops gating.
//
// It runs under the truncation guard whatever Config.TruncationGuard
// says: a wait is where a truncation is likely to find a producer, and
// the guard costs nothing next to waiting.
func (p *producer) waitSpace(ctx context.Context, hi int64) (err error) {
	defer p.guard(debug.SetPanicOnFault(true), nil, &err)
	s := p.s
	if p.probed.IsZero() {
		p.probed = time.Now()
	}
	for i := 1; ; i++ {
		if p.wait.checkAt(i) {
			if err := ctx.Err(); err != nil {
				return err
			}
			if time.Since(p.probed) >= s.liveness {
				s.reapDeadConsumers()
				p.probed = time.Now()
			}
		}
		if p.wait.kind == waitBlock && i > blockSpinRounds {
			if p.parkSpace(ctx, hi) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if time.Since(p.probed) >= s.liveness { // not per wake-up: a syscall per entry
				s.reapDeadConsumers()
				p.probed = time.Now()
			}
		} else {
			p.wait.pause()
		}
		if hi <= p.refresh() {
			return nil
		}
	}
}

// parkSpace sleeps on the space wake word until a consumer moves, the
// liveness interval passes or ctx ends. It reports whether hi is clear.
func (p *producer) parkSpace(ctx context.Context, hi int64) bool {
	fault.Hit(fault.Park)
	s := p.s
	s.prod.spaceWaiters.Add(1)
	defer s.prod.spaceWaiters.Add(math.MaxUint32) // -1
	w := s.prod.spaceWake.Load()
	// Re-check after announcing ourselves: a consumer that committed before
	// our increment is seen here; one that commits after it sees
	// spaceWaiters != 0 and bumps the wake word (see consumer.commit).
	if hi <= p.refresh() {
		return true
	}
	s.counters.parks.add(1)
	s.parkOn(ctx, &s.prod.spaceWake, w)
	return hi <= p.refresh()
}

// parkOn sleeps on word while it holds w, for at most the liveness
// interval; cancelling ctx wakes it. It returns only once the wake-up
// callback cannot run any more, since the callback touches the mapping and
// the caller may unmap it next.
func (s *segment) parkOn(ctx context.Context, word *atomic.Uint32, w uint32) {
	var done chan struct{}
	if ctx.Done() != nil {
		done = make(chan struct{})
	}
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		// Another goroutine: a truncated segment must not crash it. The
		// parked call finds the truncation itself when it wakes.
		guarded(s.m, func() error { s.wake(word); return nil })
	})
	shm.FutexWait(word, w, s.liveness)
	if !stop() && done != nil {
		<-done // the callback started: let it finish
	}
}

// wake bumps a wake word and wakes every sleeper on it.
func (s *segment) wake(word *atomic.Uint32) {
	fault.Hit(fault.Wake)
	word.Add(1)
	shm.FutexWake(word, math.MaxInt32)
}

// wakeSpace wakes the producers parked for space, if there are any.
func (s *segment) wakeSpace() {
	if s.prod.spaceWaiters.Load() != 0 {
		s.wake(&s.prod.spaceWake)
	}
}

func (s *segment) wakeReaders() {
	s.counters.wakes.add(1)
	s.wake(&s.prod.dataWake)
}

// close marks the ring closed, wakes every reader so it can drain and see
// end of stream, and drops the owner lock. A truncated segment is
// unlinked and unmapped all the same, and close returns ErrTruncated.
func (p *producer) close() error {
	if p.s.unmapped() { // not p.closed: a truncation closes it too (truncated)
		return nil
	}
	p.closed = true
	p.limit, p.mlimit = math.MinInt64, math.MinInt64 // no fast-path claim may touch the unmapped slots
	s := p.s
	s.producing = false
	err := p.leave()
	if p.owner && !p.keep {
		if uerr := s.m.Unlink(); err == nil {
			err = uerr
		}
	}
	if cerr := s.unmap(); err == nil {
		err = cerr
	}
	return err
}

// leave writes this producer's departure into the segment: a joined
// producer leaves (the stream goes on); the owner closes the ring.
func (p *producer) leave() (err error) {
	defer p.guard(debug.SetPanicOnFault(true), nil, &err)
	s := p.s
	if s.truncated != nil {
		return s.truncated
	}
	if p.multi {
		p.flushCount()
		s.producers[p.slot].state.Store(0)
		s.m.Unlock(lockProducers + int64(p.slot))
	}
	if !p.owner {
		s.event(slog.LevelInfo, "producer left", slog.Int("entry", p.slot))
		return nil
	}
	s.hdr.state.Store(stateClosed)
	s.event(slog.LevelInfo, "ring closed", slog.Int64("published", s.head()+1))
	s.wake(&s.prod.dataWake)
	return nil
}
