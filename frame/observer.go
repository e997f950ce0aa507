package frame

// Observers: consumers attached with ConsumerConfig.Observer. They
// never gate the producer, so the producer may rewrite a slot while an
// observer reads it; package ring therefore refuses them the in-place
// range (BytesConsumer.Wait returns ring.ErrObserverInPlace) and hands
// them one slot at a time through BytesConsumer.Recv, which copies the
// slot and then checks that no producer can have started rewriting it
// during the copy. observerSource wraps that as a source whose readable
// range is the one frame in its scratch slot, so the Consumer's
// reassembly, validation and receive paths run unchanged on validated
// copies:
//
//   - Every frame the reassembler sees is a whole, untorn copy of the frame
//     published at its sequence; a copy that may be torn is discarded by
//     ring, which reports a *ring.LappedError instead and moves the
//     observer on. The Consumer counts the lap (Stats.Lapped), drops any
//     message in progress and resynchronises at the next message start
//     (the continuations before it are counted in Stats.SkippedFrames). A
//     multi-frame message is therefore delivered only if all of its frames
//     were copied intact, in sequence, with no lap between them.
//   - A single-frame message handed out in place lies in the scratch slot,
//     which is rewritten only when the Consumer asks for the next frame:
//     after the callback returns (Read, Process, All) or the message was
//     consumed. So borrowed payloads stay valid as documented.
//   - ReleaseThrough is a no-op: an observer releases nothing (ring
//     consumes each copy in Recv).
//
// TryWait is the byte consumer's TryRecv: a readable frame at once, or
// ErrEmpty.

import (
	"context"

	"github.com/myelon-go/myelon/ring"
)

type observerSource struct {
	rc      *ring.BytesConsumer
	scratch []byte // the frame copied last: one slot, 16-byte aligned
}

func newObserverSource(rc *ring.BytesConsumer, slotSize int) *observerSource {
	return &observerSource{rc: rc, scratch: alignedBytes(slotSize)}
}

// Wait copies the next frame into the scratch slot and returns its
// sequence as the readable range.
func (o *observerSource) Wait(ctx context.Context) (lo, hi int64, err error) {
	seq, err := o.rc.Recv(ctx, o.scratch)
	return seq, seq, err
}

// TryWait is Wait without waiting.
func (o *observerSource) TryWait() (lo, hi int64, err error) {
	seq, err := o.rc.TryRecv(o.scratch)
	return seq, seq, err
}

// Slot returns the scratch slot: the only sequence readable is the one the
// last Wait returned.
func (o *observerSource) Slot(int64) []byte { return o.scratch }

func (o *observerSource) ReleaseThrough(int64) {}
