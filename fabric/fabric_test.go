package fabric

// In-process tests on the Heap (and File) backend: workers are goroutines.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
)

// startLocal starts n goroutine workers echoing "r<rank>:<request>" and
// returns a func that waits for their Serve to return and reports it,
// with each worker's Malformed count.
func startLocal(t *testing.T, s *Scheduler, n int) func() []uint64 {
	t.Helper()
	type outcome struct {
		rank      int
		err       error
		malformed uint64
	}
	ctx := testfix.Context(t, 30*time.Second)
	done := make(chan outcome, n)
	for rank := range n {
		rc, err := s.Layout().Runner(rank)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			w, err := NewWorker(ctx, rc)
			if err != nil {
				done <- outcome{rank: rank, err: err}
				return
			}
			defer w.Close()
			err = w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
				return fmt.Appendf(reply, "r%d:%s", w.Rank(), req), nil
			})
			done <- outcome{rank, err, w.Malformed()}
		}()
	}
	if err := s.Rendezvous(ctx); err != nil {
		t.Fatal(err)
	}
	return func() []uint64 {
		m := make([]uint64, n)
		for range n {
			o := <-done
			if o.err != nil {
				t.Errorf("rank %d: %v", o.rank, o.err)
			}
			m[o.rank] = o.malformed
		}
		return m
	}
}

func localConfig(t *testing.T, n int) Config {
	c := testConfig(t, n)
	c.Backend = ring.Heap
	return c
}

// Messages that are not well-formed requests or replies are skipped and
// counted, on both sides, and the rounds around them complete.
func TestFabric_MalformedMessagesSkipped(t *testing.T) {
	s, err := NewScheduler(localConfig(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := testfix.Context(t, 10*time.Second)
	// On the return ring, from a producer that joins it before the workers
	// (they take the other entries): a wrong kind, a short header, a rank
	// out of range, an unknown status, a down status without its cause's
	// length or with a cause longer than the payload.
	q, err := frame.Join(ctx, s.l.Return(), frame.JoinConfig{Backend: ring.Heap})
	if err != nil {
		t.Fatal(err)
	}
	rep := func(rank int, status uint32) []byte {
		b := make([]byte, replyHeaderSize)
		putReply(b, 1, status, rank)
		return b
	}
	for _, m := range []struct {
		kind    uint8
		payload []byte
	}{
		{9, rep(0, statusOK)}, {kindReply, []byte("short")}, {kindReply, rep(2, statusOK)}, {kindReply, rep(0, 7)},
		{kindReply, append(rep(0, statusDown), 1, 0)}, {kindReply, append(rep(0, statusDown), 5, 0, 0, 0, 'x')},
	} {
		if _, err := q.Send(ctx, m.kind, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	wait := startLocal(t, s, 2)

	// On the dispatch ring: a wrong kind, a short header, a reserved word set.
	bad := make([]byte, reqHeaderSize)
	putRequest(bad, 99, allRanks)
	bad[12] = 1
	for _, m := range []struct {
		kind    uint8
		payload []byte
	}{{7, make([]byte, 32)}, {kindRequest, []byte("short")}, {kindRequest, bad}} {
		if _, err := s.disp.Send(ctx, m.kind, m.payload); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.Broadcast(ctx, []byte("ok"))
	replies, err := gather(t, ctx, r, err)
	checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:ok", rank) })
	if got := s.Malformed(); got != 6 {
		t.Errorf("scheduler: %d malformed replies, want 6", got)
	}
	s.Close()
	for rank, m := range wait() {
		if m != 3 {
			t.Errorf("rank %d: %d malformed requests, want 3", rank, m)
		}
	}
}

// Close ends pending rounds (their ranks down, matching ErrClosed), later
// rounds fail with ErrClosed, and workers' Serve returns nil.
func TestScheduler_Close(t *testing.T) {
	s, err := NewScheduler(localConfig(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	wait := startLocal(t, s, 2)
	ctx := testfix.Context(t, 10*time.Second)
	r, err := s.Broadcast(ctx, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Call(ctx, 1, []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	if replies, err := r2.Gather(ctx); err != nil || string(replies[0].Payload) != "r1:y" {
		t.Fatalf("call: %v %v", replies, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// r's replies may have been read while r2 was gathered: either they
	// are there, or the ranks are down because the scheduler closed.
	replies, err := r.Gather(ctx)
	for _, rep := range replies {
		if rep.Err != nil && !(errors.Is(rep.Err, ErrClosed) && errors.Is(rep.Err, ErrWorkerDown)) {
			t.Errorf("rank %d: %v", rep.Rank, rep.Err)
		}
	}
	if err != nil && !errors.Is(err, ErrRound) {
		t.Errorf("gather after close: %v", err)
	}
	if _, err := s.Broadcast(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("broadcast after close: %v, want ErrClosed", err)
	}
	if err := s.Rendezvous(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("rendezvous after close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wait()
}

func TestScheduler_InvalidRounds(t *testing.T) {
	cfg := localConfig(t, 2)
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Call(ctx, 2, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("call to rank 2 of 2: %v", err)
	}
	if _, err := s.Scatter(ctx, make([][]byte, 3)); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("scatter of 3 to 2: %v", err)
	}
	// No worker attached: the round reports every rank down at once.
	r, err := s.Broadcast(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Gather(ctx)
	var re *RoundError
	if !errors.As(err, &re) || len(re.Ranks) != 2 || !errors.Is(err, ErrWorkerDown) {
		t.Fatalf("round without workers: %v", err)
	}
	// A second scheduler for the same live session is refused.
	if _, err := NewScheduler(cfg); !errors.Is(err, ring.ErrExist) {
		t.Errorf("second scheduler of a live session: %v, want ring.ErrExist", err)
	}
}

// The File backend: the same fabric with its segments as files in Dir.
func TestFabric_FileBackend(t *testing.T) {
	cfg := testConfig(t, 2)
	cfg.Backend, cfg.Dir = ring.File, t.TempDir()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	startWorker(t, s, 0, false)
	startWorker(t, s, 1, false)
	ctx := testfix.Context(t, 30*time.Second)
	if err := s.Rendezvous(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.Broadcast(ctx, []byte("file"))
	replies, err := gather(t, ctx, r, err)
	checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:file", rank) })
}

// A handler that returns a DownCause, wrapped, has its rank reported down
// (matching ErrWorkerDown and the cause itself, not ErrWorkerFailed) while
// the other rank answers; the worker stays attached, so the next round
// reaches its handler, which answers again.
func TestFabric_HandlerReportsDown(t *testing.T) {
	s, err := NewScheduler(localConfig(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := testfix.Context(t, 10*time.Second)
	const errGone = DownCause("test: backend gone")
	served := make(chan error, 2)
	for rank := range 2 {
		rc, err := s.Layout().Runner(rank)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			w, err := NewWorker(ctx, rc)
			if err != nil {
				served <- err
				return
			}
			defer w.Close()
			served <- w.Serve(ctx, func(_ context.Context, req, reply []byte) ([]byte, error) {
				if w.Rank() == 1 && string(req) == "down" {
					return nil, fmt.Errorf("%w: link lost", errGone)
				}
				return fmt.Appendf(reply, "r%d:%s", w.Rank(), req), nil
			})
		}()
	}
	if err := s.Rendezvous(ctx); err != nil {
		t.Fatal(err)
	}

	r, err := s.Broadcast(ctx, []byte("down"))
	replies, err := gather(t, ctx, r, err)
	var re *RoundError
	if !errors.As(err, &re) || len(re.Ranks) != 1 || !errors.Is(err, ErrWorkerDown) {
		t.Fatalf("round: %v, want a *RoundError of rank 1 matching ErrWorkerDown", err)
	}
	if replies[0].Err != nil || string(replies[0].Payload) != "r0:down" {
		t.Errorf("rank 0: %q, %v", replies[0].Payload, replies[0].Err)
	}
	e := re.Rank(1)
	switch {
	case e == nil || e.Failure != Down:
		t.Errorf("rank 1: %v, want down", e)
	case !errors.Is(e, ErrWorkerDown) || !errors.Is(e, errGone) || errors.Is(e, ErrWorkerFailed):
		t.Errorf("rank 1: %v, want ErrWorkerDown and the handler's cause, not ErrWorkerFailed", e)
	case e.Error() != "rank 1 down: test: backend gone: link lost":
		t.Errorf("rank 1: %q", e.Error())
	}

	r, err = s.Broadcast(ctx, []byte("up"))
	replies, err = gather(t, ctx, r, err)
	checkReplies(t, replies, err, func(rank int) string { return fmt.Sprintf("r%d:up", rank) })
	s.Close()
	for range 2 {
		if err := <-served; err != nil {
			t.Error(err)
		}
	}
}
