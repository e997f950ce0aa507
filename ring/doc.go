// Package ring is Layer 0 of myelon: fixed-size events over a cross-process
// LMAX-Disruptor-style ring in one shared-memory segment (a POSIX shm
// object, a regular file mapped shared, or heap memory for tests).
//
// # Model
//
// A producer creates a ring and publishes events into its slots; each
// sequence number (a 64-bit position that only grows) maps to slot
// seq & (capacity-1). Consumers attach by name from any process and each
// sees every event published after it joined, in order (broadcast). The
// producer never overwrites a slot an active consumer has not released: it
// is gated by the slowest consumer, through a cached limit it refreshes
// about once per lap.
//
//	p, _ := ring.Create[Tick]("ticks", ring.Config{Capacity: 4096})
//	p.Publish(func(t *Tick) { t.Price = 42 })
//
//	c, _ := ring.Attach[Tick]("ticks", ring.ConsumerConfig{ID: "risk"})
//	t, err := c.Next(ctx)
//
// Events are Go values of a fixed-size type without pointers (checked with
// reflect at Create and Attach, and fingerprinted in the header so both
// sides agree on the layout). Byte rings (CreateBytes, AttachBytes) carry
// raw fixed-size slots for the framed layer above.
//
// # Publishing and consuming
//
// Publish fills a slot in place and makes it visible with one atomic store;
// PublishBatch does n slots with one store. Consumers copy (Next), lease a
// slot in place until Release (Lease), or drain everything available with
// one commit per batch (Process). Every blocking call has a context, and a
// Try form that returns ErrFull or ErrEmpty instead of waiting. The hot
// paths allocate nothing and make no system call unless the other side is
// parked.
//
// # Multiple producers
//
// A ring created with Config.MaxProducers > 1 takes several producers: the
// creator plus any that JoinProducer (or JoinBytesProducer), in any
// process. A claim of n slots is one compare-and-swap, so a batch (or a
// framed message) is contiguous; each slot carries a published marker, so
// consumers read only fully written slots, in sequence order. A producer
// that dies between claim and publish does not stall the ring: after
// ConsumerConfig.UnblockTimeout, once its liveness lock shows it dead, its
// sequences are skipped and counted (ConsumerStats.Skipped,
// Stats.Abandoned). producer_multi.go has the protocol.
//
// # Coordination and discovery
//
// Producer.WaitForConsumers waits for a number of consumers (optionally
// with an id prefix), WaitForConsumerIDs for explicit ids; both return a
// *CoordinationError naming what was missing when the context ends.
// ConsumerIDs and ConsumerPosition read the consumer table; consumers may
// attach and detach at any time and the producer always gates on exactly
// the active gating consumers.
//
// # Required consumers
//
// EnableLiveness with a LivenessConfig makes the managed publish calls
// (PublishManaged, PublishBatchManaged, BytesProducer.ClaimManaged) wait
// for the required consumers at startup and, only while blocked on a full
// ring, judge their progress: a stalled consumer raises the Alert hook,
// may rejoin under its id within the grace period without losing anything,
// and then meets the FailureAction (return the error, shut the ring down so
// consumers see end of stream, or evict it; an evicted consumer is told
// with ErrEvicted and goes on as an observer). liveness.go has the policy.
//
// # Observers
//
// A consumer attached with ConsumerConfig.Observer never gates the
// producer. It reads copies and checks each one after taking it: when the
// producer overtakes it, it gets a *LappedError (ErrLapped) with the number
// of events it missed and continues from the oldest event still valid; it
// never receives a torn event (observer.go explains the check).
//
// # Consumer groups
//
// Consumers attached with the same ConsumerConfig.Group share the events
// instead of each seeing all of them: each event goes to one member (a work
// queue, LMAX's WorkerPool), for single- and multi-producer rings. A member
// claims one event at a time from the group's work sequence; a member that
// stops asking holds nothing back. A member that dies holding an event has
// it redelivered (at least once) to another member, or to its own id when
// it rejoins first; an event the ring no longer holds is counted in
// GroupStats.Lost, never dropped silently. group.go has the details.
//
// # Waiting
//
// BusySpin, Yield, Sleep(d) and Block (the default) decide how a side waits.
// Block spins a few microseconds, then parks on a futex word in the segment;
// the other side makes the wake system call only when the waiter count says
// somebody is parked.
//
// # Crash safety
//
// Every participant holds a liveness lock that the kernel releases when its
// process dies. A blocked producer checks the locks of the consumers gating
// it every Config.LivenessInterval and detaches dead ones, which stop gating
// at once. A waiting consumer checks the producer's lock the same way and,
// once it has read every published event, returns ErrProducerGone. A clean
// Close marks the ring closed: consumers drain, then get ErrEndOfStream.
// A consumer that attaches under the id of a closed or dead consumer resumes
// from its position. Every value read from shared memory is validated
// before use: a peer that writes garbage causes a typed error (ErrLayout,
// ErrCorrupt, ErrLapped), never a panic, an out-of-range access or a hang.
// (One hazard is outside any check: a peer that truncates the segment's
// file makes the next access fault, as for any mapped file.)
//
// # Segment layout
//
// See layout.go for the byte-exact layout of the header, producer block,
// consumer table, counters and slots; TestLayout_Offsets keeps it honest.
package ring
