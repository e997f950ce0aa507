// Package frame is Layer 1 of myelon: variable-length byte messages over a
// ring of fixed-size byte slots (package ring), with fragmentation,
// reassembly, per-producer message ids, kinds, flags and send timestamps;
// one or several producers (Join), broadcast to any number of consumers,
// non-gating observers, and required consumers (Require). It uses only
// package ring's public API, and the same vocabulary: Send and Recv copy,
// Read lends in place, Process lends a batch, every blocking call takes a
// context first and has a Try form.
//
// # Frames
//
// Every slot of a frame ring holds one frame: a 32-byte header (lengths,
// fragment index, kind, flags, message id, send time; see Header) and up to
// PayloadCapacity payload bytes. The
// payload capacity is chosen when the ring is created and stored, with a
// magic and version, in the ring's header metadata; Attach reads it back
// and refuses a ring without it or with a geometry other than the one asked
// for (*GeometryError naming the field). In aligned mode (Config.Aligned)
// every payload starts on a 16-byte boundary, so Layer 3 can read
// serialized data in place.
//
//	p, _ := frame.Create("quotes", frame.Config{PayloadCapacity: 1024})
//	p.Send(ctx, kindQuote, payload)
//
//	c, _ := frame.Attach(ctx, "quotes", frame.ConsumerConfig{ID: "risk"})
//	err := c.Read(ctx, func(m frame.Meta, payload []byte) error { ... })
//
// # Fragmentation
//
// A message longer than one frame is split over consecutive slots, claimed
// together with one claim and published with one commit, so the frames of
// two messages never interleave, even on a multi-producer ring. A message
// longer than the whole ring is sent in chunks (single-producer rings only;
// nothing else can claim in between, so it is still contiguous) and
// streams through the ring while the consumer reassembles it. Messages
// longer than Config.MaxMessageSize are refused.
//
// # Receiving
//
// Owned: Recv copies into the caller's buffer (a *ShortBufferError, with
// the size needed, leaves the message unread), RecvAppend appends to a
// slice. Borrowed: Read hands a callback the payload in place (in the ring
// slot for a single-frame message, in a reusable reassembly buffer for a
// multi-frame one), valid until the callback returns. Process drains every
// readable message with one release (an observer's, frame by frame). All
// is an iterator. Each blocking call takes a context and has a Try form
// that never waits. Meta carries kind, id, flags, send and receive times
// and one-way latency. The borrowed path and Recv with a buffer allocate
// nothing.
//
// # Hostile input
//
// Every header field is read once and validated against the local
// geometry before use, and the reassembler checks each fragment against
// the first: an invalid header, a continuation without its first frame, a
// wrong fragment index, a mismatched length, id or kind, or a message cut
// short yields a *ProtocolError (matching ErrProtocol) with the reason and
// field, is counted in Stats, and the consumer resynchronises at the next
// message start. A consumer that attaches mid-message skips to the next
// message start without error (counted in Stats.LateJoinFrames). No input
// makes the consumer panic, slice out of range, or wait forever.
//
// Those checks catch a damaged header, not a damaged payload. A ring
// created with Config.Checksum carries a CRC-32C of every message's
// payload, which consumers check once the message is whole: a message
// whose bytes changed in the segment is skipped with a *ProtocolError of
// ReasonChecksum (matching ErrChecksum and ErrProtocol, counted in
// Stats.ChecksumErrors), and the next message is read normally. It costs
// one CRC-32C pass over the payload on each side (see checksum.go and
// BenchmarkChecksum), and nothing on a ring created without it.
//
// A peer that truncates the segment's file is ring.ErrTruncated, not a
// SIGBUS, for a producer or consumer waiting on the ring, and for every
// call, in-place payloads read by the callbacks of Read and Process
// included, with Config.TruncationGuard (ConsumerConfig.TruncationGuard):
// see ring.Config.TruncationGuard for what it costs.
//
// # Consumers, late join and laps
//
// Every consumer attached to a ring (observers aside) gates its producers
// and receives every message published after it attached, exactly once and in order
// (broadcast). A consumer that attaches, or resumes its id, in the middle
// of a message starts at the next message start. A consumer that loses
// frames (it started at an overwritten sequence, or was evicted by the
// producer's required-consumer policy and then overtaken) gets ErrLapped (a *ring.LappedError
// with the number of frames missed), counted in Stats.Lapped; any message
// in progress is dropped and the consumer resynchronises at the next
// message start, skipping the continuation frames before it (counted in
// Stats.SkippedFrames).
//
// # Observers
//
// A consumer attached with ConsumerConfig.Observer is an observer: it
// never gates the producers, which may overwrite frames it has not read.
// It reads by copy: each frame is copied out of the ring into a scratch
// slot and kept only if ring's check shows that no producer can have been
// rewriting the slot meanwhile, so the reassembler only ever sees whole,
// untorn frames. An observer that falls a ring behind gets ErrLapped and
// resynchronises at the next message start, as above; a message is
// delivered only if every one of its frames was copied intact, so an
// observer never receives a torn or mixed message. The receive API is the
// same (borrowed payloads lie in the scratch slot or the reassembly
// buffer); the cost is one copy of every slot.
//
//	o, _ := frame.Attach(ctx, "quotes", frame.ConsumerConfig{ID: "tap", Observer: true})
//
// # Required consumers
//
// Producer.Require sets the ring's required-consumer policy
// (ring.RequiredConfig) for every blocking send: the first send waits for
// every required consumer to attach (else a *ring.StartupError naming the
// missing ids), and a send blocked on a full ring judges the required
// consumers and, after ProgressTimeout plus GracePeriod without progress,
// returns a *ring.StallError (sticky), also closes the ring, or evicts the
// consumer and carries on, as configured. A message's frames are claimed
// with one claim, so a failed send leaves nothing of the message on the
// ring (a message larger than the ring is claimed, and can fail, chunk by
// chunk). It works alike on a multi-producer ring: ring waits for room
// before it takes a claim, so a wait that gives up leaves the ring
// untouched.
//
//	p.Require(ring.RequiredConfig{IDs: []string{"risk"}, Action: ring.Evict})
//	_, err := p.Send(ctx, kindQuote, payload)
//
// # Multiple producers
//
// A ring created with Config.MaxProducers > 1 is a multi-producer
// ring: Join adds producers (in this process or others) up to that
// number, each reading the frame geometry back from the ring's metadata
// with the checks Attach makes. A message's frames are claimed with one
// claim, which on a multi-producer ring is one CAS, so they take
// consecutive sequences and never interleave with another producer's.
// Messages are capped at what the ring holds (Capacity frames),
// because chunks of a larger message could interleave with other
// producers' claims. Message ids are per producer handle, starting at 1:
// the header carries no producer identity, so consumers that must tell
// producers apart put it in the kind or the payload.
//
//	p, _ := frame.Create("orders", frame.Config{MaxProducers: 4})
//	q, _ := frame.Join(ctx, "orders", frame.JoinConfig{}) // in another process
package frame
