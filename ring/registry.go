package ring

// The consumer table: joining, leaving, and reaping dead consumers.
//
// An entry's liveness lock (slot lockConsumers+i) is its ownership token:
// the consumer holding entry i holds that lock for as long as it is
// attached, and the kernel drops it when the process dies. So:
//
//   - joining under an id whose entry's lock can be taken means its previous
//     holder closed or died: the joiner takes the entry over and resumes;
//   - an active entry whose lock is free belongs to a dead process: the
//     producer (the watcher) marks it detached so it stops gating.
//
// Entry changes other than the producer's active->detached CAS happen under
// the registry lock (slot lockRegistry), so two joiners never pick the same
// entry or the same id.

import (
	"github.com/myelon-go/myelon/internal/fault"

	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

type joinRequest struct {
	id    string
	flags uint32
	start Start
	group string // consumer group name, "" for none (group.go)
	gi    uint32 // set by join: group table index + 1
}

// joinResult is where a joined consumer begins.
type joinResult struct {
	idx     int
	group   int   // group table index of a member
	cursor  int64 // last sequence consumed; reading starts at cursor+1
	missed  int64 // events lost before cursor (rejoin or explicit start that was lapped)
	resumed bool
}

var anonCounter atomic.Uint64

func anonymousID() string {
	return "anon-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(anonCounter.Add(1), 10)
}

func validateID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return fmt.Errorf("%w: consumer id %q has length %d, want 1..%d", ErrInvalidConfig, id, len(id), MaxIDLen)
	}
	return nil
}

// lockRegistry takes the registry lock, waiting for a holder (a joining or
// leaving peer, briefly) until ctx is done.
func (s *segment) lockRegistry(ctx context.Context) error {
	for {
		ok, err := s.m.TryLock(lockRegistry)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ring: registry of %q busy: %w", s.name, context.Cause(ctx))
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// entryID reads an entry's id; "" for a length no correct peer writes.
func (e *consumerEntry) entryID() string {
	n := e.idLen.Load()
	if n > MaxIDLen {
		return ""
	}
	return string(e.id[:n])
}

// entryByID returns the entry (not free) that carries id, or nil.
func (s *segment) entryByID(id string) *consumerEntry {
	for i := range s.consumers {
		if e := &s.consumers[i]; e.state.Load() != entryFree && e.entryID() == id {
			return e
		}
	}
	return nil
}

// reset zeroes every field of a claimed entry but its state.
func (e *consumerEntry) reset() {
	for _, q := range []*sequence{&e.cursor, &e.held, &e.start} {
		q.store(0)
	}
	for _, c := range []*counter{&e.emptyWaits, &e.parks, &e.wakes, &e.lapped, &e.abandoned} {
		c.store(0)
	}
	e.layer.reset() // a new id's layer starts from nothing, not from the last holder's counts
	for _, w := range []*atomic.Uint32{&e.flags, &e.pid, &e.gen, &e.idLen, &e.group} {
		w.Store(0)
	}
	e.joinedNs.Store(0)
	e.id = [MaxIDLen]byte{}
}

// join claims a consumer entry for req and makes it gating.
func (s *segment) join(ctx context.Context, req joinRequest) (joinResult, error) {
	if err := fault.Check(fault.Join); err != nil {
		return joinResult{}, err
	}
	if err := s.lockRegistry(ctx); err != nil {
		return joinResult{}, err
	}
	defer s.m.Unlock(lockRegistry)

	if req.group != "" {
		gi, err := s.groupFor(req.group, req.start)
		if err != nil {
			return joinResult{}, err
		}
		req.gi = uint32(gi + 1)
	}
	// Resume an entry that carries this id.
	for i := range s.consumers {
		if e := &s.consumers[i]; e.state.Load() == entryFree || e.entryID() != req.id {
			continue
		}
		ok, err := s.m.TryLock(lockConsumers + int64(i))
		if err != nil {
			return joinResult{}, err
		}
		if !ok {
			return joinResult{}, fmt.Errorf("%w: %q (entry %d)", ErrIDInUse, req.id, i)
		}
		return s.activate(i, req, true), nil
	}
	// A new id: a free entry, else one whose holder closed or died.
	for _, want := range []uint32{entryFree, entryDetached, entryActive, entryClaiming} {
		for i := range s.consumers {
			e := &s.consumers[i]
			if e.state.Load() != want {
				continue
			}
			if want != entryFree && e.flags.Load()&flagRequired != 0 {
				continue // a required consumer's place is kept for its rejoin
			}
			ok, err := s.m.TryLock(lockConsumers + int64(i))
			if err != nil {
				return joinResult{}, err
			}
			if ok {
				return s.activate(i, req, false), nil
			}
		}
	}
	return joinResult{}, fmt.Errorf("%w: all %d entries of %q held by live consumers", ErrNoFreeConsumer, s.g.maxConsumers, s.name)
}

// activate fills entry i (whose lock we hold) and makes it gating. For a
// resumed entry the old cursor is kept.
func (s *segment) activate(i int, req joinRequest, resume bool) joinResult {
	e := &s.consumers[i]
	res := joinResult{idx: i, resumed: resume, group: int(req.gi) - 1}
	if resume {
		fault.Hit(fault.Rejoin) // under the registry lock, the old position not yet taken back
	}
	if !resume {
		s.salvageHeld(e) // a dead member's claim goes back to its group
		e.state.Store(entryClaiming)
		e.reset()
		copy(e.id[:], req.id)
		e.idLen.Store(uint32(len(req.id)))
	}
	e.pid.Store(uint32(os.Getpid()))
	e.gen.Add(1)
	e.joinedNs.Store(time.Now().UnixNano())
	flags := req.flags
	if resume {
		// A required consumer stays required across a rejoin.
		flags |= e.flags.Load() & flagRequired
	}
	e.flags.Store(flags)
	s.setGroup(e, req.gi) // before the entry is active: members gate by group

	published := s.head()
	var want int64 // requested cursor (last consumed)
	switch {
	case resume:
		want = e.cursor.load()
	case req.start.explicit:
		want = req.start.seq - 1
	default:
		want = published
	}
	if resume {
		want = min(want, published) // a saved cursor past the producer is garbage
	}
	// Become gating at the requested position, then look again. Any
	// producer refresh that misses this entry computed its limit from
	// cursors no greater than what it had published, and stored that limit
	// before its second scan; so after we are active, the stored limit is
	// the furthest the producer may write without seeing us (producer.go,
	// refresh). Slots up to limit-capacity may be overwritten.
	e.cursor.store(want)
	e.state.Store(entryActive)
	if !resume && !req.start.explicit {
		// Latest: anything published by now is before our start.
		want = s.head()
	}
	if oldest := s.prod.limit.load() - s.cap; want < oldest {
		res.missed = oldest - want
		want = oldest
	}
	e.cursor.store(want)
	e.start.store(want)
	res.cursor = want
	return res
}

// leave detaches entry i: it stops gating, keeps its id and cursor so the
// id can resume, and can be reused by another id.
func (s *segment) leave(i int) {
	s.consumers[i].state.Store(entryDetached)
	s.wakeSpace() // a producer parked on us: we no longer gate it
	s.m.Unlock(lockConsumers + int64(i))
}

// reapDeadConsumers detaches active entries whose liveness lock is free:
// their process died. It is a syscall per active entry, so only a blocked
// producer calls it, once per liveness interval.
func (s *segment) reapDeadConsumers() int {
	return s.reapDetach() + s.sweepDeadMembers(-1) // dead group members: group.go
}

// reapDetach detaches dead non-member entries. It works under the registry
// lock, or not at all (the next probe retries): between its probe of an
// entry's lock and its state change, a process rejoining under the dead
// consumer's id would otherwise be detached while alive.
func (s *segment) reapDetach() int {
	fault.Hit(fault.Reap)
	if ok, err := s.m.TryLock(lockRegistry); err != nil || !ok {
		return 0
	}
	defer s.m.Unlock(lockRegistry)
	n := 0
	for i := range s.consumers {
		e := &s.consumers[i]
		if e.state.Load() != entryActive || e.flags.Load()&(flagRequired|flagMember) != 0 {
			continue // required consumers are the policy's to judge (required.go); members below
		}
		held, err := s.m.HeldByOther(lockConsumers + int64(i))
		if err != nil || held {
			continue
		}
		if e.state.CompareAndSwap(entryActive, entryDetached) {
			s.counters.deadConsumers.add(1)
			s.logError(ErrorDeadConsumer, int64(i))
			n++
		}
	}
	return n
}
