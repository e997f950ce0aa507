package fabric

// Typed rounds: requests and replies as Go values encoded by Layer 2
// codecs (package typed). Each message carries its codec's schema tag in
// the frame flags byte; a worker refuses a request of another schema, and
// the scheduler a reply of another schema, as failures of that rank.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/myelon-go/myelon/typed"
)

// TypedScheduler sends requests of type Req and gathers replies of type
// Rep over a Scheduler. Its methods are safe for concurrent use (the
// request codec is used under a lock). Make one with NewTypedScheduler.
type TypedScheduler[Req, Rep any] struct {
	s   *Scheduler
	rep typed.Codec[Rep]

	mu  sync.Mutex // guards req and buf
	req typed.Codec[Req]
	buf []byte
}

// NewTypedScheduler returns a typed view of s. The workers must serve with
// ServeTyped and codecs of the same schemas.
func NewTypedScheduler[Req, Rep any](s *Scheduler, req typed.Codec[Req], rep typed.Codec[Rep]) *TypedScheduler[Req, Rep] {
	return &TypedScheduler[Req, Rep]{s: s, req: req, rep: rep}
}

// Broadcast sends *v to every rank.
func (t *TypedScheduler[Req, Rep]) Broadcast(ctx context.Context, v *Req) (*TypedRound[Rep], error) {
	return t.send(ctx, -1, []*Req{v})
}

// Call sends *v to one rank.
func (t *TypedScheduler[Req, Rep]) Call(ctx context.Context, rank int, v *Req) (*TypedRound[Rep], error) {
	if err := t.s.l.cfg.Workers.checkRank(rank); err != nil {
		return nil, err
	}
	return t.send(ctx, rank, []*Req{v})
}

// Scatter sends vs[r] to rank r, one value per rank.
func (t *TypedScheduler[Req, Rep]) Scatter(ctx context.Context, vs []Req) (*TypedRound[Rep], error) {
	if len(vs) != int(t.s.l.cfg.Workers) {
		return nil, fmt.Errorf("%w: Scatter: %d values for %d ranks", ErrInvalidConfig, len(vs), int(t.s.l.cfg.Workers))
	}
	ps := make([]*Req, len(vs))
	for i := range vs {
		ps[i] = &vs[i]
	}
	return t.send(ctx, -1, ps)
}

func (t *TypedScheduler[Req, Rep]) send(ctx context.Context, target int, vs []*Req) (*TypedRound[Rep], error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = t.buf[:0]
	ends := make([]int, len(vs))
	for i, v := range vs {
		b, err := encode(t.req, t.buf, v)
		if err != nil {
			return nil, fmt.Errorf("fabric: encode request: %w", err)
		}
		t.buf, ends[i] = b, len(b)
	}
	payloads := make([][]byte, len(vs))
	start := 0
	for i, end := range ends {
		payloads[i], start = t.buf[start:end], end
	}
	r, err := t.s.send(ctx, t.req.Schema().Tag(), target, payloads)
	if err != nil {
		return nil, err
	}
	return &TypedRound[Rep]{r: r, codec: t.rep}, nil
}

// TypedRound is a Round whose replies decode to Rep.
type TypedRound[Rep any] struct {
	r     *Round
	codec typed.Codec[Rep]
}

// TypedReply is one rank's decoded answer.
type TypedReply[Rep any] struct {
	Rank  int
	Value Rep   // valid when Err is nil
	Err   error // a *RankError, or nil
}

// ID returns the round's correlation id.
func (t *TypedRound[Rep]) ID() uint64 { return t.r.ID() }

// Gather is Round.Gather with each reply decoded. A reply of another
// schema or one the codec rejects makes its rank Failed.
func (t *TypedRound[Rep]) Gather(ctx context.Context) ([]TypedReply[Rep], error) {
	replies, err := t.r.Gather(ctx)
	var re *RoundError
	if !errors.As(err, &re) {
		re = &RoundError{Round: t.r.id}
	}
	out := make([]TypedReply[Rep], len(replies))
	want := t.codec.Schema().Tag()
	for i, rep := range replies {
		out[i] = TypedReply[Rep]{Rank: rep.Rank, Err: rep.Err}
		if rep.Err != nil {
			continue
		}
		var derr error
		if rep.tag != want {
			derr = fmt.Errorf("reply schema tag %#02x, want %#02x (%v)", rep.tag, want, t.codec.Schema())
		} else if derr = decode(t.codec, rep.Payload, &out[i].Value); derr != nil {
			derr = fmt.Errorf("decode reply: %w", derr)
		}
		if derr != nil {
			e := &RankError{Rank: rep.Rank, Failure: Failed, Err: fmt.Errorf("%w: %w", ErrWorkerFailed, derr)}
			out[i].Err = e
			re.Ranks = append(re.Ranks, e)
		}
	}
	if len(re.Ranks) == 0 {
		return out, nil
	}
	slices.SortFunc(re.Ranks, func(a, b *RankError) int { return cmp.Compare(a.Rank, b.Rank) })
	return out, re
}

// ServeTyped is Worker.Serve for typed requests: each request is decoded
// into a Req (reused from call to call), h fills a Rep (likewise reused),
// and the reply is its encoding. A request of another schema, or one the
// codec rejects, is answered with a failure without calling h.
func ServeTyped[Req, Rep any](ctx context.Context, w *Worker, req typed.Codec[Req], rep typed.Codec[Rep], h func(ctx context.Context, req *Req, rep *Rep) error) error {
	var in Req
	var out Rep
	return w.serve(ctx, req.Schema().Tag(), rep.Schema().Tag(), true, func(ctx context.Context, b []byte, dst []byte) ([]byte, error) {
		if err := decode(req, b, &in); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		if err := h(ctx, &in, &out); err != nil {
			return nil, err
		}
		return encode(rep, dst, &out)
	})
}

// encode and decode call a codec, turning a panic into an error: codecs
// see input from other processes.
func encode[T any](c typed.Codec[T], dst []byte, v *T) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("codec %v panicked: %v", c.Schema(), p)
		}
	}()
	return c.Append(dst, v)
}

func decode[T any](c typed.Codec[T], src []byte, v *T) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("codec %v panicked: %v", c.Schema(), p)
		}
	}()
	return c.Decode(src, v)
}
