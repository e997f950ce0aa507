package ring

// Surviving a truncated segment.
//
// A peer that shrinks the segment's file (ftruncate, or truncate(1) on
// /dev/shm/<name>) takes the pages beyond the new end away from every
// mapping: the next access to one of them raises SIGBUS, which the Go
// runtime turns into a fatal error unless the faulting goroutine has
// runtime/debug.SetPanicOnFault on, in which case it is a panic with a
// runtime.Error whose Addr is the faulting address. No kernel mechanism
// stops a peer with write access from shrinking a shared file (see
// internal/shm's doc), and a size check before each access would still
// race with the truncation, so calls that touch the segment run with
// panic-on-fault on and a deferred guard that recovers such a fault and
// returns ErrTruncated. The handle is then broken: its engine is closed
// (segment.onTruncated) and every later call returns the error without
// touching the mapping again, except Close, which unmaps it.
//
// A guard costs two calls into the runtime (set, restore), a deferred
// call, recover and, on the per-event path, a closure that enters the
// call again with guardCalls off: about 140 instructions, more than the
// rest of a Publish (about 100). So by default it is only where that is
// free: around every wait (waitSpace, waitData, the managed producer's
// blocked claim), and on the calls that make system calls anyway (attach,
// join, create, close, Stats, coordination). Config.TruncationGuard (and
// ConsumerConfig.TruncationGuard) puts it around every public call as
// well. The byte rings' handles skip theirs while the layer above (frame)
// runs its own guard around them (BytesProducer.Guard), so a framed
// message pays for one guard, not one per ring call.

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/myelon-go/myelon/internal/shm"
)

// faultError classifies what a guard recovered. A fault at an address of
// m is the segment truncated under us: ErrTruncated, with how large the
// file is now. Anything else is not ours and panics again, still on top
// of the frames that raised it, so its stack trace is not lost.
func faultError(m *shm.Mapping, r any) error {
	if e, ok := r.(runtime.Error); ok {
		if a, ok := e.(interface{ Addr() uintptr }); ok {
			if off, in := m.Offset(a.Addr()); in {
				size, err := m.FileSize()
				if err != nil {
					return fmt.Errorf("%w: %s %q: fault at offset %d of %d mapped bytes (%v)", ErrTruncated, m.Backend(), m.Name(), off, m.Len(), err)
				}
				return fmt.Errorf("%w: %s %q: fault at offset %d: the segment is %d bytes, %d mapped", ErrTruncated, m.Backend(), m.Name(), off, size, m.Len())
			}
		}
	}
	panic(r)
}

// broke records the truncation err (the first one) on the segment and
// points the layer counters away from it, so that nothing but Close
// touches the mapping again.
func (s *segment) broke(err error) error {
	if s.truncated == nil {
		s.truncated = err
		if s.layer != nil {
			s.layer.c = new(layerCounters) // the shared ones cannot be read any more
		}
		if s.onTruncated != nil {
			s.onTruncated()
		}
	}
	return s.truncated
}

// closedErr is what a call of a closed engine returns: ErrClosed, or
// ErrTruncated if it was the truncation that closed it (onTruncated).
func (s *segment) closedErr() error {
	if s.truncated != nil {
		return s.truncated
	}
	return ErrClosed
}

// guard is deferred by every public producer call that touches the
// segment:
//
//	defer p.guard(debug.SetPanicOnFault(true), &seq, &err)
//
// It puts panic-on-fault back as it was (old) and turns a fault on the
// segment into ErrTruncated in *err (and -1 in *seq); either may be nil.
// recover works only in the deferred function itself, hence one guard per
// engine.
func (p *producer) guard(old bool, seq *int64, err *error) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		p.fault(r, seq, err)
	}
}

func (p *producer) fault(r any, seq *int64, err *error) {
	e := p.s.broke(faultError(p.s.m, r))
	if err != nil {
		*err = e
	}
	if seq != nil {
		*seq = -1
	}
}

// run runs fn, a slow-path call of this producer (coordination, Require),
// under its guard.
func (p *producer) run(fn func() error) (err error) {
	defer p.guard(debug.SetPanicOnFault(true), nil, &err)
	if p.s.truncated != nil {
		return p.s.truncated
	}
	return fn()
}

// guardedStats is stats under a guard: a segment found truncated reads
// as State "truncated".
func (s *segment) guardedStats() Stats {
	var st Stats
	if err := guarded(s.m, func() error { st = s.stats(); return nil }); err != nil {
		s.broke(err)
		st = s.stats()
	}
	return st
}

// guardedSeq runs fn, a public call of a handle with
// Config.TruncationGuard, under the producer's guard: fn calls the same
// public method again, which finds guardCalls off and runs its body. So
// a handle without the option pays only for the test of guardCalls on
// its fast path, not for a defer it does not run, nor for a call.
func (p *producer) guardedSeq(fn func() (int64, error)) (seq int64, err error) {
	p.guardCalls = false
	defer p.endCall(debug.SetPanicOnFault(true), &seq, &err)
	return fn()
}

// endCall is guard for guardedSeq, which also turns guardCalls back on.
func (p *producer) endCall(old bool, seq *int64, err *error) {
	p.guardCalls = true
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		p.fault(r, seq, err)
	}
}

// consumerGuarded is producer.guardedSeq for a consumer's calls.
func consumerGuarded[T any](c *consumer, fn func() (T, error)) (v T, err error) {
	c.guardCalls = false
	defer c.endCall(debug.SetPanicOnFault(true), nil, &err)
	return fn()
}

// guardedSeq is consumerGuarded for a call that returns a sequence (-1
// after a fault).
func (c *consumer) guardedSeq(fn func() (int64, error)) (seq int64, err error) {
	c.guardCalls = false
	defer c.endCall(debug.SetPanicOnFault(true), &seq, &err)
	return fn()
}

// guardedErr is consumerGuarded for a call that returns only an error.
func (c *consumer) guardedErr(fn func() error) (err error) {
	c.guardCalls = false
	defer c.endCall(debug.SetPanicOnFault(true), nil, &err)
	return fn()
}

// endCall is producer.endCall for a consumer.
func (c *consumer) endCall(old bool, seq *int64, err *error) {
	c.guardCalls = true
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		c.fault(r, seq, err)
	}
}

// guard is the consumer's guard (see producer.guard).
func (c *consumer) guard(old bool, seq *int64, err *error) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		c.fault(r, seq, err)
	}
}

func (c *consumer) fault(r any, seq *int64, err *error) {
	e := c.s.broke(faultError(c.s.m, r))
	if err != nil {
		*err = e
	}
	if seq != nil {
		*seq = -1
	}
}

// guarded runs fn, which touches m, under a guard: a slow path not yet
// tied to a segment (validating a header at attach).
func guarded(m *shm.Mapping, fn func() error) (err error) {
	defer func(old bool) {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = faultError(m, r)
		}
	}(debug.SetPanicOnFault(true))
	return fn()
}

// Guard and EndGuard are for code that touches slot memory itself (Slot)
// between calls: a peer that truncates the segment makes such an access
// fault, which crashes the process unless the goroutine has
// panic-on-fault on and recovers. The layers above myelon's ring (frame,
// typed) start every public call that touches slots with
//
//	defer p.EndGuard(p.Guard(), &err)
//
// in a function with a named error result. Guard turns panic-on-fault on
// and returns its previous setting; until EndGuard, this handle's own
// calls leave faults to it instead of paying for a guard each. EndGuard
// puts panic-on-fault back and turns a fault on this ring's segment into
// an error matching ErrTruncated in *err; the handle is then broken (every
// later call returns it). Any other panic goes on. On a nil handle (a
// layer above running over something else) they only switch
// panic-on-fault, and every panic goes on.
func (p *BytesProducer) Guard() (old bool) {
	if p != nil {
		p.p.guardCalls = false
	}
	return debug.SetPanicOnFault(true)
}

// EndGuard ends what Guard started; see Guard.
func (p *BytesProducer) EndGuard(old bool, err *error) {
	debug.SetPanicOnFault(old)
	if p == nil {
		return
	}
	p.p.guardCalls = p.p.guardAll
	if r := recover(); r != nil {
		p.claimed = 0
		p.p.fault(r, nil, err)
	}
}

// Guard is BytesProducer.Guard for a consumer's slot reads.
func (c *BytesConsumer) Guard() (old bool) {
	if c != nil {
		c.c.guardCalls = false
	}
	return debug.SetPanicOnFault(true)
}

// EndGuard ends what Guard started; see BytesProducer.Guard.
func (c *BytesConsumer) EndGuard(old bool, err *error) {
	debug.SetPanicOnFault(old)
	if c == nil {
		return
	}
	c.c.guardCalls = c.c.guardAll
	if r := recover(); r != nil {
		c.c.fault(r, nil, err)
	}
}
