package fabric

// Multi-process tests: the scheduler is the test process, every worker a
// child process (internal/childtest) serving on real shm rings, with the
// Block wait strategy (more processes than cores).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
)

// TestChildProcess is where a child process of these tests plays its role
// (internal/childtest); run directly it skips.
func TestChildProcess(t *testing.T) { childtest.Run(t) }

type workerArgs struct {
	Runner RunnerConfig
	Typed  bool // serve typed requests (testReq -> testRep) instead of raw bytes
	Echo   bool // answer every request with itself, at once (benchmarks)
}

// The raw worker answers "r<rank>:<request>", except for two commands
// addressed to one rank: "fail@R" (rank R's handler returns an error) and
// "hang@R" (rank R says "hanging" and waits for the parent's "release").
var workerRole = childtest.Register("fabric.worker", func(t *testing.T, c *childtest.Child, a workerArgs) {
	ctx, w := joinWorker(t, c, a.Runner)
	var err error
	switch {
	case a.Echo:
		err = w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) { return append(reply, req...), nil })
	case a.Typed:
		err = ServeTyped(ctx, w, raw.MustNew[testReq](), raw.MustNew[testRep](), func(ctx context.Context, req *testReq, rep *testRep) error {
			*rep = testRep{Rank: int64(w.Rank()), Y: req.X*10 + int64(w.Rank()), Step: req.Step}
			return nil
		})
	default:
		err = w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
			me := fmt.Sprintf("@%d", w.Rank())
			switch string(req) {
			case "fail" + me:
				return nil, fmt.Errorf("rank %d refuses", w.Rank())
			case "hang" + me:
				c.Say("hanging")
				c.Await("release")
			}
			return fmt.Appendf(reply, "r%d:%s", w.Rank(), req), nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
})

type testReq struct {
	Step uint64
	X    int64
}

type testRep struct {
	Rank int64
	Y    int64
	Step uint64
}

// testConfig is a fresh session of n workers on shm rings.
func testConfig(t *testing.T, n int) Config {
	return Config{
		Session: t.Name() + "-" + ring.PortableName("s"), Workers: WorkerCount(n),
		DispatchDepth: 64, ReturnDepth: 16, PayloadCapacity: 256, Wait: ring.Block,
	}
}

func startWorker(t *testing.T, s *Scheduler, rank int, typed bool) *childtest.Proc {
	t.Helper()
	rc, err := s.Layout().Runner(rank)
	if err != nil {
		t.Fatal(err)
	}
	return workerRole.Start(t, workerArgs{Runner: rc, Typed: typed}, childtest.Options{Life: 60 * time.Second})
}

// joinWorker is the start of every worker role: join the session as rc
// says, and say "joined".
func joinWorker(t *testing.T, c *childtest.Child, rc RunnerConfig) (context.Context, *Worker) {
	ctx := testfix.Context(t, 60*time.Second)
	w, err := NewWorker(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	c.Say("joined")
	return ctx, w
}

// checkReplies checks a complete round: one reply per rank in order, each
// want(rank).
func checkReplies(t *testing.T, replies []Reply, err error, want func(rank int) string) {
	t.Helper()
	if err != nil {
		t.Fatalf("round: %v", err)
	}
	for i, r := range replies {
		if r.Rank != i || r.Err != nil || string(r.Payload) != want(i) {
			t.Errorf("reply %d: rank %d payload %q err %v; want rank %d payload %q", i, r.Rank, r.Payload, r.Err, i, want(i))
		}
	}
}

func gather(t *testing.T, ctx context.Context, r *Round, err error) ([]Reply, error) {
	t.Helper()
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return r.Gather(ctx)
}

// TestFabric_Process_FourWorkers runs one session of four worker processes
// through every kind of round and failure, in order: a rendezvous that
// times out naming the missing rank, then broadcast, call, scatter, a
// handler failure, a deadline, and a worker SIGKILLed mid-round that is
// restarted under its rank and takes part in the next round.
func TestFabric_Process_FourWorkers(t *testing.T) {
	const n = 4
	s, err := NewScheduler(testConfig(t, n))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	procs := make([]*childtest.Proc, n)
	for _, r := range []int{0, 1, 3} {
		procs[r] = startWorker(t, s, r, false)
	}

	t.Run("RendezvousTimeoutNamesMissingRank", func(t *testing.T) {
		for _, r := range []int{0, 1, 3} {
			procs[r].Expect("joined")
		}
		err := s.Rendezvous(testfix.Context(t, 300*time.Millisecond))
		var re *RendezvousError
		if !errors.As(err, &re) || !errors.Is(err, ErrRendezvous) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a *RendezvousError matching ErrRendezvous and DeadlineExceeded", err)
		}
		if len(re.Missing) != 1 || re.Missing[0] != 2 || !strings.Contains(err.Error(), "ranks 2 ") {
			t.Fatalf("missing %v (%v), want [2]", re.Missing, err)
		}
	})
	top := t // workers live as long as the whole test, not a subtest
	t.Run("Rendezvous", func(t *testing.T) {
		procs[2] = startWorker(top, s, 2, false)
		if err := s.Rendezvous(testfix.Context(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
	})
	ctx := testfix.Context(t, 30*time.Second)
	t.Run("Broadcast", func(t *testing.T) {
		r, err := s.Broadcast(ctx, []byte("step1"))
		replies, err := gather(t, ctx, r, err)
		checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:step1", rank) })
	})
	t.Run("Call", func(t *testing.T) {
		r, err := s.Call(ctx, 2, []byte("only"))
		replies, err := gather(t, ctx, r, err)
		if err != nil || len(replies) != 1 || replies[0].Rank != 2 || string(replies[0].Payload) != "r2:only" {
			t.Fatalf("replies %+v, err %v; want one reply of rank 2", replies, err)
		}
	})
	t.Run("Scatter", func(t *testing.T) {
		ps := make([][]byte, n)
		for i := range ps {
			ps[i] = fmt.Appendf(nil, "part%d-%s", i, strings.Repeat("x", i*200)) // 1..4 frames
		}
		r, err := s.Scatter(ctx, ps)
		replies, err := gather(t, ctx, r, err)
		checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:%s", rank, ps[rank]) })
	})
	t.Run("HandlerFailure", func(t *testing.T) {
		r, err := s.Broadcast(ctx, []byte("fail@1"))
		replies, err := gather(t, ctx, r, err)
		var re *RoundError
		if !errors.As(err, &re) || !errors.Is(err, ErrRound) || !errors.Is(err, ErrWorkerFailed) || len(re.Ranks) != 1 {
			t.Fatalf("err = %v, want a *RoundError of rank 1 matching ErrWorkerFailed", err)
		}
		if e := re.Rank(1); e == nil || e.Failure != Failed || !strings.Contains(e.Error(), "rank 1 refuses") {
			t.Fatalf("rank 1: %v", e)
		}
		for _, rank := range []int{0, 2, 3} {
			if want := fmt.Sprintf("r%d:fail@1", rank); string(replies[rank].Payload) != want {
				t.Errorf("rank %d: %q, want %q", rank, replies[rank].Payload, want)
			}
		}
	})
	t.Run("GatherDeadline", func(t *testing.T) {
		r, err := s.Broadcast(ctx, []byte("hang@3"))
		procs[3].Expect("hanging")
		replies, err := gather(t, testfix.Context(t, 200*time.Millisecond), r, err)
		procs[3].Send("release")
		var re *RoundError
		if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) || len(re.Ranks) != 1 {
			t.Fatalf("err = %v, want a *RoundError of rank 3 matching DeadlineExceeded", err)
		}
		if e := re.Rank(3); e == nil || e.Failure != Deadline {
			t.Fatalf("rank 3: %v", e)
		}
		for _, rank := range []int{0, 1, 2} {
			if replies[rank].Err != nil {
				t.Errorf("rank %d: %v", rank, replies[rank].Err)
			}
		}
	})
	t.Run("KilledWorkerMidRound", func(t *testing.T) {
		r, err := s.Broadcast(ctx, []byte("hang@2"))
		procs[2].Expect("hanging")
		procs[2].Kill()
		replies, err := gather(t, ctx, r, err)
		var re *RoundError
		if !errors.As(err, &re) || !errors.Is(err, ErrWorkerDown) || len(re.Ranks) != 1 {
			t.Fatalf("err = %v, want a *RoundError of rank 2 matching ErrWorkerDown", err)
		}
		if e := re.Rank(2); e == nil || e.Failure != Down || !errors.Is(e, ring.ErrProducerGone) {
			t.Fatalf("rank 2: %v, want down with ring.ErrProducerGone", e)
		}
		for _, rank := range []int{0, 1, 3} {
			if want := fmt.Sprintf("r%d:hang@2", rank); string(replies[rank].Payload) != want {
				t.Errorf("rank %d: %q, want %q", rank, replies[rank].Payload, want)
			}
		}
	})
	t.Run("RestartedWorkerRejoins", func(t *testing.T) {
		procs[2] = startWorker(top, s, 2, false)
		if err := s.Rendezvous(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := s.Broadcast(ctx, []byte("step2"))
		replies, err := gather(t, ctx, r, err)
		checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:step2", rank) })
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		p.Wait() // Serve returned nil at the end of the dispatch ring
	}
}

// TestFabric_Process_Typed runs typed rounds (codec/raw) against two
// worker processes: broadcast, call and scatter, each reply decoded.
func TestFabric_Process_Typed(t *testing.T) {
	const n = 2
	s, err := NewScheduler(testConfig(t, n))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	procs := []*childtest.Proc{startWorker(t, s, 0, true), startWorker(t, s, 1, true)}
	ctx := testfix.Context(t, 30*time.Second)
	if err := s.Rendezvous(ctx); err != nil {
		t.Fatal(err)
	}
	ts := NewTypedScheduler(s, raw.MustNew[testReq](), raw.MustNew[testRep]())
	check := func(replies []TypedReply[testRep], err error, want func(rank int) int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range replies {
			if r.Err != nil || r.Value.Rank != int64(r.Rank) || r.Value.Y != want(r.Rank) {
				t.Errorf("rank %d: %+v %v, want Y=%d", r.Rank, r.Value, r.Err, want(r.Rank))
			}
		}
	}
	r, err := ts.Broadcast(ctx, &testReq{Step: 1, X: 7})
	if err != nil {
		t.Fatal(err)
	}
	replies, err := r.Gather(ctx)
	check(replies, err, func(rank int) int64 { return 70 + int64(rank) })
	r, err = ts.Scatter(ctx, []testReq{{X: 1}, {X: 2}})
	if err != nil {
		t.Fatal(err)
	}
	replies, err = r.Gather(ctx)
	check(replies, err, func(rank int) int64 { return int64(rank+1)*10 + int64(rank) })
	r, err = ts.Call(ctx, 1, &testReq{X: 5})
	if err != nil {
		t.Fatal(err)
	}
	replies, err = r.Gather(ctx)
	if len(replies) != 1 || replies[0].Rank != 1 {
		t.Fatalf("call: %+v", replies)
	}
	check(replies, err, func(rank int) int64 { return 51 })

	// A raw request reaches a typed worker with the wrong schema tag: the
	// worker refuses it and the scheduler reports both ranks failed.
	rr, err := s.Broadcast(ctx, []byte("raw"))
	_, err = gather(t, ctx, rr, err)
	var re *RoundError
	if !errors.As(err, &re) || !errors.Is(err, ErrWorkerFailed) || len(re.Ranks) != n || !strings.Contains(err.Error(), "schema tag") {
		t.Fatalf("raw request to typed workers: %v, want both ranks failed on the schema tag", err)
	}
	s.Close()
	for _, p := range procs {
		p.Wait()
	}
}

// The scheduler plays this role in TestWorker_Process_SchedulerKilled.
var schedulerRole = childtest.Register("fabric.scheduler", func(t *testing.T, c *childtest.Child, cfg Config) {
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Rendezvous(testfix.Context(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Say("ready")
	c.Await("never") // until the parent kills this process
})

// TestWorker_Process_SchedulerKilled: a worker whose scheduler process is
// SIGKILLed gets an error matching ring.ErrProducerGone from Serve, not a
// hang.
func TestWorker_Process_SchedulerKilled(t *testing.T) {
	cfg := testConfig(t, 1)
	sched := schedulerRole.Start(t, cfg)
	l, err := cfg.Layout()
	if err != nil {
		t.Fatal(err)
	}
	// The killed scheduler cannot remove its rings: reclaim them.
	t.Cleanup(func() {
		for _, n := range l.Names() {
			ring.Reclaim(cfg.Backend, n)
		}
	})
	rc, _ := l.Runner(0)
	ctx := testfix.Context(t, 30*time.Second)
	w, err := NewWorker(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sched.Expect("ready")
	served := make(chan error, 1)
	go func() {
		served <- w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) { return reply, nil })
	}()
	sched.Kill()
	if err := <-served; !errors.Is(err, ring.ErrProducerGone) {
		t.Fatalf("Serve: %v, want ring.ErrProducerGone", err)
	}
}
