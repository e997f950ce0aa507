//go:build linux

package ring

// A suspended participant (SIGSTOP) is alive to the liveness policy: its
// process holds its liveness lock, so it is waited for, never detached or
// reported gone, however long it is stopped; on SIGCONT it goes on where
// it stopped, and nothing is lost or repeated. A required consumer is
// judged by its progress instead (Producer.Require): stopped, it stalls,
// and the producer applies the policy's action.

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
)

const (
	stopLiveness = 20 * time.Millisecond
	stopCapacity = 64
	// stopWait is how long a call must stay blocked on a stopped peer: many
	// liveness intervals, each with a probe that must find the peer alive.
	stopWait = 10 * stopLiveness
)

// suspend stops a child with SIGSTOP and returns what resumes it
// (SIGCONT); if the test ends first, the child is resumed then, so that
// it can be killed and reaped.
func suspend(t *testing.T, pid int) (resume func()) {
	t.Helper()
	signal := func(sig syscall.Signal) {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Errorf("kill %d %v: %v", pid, sig, err)
		}
	}
	signal(syscall.SIGSTOP)
	var once sync.Once
	resume = func() { once.Do(func() { signal(syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

// checkConsumed checks the result of a consume child that should have
// read all n events published, in order, then end of stream.
func checkConsumed(t *testing.T, child *childtest.Proc, n int64) {
	t.Helper()
	var r consumeResult
	child.Result(&r)
	if err := child.Exit(); err != nil {
		t.Fatalf("consumer: %v\n%s", err, child.Output())
	}
	if r.Count != n || r.First != 0 || r.Bad != 0 || r.End != "end_of_stream" {
		t.Fatalf("consumer read %d of %d events (first %d, %d bad: %s), ended by %q (%s)", r.Count, n, r.First, r.Bad, r.BadMsg, r.End, r.EndMsg)
	}
}

// TestMultiProcess_SIGSTOP_Consumer: a gating consumer stopped with
// SIGSTOP holds the producer back (the ring fills, Publish waits until
// its context ends) and is not detached: its liveness lock is held. After
// SIGCONT it reads every event, in order, through end of stream, and
// exits normally.
func TestMultiProcess_SIGSTOP_Consumer(t *testing.T) {
	name := PortableName("stopc")
	ctx := testfix.Context(t, procTimeout)
	p, err := Create[procEvent](name, Config{Capacity: stopCapacity, LivenessInterval: stopLiveness})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	child := spawn(t, procArgs{Role: "consume", Name: name, Backend: Shm, ID: "stopped", Liveness: stopLiveness})
	child.Expect("attached")
	var seq int64
	publish := func(ctx context.Context) error {
		if _, err := p.Publish(ctx, func(e *procEvent) { e.set(seq) }); err != nil {
			return err
		}
		seq++
		return nil
	}
	for range 4 * stopCapacity {
		if err := publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	resume := suspend(t, child.Pid())
	// Publish until the ring is full of events the stopped consumer has
	// not read: the producer must then wait, probing the consumer's lock
	// every liveness interval and finding it held.
	for {
		wctx, cancel := context.WithTimeout(ctx, stopWait)
		err := publish(wctx)
		cancel()
		if err == nil {
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("Publish with the consumer stopped: %v, want its context's deadline", err)
		}
		break
	}
	st := p.Stats()
	if st.DeadConsumers != 0 || len(st.Consumers) != 1 || st.Consumers[0].State != "active" {
		t.Fatalf("after %v with the consumer stopped: %d detached as dead, consumers %+v; want it active", stopWait, st.DeadConsumers, st.Consumers)
	}
	resume()
	for seq < 8*stopCapacity {
		if err := publish(ctx); err != nil {
			t.Fatalf("Publish after SIGCONT: %v", err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	checkConsumed(t, child, seq)
}

// TestMultiProcess_SIGSTOP_Producer: a consumer whose producer is stopped
// with SIGSTOP drains what was published and then waits: Recv ends only
// with its context, never with ErrProducerGone, and Stats says the
// producer is alive. After SIGCONT the producer goes on; the consumer
// reads every event in order through end of stream and the producer
// exits normally.
func TestMultiProcess_SIGSTOP_Producer(t *testing.T) {
	name := PortableName("stopp")
	ctx := testfix.Context(t, procTimeout)
	child := spawn(t, procArgs{Role: "produce", Name: name, Backend: Shm, Capacity: stopCapacity, Liveness: stopLiveness,
		N: -1, Consumers: 1, Announce: stopCapacity / 2}) // before the ring fills: this test reads only after
	child.Expect("created")
	c, err := Attach[procEvent](ctx, name, ConsumerConfig{ID: "reader", LivenessInterval: stopLiveness})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := consumeResult{First: -1, Last: -1, next: -1}
	read := func(ctx context.Context) error {
		seq := c.Position() + 1
		e, err := c.Recv(ctx)
		if err == nil {
			r.see(seq, &e)
		}
		return err
	}
	child.Expect("running")
	resume := suspend(t, child.Pid())
	// Drain what the producer published before it stopped; then Recv must
	// wait, probing the producer's lock every liveness interval and
	// finding it held.
	for {
		wctx, cancel := context.WithTimeout(ctx, stopWait)
		err := read(wctx)
		cancel()
		if err == nil {
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("Recv with the producer stopped, after %d events: %v, want its context's deadline", r.Count, err)
		}
		break
	}
	if !c.Stats().ProducerAlive {
		t.Fatal("Stats().ProducerAlive false while the producer is stopped")
	}
	stopped := r.Count
	resume()
	for r.Count < stopped+2*stopCapacity {
		if err := read(ctx); err != nil {
			t.Fatalf("Recv after SIGCONT, after %d events: %v", r.Count, err)
		}
	}
	child.Send("stop")
	var err2 error
	for err2 == nil {
		err2 = read(ctx)
	}
	if !errors.Is(err2, ErrEndOfStream) {
		t.Fatalf("after %d events: %v, want ErrEndOfStream", r.Count, err2)
	}
	var pr produceResult
	child.Result(&pr)
	if err := child.Exit(); err != nil {
		t.Fatalf("producer: %v\n%s", err, child.Output())
	}
	if r.Count != pr.Published || r.First != 0 || r.Bad != 0 {
		t.Fatalf("read %d of %d events (first %d, %d bad: %s)", r.Count, pr.Published, r.First, r.Bad, r.BadMsg)
	}
}

// TestMultiProcess_SIGSTOP_RequiredConsumer: a required consumer stopped
// with SIGSTOP makes no progress: the blocked publish applies the policy
// (here Shutdown: a *StallError naming it, and the ring closed). After
// SIGCONT the consumer reads every event published, in order, then gets
// end of stream, and exits normally.
func TestMultiProcess_SIGSTOP_RequiredConsumer(t *testing.T) {
	name := PortableName("stopr")
	ctx := testfix.Context(t, procTimeout)
	p, err := Create[procEvent](name, Config{Capacity: stopCapacity, LivenessInterval: stopLiveness})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.Require(RequiredConfig{IDs: []string{"stopped"}, ProgressTimeout: stopWait, GracePeriod: stopWait, Action: Shutdown})
	if err != nil {
		t.Fatal(err)
	}
	child := spawn(t, procArgs{Role: "consume", Name: name, Backend: Shm, ID: "stopped", Liveness: stopLiveness})
	child.Expect("attached")
	var seq int64
	fill := func(e *procEvent) { e.set(seq) }
	for range 4 * stopCapacity {
		if _, err := p.Publish(ctx, fill); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	resume := suspend(t, child.Pid())
	for err == nil {
		if _, err = p.Publish(ctx, fill); err == nil {
			seq++
		}
	}
	var se *StallError
	if !errors.As(err, &se) || se.ID != "stopped" || se.Action != Shutdown {
		t.Fatalf("Publish with the required consumer stopped: %v, want a *StallError for it with Shutdown", err)
	}
	if st := p.Stats(); st.State != "closed" {
		t.Fatalf("after the stall: ring %s, want closed", st.State)
	}
	resume()
	checkConsumed(t, child, seq)
}
