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
//	p.Publish(ctx, func(t *Tick) { t.Price = 42 })
//
//	c, _ := ring.Attach[Tick](ctx, "ticks", ring.ConsumerConfig{ID: "risk"})
//	t, err := c.Recv(ctx)
//
// Events are Go values of a fixed-size type without pointers (checked with
// reflect at Create and Attach, and fingerprinted in the header so both
// sides agree on the layout). Byte rings (CreateBytes, AttachBytes) carry
// raw fixed-size slots for the framed layer above.
//
// # Starting in any order
//
// Create never waits. Attach (and Join, for extra producers) waits until
// its context ends for the ring to be created and initialised, so
// producers and consumers may start in any order; if the context ends
// first, the error matches ErrNotFound (nothing was ever created under
// that name) or ErrNotReady (it was created but never finished), and the
// context's error. There is no hidden timeout: a deadline is a context.
//
// # Publishing and consuming
//
// One vocabulary serves every layer of myelon, chosen by what moves:
//
//   - Send and Recv copy a value in and out: the simplest form, and the
//     only one whose result outlives the call.
//   - Publish (ring only) hands a callback the slot itself, so an event is
//     written in place; PublishBatch fills n slots and publishes them with
//     one atomic store.
//   - Read lends one event in place to a callback: no copy, and the slot
//     stays reserved (the producer cannot overwrite it) until the callback
//     returns.
//   - Process lends every event already published, in one batch with one
//     commit: the fastest way to drain a ring.
//   - All ranges over the events with an iter.Seq2.
//
// Every blocking call takes a context first and has a Try form that never
// waits (ErrFull, ErrEmpty); nothing else. A context is looked at only
// when a call has to wait: with an event, room or a ring already there,
// a call succeeds even with a context that is already done. The hot paths allocate nothing
// and make no system call unless the other side is parked.
//
// # Multiple producers
//
// A ring created with Config.MaxProducers > 1 takes several producers: the
// creator plus any that Join (or JoinBytes), in any process. A claim of n slots is one compare-and-swap, so a batch (or a
// framed message) is contiguous; each slot carries a published marker, so
// consumers read only fully written slots, in sequence order. A producer
// that dies between claim and publish does not stall the ring: after
// ConsumerConfig.UnblockTimeout, once its liveness lock shows it dead, its
// sequences are abandoned: skipped and counted (ConsumerStats.Abandoned,
// Stats.Abandoned).
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
// Producer.Require with a RequiredConfig names consumers the producer must
// never run ahead of. From then on every blocking publish waits for them
// to attach before its first event and, only while blocked on a full
// ring, judges their progress: a stalled consumer raises the Alert hook,
// may rejoin under its id within the grace period without losing anything,
// and then meets the FailureAction (return the error, shut the ring down so
// consumers see end of stream, or evict it; an evicted consumer is told
// with ErrEvicted and goes on as an observer). A required consumer keeps
// its place while it is dead or detached, so a restarted one resumes where
// it stopped. The mark that keeps its place is set in the shared consumer
// table by a policy's first publish; until then a blocked producer treats
// a dead consumer as any other and detaches it. In a multi-producer ring
// every producer must therefore Require the same consumers: one that only
// waits for them (WaitForConsumerIDs) may detach a required consumer that
// died before the creator's first publish.
//
// # Observers
//
// A consumer attached with ConsumerConfig.Observer never gates the
// producer. It reads copies and checks each one after taking it: when the
// producer overtakes it, it gets a *LappedError (ErrLapped) with the number
// of events it missed and continues from the oldest event still valid; it
// never receives a torn event.
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
// GroupStats.Lost, never dropped silently.
//
// # Waiting
//
// BusySpin, Yield, Sleep(d) and Block (the default) decide how a side waits.
// Block spins briefly (1-5 µs), then parks on a futex word in the segment;
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
// from its position.
//
// A producer that restarts after a crash, SIGKILL or an unhandled Ctrl-C
// comes back without manual steps: Create replaces a segment whose owner
// is dead (Config.KeepStale refuses instead, to inspect it first), and
// never touches one whose owner is alive (ErrExist), nor one that still
// holds events a required consumer has not read: a *StaleError names those
// consumers (Undrained), and Create succeeds once they have drained it, so
// a producer crash loses nothing acknowledged to a required consumer, even
// one that was dead at the time and resumes its id later. Consumers of the old
// segment drain it and get ErrProducerGone; attaching again reaches the
// new one. Until the new producer has replaced it, attaching again may
// find the dead producer's segment once more (a consumer resuming its id
// there can still read what it had not), so a consumer that waits for a
// restart should pause between attempts. Handle SIGINT and SIGTERM with
// signal.NotifyContext so that Close runs and consumers see a clean end of
// stream.
//
// Every value read from shared memory is validated
// before use: a peer that writes garbage causes a typed error (ErrLayout,
// ErrCorrupt, ErrLapped), never a panic, an out-of-range access or a hang.
//
// A peer that truncates the segment's file takes its pages away, and the
// next access to them faults (SIGBUS). Calls run such accesses with
// runtime/debug.SetPanicOnFault on and recover the fault into
// ErrTruncated, after which the handle returns only that (Close still
// releases it). A guard costs more than a Publish, so by default it is
// only where it is free: around every wait (a producer waiting for room, a
// consumer waiting for data, spinning or parked), and in Attach, Join,
// Create, Close, Stats and the coordination calls. Config.TruncationGuard
// and ConsumerConfig.TruncationGuard guard every call, the per-event path
// included (about 140 instructions, some 10 ns, more per call): with them
// a truncation is ErrTruncated whenever it comes, never a crash, and the
// callbacks of Publish, Read and Process run under the call's guard too.
// Without them, a call that finds room or an event at once touches the
// segment unguarded, and one that does so after a truncation dies of
// SIGBUS. Slot bytes a program touches outside any call
// (BytesProducer.Slot, BytesConsumer.Slot) are guarded with Guard and
// EndGuard.
//
// # Access
//
// A segment is created mode 0600 for its owner alone. To share a ring with
// another user, create it for an OS group (Config.AccessGroup, mode 0660)
// and have the other side name the owner it trusts (ConsumerConfig.Owner):
// a segment owned by anyone else is refused. Every refusal, ours or the
// kernel's, matches ErrPermission.
//
// # Glossary
//
// The words below mean one thing each, here and in the code:
//
//   - sequence: the 64-bit position of an event, from 0, only growing;
//     slot = sequence & (capacity-1).
//   - claim: a producer reserving the next sequences to fill (one CAS on a
//     multi-producer ring); publish: making claimed slots visible (one
//     atomic store of the cursor, or per-slot markers).
//   - cursor: the last sequence published (the producer's), or the last
//     consumed (a consumer's); release: a consumer storing its cursor, which
//     hands its slots back to the producer.
//   - gating: a consumer whose cursor the producer may not lap; the
//     producer waits for the slowest gating consumer.
//   - lap: being overtaken by a whole ring (an observer, or a consumer
//     starting at an overwritten sequence), reported as *LappedError.
//   - liveness lock: the lock a participant holds on a byte of the
//     segment, released by the kernel when its process dies; only this
//     tells whether a peer is alive.
//   - required consumer: one the producer never runs ahead of, even while
//     it is dead or detached, until the policy gives up on it (Require).
//   - observer: a consumer that never gates; it reads validated copies.
//   - group: consumers sharing the events, each event to one member.
//   - abandoned: a sequence claimed by a producer that died before
//     publishing it; consumers skip it and count it.
//
// # Segment layout
//
// One segment holds the whole ring: a header (magic, layout version,
// geometry, element fingerprint, region offsets, owner, a checksum, and
// the state word an attacher polls), the producer block with each hot word
// on its own cache lines, the consumer and group tables, counters any
// process can read (Inspect), the multi-producer published markers, and
// the page-aligned slots. Attach validates every header field and names
// the one that fails (*LayoutError).
package ring
