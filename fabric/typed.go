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

// codecs encodes requests and decodes replies for the typed schedulers;
// each codec is used by one goroutine at a time, under its lock.
type codecs[Req, Rep any] struct {
	reqMu sync.Mutex // guards req and buf
	req   typed.Codec[Req]
	buf   []byte

	repMu sync.Mutex // guards rep
	rep   typed.Codec[Rep]
}

// send encodes vs and sends them through send (which copies them before it
// returns).
func (c *codecs[Req, Rep]) send(vs []*Req, send func(tag uint8, payloads [][]byte) (*Round, error)) (*Round, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.buf = c.buf[:0]
	ends := make([]int, len(vs))
	for i, v := range vs {
		b, err := encode(c.req, c.buf, v)
		if err != nil {
			return nil, fmt.Errorf("fabric: encode request: %w", err)
		}
		c.buf, ends[i] = b, len(b)
	}
	payloads := make([][]byte, len(vs))
	start := 0
	for i, end := range ends {
		payloads[i], start = c.buf[start:end], end
	}
	return send(c.req.Schema().Tag(), payloads)
}

// decode decodes a successful reply into v; a reply of another schema, or
// one the codec rejects, is an error wrapping ErrWorkerFailed.
func (c *codecs[Req, Rep]) decode(rep Reply, v *Rep) error {
	c.repMu.Lock()
	defer c.repMu.Unlock()
	var err error
	if want := c.rep.Schema().Tag(); rep.tag != want {
		err = fmt.Errorf("reply schema tag %#02x, want %#02x (%v)", rep.tag, want, c.rep.Schema())
	} else if err = decode(c.rep, rep.Payload, v); err != nil {
		err = fmt.Errorf("decode reply: %w", err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWorkerFailed, err)
	}
	return nil
}

// TypedScheduler sends requests of type Req and gathers replies of type
// Rep over a Scheduler. Its methods are safe for concurrent use (each
// codec is used under a lock). Make one with NewTypedScheduler.
type TypedScheduler[Req, Rep any] struct {
	s *Scheduler
	c *codecs[Req, Rep]
}

// NewTypedScheduler returns a typed view of s. The workers must serve with
// ServeTyped and codecs of the same schemas.
func NewTypedScheduler[Req, Rep any](s *Scheduler, req typed.Codec[Req], rep typed.Codec[Rep]) *TypedScheduler[Req, Rep] {
	return &TypedScheduler[Req, Rep]{s: s, c: &codecs[Req, Rep]{req: req, rep: rep}}
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
	r, err := t.c.send(vs, func(tag uint8, payloads [][]byte) (*Round, error) { return t.s.send(ctx, tag, target, payloads) })
	if err != nil {
		return nil, err
	}
	return &TypedRound[Rep]{r: r, decode: t.c.decode}, nil
}

// TypedRound is a Round whose replies decode to Rep.
type TypedRound[Rep any] struct {
	r      *Round
	decode func(Reply, *Rep) error
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
	for i, rep := range replies {
		out[i] = TypedReply[Rep]{Rank: rep.Rank, Err: rep.Err}
		if rep.Err != nil {
			continue
		}
		if err := t.decode(rep, &out[i].Value); err != nil {
			e := &RankError{Rank: rep.Rank, Failure: Failed, Err: err}
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

// TypedPool sends requests of type Req to a Pool and decodes replies of
// type Rep. Its methods are safe for concurrent use. Make one with
// NewTypedPool; the workers serve with ServeTyped.
type TypedPool[Req, Rep any] struct {
	p *Pool
	c *codecs[Req, Rep]
}

// NewTypedPool returns a typed view of p.
func NewTypedPool[Req, Rep any](p *Pool, req typed.Codec[Req], rep typed.Codec[Rep]) *TypedPool[Req, Rep] {
	return &TypedPool[Req, Rep]{p: p, c: &codecs[Req, Rep]{req: req, rep: rep}}
}

// Do sends *v to one worker and decodes its reply into *out, as Pool.Do
// does; a reply of another schema, or one the codec rejects, is an error
// matching ErrWorkerFailed.
func (t *TypedPool[Req, Rep]) Do(ctx context.Context, v *Req, out *Rep) error {
	r, err := t.c.send([]*Req{v}, func(tag uint8, payloads [][]byte) (*Round, error) { return t.p.send(ctx, tag, payloads[0]) })
	if err != nil {
		return err
	}
	rep, err := t.p.gather(ctx, r)
	if err != nil {
		return err
	}
	return t.c.decode(rep, out)
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
