package ring

// Consumer groups: competing consumers.
//
// Broadcast consumers each see every event. The members of a group
// (ConsumerConfig.Group) share the group's events instead: each event goes
// to one member. The scheme is the LMAX WorkerPool's. The group has a work
// sequence in the group table (layout.go); a member that wants an event
// claims the next one with a CAS on it, waits until that sequence is
// published, processes it, and marks it done.
//
// Gating. A member does not gate with its cursor (which only records the
// last event it finished) but with its group: the producer may not pass
//
//	min(work, held-1, returned-1)
//
// where work protects every event not yet claimed, held is the member's own
// claim in its entry and returned the claims waiting in the group's
// returned slots (below). So a member that stops asking for events does
// not hold the ring back; a member holding an event does, as a broadcast
// consumer does. A group without an active member gates nothing: events
// published meanwhile may be overwritten, and the member that attaches next
// gets a *LappedError with their number (GroupStats.Lapped).
//
// Claim order (pairs with memberGate, which loads work before held):
//
//	held = w+2              // protect w+1 before taking it...
//	CAS(work, w, w+1)       // ...then take it; retry with a new w
//	wait until w+1 is published, process it
//	held = 0                // done: the producer may overwrite it
//
// Returned claims. A member that closes while it holds a claim (say it
// claimed a sequence not yet published) puts the claim back into one of the
// group's returned slots, and members take returned claims up before
// claiming new work, so nothing is lost by a clean Close. A member that
// holds an unpublished claim and sees a returned one that is published
// swaps them, so an idle group never leaves returned events behind.
//
// What a member that dies mid-event guarantees: the event it held is
// redelivered, at least once. Its entry's held word keeps protecting the
// event until somebody notices the death: a blocked producer (it probes
// liveness locks every LivenessInterval) or an idle member of any group
// (same interval). Under the registry lock, so that it cannot race a
// rejoin, that one moves the claim into the group's returned slots and
// detaches the dead entry; the next member to ask for work gets the event
// (GroupStats.Redelivered). A member that rejoins under the dead one's id
// first gets its own held event back. The event may have been processed in
// part by the dead member: processing must tolerate a repeat. If the event
// can no longer be delivered (the returned slots are full, or the group had
// no active member to protect it and the producer overwrote it) it is
// counted in GroupStats.Lost, never dropped silently.

import (
	"errors"
	"fmt"
)

// ErrNoFreeGroup: every group table entry holds a group with members.
var ErrNoFreeGroup = errors.New("ring: group table full")

// validateGroup checks the group settings of a consumer config.
func validateGroup(cfg *ConsumerConfig) error {
	if len(cfg.Group) > MaxIDLen {
		return fmt.Errorf("%w: group %q has length %d, want 1..%d", ErrInvalidConfig, cfg.Group, len(cfg.Group), MaxIDLen)
	}
	if cfg.Observer {
		return fmt.Errorf("%w: Group=%q with Observer: a group member must gate the producer", ErrInvalidConfig, cfg.Group)
	}
	return nil
}

// reset zeroes every field of a group entry but its state.
func (g *groupEntry) reset() {
	g.work.store(0)
	g.pending.store(0)
	for k := range g.returned {
		g.returned[k].store(0)
	}
	g.nameLen.Store(0)
	g.name = [MaxIDLen]byte{}
	for _, c := range []*counter{&g.lost, &g.redelivered, &g.lapped} {
		c.store(0)
	}
}

// groupName reads a group's name; "" for a length no correct peer writes.
func (g *groupEntry) groupName() string {
	n := g.nameLen.Load()
	if n > MaxIDLen {
		return ""
	}
	return string(g.name[:n])
}

// groupFor returns the index of the group name, creating it if it does
// not exist; a new group starts at start. Called under the registry lock.
func (s *segment) groupFor(name string, start Start) (int, error) {
	free := -1
	for i := range s.groups {
		switch s.groups[i].state.Load() {
		case groupActive:
			if s.groups[i].groupName() == name {
				return i, nil
			}
		case groupFree:
			if free < 0 {
				free = i
			}
		}
	}
	if free < 0 {
		// Recycle a group nobody belongs to any more; its position and
		// returned claims are forgotten.
		for i := 0; i < len(s.groups) && free < 0; i++ {
			if !s.groupInUse(i) {
				free = i
			}
		}
	}
	if free < 0 {
		return -1, fmt.Errorf("%w: all %d groups of %q have members", ErrNoFreeGroup, s.g.maxConsumers, s.name)
	}
	g := &s.groups[free]
	g.state.Store(groupFree)
	g.reset()
	copy(g.name[:], name)
	g.nameLen.Store(uint32(len(name)))
	work := s.head()
	if start.explicit {
		work = start.seq - 1
	}
	g.work.store(work)
	g.state.Store(groupActive)
	return free, nil
}

// groupInUse reports whether any consumer entry refers to group gi as an
// active member or holds one of its claims.
func (s *segment) groupInUse(gi int) bool {
	for i := range s.consumers {
		e := &s.consumers[i]
		if !e.memberOf(gi) {
			continue
		}
		st := e.state.Load()
		if st == entryActive || st == entryClaiming || e.held.load() != 0 {
			return true
		}
	}
	return false
}

// memberOf reports whether the entry is a member of group table index gi.
func (e *consumerEntry) memberOf(gi int) bool {
	return e.flags.Load()&flagMember != 0 && e.group.Load() == uint32(gi+1)
}

// entryGroup returns a member entry's group, and nil for a group index
// that no correct peer writes.
func (s *segment) entryGroup(e *consumerEntry) *groupEntry {
	gi := e.group.Load()
	if gi == 0 || gi > uint32(len(s.groups)) {
		return nil
	}
	return &s.groups[gi-1]
}

// memberGate is the gating sequence of the member entry at off (see the
// file comment). held is read before and after the returned slots: a claim
// moving from held to a slot (a deposit) or back (an adoption) is seen in
// one place or the other.
func (s *segment) memberGate(e *consumerEntry) int64 {
	g := s.entryGroup(e)
	if g == nil {
		return e.cursor.load()
	}
	m := g.work.load()
	if h := e.held.load(); h > 0 {
		m = min(m, h-2)
	}
	if g.pending.load() != 0 {
		for k := range g.returned {
			if v := g.returned[k].load(); v > 0 {
				m = min(m, v-2)
			}
		}
	}
	if h := e.held.load(); h > 0 {
		m = min(m, h-2)
	}
	return m
}

// deposit moves the claim in e's held word into a returned slot of group
// g. With every slot taken the claim is lost, and counted.
func (s *segment) deposit(e *consumerEntry, g *groupEntry) {
	if !s.tryDeposit(e, g) && e.held.load() > 0 {
		g.lost.add(1)
		e.held.store(0)
	}
}

// tryDeposit is deposit that leaves the claim held when every slot is
// taken. The slot takes the claim before the held word lets go, so it is
// protected throughout (as long as the group has an active member).
func (s *segment) tryDeposit(e *consumerEntry, g *groupEntry) bool {
	v := e.held.load()
	if v <= 0 {
		return true
	}
	for k := range g.returned {
		if g.returned[k].cas(0, v) {
			g.pending.add(1)
			e.held.store(0)
			return true
		}
	}
	return false
}

// sweepDeadMembers detaches member entries whose process died (liveness
// lock free) and returns their claims to their groups; it also returns
// claims left in entries that were detached without it. self is the
// caller's own entry (-1 for a producer). It works under the registry lock,
// so that no rejoin under a dead member's id races it; when the lock is
// busy it does nothing (the next sweep retries). Slow path: a syscall per
// member entry that holds a claim.
func (s *segment) sweepDeadMembers(self int) int {
	if ok, err := s.m.TryLock(lockRegistry); err != nil || !ok {
		return 0
	}
	defer s.m.Unlock(lockRegistry)
	n := 0
	for i := range s.consumers {
		e := &s.consumers[i]
		if i == self || e.flags.Load()&(flagMember|flagRequired) != flagMember {
			continue
		}
		st := e.state.Load()
		if st != entryActive && st != entryDetached {
			continue
		}
		if st == entryDetached && e.held.load() == 0 {
			continue
		}
		if held, err := s.m.HeldByOther(lockConsumers + int64(i)); err != nil || held {
			continue
		}
		if g := s.entryGroup(e); g != nil {
			s.deposit(e, g)
		} else {
			e.held.store(0)
		}
		if st == entryActive && e.state.CompareAndSwap(entryActive, entryDetached) {
			s.counters.deadConsumers.add(1)
			s.logError(ErrorDeadConsumer, int64(i))
			n++
		}
	}
	if n > 0 {
		s.wakeSpace()
	}
	return n
}

// salvageHeld is called under the registry lock before entry i is reused
// or joins another group: a member claim it still holds goes back to the
// entry's group.
func (s *segment) salvageHeld(e *consumerEntry) {
	if e.held.load() == 0 {
		return
	}
	if g := s.entryGroup(e); g != nil {
		s.deposit(e, g)
	}
	e.held.store(0)
}

// setGroup links entry i to group gi+1 (0: none) before it becomes active;
// called under the registry lock. A claim held for another group (or for
// none) is salvaged first.
func (s *segment) setGroup(e *consumerEntry, gi uint32) {
	if e.group.Load() != gi {
		s.salvageHeld(e)
	}
	e.group.Store(gi)
}

// joinGroup finishes a member's join: it takes back the claim its id held
// (a rejoin), or makes sure the group's unclaimed events are still intact.
// The entry is active, so the group gates the producer from here on; the
// stored limit bounds what a producer may have written before it saw us
// (registry.go, activate).
func (c *consumer) joinGroup() {
	s := c.s
	c.avail = c.next - 1
	limit := s.prod.limit.load()
	if v := c.ent.held.load(); v > 0 {
		if seq := v - 1; seq+s.cap > limit {
			c.next, c.avail, c.holding = seq, seq-1, true
			c.group.redelivered.add(1)
			return
		}
		c.group.lost.add(1) // overwritten while nobody held it
		c.ent.held.store(0)
	}
	// Events after work are unclaimed; those up to limit-capacity may have
	// been overwritten while the group had no active member: skip them.
	oldest := limit - s.cap
	for {
		w := c.group.work.load()
		if w >= oldest {
			break
		}
		if c.group.work.cas(w, oldest) {
			c.missed = oldest - w
			c.next, c.avail = oldest+1, oldest
			c.ent.lapped.add(uint64(c.missed))
			c.group.lapped.add(uint64(c.missed))
			break
		}
	}
}

// pollMember (members only) claims an event if the member holds none and
// reports whether the held one is published; see the file comment.
func (c *consumer) pollMember() bool {
	s := c.s
	for {
		if !c.holding {
			c.claimNext()
		}
		seq := c.next
		if s.multi() {
			switch m := s.marker(seq).load(); m {
			case seq:
				c.avail = seq
				return true
			case ^seq:
				// Abandoned by a dead producer: skip it, claim again.
				c.ent.abandoned.add(1)
				c.advance(seq)
				continue
			}
		} else if s.prod.cursor.load() >= seq {
			c.avail = seq
			return true
		}
		if c.swapReturned() {
			continue
		}
		return false
	}
}

// claimNext takes a returned claim if there is one, else the next
// unclaimed event.
func (c *consumer) claimNext() {
	if c.adoptReturned(false) {
		return
	}
	work := &c.group.work
	for {
		w := work.load()
		// Claims beyond the head are held by members or parked in the
		// returned slots, so a work word further out than that (plus a lap,
		// to be generous) is garbage from a peer: pull it back to the head
		// rather than wait for a sequence that never comes.
		if head := c.s.head(); w > head+c.s.cap+int64(len(c.s.consumers))+groupReturnedSlots {
			work.cas(w, head)
			continue
		}
		c.ent.held.store(w + 2) // protect w+1 (stored + 1)...
		if work.cas(w, w+1) {   // ...then take it
			c.next, c.avail, c.holding = w+1, w, true
			return
		}
	}
}

// adoptReturned takes a claim from the group's returned slots (only a
// published one if publishedOnly). The held word protects it before the
// slot lets go. A claim that was unprotected for a while (no active member)
// and overwritten meanwhile is counted lost instead.
func (c *consumer) adoptReturned(publishedOnly bool) bool {
	s := c.s
	g := c.group
	if g.pending.load() <= 0 {
		return false
	}
	for k := range g.returned {
		slot := &g.returned[k]
		v := slot.load()
		if v <= 0 || publishedOnly && !s.isPublished(v-1) {
			continue
		}
		c.ent.held.store(v)
		if !slot.cas(v, 0) {
			c.ent.held.store(0)
			continue
		}
		g.pending.add(-1)
		seq := v - 1
		if seq+s.cap <= s.prod.limit.load() {
			g.lost.add(1)
			c.ent.held.store(0)
			continue
		}
		g.redelivered.add(1)
		c.next, c.avail, c.holding = seq, seq-1, true
		return true
	}
	return false
}

// swapReturned: the member holds an unpublished claim; if a returned claim
// is published, put ours back and take that one instead.
func (c *consumer) swapReturned() bool {
	s, g := c.s, c.group
	if g.pending.load() <= 0 || !c.holding {
		return false
	}
	found := false
	for k := 0; k < len(g.returned) && !found; k++ {
		v := g.returned[k].load()
		found = v > 0 && s.isPublished(v-1)
	}
	if !found {
		return false
	}
	if !s.tryDeposit(c.ent, g) {
		return false
	}
	c.holding = false
	if !c.adoptReturned(true) {
		c.claimNext() // raced: take whatever is there, ours included
	}
	return true
}

// isPublished reports whether seq is published (and not since overwritten
// on a multi-producer ring).
func (s *segment) isPublished(seq int64) bool {
	if s.multi() {
		return s.marker(seq).load() == seq
	}
	return s.prod.cursor.load() >= seq
}

// memberDone (members only) finishes the held event seq; consumer.commit
// calls it for members.
func (c *consumer) memberDone(seq int64) {
	c.ent.cursor.store(seq) // the last event this member finished
	// Release: after this store the producer may overwrite seq.
	c.ent.held.store(0)
	c.holding = false
	c.avail = seq
	// Same store-then-load pairing as consumer.commit.
	if c.s.prod.spaceWaiters.Load() != 0 {
		c.ent.wakes.add(1)
		c.s.wake(&c.s.prod.spaceWake)
	}
}

// GroupStats describes one consumer group.
type GroupStats struct {
	Name     string `json:"name"`
	Position int64  `json:"position"` // highest sequence claimed by a member
	Members  int    `json:"members"`  // active members
	Pending  int64  `json:"pending"`  // returned claims waiting for a member
	// InDoubt counts claims still held in entries of members that closed or
	// died, not yet returned to the group (a sweep will return them).
	InDoubt     int    `json:"in_doubt"`
	Redelivered uint64 `json:"redelivered"`
	Lost        uint64 `json:"lost"`   // claimed events the group could not deliver
	Lapped      uint64 `json:"lapped"` // events skipped while it had no member
}

func (s *segment) groupStats() []GroupStats {
	var out []GroupStats
	for i := range s.groups {
		g := &s.groups[i]
		if g.state.Load() != groupActive {
			continue
		}
		gs := GroupStats{
			Name:        g.groupName(),
			Position:    g.work.load(),
			Pending:     g.pending.load(),
			Redelivered: g.redelivered.load(),
			Lost:        g.lost.load(),
			Lapped:      g.lapped.load(),
		}
		for j := range s.consumers {
			e := &s.consumers[j]
			if !e.memberOf(i) {
				continue
			}
			switch e.state.Load() {
			case entryActive:
				gs.Members++
			case entryDetached:
				if e.held.load() != 0 {
					gs.InDoubt++
				}
			}
		}
		out = append(out, gs)
	}
	return out
}
