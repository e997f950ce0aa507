package ring

// Multiple producers.
//
// In a multi-producer ring the claim word is the head: producers take
// sequences from it with a compare-and-swap, and there is no single
// published cursor. Instead each slot has a published marker: the producer
// that wrote sequence s stores s into marker[s & mask] after writing the
// slot. A consumer reads sequence s only once marker[s&mask] == s, so it
// sees only fully written slots, in sequence order, whatever order the
// producers finish in.
//
// Claim protocol (one CAS per claim or per batch):
//
//	h := load(claim)
//	if h+n > limit: wait for room (gating, as for a single producer), retry
//	entry.claimLo, entry.claimHi = h+1, h+n   // announce first...
//	CAS(claim, h, h+n)                        // ...then take; retry on failure
//	write slots; store markers; entry.claimHi = -1
//
// Room is checked before the claim is taken, never after: a claim that had
// to wait could not be given up (on cancellation) without marking its
// sequences abandoned, and their slots may still hold the previous lap's
// unread events, whose markers that would destroy.
//
// Because the claim is announced in the producer's table entry before it is
// taken, every claimed-but-unpublished sequence is covered by the entry of
// the producer that owns it. A consumer stuck at a sequence for
// UnblockTimeout asks whether all producers whose entries cover it are dead
// (their liveness locks are free); only then does it mark the sequence
// abandoned (marker = ^s), and every consumer skips and counts it. A live
// producer's claim is never taken away, however slow it is: abandoning a
// live claim would let its late writes tear another producer's event a lap
// later.
//
// Initial markers are seq-capacity (never equal to seq or ^seq for
// capacity >= 2), so nothing reads as published before it is.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"reflect"
	"time"
)

// testHookClaimed, if set (tests only), runs between a multi-producer claim
// and its publish: a test can kill the process there.
var testHookClaimed func(lo int64)

// multi reports whether the segment is a multi-producer ring.
func (s *segment) multi() bool { return s.g.mode == modeMulti }

// head is the highest sequence handed out to producers: the published
// cursor of a single-producer ring, the claim word of a multi-producer one.
func (s *segment) head() int64 {
	if s.multi() {
		return s.prod.claim.load()
	}
	return s.prod.cursor.load()
}

// claimMulti claims n sequences on a multi-producer ring.
func (p *producer) claimMulti(ctx context.Context, n int64, try bool) (int64, error) {
	s := p.s
	if p.closed || s.closed() {
		return -1, s.closedErr()
	}
	if n <= 0 || n > s.cap {
		return -1, ErrBatchTooLarge
	}
	ent := &s.producers[p.slot]
	waited := false
	for {
		h := s.prod.claim.load()
		if h+n > p.mlimit {
			p.refreshMulti(h)
		}
		if h+n > p.mlimit {
			// No room: wait before claiming, holding nothing. A claim is
			// only ever taken with room for it, so it never has to be
			// given up: abandoning claimed sequences whose slots still hold
			// the previous lap's unread events would destroy those events'
			// published markers.
			// Withdraw an announcement left by a failed CAS: it covers
			// sequences another producer took, and would make consumers
			// wait on us should that producer die.
			ent.claimHi.store(-1)
			if !waited {
				waited = true
				s.counters.fullWaits.add(1)
				s.layer.onIdle()
			}
			if try {
				return -1, ErrFull
			}
			if err := p.waitSpace(ctx, h+n); err != nil {
				return -1, err
			}
			continue
		}
		ent.claimLo.store(h + 1)
		ent.claimHi.store(h + n)
		// Announce, then look at the state, then take: a consumer that saw
		// the ring closed and no announcement covering its next sequence
		// (claimInFlight) may report end of stream, and then this load sees
		// closed. So no claim is taken, and no publish acknowledged, after
		// a consumer was told the stream ended.
		if s.closed() {
			ent.claimHi.store(-1)
			return -1, ErrClosed
		}
		// Room for h+1..h+n was established against cursors that only
		// grow, so it still holds if the CAS succeeds.
		if s.prod.claim.cas(h, h+n) {
			p.claimLo = h + 1
			break
		}
	}
	if testHookClaimed != nil {
		testHookClaimed(p.claimLo)
	}
	return p.claimLo, nil
}

// flushCount stores this producer's events-published counter in its
// table entry: on slow paths only (refresh, close), not per publish.
func (p *producer) flushCount() {
	p.s.producers[p.slot].events.store(p.published)
}

// claim returns the claim an entry announces (hi -1: none).
func (e *producerEntry) claim() (lo, hi int64) { return e.claimLo.load(), e.claimHi.load() }

// claimInFlight reports whether a live producer has announced a claim that
// reaches seq (multi-producer rings): a consumer at seq must not report
// end of stream before it settles. Syscalls: slow paths only.
func (s *segment) claimInFlight(seq int64) bool {
	for i := range s.producers {
		if s.producers[i].claimHi.load() < seq {
			continue
		}
		if held, err := s.m.HeldByOther(lockProducers + int64(i)); err != nil || held {
			return true
		}
	}
	return false
}

// refreshMulti recomputes the limit on a multi-producer ring. The stored
// limit only grows (several producers store it; joiners need the furthest
// any producer may write).
func (p *producer) refreshMulti(head int64) int64 {
	p.flushCount()
	limit := p.s.minGating(head, math.MinInt64) + p.s.cap
	for {
		old := p.s.prod.limit.load()
		if old >= limit || p.s.prod.limit.cas(old, limit) {
			break
		}
	}
	if again := p.s.minGating(head, math.MinInt64) + p.s.cap; again < limit {
		limit = again
	}
	p.mlimit = limit
	return limit
}

// commitMulti publishes the claimed slots lo..hi.
func (p *producer) commitMulti(hi int64) {
	s := p.s
	for seq := p.claimLo; seq <= hi; seq++ {
		// Publish seq: its slot was written before this store; a consumer
		// that loads marker == seq may read it (pairs with pollMulti).
		s.marker(seq).store(seq)
	}
	s.producers[p.slot].claimHi.store(-1)
	p.published += uint64(hi - p.claimLo + 1) // flushed on slow paths (flushCount)
	// Same store-then-load pairing as producer.commit.
	if s.prod.dataWaiters.Load() != 0 {
		s.wakeReaders()
	}
}

// errDeadClaim: every producer entry not held by a live producer still
// holds a dead producer's unfinished claim, which consumers abandon within
// their unblock timeout: try again then.
var errDeadClaim = errors.New("ring: a dead producer's claim is not yet abandoned")

// joinProducerTable takes a free (or dead) producer entry.
func (s *segment) joinProducerTable() (int, error) {
	pending := false
	for i := range s.producers {
		ok, err := s.m.TryLock(lockProducers + int64(i))
		if err != nil {
			return -1, err
		}
		if !ok {
			continue
		}
		ent := &s.producers[i]
		if hi := ent.claimHi.load(); hi >= 0 {
			// A dead producer's unfinished claim: consumers will abandon it
			// once they reach it; do not reuse the entry before.
			if lo := ent.claimLo.load(); lo >= 0 && !s.claimSettled(lo, hi) {
				s.m.Unlock(lockProducers + int64(i))
				pending = true
				continue
			}
		}
		ent.claimHi.store(-1)
		ent.claimLo.store(-1)
		ent.layer.reset()
		ent.pid.Store(uint32(os.Getpid()))
		ent.state.Store(1)
		return i, nil
	}
	if pending {
		return -1, errDeadClaim
	}
	return -1, fmt.Errorf("%w: all %d producer entries of %q are held by live producers", ErrNoFreeProducer, s.g.maxProducers, s.name)
}

// joinProducerTableWait is joinProducerTable that, when the only entries
// it could take hold dead producers' unfinished claims, waits until ctx is
// done for consumers to abandon them (a producer restarted right after a
// crash in the middle of a claim).
func (s *segment) joinProducerTableWait(ctx context.Context) (int, error) {
	for {
		slot, err := s.joinProducerTable()
		if !errors.Is(err, errDeadClaim) {
			return slot, err
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("%w: the free entries of %q hold dead producers' claims that consumers have not abandoned yet: %w", ErrNoFreeProducer, s.name, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// claimSettled reports whether every sequence of lo..hi is published or
// abandoned (or overwritten since).
func (s *segment) claimSettled(lo, hi int64) bool {
	if hi-lo >= s.cap {
		return true // garbage range
	}
	for seq := lo; seq <= hi; seq++ {
		if m := s.marker(seq).load(); m != seq && m != ^seq && m < seq {
			return false
		}
	}
	return true
}

// unblock marks seq abandoned if every producer entry that announces a
// claim covering it belongs to a dead process. It marks the whole dead
// claim at once and reports whether seq is now abandoned.
func (s *segment) unblock(seq int64) bool {
	// Load the claim word before reading the entries: every producer that
	// took a sequence up to top announced it before its CAS, so its entry
	// covers that sequence in the scan below until it publishes.
	top := s.prod.claim.load()
	if seq > top {
		return false // not claimed yet
	}
	end := seq
	for i := range s.producers {
		lo, hi := s.producers[i].claim()
		if seq < lo || seq > hi {
			continue
		}
		if held, err := s.m.HeldByOther(lockProducers + int64(i)); err != nil || held {
			return false // a live producer owns it: wait
		}
		if hi-seq < s.cap {
			end = max(end, hi)
		}
	}
	// Dead (or unannounced, which no correct producer leaves): abandon seq
	// and the unpublished rest of the dead claims that cover it, but stop
	// at the claim word and at the first sequence some other entry covers:
	// that one may be a live producer's, and only a claim whose owner is
	// known dead may be abandoned (see the file comment). A dead entry may
	// announce more than it took (it died between announcing and a failed
	// CAS): the cap at top keeps that from reaching unclaimed sequences.
	end = min(end, top)
	n := uint64(0)
	for q := seq; q <= end; q++ {
		if q > seq && s.coveredOnlyAbove(q, seq) {
			break
		}
		m := s.marker(q)
		old := m.load()
		if old < q && old != ^q && m.cas(old, ^q) {
			n++
		}
	}
	if n > 0 {
		s.counters.abandoned.add(n)
		s.logError(ErrorAbandoned, int64(n))
	}
	return s.marker(seq).load() == ^seq
}

// coveredOnlyAbove reports whether some producer entry announces a claim
// that covers q but not seq (whose covering entries are known dead).
func (s *segment) coveredOnlyAbove(q, seq int64) bool {
	for i := range s.producers {
		lo, hi := s.producers[i].claim()
		if q >= lo && q <= hi && (seq < lo || seq > hi) {
			return true
		}
	}
	return false
}

// JoinConfig describes a producer joining a multi-producer ring (Join).
type JoinConfig struct {
	// Backend holds the segment. Zero: Shm.
	Backend Backend
	// Perm and Owner are checked as ConsumerConfig's: Perm zero accepts
	// any mode granting nothing to others, Owner zero trusts only this
	// process's effective uid.
	Perm  os.FileMode
	Owner string
	// Wait is how the producer waits for space. Zero: Block.
	Wait WaitStrategy
	// LivenessInterval: see Config. Zero: 100 ms.
	LivenessInterval time.Duration
	// Logger: see Config. Nil: silent.
	Logger *slog.Logger
	// TruncationGuard: see Config.
	TruncationGuard bool
}

// Join attaches to a multi-producer ring (created with Config.MaxProducers
// > 1) as one more producer of events of type E, waiting for the ring as
// Attach does. Closing it leaves the ring; only the creator's Close ends
// the stream. A joined producer does not inherit the creator's required
// consumers: call Require with the same RequiredConfig (see the package
// documentation).
func Join[E any](ctx context.Context, name string, cfg JoinConfig) (*Producer[E], error) {
	info, err := inspectType(reflect.TypeFor[E]())
	if err != nil {
		return nil, err
	}
	p, err := joinProducer(ctx, name, cfg, func(g geometry) error {
		if err := checkGeometry(g, kindTyped, 0, 0); err != nil {
			return err
		}
		return checkElem(g, info, reflect.TypeFor[E]().String())
	})
	if err != nil {
		return nil, err
	}
	return &Producer[E]{p: p}, nil
}

func joinProducer(ctx context.Context, name string, cfg JoinConfig, check func(geometry) error) (*producer, error) {
	cc := ConsumerConfig{Backend: cfg.Backend, Perm: cfg.Perm, Owner: cfg.Owner, LivenessInterval: cfg.LivenessInterval, Logger: cfg.Logger}
	s, err := attachSegment(ctx, name, cc.attachOptions(), func(g geometry) error {
		if g.mode != modeMulti {
			return &LayoutError{Field: "producer_mode", Want: "multi", Got: "single"}
		}
		return check(g)
	})
	if err != nil {
		return nil, err
	}
	var slot int
	err = guarded(s.m, func() (err error) {
		slot, err = s.joinProducerTableWait(ctx)
		return err
	})
	if err != nil {
		s.m.Close()
		return nil, err
	}
	s.producing, s.selfProducer = true, slot
	s.layer = newLayerRef(s, &s.producers[slot].layer)
	s.event(slog.LevelInfo, "producer joined", slog.Int("entry", slot))
	p := &producer{s: s, limit: math.MinInt64, mlimit: math.MinInt64, wait: cfg.Wait, slot: slot, multi: true, guardAll: cfg.TruncationGuard, guardCalls: cfg.TruncationGuard}
	s.onTruncated = p.truncated
	return p, nil
}

// JoinBytes attaches to a multi-producer byte-slot ring as one more
// producer; see Join.
func JoinBytes(ctx context.Context, name string, cfg JoinConfig) (*BytesProducer, error) {
	p, err := joinProducer(ctx, name, cfg, func(g geometry) error { return checkGeometry(g, kindBytes, 0, 0) })
	if err != nil {
		return nil, err
	}
	return &BytesProducer{p: p}, nil
}
