package fabric

// The scheduler: one process that owns the dispatch ring and the shared
// return ring, and matches replies to rounds by correlation id.
//
// Who owns what: the scheduler creates the dispatch ring (its only
// producer) and the return ring (a multi-producer ring every worker joins;
// the scheduler holds its one consumer). Each worker creates its presence
// segment and is its only owner, so that segment's liveness lock is the
// worker's liveness.
//
// Reading replies: no goroutine reads the return ring on its own. A
// goroutine in Gather takes the lead token (s.lead) and reads the ring
// itself, delivering every reply to its round, until its own round is
// complete; then it hands the token on. So a reply reaches the waiting
// caller with no goroutine hand-off (BenchmarkRound against
// BenchmarkReturnPath_PerRankRings shows what a hand-off costs). The
// monitor drains replies nobody waits for (rounds never gathered) once per
// liveness interval, so workers are not held up by a full return ring.
//
// Liveness: the monitor goroutine checks every rank's presence segment
// once per liveness interval (ring.DefaultLivenessInterval, 100 ms)
// through an observer, and marks a rank down in every pending round when
// its worker died or left. A restarted worker replaces the dead one's
// presence segment and the next check finds it up.

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

// livenessInterval is how often the monitor checks the workers' presence
// and drains ungathered replies.
const livenessInterval = ring.DefaultLivenessInterval

// presence is the element of a presence segment; nothing is ever
// published on it: the segment exists for its owner's liveness lock.
type presence struct{ Rank uint64 }

// Scheduler sends requests to the ranks of a fabric and gathers their
// replies. Its methods are safe for concurrent use; rounds may overlap.
// Make one with NewScheduler; the zero value is not usable.
type Scheduler struct {
	l    *Layout
	ids  []string // dispatch consumer id of each rank
	pool bool     // a Pool's: any one worker answers each request; no ranks

	sendMu sync.Mutex // serialises the dispatch ring's single producer
	disp   *frame.Producer
	buf    []byte // request encoding, under sendMu

	ret     *frame.Producer // creator handle of the return ring; never sends
	lead    chan struct{}   // the token that lets one goroutine read rc
	rc      *frame.Consumer // the return ring's consumer, used by the token holder
	deliver func(frame.Meta, []byte) error

	next atomic.Uint64 // last correlation id handed out

	mu      sync.Mutex
	pending map[uint64]*Round // rounds not yet gathered
	closed  bool

	up []atomic.Bool // rank r's worker is present

	watchMu  sync.Mutex
	watch    []*ring.Consumer[presence] // observers of the presence segments
	last     []error                    // last reason rank r is not up
	watching bool                       // false once Close let go of the observers

	stop      context.CancelFunc
	monitored chan struct{} // closed when the monitor has stopped
	malformed atomic.Uint64
}

// NewScheduler creates the session's dispatch and return rings (replacing
// rings a dead scheduler left) and starts watching for the workers. Call
// Rendezvous before the first round.
func NewScheduler(cfg Config) (*Scheduler, error) { return newScheduler(cfg, false) }

// newScheduler makes a Scheduler, or with pool the core of a Pool: no
// presence segments to watch, rounds answered by any one worker.
func newScheduler(cfg Config, pool bool) (*Scheduler, error) {
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
	ret, err := frame.Create(l.Return(), frame.Config{
		Backend: c.Backend, Capacity: l.returnCapacity(), MaxProducers: int(c.Workers) + 1, MaxConsumers: 2,
		Wait: c.Wait, PayloadCapacity: c.PayloadCapacity,
	})
	if err != nil {
		disp.Close()
		return nil, fmt.Errorf("fabric: return ring %s: %w", l.Return(), err)
	}
	rc, err := frame.Attach(done, l.Return(), frame.ConsumerConfig{Backend: c.Backend, ID: schedulerID, Wait: c.Wait})
	if err != nil {
		disp.Close()
		ret.Close()
		return nil, fmt.Errorf("fabric: return ring %s: %w", l.Return(), err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ranks := int(c.Workers)
	if pool {
		ranks = 0
	}
	s := &Scheduler{
		l: l, pool: pool, disp: disp, ret: ret, rc: rc, lead: make(chan struct{}, 1), pending: map[uint64]*Round{},
		up: make([]atomic.Bool, ranks), watch: make([]*ring.Consumer[presence], ranks), last: make([]error, ranks),
		buf: make([]byte, 0, reqHeaderSize+c.PayloadCapacity), stop: stop, monitored: make(chan struct{}), watching: true,
	}
	s.lead <- struct{}{}
	s.deliver = func(m frame.Meta, p []byte) error {
		s.deliverReply(m, p)
		return nil
	}
	for r := range ranks {
		s.ids = append(s.ids, WorkerID(r))
	}
	go s.monitor(ctx)
	return s, nil
}

// Layout returns the session's layout.
func (s *Scheduler) Layout() *Layout { return s.l }

// Malformed counts the reply messages skipped because they were not
// well-formed replies.
func (s *Scheduler) Malformed() uint64 { return s.malformed.Load() }

// Rendezvous waits until every rank is attached: its worker is present,
// has joined the return ring and reads the dispatch ring. When ctx ends
// first it returns a *RendezvousError naming the missing ranks (matching
// ErrRendezvous and ctx's error). A round sent to a rank that is not
// present reports it down at once.
func (s *Scheduler) Rendezvous(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return ErrClosed
		}
		s.check()
		missing, err := s.missing()
		if err != nil || len(missing) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			e := &RendezvousError{Missing: missing, Cause: ctx.Err()}
			s.watchMu.Lock()
			for _, r := range missing {
				e.Last = append(e.Last, s.last[r])
			}
			s.watchMu.Unlock()
			return e
		case <-t.C:
		}
	}
}

// done is a context that has ended: given to a wait, it makes it a check
// that never waits.
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
	for r := range s.up {
		if !s.up[r].Load() || slices.Contains(absent, s.ids[r]) {
			m = append(m, r)
		}
	}
	return m, nil
}

// monitor checks the workers' presence and drains ungathered replies once
// per liveness interval until ctx ends.
func (s *Scheduler) monitor(ctx context.Context) {
	defer close(s.monitored)
	t := time.NewTicker(livenessInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.check()
		select {
		case <-s.lead:
			for {
				_, err := s.rc.TryProcess(0, s.deliver)
				if errors.Is(err, frame.ErrProtocol) || errors.Is(err, ring.ErrLapped) {
					s.malformed.Add(1)
				} else if err != nil {
					break
				}
			}
			s.lead <- struct{}{}
		default: // a gatherer is reading
		}
	}
}

// check looks at every rank's presence segment: a rank whose worker holds
// it is up; a rank that was up and whose worker died or left goes down.
func (s *Scheduler) check() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if !s.watching {
		return
	}
	c := s.l.cfg
	for r, w := range s.watch {
		name, _ := s.l.Presence(r)
		if w == nil {
			var err error
			w, err = ring.Attach[presence](done, name, ring.ConsumerConfig{Backend: c.Backend, Observer: true})
			if err != nil {
				s.last[r] = err
				s.down(r, err)
				continue
			}
			s.watch[r] = w
		}
		// A dead worker's segment stays until its successor replaces it,
		// and a worker that left has closed it: either way, let go of it
		// and look for a new one next time.
		if st := w.Stats(); !st.ProducerAlive || st.State == "closed" {
			w.Close()
			s.watch[r] = nil
			err := fmt.Errorf("presence %s: %w", name, ring.ErrProducerGone)
			if st.State == "closed" {
				err = fmt.Errorf("presence %s: %w", name, ring.ErrEndOfStream)
			}
			s.last[r] = err
			s.down(r, err)
			continue
		}
		s.last[r] = nil
		s.up[r].Store(true)
	}
}

// deliverReply hands one reply to its round, if that round is still
// pending.
func (s *Scheduler) deliverReply(m frame.Meta, p []byte) {
	corr, rank, status, ok := parseReply(m.Kind, p, int(s.l.cfg.Workers))
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
	switch status {
	case statusFailed:
		rep.Err = &RankError{Rank: rank, Failure: Failed, Err: &HandlerError{Message: string(body)}}
	case statusDown:
		cause, msg, _ := parseDown(body) // parseReply checked it
		rep.Err = &RankError{Rank: rank, Failure: Down, Err: &reportedDown{cause: cause, msg: msg}}
	default:
		rep.Payload = bytes.Clone(body)
	}
	r.fill(rep)
}

// down marks rank down (if it was up) in every pending round. The flag is
// cleared before the rounds are scanned, and newRound registers a round
// before it reads the flag, so every round either is scanned here or sees
// the flag.
func (s *Scheduler) down(rank int, cause error) {
	if !s.up[rank].Swap(false) {
		return
	}
	err := &RankError{Rank: rank, Failure: Down, Err: fmt.Errorf("%w: %w", ErrWorkerDown, cause)}
	for _, r := range s.pendingRounds() {
		r.fill(Reply{Rank: rank, Err: err})
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
	n := len(s.up)
	if target >= 0 || s.pool {
		n = 1
	}
	if s.pool {
		target = anyRank
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
		if r.one == anyRank {
			break // a pool request: no rank to be up
		}
		rank := r.rank(i)
		if !s.up[rank].Load() {
			r.fill(Reply{Rank: rank, Err: &RankError{Rank: rank, Failure: Down, Err: fmt.Errorf("%w: not connected", ErrWorkerDown)}})
		}
	}
	return r, nil
}

// pendingRounds returns the rounds not yet gathered.
func (s *Scheduler) pendingRounds() []*Round {
	s.mu.Lock()
	defer s.mu.Unlock()
	rounds := make([]*Round, 0, len(s.pending))
	for _, r := range s.pending {
		rounds = append(rounds, r)
	}
	return rounds
}

func (s *Scheduler) forget(id uint64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// Close reports every pending round's missing ranks down (ErrClosed),
// stops watching the workers, and closes the rings: workers read what is
// left on the dispatch ring, then their Serve returns nil.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	<-s.monitored
	for r := range s.up {
		s.up[r].Store(false)
	}
	for _, r := range s.pendingRounds() {
		r.abort(Down, fmt.Errorf("%w: %w", ErrWorkerDown, ErrClosed))
	}
	<-s.lead // a gatherer still reading returns the token now that its round is complete
	s.watchMu.Lock()
	s.watching = false
	for r, w := range s.watch {
		if w != nil {
			w.Close()
			s.watch[r] = nil
		}
	}
	s.watchMu.Unlock()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return errors.Join(s.rc.Close(), s.ret.Close(), s.disp.Close())
}

// Round is one request/response exchange: the requests of one Broadcast,
// Call or Scatter, and one reply slot per rank addressed, filled as
// replies (or failures) arrive.
type Round struct {
	s   *Scheduler
	id  uint64
	one int // the rank of a Call, -1 for every rank, anyRank for a pool request

	mu      sync.Mutex
	replies []Reply // by index (rank, or 0 for a Call)
	got     []bool
	left    int
	done    chan struct{}      // closed when left reaches 0
	stop    context.CancelFunc // ends the read of a gatherer holding the lead token
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
	switch {
	case r.one >= 0:
		return r.one
	case r.one == anyRank:
		return 0
	}
	return i
}

// fill records rep for its rank unless the rank already has an outcome.
func (r *Round) fill(rep Reply) {
	i := rep.Rank
	switch {
	case r.one == anyRank:
		i = 0
	case r.one >= 0:
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
	r.settle()
}

// abort gives every rank of r without an outcome the failure f.
func (r *Round) abort(f Failure, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, got := range r.got {
		if !got {
			rank := r.rank(i)
			r.replies[i], r.got[i] = Reply{Rank: rank, Err: &RankError{Rank: rank, Failure: f, Err: err}}, true
			r.settle()
		}
	}
}

// settle counts one outcome; the last one closes done and ends the read
// of the round's gatherer. r.mu is held.
func (r *Round) settle() {
	if r.left--; r.left == 0 {
		close(r.done)
		if r.stop != nil {
			r.stop()
		}
	}
}

// Gather waits until every rank addressed has an outcome or ctx ends, and
// returns the replies in rank order (one for a Call). Ranks without a
// reply have Reply.Err set: failed (the handler's error), down (the
// worker died or left, found through its liveness lock within the ring's
// liveness interval, 100 ms; or its handler returned a DownCause) or
// deadline (ctx ended first); the error is
// then a *RoundError listing them, and the other replies are valid. A
// round is gathered once: later calls return the same result, and replies
// arriving after Gather returned are dropped.
func (r *Round) Gather(ctx context.Context) ([]Reply, error) {
	s := r.s
wait:
	for {
		select {
		case <-r.done:
			break wait
		case <-ctx.Done():
			break wait
		case <-s.lead:
			err := s.readFor(ctx, r)
			s.lead <- struct{}{}
			if err != nil {
				r.abort(Failed, fmt.Errorf("fabric: reading the return ring: %w", err))
			}
		}
	}
	s.forget(r.id)
	r.mu.Lock()
	defer r.mu.Unlock()
	var re *RoundError
	for i := range r.replies {
		if !r.got[i] {
			rank := r.rank(i)
			r.replies[i] = Reply{Rank: rank, Err: &RankError{Rank: rank, Failure: Deadline, Err: ctx.Err()}}
			r.got[i] = true
			r.settle()
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

// readFor reads the return ring, delivering every reply to its round,
// until r is complete or ctx ends, or reading fails: then it returns the
// error. The caller holds the lead token.
func (s *Scheduler) readFor(ctx context.Context, r *Round) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	if r.left == 0 {
		r.mu.Unlock()
		return nil
	}
	r.stop = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.stop = nil
		r.mu.Unlock()
	}()
	for ctx.Err() == nil {
		err := s.rc.Read(ctx, s.deliver)
		switch {
		case err == nil:
		case errors.Is(err, ring.ErrLapped), errors.Is(err, frame.ErrProtocol):
			s.malformed.Add(1) // the consumer resynchronises; a reply lost shows as a deadline
		case ctx.Err() != nil:
			return nil // r is complete, or the gatherer's ctx ended
		default:
			return err
		}
	}
	return nil
}
