package fabric

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/codec/raw"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
)

type poolArgs struct {
	Runner RunnerConfig
	Hang   bool // on the request "hang", say "hanging" and wait to be killed
}

// The pool worker answers "<id>:<request>".
var poolRole = childtest.Register("fabric.pool-worker", func(t *testing.T, c *childtest.Child, a poolArgs) {
	ctx, w := joinWorker(t, c, a.Runner)
	err := w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
		if a.Hang && string(req) == "hang" {
			c.Say("hanging")
			c.Await("never") // until the parent kills this process
		}
		return fmt.Appendf(reply, "%s:%s", w.ID(), req), nil
	})
	if err != nil {
		t.Fatal(err)
	}
})

func startPoolWorker(t *testing.T, p *Pool, id string, hang bool) *childtest.Proc {
	t.Helper()
	rc, err := p.Layout().PoolRunner(id)
	if err != nil {
		t.Fatal(err)
	}
	return poolRole.Start(t, poolArgs{Runner: rc, Hang: hang}, childtest.Options{Life: 60 * time.Second})
}

// TestPool_Process_KilledWorkerRequestServedByAnother: a pool worker
// process is SIGKILLed while it serves a request; the request is
// redelivered to the other worker, whose reply reaches the caller. Then
// many goroutines share the pool (the dead worker restarted under its id),
// each getting its own replies.
func TestPool_Process_KilledWorkerRequestServedByAnother(t *testing.T) {
	p, err := NewPool(testConfig(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := testfix.Context(t, 30*time.Second)
	w0 := startPoolWorker(t, p, "w0", true)
	if err := p.WaitWorkers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	type result struct {
		reply []byte
		err   error
	}
	res := make(chan result, 1)
	go func() {
		r, err := p.Do(ctx, []byte("hang"))
		res <- result{r, err}
	}()
	w0.Expect("hanging")
	w1 := startPoolWorker(t, p, "w1", false)
	w1.Expect("joined")
	w0.Kill()
	r := <-res
	if r.err != nil || string(r.reply) != "w1:hang" {
		t.Fatalf("Do(hang) = %q, %v; want w1:hang", r.reply, r.err)
	}
	if g := p.s.disp.Stats().Ring.Groups; len(g) != 1 || g[0].Redelivered == 0 || g[0].Lost != 0 {
		t.Errorf("group stats %+v, want a redelivery and nothing lost", g)
	}

	w0 = startPoolWorker(t, p, "w0", false)
	w0.Expect("joined")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				req := fmt.Sprintf("g%d-%d", g, i)
				reply, err := p.Do(ctx, []byte(req))
				id, body, _ := strings.Cut(string(reply), ":")
				if err != nil || body != req || (id != "w0" && id != "w1") {
					errs <- fmt.Errorf("Do(%s) = %q, %v", req, reply, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	w0.Wait()
	w1.Wait()
}

func TestPool_Do_Invalid(t *testing.T) {
	cfg := testConfig(t, 2)
	cfg.Backend = ring.Heap // no process needed
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Do(context.Background(), make([]byte, cfg.PayloadCapacity-reqHeaderSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized request: %v, want ErrTooLarge", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Do(ctx, []byte("nobody")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request without workers: %v, want DeadlineExceeded", err)
	}
	p.Close()
	if _, err := p.Do(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	if _, err := p.Layout().PoolRunner(""); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty id: %v", err)
	}
}

// Typed requests through a pool (workers are goroutines on the Heap
// backend), and a raw request refused by a typed worker.
func TestTypedPool_Do(t *testing.T) {
	cfg := testConfig(t, 2)
	cfg.Backend = ring.Heap
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := testfix.Context(t, 10*time.Second)
	served := make(chan error, 2)
	for _, id := range []string{"a", "b"} {
		rc, err := p.Layout().PoolRunner(id)
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
			served <- ServeTyped(ctx, w, raw.MustNew[testReq](), raw.MustNew[testRep](), func(ctx context.Context, req *testReq, rep *testRep) error {
				*rep = testRep{Y: req.X * 10, Step: req.Step}
				return nil
			})
		}()
	}
	if err := p.WaitWorkers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	tp := NewTypedPool(p, raw.MustNew[testReq](), raw.MustNew[testRep]())
	for i := range 20 {
		var rep testRep
		if err := tp.Do(ctx, &testReq{Step: uint64(i), X: int64(i)}, &rep); err != nil || rep.Y != int64(i)*10 || rep.Step != uint64(i) {
			t.Fatalf("Do(%d) = %+v, %v", i, rep, err)
		}
	}
	if _, err := p.Do(ctx, []byte("raw")); !errors.Is(err, ErrWorkerFailed) || !strings.Contains(err.Error(), "schema tag") {
		t.Fatalf("raw request to a typed worker: %v, want a failure on the schema tag", err)
	}
	p.Close()
	for range 2 {
		if err := <-served; err != nil {
			t.Error(err)
		}
	}
}
