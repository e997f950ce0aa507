package frame

// The framed producer.
//
// Invariants (P = this producer, R = the ring below):
//
//   - A message of n frames, n <= R's capacity, is claimed with one
//     Claim(n): its frames take the consecutive sequences lo..lo+n-1, are
//     written there, and become visible together with one Commit (one
//     cursor store on a single-producer ring; on a multi-producer ring the
//     claim is one CAS and the commit stores the per-slot markers in order).
//     No other claim can take a sequence inside lo..lo+n-1, so frames of
//     different messages, and of different producers, never interleave.
//   - A message larger than R (n > capacity) cannot be claimed at once. On a
//     single-producer ring P claims it in chunks of capacity/2 frames, each
//     committed before the next is claimed. Nothing else claims on R, so no
//     frame can land between two chunks: the message is still contiguous.
//     Consumers may see its first chunks before the rest is written (they
//     reassemble as frames arrive and release slots as they go, which is
//     what lets the message pass through a smaller ring). If a chunk's
//     claim fails (context done, ring closed) the chunks already published
//     form a truncated message: consumers report ReasonTruncated when the
//     next message starts; P counts it in Stats.Aborted.
//     On a multi-producer ring chunks of different producers would
//     interleave, so there the maximum message size is capped at what the
//     ring holds (Config.MaxMessageSize).
//   - P.id is the id of the last message P published, in full or in part.
//     Ids are per producer handle: 1, 2, 3, ... A failed claim before any
//     frame is published uses no id.
//
// Do not "simplify" the multi-frame path into one Claim(1)/Commit per
// frame: on a multi-producer ring another producer's claim could then land
// between two fragments, and on any ring consumers would see a message's
// first fragments before its last is written even when it fits.

import (
	"github.com/myelon-go/myelon/internal/fault"

	"context"
	"encoding/binary"
	"time"

	"github.com/myelon-go/myelon/ring"
)

// claimer is the part of a byte-ring producer that Producer needs: claim n
// consecutive slots, fill them in place, publish them with one commit.
// *ring.BytesProducer implements it for single- and multi-producer rings,
// whether it created the ring (Create) or joined it (Join). Tests
// use it to inject failures.
type claimer interface {
	Claim(ctx context.Context, n int) (int64, error)
	TryClaim(n int) (int64, error)
	Slot(seq int64) []byte
	Commit() int64
}

// Producer publishes variable-length messages on a frame ring.
//
// Only one goroutine may use a Producer at a time (Send, Stats and the
// rest): its message id and counters are plain process-local fields.
type Producer struct {
	_     noCopy
	r     claimer       // hot: the ring below
	g     geometry      // read-only: local copy of the geometry
	id    uint64        // hot: last message id published
	seq   int64         // hot: ring sequence of its first frame
	stamp bool          // read-only: Config.Timestamps
	stats ProducerStats // hot: counted here, flushed to the segment (stats.go)
	guard bool          // read-only: Config.TruncationGuard

	rp *ring.BytesProducer // slow paths: close, coordination, ring stats
	// direct is r when it is the ring's own producer (not a test's): a
	// single frame's claim, slot and commit call it directly, not through
	// the interface, so that Claim and Slot inline.
	direct *ring.BytesProducer
}

// newProducer wraps a byte-ring producer and has its counters flushed
// when the ring finds it idle.
func newProducer(rp *ring.BytesProducer, g geometry, stamp, guard bool) *Producer {
	p := &Producer{r: rp, g: g, stamp: stamp, guard: guard, rp: rp, seq: -1, direct: rp}
	rp.LayerCounters().OnIdle(p.flush)
	return p
}

// flush writes the counters to the segment. Not inlined: it would push
// its callers on the per-message path over the inlining budget.
//
//go:noinline
func (p *Producer) flush() {
	if p.rp != nil {
		p.stats.store(p.rp.LayerCounters())
	}
}

// Create creates the frame ring name: a byte ring whose slots are frames
// of cfg's payload capacity, with the frame geometry in its metadata. It
// returns the ring's (first) producer.
func Create(name string, cfg Config) (*Producer, error) {
	g, meta, err := cfg.geometry()
	if err != nil {
		return nil, err
	}
	rp, err := ring.CreateBytes(name, cfg.ring(&g, meta[:]))
	if err != nil {
		return nil, err
	}
	if rp.SlotSize() != g.slotSize {
		rp.Close()
		return nil, &GeometryError{Field: "slot_size", Want: g.slotSize, Got: rp.SlotSize()}
	}
	if g.aligned {
		if m := misalignment(rp.Slot(0)); m != 0 {
			rp.Close()
			return nil, &GeometryError{Field: "aligned", Reason: "the backend mapped the slots off a 16-byte boundary", Got: m}
		}
	}
	return newProducer(rp, g, cfg.Timestamps, cfg.TruncationGuard), nil
}

// Join joins the multi-producer frame ring name (created by Create with
// Config.MaxProducers > 1) as one more producer, waiting for the ring
// until ctx is done as Attach does. The frame
// geometry is read back from the ring's metadata and checked as Attach
// does: a ring without frame metadata, or whose geometry differs from
// cfg's expectations, is a *GeometryError naming the field; a
// single-producer ring is refused by package ring (a *ring.LayoutError
// naming producer_mode). A multi-producer claim of n slots is one CAS, so
// the frames of a message are consecutive and never interleave with
// another producer's. Message ids are per Producer handle: this one's
// start at 1, like every other producer's. Closing it leaves the ring; the
// stream ends when the creator closes.
func Join(ctx context.Context, name string, cfg JoinConfig) (*Producer, error) {
	rp, err := ring.JoinBytes(ctx, name, cfg.ring())
	if err != nil {
		return nil, err
	}
	info := rp.Info()
	g, err := parseMeta(rp.UserMeta(), rp.SlotSize(), info.Capacity, info.MaxProducers)
	if err == nil {
		err = cfg.expect(&g)
	}
	if err == nil && !g.multi {
		// ring refuses to join a single-producer ring; never trust it alone.
		err = &GeometryError{Field: "max_producers", Reason: "not a multi-producer ring", Got: info.MaxProducers}
	}
	if err == nil && g.aligned {
		if m := misalignment(rp.Slot(0)); m != 0 {
			err = &GeometryError{Field: "aligned", Reason: "the backend mapped the slots off a 16-byte boundary", Got: m}
		}
	}
	if err != nil {
		rp.Close()
		return nil, err
	}
	return newProducer(rp, g, cfg.Timestamps, cfg.TruncationGuard), nil
}

// Send publishes payload as one message of the given kind, waiting for
// room, and returns its id. A payload larger than the payload capacity is
// fragmented over consecutive slots (see the package doc). The payload is
// copied; the caller may reuse it when Send returns.
func (p *Producer) Send(ctx context.Context, kind uint8, payload []byte) (uint64, error) {
	return p.send(ctx, claimWait, kind, 0, payload)
}

// SendFlags is Send with application flags, delivered in Meta.Flags.
func (p *Producer) SendFlags(ctx context.Context, kind, flags uint8, payload []byte) (uint64, error) {
	return p.send(ctx, claimWait, kind, flags, payload)
}

// TrySend is Send that returns ErrFull instead of waiting. A message
// larger than the ring cannot be sent without waiting: TrySend rejects it
// with a *SizeError.
func (p *Producer) TrySend(kind uint8, payload []byte) (uint64, error) {
	return p.send(context.Background(), claimTry, kind, 0, payload)
}

// TrySendFlags is TrySend with application flags.
func (p *Producer) TrySendFlags(kind, flags uint8, payload []byte) (uint64, error) {
	return p.send(context.Background(), claimTry, kind, flags, payload)
}

// Require makes consumers required (see ring.RequiredConfig): from now on
// every blocking send waits up to StartupTimeout for every required
// consumer to attach before its first message (else a *ring.StartupError
// naming the missing ids, and no message is sent), and a send blocked on a
// full ring judges the required consumers every CheckInterval; one that
// made no progress for ProgressTimeout plus GracePeriod gets the
// configured Action: a *ring.StallError returned by this and every later
// send (ring.ReturnError), that and the ring closed (ring.Shutdown), or the
// consumer evicted so it no longer gates the ring, and the send goes on
// (ring.Evict). A message of several frames is claimed with one claim, so
// a policy failure leaves nothing of it on the ring; a message larger than
// the ring (single-producer rings) is claimed chunk by chunk, and a
// failure after its first chunk leaves a truncated message that consumers
// report as ReasonTruncated (counted in Stats.Aborted).
func (p *Producer) Require(cfg ring.RequiredConfig) error {
	return p.rp.Require(cfg)
}

// guarded runs a send under the ring's truncation guard
// (Config.TruncationGuard): a segment truncated under it is
// ring.ErrTruncated, not a SIGBUS. Without it only the ring's waits are
// guarded (see ring.Config.TruncationGuard).
func (p *Producer) guarded(fn func() (uint64, error)) (id uint64, err error) {
	p.guard = false // fn runs send again, which must not guard a second time
	defer func() { p.guard = true }()
	defer p.rp.EndGuard(p.rp.Guard(), &err) // deferred itself: recover works only there
	return fn()
}

// claimMode says how send claims slots.
type claimMode uint8

const (
	claimWait claimMode = iota // wait for room (Send)
	claimTry                   // fail with ErrFull (TrySend)
)

func (p *Producer) claim(ctx context.Context, mode claimMode, n int) (int64, error) {
	if d := p.direct; d != nil {
		if mode == claimTry {
			return d.TryClaim(n)
		}
		return d.Claim(ctx, n)
	}
	if mode == claimTry {
		return p.r.TryClaim(n)
	}
	return p.r.Claim(ctx, n)
}

func (p *Producer) send(ctx context.Context, mode claimMode, kind, flags uint8, payload []byte) (uint64, error) {
	if p.guard { // here, not in Send: the public methods stay small enough to inline
		return p.guarded(func() (uint64, error) { return p.send(ctx, mode, kind, flags, payload) })
	}
	n := uint64(len(payload))
	if n > p.g.cap || n > p.g.maxMsg {
		return p.sendMulti(ctx, mode, kind, flags, payload)
	}
	// One frame: claim, write header and payload in place, publish.
	seq, err := p.claim(ctx, mode, 1)
	if err != nil {
		return 0, err
	}
	p.id, p.seq = p.id+1, seq
	fl, sent := uint64(flagsSingle), int64(0)
	if p.stamp {
		fl |= FlagStamped
		sent = time.Now().UnixNano()
	}
	// The header as four words (see header.go): lengths, index 0 and
	// flags, id, send time.
	var slot []byte
	if p.direct != nil {
		slot = p.direct.Slot(seq)
	} else {
		slot = p.r.Slot(seq)
	}
	_ = slot[HeaderSize-1]
	le := binary.LittleEndian
	le.PutUint64(slot[0:], n|n<<32)
	le.PutUint64(slot[8:], uint64(kind)<<32|fl<<40|uint64(flags)<<48)
	le.PutUint64(slot[16:], p.id)
	le.PutUint64(slot[24:], uint64(sent))
	copy(slot[HeaderSize:], payload)
	if p.g.checksum {
		p.g.putSum(slot, messageSum(payload)) // published by the Commit below, with the frame
	}
	if p.direct != nil {
		p.direct.Commit()
	} else {
		p.r.Commit()
	}
	p.stats.Messages++
	p.stats.Fragments++
	p.stats.Bytes += n
	if p.stats.Messages%flushEvery == 0 {
		p.flush()
	}
	return p.id, nil
}

// sendMulti sends a message of more than one frame (or rejects an
// oversized one).
func (p *Producer) sendMulti(ctx context.Context, mode claimMode, kind, flags uint8, payload []byte) (uint64, error) {
	n := uint64(len(payload))
	if n > p.g.maxMsg {
		return 0, &SizeError{Size: len(payload), Max: int(p.g.maxMsg), Limit: "max message size"}
	}
	frames := int64(p.g.frames(n))
	chunked := frames > p.g.ringCap
	if chunked && (mode == claimTry || p.g.multi) {
		limit := "ring (TrySend cannot wait for a message larger than the ring)"
		if p.g.multi {
			limit = "multi-producer ring"
		}
		return 0, &SizeError{Size: len(payload), Max: int(p.g.ringCap * int64(p.g.cap)), Limit: limit}
	}
	h := Header{MsgLen: uint32(n), Kind: kind, UserFlags: flags, ID: p.id + 1}
	var sum uint32
	if p.g.checksum {
		sum = messageSum(payload)
	}
	if p.stamp {
		h.Flags = FlagStamped
		h.Sent = time.Now().UnixNano()
	}
	if !chunked {
		lo, err := p.claim(ctx, mode, int(frames))
		if err != nil {
			return 0, err
		}
		p.fill(lo, 0, frames, &h, payload, sum)
		p.r.Commit()
		p.seq = lo
	} else {
		chunk := max(p.g.ringCap/2, 1)
		for i := int64(0); i < frames; i += chunk {
			k := min(chunk, frames-i)
			lo, err := p.claim(ctx, mode, int(k))
			if err != nil {
				if i > 0 {
					p.id = h.ID // published in part: the id is used
					p.stats.Aborted++
					p.flush()
					if p.rp != nil {
						p.rp.LayerCounters().LogError(ErrorKindAborted, int64(h.ID))
					}
				}
				return 0, err
			}
			if i == 0 {
				p.seq = lo
			}
			p.fill(lo, i, k, &h, payload, sum)
			p.r.Commit()
			fault.Hit(fault.MidFragment) // a chunk published, the rest of the message not
		}
		p.stats.Chunked++
	}
	p.id = h.ID
	p.stats.Messages++
	p.stats.MultiFrame++
	p.stats.Fragments += uint64(frames)
	p.stats.Bytes += n
	if p.stats.Messages%flushEvery == 0 {
		p.flush()
	}
	return h.ID, nil
}

// fill writes fragments first..first+k-1 of payload into the claimed slots
// lo..lo+k-1, and on a checksummed ring the payload's sum into the last
// fragment's slot.
func (p *Producer) fill(lo, first, k int64, h *Header, payload []byte, sum uint32) {
	c := int64(p.g.cap)
	n := int64(len(payload))
	last := int64(p.g.frames(uint64(n))) - 1
	stamped := h.Flags & FlagStamped
	for j := int64(0); j < k; j++ {
		idx := first + j
		off := idx * c
		end := min(off+c, n)
		h.Index = uint32(idx)
		h.FrameLen = uint32(end - off)
		h.Flags = stamped
		if idx == 0 {
			h.Flags |= FlagFirst
		}
		if idx == last {
			h.Flags |= FlagLast
		}
		slot := p.r.Slot(lo + j)
		putHeader(slot, h)
		copy(slot[HeaderSize:], payload[off:end])
		if idx == last && p.g.checksum {
			p.g.putSum(slot, sum)
		}
	}
}

// WaitForConsumers waits until at least n consumers whose ids start with
// prefix are attached (see ring.BytesProducer.WaitForConsumers). Messages
// sent before a consumer attaches are not delivered to it.
func (p *Producer) WaitForConsumers(ctx context.Context, n int, prefix string) error {
	return p.rp.WaitForConsumers(ctx, n, prefix)
}

// WaitForConsumerIDs waits until consumers with each of ids are attached.
func (p *Producer) WaitForConsumerIDs(ctx context.Context, ids ...string) error {
	return p.rp.WaitForConsumerIDs(ctx, ids...)
}

// Drain waits until every consumer that holds the producer back has read
// every message published so far, or ctx ends (see ring.Producer.Drain).
func (p *Producer) Drain(ctx context.Context) error {
	p.flush()
	return p.rp.Drain(ctx)
}

// LastID returns the id of the last message published (0 before the
// first).
func (p *Producer) LastID() uint64 { return p.id }

// LastSeq returns the ring sequence of the first frame of the last
// message published (its Meta.Seq; -1 before the first). A message sent
// later starts after it, whichever producer of the ring sends it.
func (p *Producer) LastSeq() int64 { return p.seq }

// Geometry describes the ring's frames.
func (p *Producer) Geometry() Geometry { return p.g.public() }

// Stats returns the producer's framing counters and the ring's.
func (p *Producer) Stats() ProducerStats {
	p.flush()
	s := p.stats
	s.Ring = p.rp.Stats()
	return s
}

// Info describes the ring below.
func (p *Producer) Info() ring.RingInfo { return p.rp.Info() }

// LayerCounters returns the producer's counters in the ring's segment:
// slots 0 to LayerSlots-1 are frame's (ProducerStatsOf reads them), the
// rest are the layer above's. Frame flushes its counts from OnIdle: do not
// replace it.
func (p *Producer) LayerCounters() ring.LayerCounters { return p.rp.LayerCounters() }

// UserMeta returns the metadata stored at creation for the layer above
// (Config.Meta, zero-padded to UserMetaSize bytes).
func (p *Producer) UserMeta() []byte { return upperMeta(p.rp.UserMeta()) }

// Close closes the ring: consumers read what was published, then get
// ErrEndOfStream. A producer from Join only leaves the ring: the
// stream goes on until the creator closes. See ring.BytesProducer.Close.
func (p *Producer) Close() error { return p.rp.Close() }

// noCopy makes go vet's copylocks check flag copies of handles.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
