package fabric

// The worker: one process per rank. It creates its presence segment (its
// liveness for the scheduler), joins the return ring as one of its
// producers, then reads the dispatch ring under its rank's consumer id and
// answers every request addressed to it. A pool worker has no rank and no
// presence segment: it reads the dispatch ring as a member of the pool's
// consumer group.

import (
	"context"
	"errors"
	"fmt"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Handler serves one request: it appends its reply to reply (empty, with
// room reused from request to request) and returns the result, or returns
// an error, whose message the scheduler receives as a *HandlerError (or,
// for an error that wraps a DownCause, as a report that the rank is down).
// req is valid only during the call.
type Handler func(ctx context.Context, req []byte, reply []byte) ([]byte, error)

// Worker serves the requests of one rank, or its share of a pool's
// requests. Only one goroutine may use a Worker at a time. Make one with
// NewWorker; the zero value is not usable.
type Worker struct {
	rc       RunnerConfig
	presence *ring.Producer[presence]
	disp     *frame.Consumer
	ret      *frame.Producer

	// The request taken by take, copied out of the ring so that a rank's
	// slot is released before the handler runs: a worker killed in its
	// handler does not hand the request to its successor. (A pool worker
	// keeps its claim until the reply is out, for the opposite reason.)
	req  []byte
	corr uint64
	tag  uint8
	have bool

	out       []byte // handler output
	msg       []byte // reply encoding
	malformed uint64
}

// NewWorker joins the session rc describes as its rank: it creates the
// rank's presence segment (replacing one a dead predecessor left; a live
// one is ring.ErrExist: the rank is taken), joins the return ring, and
// attaches to the dispatch ring under the rank's id, resuming where a dead
// predecessor stopped. With a pool runner config (Layout.PoolRunner) it
// joins the pool instead. It waits for the scheduler's rings until ctx
// ends.
func NewWorker(ctx context.Context, rc RunnerConfig) (*Worker, error) {
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	w := &Worker{rc: rc, out: make([]byte, 0, rc.PayloadCapacity)}
	if rc.Group == "" {
		pr, err := ring.Create[presence](rc.Presence, ring.Config{Backend: rc.Backend, Capacity: 1, MaxConsumers: 2})
		if err != nil {
			return nil, fmt.Errorf("fabric: %s: presence %s: %w", rc.ID, rc.Presence, err)
		}
		w.presence = pr
	}
	ret, err := frame.Join(ctx, rc.Return, frame.JoinConfig{Backend: rc.Backend, Wait: rc.Wait, PayloadCapacity: rc.PayloadCapacity})
	if err != nil {
		w.closePresence()
		return nil, fmt.Errorf("fabric: %s: return ring %s: %w", rc.ID, rc.Return, err)
	}
	disp, err := frame.Attach(ctx, rc.Dispatch, frame.ConsumerConfig{
		Backend: rc.Backend, ID: rc.ID, Group: rc.Group, Wait: rc.Wait, Capacity: rc.DispatchDepth, PayloadCapacity: rc.PayloadCapacity,
	})
	if err != nil {
		ret.Close()
		w.closePresence()
		return nil, fmt.Errorf("fabric: %s: dispatch ring %s: %w", rc.ID, rc.Dispatch, err)
	}
	w.ret, w.disp = ret, disp
	return w, nil
}

func (w *Worker) closePresence() error {
	if w.presence == nil {
		return nil
	}
	return w.presence.Close()
}

// Rank returns the worker's rank (0 for a pool worker).
func (w *Worker) Rank() int { return w.rc.Rank }

// ID returns the worker's id: WorkerID(rank), or its id in a pool.
func (w *Worker) ID() string { return w.rc.ID }

// Malformed counts the dispatch messages skipped because they were not
// well-formed requests.
func (w *Worker) Malformed() uint64 { return w.malformed }

// Serve answers requests with h until the scheduler closes the fabric
// (it returns nil), the scheduler dies (an error matching
// ring.ErrProducerGone), ctx ends (ctx's error), or a reply cannot be sent.
// Requests for other ranks are skipped. A pool worker holds each request
// in the ring until its reply is sent, so that if it dies meanwhile the
// request goes to another worker.
func (w *Worker) Serve(ctx context.Context, h Handler) error {
	return w.serve(ctx, 0, 0, false, h)
}

// serve is Serve with schema tags: with strict, a request whose tag is not
// reqTag is answered with a failure instead of reaching h; replies carry
// repTag.
func (w *Worker) serve(ctx context.Context, reqTag, repTag uint8, strict bool, h Handler) error {
	take := w.take
	if w.rc.Group != "" {
		// In the group's claim until the reply is out: a worker that dies
		// holding it has it redelivered.
		take = func(m frame.Meta, p []byte) error {
			if err := w.take(m, p); err != nil || !w.have {
				return err
			}
			w.have = false
			return w.answer(ctx, reqTag, repTag, strict, h)
		}
	}
	for {
		w.have = false
		if err := w.disp.Read(ctx, take); err != nil {
			switch {
			case errors.Is(err, ring.ErrEndOfStream), errors.Is(err, errEnded):
				return nil
			case errors.Is(err, ring.ErrLapped), errors.Is(err, frame.ErrProtocol):
				w.malformed++ // the consumer resynchronises at the next message
				continue
			}
			return fmt.Errorf("fabric: %s: %w", w.rc.ID, err)
		}
		if w.have {
			if err := w.answer(ctx, reqTag, repTag, strict, h); errors.Is(err, errEnded) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
}

// answer runs h on the request taken and sends its reply.
func (w *Worker) answer(ctx context.Context, reqTag, repTag uint8, strict bool, h Handler) error {
	var out []byte
	var err error
	if strict && w.tag != reqTag {
		err = fmt.Errorf("request schema tag %#02x, this worker's codec has %#02x", w.tag, reqTag)
	} else {
		out, err = h(ctx, w.req, w.out[:0])
	}
	status := uint32(statusOK)
	var cause DownCause
	switch {
	case errors.As(err, &cause):
		status, out = statusDown, appendDown(w.out[:0], cause, err.Error())
	case err != nil:
		status, out = statusFailed, append(w.out[:0], err.Error()...)
	}
	w.msg = append(append(w.msg[:0], make([]byte, replyHeaderSize)...), out...)
	putReply(w.msg, w.corr, status, w.rc.Rank)
	if _, err := w.ret.SendFlags(ctx, kindReply, repTag, w.msg); errors.Is(err, ring.ErrClosed) {
		return errEnded // the scheduler closed the fabric: nobody waits for the reply
	} else if err != nil {
		return fmt.Errorf("fabric: %s: reply to round %d: %w", w.rc.ID, w.corr, err)
	}
	return nil
}

// errEnded: the scheduler closed the return ring; Serve returns nil.
var errEnded = errors.New("fabric: the scheduler closed the fabric")

// take copies a request addressed to this rank out of the ring.
func (w *Worker) take(m frame.Meta, p []byte) error {
	corr, target, ok := parseRequest(m.Kind, p)
	if !ok {
		w.malformed++
		return nil
	}
	if target != allRanks && target != w.rc.Rank {
		return nil
	}
	w.req = append(w.req[:0], p[reqHeaderSize:]...)
	w.corr, w.tag, w.have = corr, m.Flags, true
	return nil
}

// Close leaves the fabric: the dispatch consumer detaches, the worker
// leaves the return ring, and its presence segment is removed (the
// scheduler reports the rank down in rounds still pending). Like every
// call, it must not overlap another on the same Worker: to stop a Serve,
// cancel its context and Close once it has returned.
func (w *Worker) Close() error {
	return errors.Join(w.disp.Close(), w.ret.Close(), w.closePresence())
}
