package fabric

// The worker pool: requests any one worker may serve. The pool's client
// owns the session's dispatch ring, whose workers are the members of one
// consumer group ("pool"), and its return ring, which every worker joins.
// Each request goes to one member (ring's consumer groups); the member
// holds it in the group's claim until its reply is sent, so a member that
// dies mid-request has it redelivered to another (the ring notices the
// death within its liveness interval). A reply travels back with the
// request's correlation id to the caller waiting in Do.

import (
	"context"
	"errors"
	"fmt"

	"github.com/myelon-go/myelon/ring"
)

// poolGroup is the consumer group of a pool's workers on its dispatch
// ring.
const poolGroup = "pool"

// ErrTooLarge: a pool request does not fit one frame (Config's
// PayloadCapacity less the 16-byte request header): a consumer group hands
// out one frame at a time.
var ErrTooLarge = errors.New("fabric: pool request larger than a frame")

func checkPoolID(id string) error {
	if id == "" || len(id) > ring.MaxIDLen {
		return fmt.Errorf("%w: pool worker id %q: want 1..%d bytes", ErrInvalidConfig, id, ring.MaxIDLen)
	}
	return nil
}

// PoolRunner returns the configuration of a pool worker with the given id
// (1..ring.MaxIDLen bytes, unique among the pool's live workers; a worker
// restarted under the id of a dead one gets back the request it held).
func (l *Layout) PoolRunner(id string) (RunnerConfig, error) {
	if err := checkPoolID(id); err != nil {
		return RunnerConfig{}, err
	}
	return RunnerConfig{
		Workers: l.cfg.Workers, ID: id, Group: poolGroup,
		Dispatch: l.Dispatch(), Return: l.Return(),
		DispatchDepth: l.cfg.DispatchDepth, PayloadCapacity: l.cfg.PayloadCapacity,
		Wait: l.cfg.Wait, Backend: l.cfg.Backend,
	}, nil
}

// Pool sends requests to a pool of interchangeable workers, each request
// to one of them. Config.Workers bounds how many workers may belong to the
// pool at once. Its methods are safe for concurrent use. Make one with
// NewPool; the zero value is not usable.
type Pool struct{ s *Scheduler }

// NewPool creates the pool's rings under cfg's layout (a session is a
// fabric or a pool, not both). Workers join with NewWorker and a
// Layout.PoolRunner config, and serve with Serve or ServeTyped.
func NewPool(cfg Config) (*Pool, error) {
	s, err := newScheduler(cfg, true)
	if err != nil {
		return nil, err
	}
	return &Pool{s: s}, nil
}

// Layout returns the pool's layout.
func (p *Pool) Layout() *Layout { return p.s.l }

// WaitWorkers waits until at least n workers have joined; when ctx ends
// first the error is a *ring.CoordinationError with the count.
func (p *Pool) WaitWorkers(ctx context.Context, n int) error {
	return p.s.disp.WaitForConsumers(ctx, n, "")
}

// Do sends req to one worker and waits for its reply until ctx ends. The
// error is the worker's *HandlerError (ErrWorkerFailed), the DownCause
// its handler returned, wrapped in its message (ErrWorkerDown), ctx's
// error, or ErrClosed. A worker that dies serving req does not lose it: another
// worker serves it, so a request may run more than once, but Do returns
// one reply.
func (p *Pool) Do(ctx context.Context, req []byte) ([]byte, error) {
	r, err := p.send(ctx, 0, req)
	if err != nil {
		return nil, err
	}
	rep, err := p.gather(ctx, r)
	return rep.Payload, err
}

// send sends one request (payload schema tag tag) to the pool.
func (p *Pool) send(ctx context.Context, tag uint8, req []byte) (*Round, error) {
	if max := p.s.l.cfg.PayloadCapacity - reqHeaderSize; len(req) > max {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(req), max)
	}
	return p.s.send(ctx, tag, allRanks, [][]byte{req})
}

// gather waits for the reply to a pool request: the reply, or the cause
// of its failure.
func (p *Pool) gather(ctx context.Context, r *Round) (Reply, error) {
	replies, _ := r.Gather(ctx)
	var re *RankError
	if errors.As(replies[0].Err, &re) {
		return Reply{}, re.Err
	}
	return replies[0], nil
}

// Close closes the pool's rings; calls waiting in Do return ErrClosed and
// workers' Serve returns nil.
func (p *Pool) Close() error { return p.s.Close() }
