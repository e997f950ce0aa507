package ring

// Required consumers: a producer that must not run ahead of
// particular consumers, and must not wait for them forever either.
//
// Policy. Some consumers are required (RequiredConfig.IDs). A
// required consumer gates the producer even while it is detached or dead:
// its position is kept, so if it rejoins under its id it resumes with
// nothing lost. The producer judges required consumers only while a
// publish is blocked on a full ring, never on the free-running path: every
// CheckInterval it reads their positions. A consumer that advanced, or that
// has read everything, is healthy. One that has not advanced for
// ProgressTimeout is stalled: the Alert hook is called once, and if it is
// still stalled GracePeriod later the FailureAction applies: return the
// error (sticky: every later publish returns it), shut the ring
// down (consumers drain and see end of stream; publishing fails), or evict
// the consumer (it stops gating and stops being required; publishing goes
// on). Time to failure is therefore ProgressTimeout + GracePeriod after the
// producer blocks, give or take one CheckInterval.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"time"
)

// FailureAction is what a producer does about a required consumer
// that stays stalled past the grace period.
type FailureAction uint8

const (
	// ReturnError fails the blocked publish, and every later one,
	// with a *StallError. The default.
	ReturnError FailureAction = iota
	// Shutdown also closes the ring: consumers drain what was published,
	// then get ErrEndOfStream.
	Shutdown
	// Evict detaches the stalled consumer so it no longer gates the
	// producer, drops it from the required set, and carries on.
	Evict
)

func (a FailureAction) String() string {
	switch a {
	case Shutdown:
		return "shutdown"
	case Evict:
		return "evict"
	}
	return "return-error"
}

// RequiredConfig configures the required-consumer policy. Zero durations take
// the defaults shown.
type RequiredConfig struct {
	IDs             []string         // consumers that must attach and keep up
	StartupTimeout  time.Duration    // bounds the wait for every required id at the first publish; zero: the publish's context alone
	ProgressTimeout time.Duration    // no progress while blocked before a stall: 250 ms
	CheckInterval   time.Duration    // how often a blocked producer checks: 5 ms
	GracePeriod     time.Duration    // stall time allowed for a same-id rejoin: 1 s
	Action          FailureAction    // what to do after the grace period
	Alert           func(StallAlert) // called on the blocked publishing goroutine; must not publish
}

// StallAlert describes a stalled required consumer.
type StallAlert struct {
	ID         string
	Position   int64 // last sequence it consumed
	StalledFor time.Duration
}

// Errors of publishing with required consumers.
var (
	// ErrStartupTimeout: required consumers did not all attach in time.
	ErrStartupTimeout = errors.New("ring: required consumers missing at startup")
	// ErrConsumerStalled: a required consumer stopped making progress.
	ErrConsumerStalled = errors.New("ring: required consumer stalled")
)

// StartupError names the required consumers missing when a publish gave up
// waiting for them (StartupTimeout, the publish's context, or a Try form).
// It matches ErrStartupTimeout and unwraps to the context's error when the
// context ended the wait. It is not sticky: the next publish waits again.
type StartupError struct {
	Missing []string
	Cause   error // the context's error, if it ended the wait
}

func (e *StartupError) Error() string {
	msg := fmt.Sprintf("ring: required consumers missing at startup: %q", e.Missing)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Is reports ErrStartupTimeout.
func (e *StartupError) Is(target error) bool { return target == ErrStartupTimeout }

// Unwrap returns the context's error, if it ended the wait.
func (e *StartupError) Unwrap() error { return e.Cause }

// StallError describes the required consumer that failed. It matches
// ErrConsumerStalled.
type StallError struct {
	StallAlert
	Action FailureAction
}

func (e *StallError) Error() string {
	return fmt.Sprintf("ring: required consumer %q stalled at sequence %d for %v (action: %s)", e.ID, e.Position, e.StalledFor.Round(time.Millisecond), e.Action)
}

// Is reports ErrConsumerStalled.
func (e *StallError) Is(target error) bool { return target == ErrConsumerStalled }

type requiredState struct {
	id           string
	pos          int64
	lastProgress time.Time
	stallStart   time.Time // zero: not stalled
	alerted      bool
}

type policy struct {
	cfg      RequiredConfig
	started  bool
	req      []*requiredState
	terminal error
}

func (c *RequiredConfig) withDefaults() (RequiredConfig, error) {
	d := *c
	if len(d.IDs) == 0 {
		return d, fmt.Errorf("%w: RequiredConfig.IDs is empty", ErrInvalidConfig)
	}
	for _, id := range d.IDs {
		if err := validateID(id); err != nil {
			return d, err
		}
	}
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&d.ProgressTimeout, 250*time.Millisecond)
	def(&d.CheckInterval, 5*time.Millisecond)
	if d.GracePeriod == 0 {
		d.GracePeriod = time.Second
	}
	d.GracePeriod = max(d.GracePeriod, 0)
	if d.Action > Evict {
		return d, fmt.Errorf("%w: RequiredConfig.Action=%d", ErrInvalidConfig, d.Action)
	}
	return d, nil
}

// Require makes the consumers cfg.IDs required (see RequiredConfig): from
// now on every blocking publish (Publish, PublishBatch, Send) waits for
// them to attach before its first event and applies the stall policy while
// it waits for space; the Try forms fail with a *StartupError while one is
// missing and with the policy's terminal error after a failure. A later
// Require replaces the policy: consumers it no longer names stop being
// required (and stop holding the producer back once detached).
func (p *Producer[E]) Require(cfg RequiredConfig) error {
	return p.p.run(func() error { return p.p.require(cfg) })
}

// Require makes consumers required for Claim and Send; see
// Producer.Require.
func (p *BytesProducer) Require(cfg RequiredConfig) error {
	return p.p.run(func() error { return p.p.require(cfg) })
}

func (p *producer) require(cfg RequiredConfig) error {
	d, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if old := p.live; old != nil {
		for _, r := range old.req {
			if !slices.Contains(d.IDs, r.id) {
				p.s.setRequired(r.id, false)
			}
		}
		p.refresh() // a dropped id may have been all that held us back
	}
	p.live = &policy{cfg: d}
	p.limit = math.MinInt64 // the next claim takes the slow path: startup
	return nil
}

// claimManaged claims n slots under the required-consumer policy: it
// waits for the required consumers at the first call and applies the stall
// policy while blocked. A try claim never waits: it reports the consumers
// missing at startup, or ErrFull.
func (p *producer) claimManaged(ctx context.Context, n int64, try bool) (int64, error) {
	l := p.live
	if l.terminal != nil {
		return -1, l.terminal
	}
	if !l.started {
		if err := p.run(func() error { return l.startup(ctx, p.s, try) }); err != nil {
			return -1, err
		}
	}
	if lo, err := p.claim(ctx, n, true); try || !errors.Is(err, ErrFull) {
		return lo, err
	}
	return p.claimBlocked(ctx, n)
}

// claimBlocked is claimManaged on a full ring: it waits, judging the
// required consumers every CheckInterval. Guarded: a wait is where a
// truncation finds a producer (fault.go).
func (p *producer) claimBlocked(ctx context.Context, n int64) (lo int64, err error) {
	defer p.guard(debug.SetPanicOnFault(true), &lo, &err)
	l := p.live
	l.blocked(time.Now())
	for {
		wctx, cancel := context.WithTimeout(ctx, l.cfg.CheckInterval)
		lo, err := p.claim(wctx, n, false)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return lo, err
		}
		if err := l.evaluate(p, time.Now()); err != nil {
			return -1, err
		}
	}
}

// startup waits for every required id and marks their entries required.
func (l *policy) startup(ctx context.Context, s *segment, try bool) error {
	var sctx context.Context
	var cancel context.CancelFunc
	if l.cfg.StartupTimeout > 0 {
		sctx, cancel = context.WithTimeout(ctx, l.cfg.StartupTimeout)
	} else {
		sctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	if try {
		cancel() // look once
	}
	if err := s.waitForIDs(sctx, l.cfg.IDs); err != nil {
		var ce *CoordinationError
		if !errors.As(err, &ce) {
			return err
		}
		se := &StartupError{Missing: ce.Missing}
		if ctx.Err() != nil {
			se.Cause = context.Cause(ctx)
		}
		return se
	}
	l.req = l.req[:0]
	for _, id := range l.cfg.IDs {
		s.setRequired(id, true)
		l.req = append(l.req, &requiredState{id: id})
	}
	l.started = true
	return nil
}

// blocked starts a blocked episode: stalls are measured from now.
func (l *policy) blocked(now time.Time) {
	for _, r := range l.req {
		r.lastProgress, r.stallStart, r.alerted = now, time.Time{}, false
		r.pos = -2 // unknown: the first evaluation records it
	}
}

// evaluate checks every required consumer and applies the failure action.
func (l *policy) evaluate(p *producer, now time.Time) error {
	s := p.s
	head := s.head()
	for _, r := range slices.Clone(l.req) {
		pos, ok := s.consumerPosition(r.id)
		if ok {
			if pos >= head || r.pos != -2 && pos > r.pos {
				r.lastProgress, r.stallStart, r.alerted = now, time.Time{}, false
			}
			r.pos = pos
		}
		if now.Sub(r.lastProgress) < l.cfg.ProgressTimeout {
			continue
		}
		if r.stallStart.IsZero() {
			r.stallStart = now
			s.counters.stalls.add(1)
			s.logError(ErrorStall, r.pos)
		}
		alert := StallAlert{ID: r.id, Position: r.pos, StalledFor: now.Sub(r.lastProgress)}
		if !r.alerted && l.cfg.Alert != nil {
			r.alerted = true
			l.cfg.Alert(alert)
		}
		if now.Sub(r.stallStart) < l.cfg.GracePeriod {
			continue
		}
		err := &StallError{StallAlert: alert, Action: l.cfg.Action}
		switch l.cfg.Action {
		case Evict:
			s.setRequired(r.id, false)
			s.evict(r.id)
			s.counters.evictions.add(1)
			s.logError(ErrorEvicted, r.pos)
			l.req = slices.DeleteFunc(l.req, func(x *requiredState) bool { return x == r })
			p.refresh()
			continue
		case Shutdown:
			s.hdr.state.Store(stateClosed)
			s.wake(&s.prod.dataWake)
		}
		l.terminal = err
		p.limit = math.MinInt64 // sticky: no fast-path claim may slip past it
		return err
	}
	return nil
}

// setRequired sets or clears the required flag of the entry holding id.
func (s *segment) setRequired(id string, on bool) {
	for i := range s.consumers {
		e := &s.consumers[i]
		if e.state.Load() == entryFree || e.entryID() != id {
			continue
		}
		if on {
			e.flags.Or(flagRequired)
		} else {
			e.flags.And(^uint32(flagRequired))
		}
	}
}

// evict detaches the entry holding id: it stops gating. A live consumer
// so evicted finds out at its next read (ErrEvicted); an event it holds in
// place at that moment (a Read in progress, a Process batch, a byte range)
// is no longer protected and may be overwritten under it.
func (s *segment) evict(id string) {
	// Under the registry lock, so that a rejoin under the id does not
	// interleave with the eviction.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.lockRegistry(ctx); err != nil {
		return // the next evaluation retries
	}
	defer s.m.Unlock(lockRegistry)
	for i := range s.consumers {
		if e := &s.consumers[i]; e.entryID() == id {
			e.state.CompareAndSwap(entryActive, entryDetached)
		}
	}
}
