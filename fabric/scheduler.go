package fabric

// The scheduler: one process that owns the dispatch ring, reads every
// rank's return ring, and matches replies to rounds by correlation id.
//
// Who owns what: the scheduler creates the dispatch ring and is its only
// producer; each worker creates its own return ring and is its only
// producer, so the liveness lock of a return ring is the liveness of its
// worker. One reader goroutine per rank holds the scheduler's consumer
// ("scheduler") on that rank's return ring; it blocks on the ring's wake
// word, so an idle fabric costs no CPU. A reader that meets the end of its
// ring (the worker died: ring.ErrProducerGone; or left: ErrEndOfStream)
// marks the rank down in every pending round and attaches again, to the
// ring a restarted worker creates under the same name.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// reattachPause is how long a reader waits before attaching again to a
// return ring whose producer is dead (its worker has not replaced it yet).
const reattachPause = ring.DefaultLivenessInterval

// Scheduler sends requests to the ranks of a fabric and gathers their
// replies. Its methods are safe for concurrent use; rounds may overlap.
// Make one with NewScheduler; the zero value is not usable.
type Scheduler struct {
	l   *Layout
	ids []string // dispatch consumer id of each rank

	sendMu sync.Mutex // serialises the dispatch ring's single producer
	disp   *frame.Producer
	buf    []byte // request encoding, under sendMu

	next atomic.Uint64 // last correlation id handed out

	mu      sync.Mutex
	pending map[uint64]*Round // rounds not yet gathered
	closed  bool

	links     []link
	cancel    context.CancelFunc
	readers   sync.WaitGroup
	malformed atomic.Uint64
}

// link is the scheduler's view of one rank's return path.
type link struct {
	up   atomic.Bool                 // a reader is attached to a live return ring
	last atomic.Pointer[errorHolder] // last error met connecting, for RendezvousError
}

type errorHolder struct{ err error }

// NewScheduler creates the session's dispatch ring (replacing one a dead
// scheduler left) and starts connecting to the ranks' return rings as the
// workers create them. Call Rendezvous before the first round.
func NewScheduler(cfg Config) (*Scheduler, error) {
	l, err := cfg.Layout()
	if err != nil {
		return nil, err
	}
	c := l.cfg
	disp, err := frame.Create(l.Dispatch(), frame.Config{
		Backend: c.Backend, Capacity: c.DispatchDepth, MaxConsumers: int(c.Workers) + 1,
		Wait: c.Wait, PayloadCapacity: c.PayloadCapacity,
	})
	if err != nil {
		return nil, fmt.Errorf("fabric: dispatch ring %s: %w", l.Dispatch(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		l: l, disp: disp, pending: map[uint64]*Round{}, cancel: cancel,
		links: make([]link, c.Workers), buf: make([]byte, 0, reqHeaderSize+c.PayloadCapacity),
	}
	for r := range c.Workers.Ranks() {
		s.ids = append(s.ids, WorkerID(r))
		s.readers.Add(1)
		go s.reader(ctx, r)
	}
	return s, nil
}

// Layout returns the session's layout.
func (s *Scheduler) Layout() *Layout { return s.l }

// Malformed counts the reply messages skipped because they were not
// well-formed replies of the rank whose ring they came on.
func (s *Scheduler) Malformed() uint64 { return s.malformed.Load() }

// Rendezvous waits until every rank is attached: its worker has created
// its return ring, the scheduler reads it, and the worker reads the
// dispatch ring. When ctx ends first it returns a *RendezvousError naming
// the missing ranks (matching ErrRendezvous and ctx's error). A round sent
// to a rank that is not attached reports it down at once.
func (s *Scheduler) Rendezvous(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		missing, err := s.missing()
		if err != nil || len(missing) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			e := &RendezvousError{Missing: missing, Cause: ctx.Err()}
			for _, r := range missing {
				var last error
				if h := s.links[r].last.Load(); h != nil {
					last = h.err
				}
				e.Last = append(e.Last, last)
			}
			return e
		case <-t.C:
		}
	}
}

// done is a context that has ended: given to a coordination wait, it
// makes it a check that never waits.
var done = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// missing returns the ranks not attached, ascending.
func (s *Scheduler) missing() ([]int, error) {
	var absent []string
	if err := s.disp.WaitForConsumerIDs(done, s.ids...); err != nil {
		var ce *ring.CoordinationError
		if !errors.As(err, &ce) {
			return nil, fmt.Errorf("fabric: rendezvous: %w", err)
		}
		absent = ce.Missing
	}
	var m []int
	for r := range s.links {
		if !s.links[r].up.Load() || slices.Contains(absent, s.ids[r]) {
			m = append(m, r)
		}
	}
	return m, nil
}

// reader keeps rank's return ring attached and delivers its replies until
// ctx ends.
func (s *Scheduler) reader(ctx context.Context, rank int) {
	defer s.readers.Done()
	c := s.l.cfg
	name, _ := s.l.Return(rank)
	cc := frame.ConsumerConfig{
		Backend: c.Backend, ID: schedulerID, Wait: c.Wait,
		Capacity: c.ReturnDepth, PayloadCapacity: c.PayloadCapacity,
	}
	lk := &s.links[rank]
	for ctx.Err() == nil {
		rc, err := frame.Attach(ctx, name, cc)
		if err != nil {
			if ctx.Err() == nil {
				lk.last.Store(&errorHolder{err})
				sleep(ctx, reattachPause)
			}
			continue
		}
		// A dead worker's ring stays until its successor replaces it:
		// reading it would only end in ErrProducerGone again.
		if !rc.Stats().Ring.ProducerAlive {
			rc.Close()
			lk.last.Store(&errorHolder{fmt.Errorf("%w: return ring %s: producer dead", ErrWorkerDown, name)})
			sleep(ctx, reattachPause)
			continue
		}
		lk.last.Store(nil)
		lk.up.Store(true)
		err = s.read(ctx, rc, rank)
		rc.Close()
		if ctx.Err() != nil {
			err = ErrClosed
		}
		lk.last.Store(&errorHolder{err})
		s.down(rank, err)
	}
}

// read delivers the replies of one attachment of rank's return ring until
// it ends.
func (s *Scheduler) read(ctx context.Context, c *frame.Consumer, rank int) error {
	deliver := func(m frame.Meta, p []byte) error {
		s.deliver(rank, m, p)
		return nil
	}
	for {
		err := c.Read(ctx, deliver)
		switch {
		case err == nil:
		case errors.Is(err, ring.ErrLapped), errors.Is(err, frame.ErrProtocol):
			s.malformed.Add(1) // the consumer resynchronises; the reply lost shows as a deadline
		default:
			return err
		}
	}
}

// deliver hands one reply to its round, if that round is still pending.
func (s *Scheduler) deliver(rank int, m frame.Meta, p []byte) {
	corr, status, ok := parseReply(m.Kind, p, rank)
	if !ok {
		s.malformed.Add(1)
		return
	}
	s.mu.Lock()
	r := s.pending[corr]
	s.mu.Unlock()
	if r == nil {
		return // a round already gathered, or a reply to a stale request
	}
	body := p[replyHeaderSize:]
	rep := Reply{Rank: rank, tag: m.Flags}
	if status == statusFailed {
		rep.Err = &RankError{Rank: rank, Failure: Failed, Err: &HandlerError{Message: string(body)}}
	} else {
		rep.Payload = bytes.Clone(body)
	}
	r.fill(rep)
}

// down marks rank down in every pending round. The flag is cleared before
// the rounds are scanned, and newRound registers a round before it reads
// the flag, so every round either is scanned here or sees the flag.
func (s *Scheduler) down(rank int, cause error) {
	s.links[rank].up.Store(false)
	err := &RankError{Rank: rank, Failure: Down, Err: fmt.Errorf("%w: %w", ErrWorkerDown, cause)}
	s.mu.Lock()
	rounds := make([]*Round, 0, len(s.pending))
	for _, r := range s.pending {
		rounds = append(rounds, r)
	}
	s.mu.Unlock()
	for _, r := range rounds {
		r.fill(Reply{Rank: rank, Err: err})
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Broadcast sends payload to every rank. Gather the replies with the
// returned round.
func (s *Scheduler) Broadcast(ctx context.Context, payload []byte) (*Round, error) {
	return s.send(ctx, 0, -1, [][]byte{payload})
}

// Call sends payload to one rank (the others skip it).
func (s *Scheduler) Call(ctx context.Context, rank int, payload []byte) (*Round, error) {
	if err := s.l.cfg.Workers.checkRank(rank); err != nil {
		return nil, err
	}
	return s.send(ctx, 0, rank, [][]byte{payload})
}

// Scatter sends payloads[r] to rank r, one payload per rank.
func (s *Scheduler) Scatter(ctx context.Context, payloads [][]byte) (*Round, error) {
	if len(payloads) != int(s.l.cfg.Workers) {
		return nil, fmt.Errorf("%w: Scatter: %d payloads for %d ranks", ErrInvalidConfig, len(payloads), int(s.l.cfg.Workers))
	}
	return s.send(ctx, 0, -1, payloads)
}

// send registers a round and publishes its requests: one to every rank
// (target -1, one payload), one to target, or payloads[r] to each rank r.
// tag is the payload's schema tag (0: raw bytes).
func (s *Scheduler) send(ctx context.Context, tag uint8, target int, payloads [][]byte) (*Round, error) {
	r, err := s.newRound(target)
	if err != nil {
		return nil, err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for i, p := range payloads {
		to := target
		if len(payloads) > 1 {
			to = i
		}
		s.buf = append(s.buf[:reqHeaderSize], p...)
		putRequest(s.buf, r.id, to)
		if _, err := s.disp.SendFlags(ctx, kindRequest, tag, s.buf); err != nil {
			s.forget(r.id)
			if errors.Is(err, ring.ErrClosed) {
				err = fmt.Errorf("%w: %w", ErrClosed, err)
			}
			return nil, fmt.Errorf("fabric: round %d: send to rank %d: %w", r.id, to, err)
		}
	}
	return r, nil
}

// newRound registers a round for one rank (target >= 0) or all, and marks
// down the ranks not attached now.
func (s *Scheduler) newRound(target int) (*Round, error) {
	n := int(s.l.cfg.Workers)
	if target >= 0 {
		n = 1
	}
	r := &Round{id: s.next.Add(1), s: s, one: target, replies: make([]Reply, n), got: make([]bool, n), left: n, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.pending[r.id] = r
	s.mu.Unlock()
	for i := range n {
		rank := r.rank(i)
		if !s.links[rank].up.Load() {
			r.fill(Reply{Rank: rank, Err: &RankError{Rank: rank, Failure: Down, Err: fmt.Errorf("%w: not connected", ErrWorkerDown)}})
		}
	}
	return r, nil
}

func (s *Scheduler) forget(id uint64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// Close stops the readers, reports every pending round's missing ranks
// down (ErrClosed), and closes the dispatch ring: workers read what is
// left, then their Serve returns nil.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.readers.Wait()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.disp.Close()
}

// Round is one request/response exchange: the requests of one Broadcast,
// Call or Scatter, and one reply slot per rank addressed, filled as
// replies (or failures) arrive.
type Round struct {
	s   *Scheduler
	id  uint64
	one int // the rank of a Call, -1 for every rank

	mu      sync.Mutex
	replies []Reply // by index (rank, or 0 for a Call)
	got     []bool
	left    int
	done    chan struct{} // closed when left reaches 0
}

// Reply is one rank's answer in a round.
type Reply struct {
	Rank    int
	Payload []byte // the reply (nil when Err is set); the caller's to keep
	Err     error  // a *RankError, or nil
	tag     uint8  // schema tag of the payload
}

// ID returns the round's correlation id (unique per scheduler, from 1).
func (r *Round) ID() uint64 { return r.id }

func (r *Round) rank(i int) int {
	if r.one >= 0 {
		return r.one
	}
	return i
}

// fill records rep for its rank unless the rank already has an outcome.
func (r *Round) fill(rep Reply) {
	i := rep.Rank
	if r.one >= 0 {
		if rep.Rank != r.one {
			return
		}
		i = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.got) || r.got[i] {
		return
	}
	r.replies[i], r.got[i] = rep, true
	if r.left--; r.left == 0 {
		close(r.done)
	}
}

// Gather waits until every rank addressed has an outcome or ctx ends, and
// returns the replies in rank order (one for a Call). Ranks without a
// reply have Reply.Err set: failed (the handler's error), down (the
// worker died or left; found through its liveness lock within the ring's
// liveness interval, 100 ms) or deadline (ctx ended first); the error is
// then a *RoundError listing them, and the other replies are valid. A
// round is gathered once: later calls return the same result, and replies
// arriving after Gather returned are dropped.
func (r *Round) Gather(ctx context.Context) ([]Reply, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	r.s.forget(r.id)
	r.mu.Lock()
	defer r.mu.Unlock()
	var re *RoundError
	for i := range r.replies {
		if !r.got[i] {
			rank := r.rank(i)
			r.replies[i] = Reply{Rank: rank, Err: &RankError{Rank: rank, Failure: Deadline, Err: ctx.Err()}}
			r.got[i] = true
			if r.left--; r.left == 0 {
				close(r.done)
			}
		}
		var e *RankError
		if errors.As(r.replies[i].Err, &e) {
			if re == nil {
				re = &RoundError{Round: r.id}
			}
			re.Ranks = append(re.Ranks, e)
		}
	}
	if re != nil {
		return r.replies, re
	}
	return r.replies, nil
}
