package ring

// Observers: consumers that never gate the producer.
//
// An observer's entry lacks flagGating, so minGating skips it and the
// producer may overwrite a slot while the observer copies it. An observer
// therefore reads only by copy, and checks each copy afterwards: the copy
// of sequence seq is valid iff no producer may have started writing the
// slot's next occupant, seq+capacity, before the check. The producers
// announce how far they may write before writing there ("write front" W):
//
//   - single producer: it writes cursor+1 for a one-event claim, and a batch
//     claim stores its last sequence in the claim word before writing its
//     slots (producer.announceBatch). W = max(cursor+1, claim word).
//   - multi producer: a sequence is taken with a CAS on the claim word
//     before its slot is written, and is written only once it is within the
//     writer's limit, which every producer stores (CAS, only growing) in the
//     shared limit word first. W = min(claim word, limit word).
//
// So the copy is valid iff seq + capacity > W, with W loaded after the
// copy. Why loading W afterwards suffices: a writer's slot stores come
// after its announcement (an atomic RMW: XCHG on amd64, a full barrier;
// SWPAL/CASAL on arm64, whose acquire half keeps later stores after it). If
// our load of W does not see the announcement, the announcement follows our
// load in the total order of atomics, and so do the slot stores; the
// copy's loads come before our load of W (the observer first stores its
// own cursor: on amd64 loads are not reordered with older loads anyway; on
// arm64 the store-release keeps the copy's loads before it and a
// store-release is not reordered with a later load-acquire). So the copy
// cannot contain any byte of the next occupant. Do not "simplify" the
// check to a reload of the slot's published marker: a multi-producer
// writer stores the marker after the slot, so the marker still reads seq
// while the slot is half rewritten.
//
// An observer that finds itself lapped (next + capacity <= W) moves on to
// W - capacity + 1, the oldest sequence no producer may be rewriting, and
// returns a *LappedError with the number of events it skipped. An observer
// that keeps up never sees one; one that falls behind sees at most
// capacity-1 events behind the write front.
//
// Because the check comes after the copy, observers never lend slots in
// place: Read, TryRead and Process hand out a validated copy; the byte
// consumer's Wait and TryWait return ErrObserverInPlace.

// announceBatch (single producer) stores the last sequence of a batch
// claim in the claim word before the batch's slots are written, for
// observers (see above). A one-event claim writes cursor+1 and needs none.
// Swap, not Store: on arm64 a store-release lets the slot writes that
// follow overtake it; the swap's acquire half does not.
func (p *producer) announceBatch(n int64) {
	if n > 1 {
		p.s.prod.claim.swap(p.next + n - 1)
	}
}

// writeFront is W of the file comment: no producer writes past it before
// it grows.
func (s *segment) writeFront() int64 {
	if s.multi() {
		return min(s.prod.claim.load(), s.prod.limit.load())
	}
	// The claim word is at most one batch (< capacity) ahead of the cursor;
	// a larger value is garbage and must not throw the observer a lap away.
	c := s.prod.cursor.load()
	return max(c+1, min(s.prod.claim.load(), c+s.cap))
}

// observed (observers only) checks the copy of seq just taken and consumes
// it: nil if the copy is valid, a *LappedError if a producer may have
// rewritten the slot meanwhile (the copy must then be discarded; the
// observer has moved past seq).
func (c *consumer) observed(seq int64) error {
	// Store our cursor first: it orders the copy's loads before the loads
	// of writeFront (see the file comment). It gates nobody, so no wake.
	c.ent.cursor.store(seq)
	c.next = seq + 1
	if seq+c.s.cap > c.s.writeFront() {
		return nil
	}
	c.next = seq // the copy is void: seq is missed too
	return c.observerLap()
}

// unconsume (observers only) gives back seq, consumed by observed but
// refused by the caller's callback: it is read again next time.
func (c *consumer) unconsume(seq int64) {
	c.next = seq
	c.ent.cursor.store(seq - 1)
}

// observerLap moves an observer that is a ring or more behind the write
// front to the oldest sequence no producer may be rewriting, and reports
// how many events it skipped.
func (c *consumer) observerLap() error {
	oldest := c.s.writeFront() - c.s.cap + 1
	if c.next >= oldest {
		return nil
	}
	missed := oldest - c.next
	c.next = oldest
	c.avail = oldest - 1 // poll again from there
	c.ent.cursor.store(oldest - 1)
	c.ent.lapped.add(uint64(missed))
	c.s.logError(ErrorLapped, missed)
	return &LappedError{Missed: missed, ResumeAt: oldest}
}
