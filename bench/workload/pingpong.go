package workload

// The typed ping-pong (Config.Mode PingPong): the typed workload with one
// message in flight, timed at the initiator.
//
// One round trip: the initiator builds message i (records i*Records on;
// untimed, as bench/peers times no stamping), takes the time, encodes and
// sends it on the typed ring; the echo process reads it with the run's
// access (decode into a reused owned value, or the codec's zero-copy
// view), checks every record as a one-way consumer does, and answers with
// an 8-byte ack carrying the message's sequence number (one frame on a
// frame ring of one-line slots, sent while the message is still held);
// the initiator receives the ack, checks it and takes the time again.
//
// The reply is a small ack, not the batch echoed back: an echo would add
// a second encode (a full re-encode after a decode, but a plain forward of
// the slot's bytes after a view) and a second access at the initiator,
// mixing both directions' codec costs into every row. With the ack, each
// round trip pays the typed layer once (one encode, one transfer of the
// batch, one access and check) plus a return leg that is the same for
// every codec, batch and access, so rows differ by the typed layer alone.
// That leg costs about half a Layer 1 round trip at 64 B
// (`myelon bench -layer framed`).

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Modes of a run.
const (
	// OneWay streams events (or messages) from the producer to the
	// consumers as fast as they go.
	OneWay = "one-way"
	// PingPong is the typed workload with one message in flight and an
	// ack back from one echo process: round-trip latency.
	PingPong = "ping-pong"
)

// attachTimeout bounds the wait to attach to a ring the other side
// created before this side attaches (the old default ready timeout).
const attachTimeout = 5 * time.Second

// Acks: an 8-byte sequence number in a frame ring of one-line slots.
const (
	ackBytes   = 8
	ackPayload = 64 - frame.HeaderSize
	ackDepth   = 64
)

// AckError reports an ack that does not answer the message just sent.
type AckError struct {
	Seq int64 // the message sent
	Len int   // the ack's length
	Got int64 // the sequence number it carries, if Len is ackBytes
}

func (e *AckError) Error() string {
	return fmt.Sprintf("workload: message %d answered by an ack of %d bytes for message %d", e.Seq, e.Len, e.Got)
}

// stagedSender is a publisher that builds a message (stage) apart from
// sending it (sendStaged), so that a round trip times the send alone. The
// typed publishers are.
type stagedSender interface {
	stage()
	sendStaged(ctx context.Context) error
}

// acker is the echo process's end of the ack ring.
type acker struct {
	p   *frame.Producer
	buf [ackBytes]byte
}

// createAcks creates the ack ring of cfg under name.
func createAcks(cfg Config, name string) (*acker, error) {
	backend, _, ws, err := cfg.ringOptions()
	if err != nil {
		return nil, err
	}
	p, err := frame.Create(name, frame.Config{Backend: backend, Capacity: ackDepth, MaxConsumers: 1, Wait: ws, Populate: true, PayloadCapacity: ackPayload})
	if err != nil {
		return nil, err
	}
	return &acker{p: p}, nil
}

// send acks message seq.
func (a *acker) send(ctx context.Context, seq int64) error {
	binary.LittleEndian.PutUint64(a.buf[:], uint64(seq))
	_, err := a.p.Send(ctx, 0, a.buf[:])
	return err
}

func (a *acker) close() error { return a.p.Close() }

// pingPong runs cfg's warmup and measured round trips through p, whose
// echo process has joined and created the ack ring named ack, and
// returns the measured round trips' latency.
func pingPong(ctx context.Context, cfg Config, p publisher, ack string) (hist.Summary, error) {
	s, ok := p.(stagedSender)
	if !ok {
		return hist.Summary{}, fmt.Errorf("workload: %s cannot run ping-pong", cfg.Workload)
	}
	backend, _, ws, err := cfg.ringOptions()
	if err != nil {
		return hist.Summary{}, err
	}
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	acks, err := frame.Attach(actx, ack, frame.ConsumerConfig{Backend: backend, ID: "initiator", Wait: ws, Start: ring.StartAt(0), PayloadCapacity: ackPayload})
	cancel()
	if err != nil {
		return hist.Summary{}, fmt.Errorf("workload: ack ring: %w", orCause(ctx, err))
	}
	defer acks.Close()
	rec := hist.New()
	reply := make([]byte, ackBytes)
	var start time.Time
	for i := range int64(cfg.Warmup + cfg.Count) {
		if i == int64(cfg.Warmup) {
			start = time.Now()
		}
		s.stage()
		t0 := time.Now()
		if err := s.sendStaged(ctx); err != nil {
			return hist.Summary{}, fmt.Errorf("send %d: %w", i, orCause(ctx, err))
		}
		n, _, err := acks.Recv(ctx, reply)
		t1 := time.Now()
		if err != nil {
			return hist.Summary{}, fmt.Errorf("ack %d: %w", i, orCause(ctx, err))
		}
		if got := int64(binary.LittleEndian.Uint64(reply)); n != ackBytes || got != i {
			return hist.Summary{}, &AckError{Seq: i, Len: n, Got: got}
		}
		if i >= int64(cfg.Warmup) {
			rec.Record(t1.Sub(t0).Nanoseconds())
		}
	}
	return rec.Summary(time.Since(start))
}
