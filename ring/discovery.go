package ring

// Coordination and discovery: a producer waiting for consumers before it
// publishes, and looking consumers up by id. All of it reads the consumer
// table; none of it is on the publish path.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrCoordinationTimeout: the consumers a producer waited for did not all
// attach in time. Match *CoordinationError for which.
var ErrCoordinationTimeout = errors.New("ring: coordination timeout")

// CoordinationError says which consumers were missing when a wait ended.
// It matches ErrCoordinationTimeout and the context's error.
type CoordinationError struct {
	Want, Have int      // counts, for a wait by count
	Missing    []string // ids, for a wait by ids
	Cause      error    // the context's error
}

func (e *CoordinationError) Error() string {
	if len(e.Missing) > 0 {
		return fmt.Sprintf("ring: coordination timeout: consumers %s not attached: %v", strings.Join(e.Missing, ", "), e.Cause)
	}
	return fmt.Sprintf("ring: coordination timeout: %d of %d consumers attached: %v", e.Have, e.Want, e.Cause)
}

// Is reports ErrCoordinationTimeout.
func (e *CoordinationError) Is(target error) bool { return target == ErrCoordinationTimeout }

// Unwrap returns the context's error.
func (e *CoordinationError) Unwrap() error { return e.Cause }

// coordinationPoll is how often a coordination wait rereads the table.
const coordinationPoll = time.Millisecond

// activeIDs returns the ids of the active gating consumers (those with the
// prefix, if non-empty).
func (s *segment) activeIDs(prefix string) []string {
	if s.unmapped() {
		return nil
	}
	var ids []string
	for i := range s.consumers {
		e := &s.consumers[i]
		if e.state.Load() != entryActive {
			continue
		}
		if id := e.entryID(); strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	return ids
}

// waitConsumers polls until done(active ids) reports true or ctx ends.
func (s *segment) waitConsumers(ctx context.Context, done func([]string) bool) ([]string, error) {
	t := time.NewTicker(coordinationPoll)
	defer t.Stop()
	for {
		if s.unmapped() {
			return nil, ErrClosed
		}
		ids := s.activeIDs("")
		if done(ids) {
			return ids, nil
		}
		select {
		case <-ctx.Done():
			return ids, ctx.Err()
		case <-t.C:
		}
	}
}

// waitForCount waits until at least n consumers with the id prefix are
// attached.
func (s *segment) waitForCount(ctx context.Context, n int, prefix string) error {
	count := func(ids []string) int {
		k := 0
		for _, id := range ids {
			if strings.HasPrefix(id, prefix) {
				k++
			}
		}
		return k
	}
	ids, err := s.waitConsumers(ctx, func(ids []string) bool { return count(ids) >= n })
	if err != nil {
		return &CoordinationError{Want: n, Have: count(ids), Cause: err}
	}
	return nil
}

// waitForIDs waits until every id is attached; on timeout the error names
// the missing ones.
func (s *segment) waitForIDs(ctx context.Context, want []string) error {
	missing := func(ids []string) []string {
		var m []string
		for _, w := range want {
			if !slices.Contains(ids, w) {
				m = append(m, w)
			}
		}
		return m
	}
	ids, err := s.waitConsumers(ctx, func(ids []string) bool { return len(missing(ids)) == 0 })
	if err != nil {
		return &CoordinationError{Want: len(want), Have: len(want) - len(missing(ids)), Missing: missing(ids), Cause: err}
	}
	return nil
}

// consumerPosition returns the last sequence consumed by the consumer with
// this id (active or detached) and whether it is known.
func (s *segment) consumerPosition(id string) (int64, bool) {
	if s.unmapped() {
		return 0, false
	}
	if e := s.entryByID(id); e != nil {
		return e.cursor.load(), true
	}
	return 0, false
}

// WaitForConsumers waits until at least n consumers whose id starts with
// prefix ("" for any) are attached. It returns a *CoordinationError when
// ctx ends first. Use it before publishing so that no early event is
// dropped for want of a reader. Every attached entry counts: observers
// and group members too, and a consumer that died until a blocked
// producer's liveness probe detaches it.
func (p *Producer[E]) WaitForConsumers(ctx context.Context, n int, prefix string) error {
	return p.p.run(func() error { return p.p.s.waitForCount(ctx, n, prefix) })
}

// WaitForConsumerIDs waits until a consumer is attached under every id;
// the *CoordinationError of a timeout names the missing ones.
func (p *Producer[E]) WaitForConsumerIDs(ctx context.Context, ids ...string) error {
	return p.p.run(func() error { return p.p.s.waitForIDs(ctx, ids) })
}

// ConsumerIDs returns the ids of the attached consumers that start with
// prefix ("" for all).
func (p *Producer[E]) ConsumerIDs(prefix string) (ids []string) {
	p.p.run(func() error { ids = p.p.s.activeIDs(prefix); return nil })
	return ids
}

// ConsumerPosition returns the last sequence consumed by the consumer id,
// attached or detached, and whether the ring knows the id.
func (p *Producer[E]) ConsumerPosition(id string) (seq int64, ok bool) {
	p.p.run(func() error { seq, ok = p.p.s.consumerPosition(id); return nil })
	return seq, ok
}

// WaitForConsumers: see Producer.WaitForConsumers.
func (p *BytesProducer) WaitForConsumers(ctx context.Context, n int, prefix string) error {
	return p.p.run(func() error { return p.p.s.waitForCount(ctx, n, prefix) })
}

// WaitForConsumerIDs: see Producer.WaitForConsumerIDs.
func (p *BytesProducer) WaitForConsumerIDs(ctx context.Context, ids ...string) error {
	return p.p.run(func() error { return p.p.s.waitForIDs(ctx, ids) })
}

// ConsumerPosition: see Producer.ConsumerPosition.
func (p *BytesProducer) ConsumerPosition(id string) (seq int64, ok bool) {
	p.p.run(func() error { seq, ok = p.p.s.consumerPosition(id); return nil })
	return seq, ok
}

// DrainError names the consumers that had not read everything when a
// Drain's context ended. It unwraps to the context's error.
type DrainError struct {
	Behind  []string // ids of the consumers still behind
	Through int64    // the sequence they had to read through
	Cause   error    // the context's error
}

func (e *DrainError) Error() string {
	return fmt.Sprintf("ring: drain: consumers %q have not read through sequence %d: %v", e.Behind, e.Through, e.Cause)
}

// Unwrap returns the context's error.
func (e *DrainError) Unwrap() error { return e.Cause }

// drain waits until every consumer that gates the producer has consumed
// every event handed out so far (head at the call), or ctx ends. Dead
// consumers are reaped once per liveness interval, as a blocked producer
// does, so only live ones and required ones (kept while detached) are
// waited for.
func (s *segment) drain(ctx context.Context) error {
	if s.unmapped() {
		return ErrClosed
	}
	target := s.head()
	t := time.NewTicker(coordinationPoll)
	defer t.Stop()
	reaped := time.Now()
	for {
		if s.minGating(target, math.MinInt64) >= target {
			return nil
		}
		if now := time.Now(); now.Sub(reaped) >= s.liveness {
			reaped = now
			s.reapDeadConsumers()
		}
		select {
		case <-ctx.Done():
			return &DrainError{Behind: s.behind(target), Through: target, Cause: context.Cause(ctx)}
		case <-t.C:
		}
	}
}

// behind returns the ids of the gating consumers whose position is below
// seq.
func (s *segment) behind(seq int64) []string {
	var ids []string
	for i := range s.consumers {
		if pos, ok := s.gatePosition(&s.consumers[i]); ok && pos < seq {
			ids = append(ids, s.consumers[i].entryID())
		}
	}
	return ids
}

// Drain waits until every consumer that holds the producer back (every
// attached gating consumer, and every required consumer even while it is
// detached) has consumed every event published so far, or ctx ends; the
// error is then a *DrainError naming the consumers still behind. Call it
// before Close when the consumers must read everything before the ring
// goes away.
func (p *Producer[E]) Drain(ctx context.Context) error {
	return p.p.run(func() error { return p.p.s.drain(ctx) })
}

// Drain: see Producer.Drain.
func (p *BytesProducer) Drain(ctx context.Context) error {
	return p.p.run(func() error { return p.p.s.drain(ctx) })
}
