//go:build linux

package ring

// A segment truncated under a participant, with real processes: whatever
// the participant was doing (a producer parked on a full ring, a consumer
// parked on an empty one), it gets ErrTruncated, its Stats say so, Close
// releases it, and its process exits normally: no SIGBUS. This process
// plays the other side and meets the truncation too.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/shm"
	"github.com/myelon-go/myelon/internal/testfix"
)

const truncCapacity = 64

type truncArgs struct {
	Backend Backend
	Name    string
	Kind    string // producer, joined, consumer, observer, member
}

// truncResult is what the child saw after the parent truncated the
// segment.
type truncResult struct {
	Err       string
	Truncated bool // errors.Is(err, ErrTruncated)
	Again     bool // the next call says so again
	State     string
	Closed    bool // Close returned nil or ErrTruncated
	CloseErr  string
}

var truncRole = childtest.Register("ring.truncated", func(t *testing.T, ch *childtest.Child, a truncArgs) {
	ctx := testfix.Context(t, procTimeout)
	var (
		op    func() error // the call the truncation interrupts
		stats func() Stats
		close func() error
	)
	switch a.Kind {
	case "producer", "joined":
		var p *Producer[procEvent]
		var err error
		if a.Kind == "producer" {
			p, err = Create[procEvent](a.Name, Config{Backend: a.Backend, Capacity: truncCapacity})
		} else {
			p, err = Join[procEvent](ctx, a.Name, JoinConfig{Backend: a.Backend})
		}
		if err != nil {
			t.Fatal(err)
		}
		ch.Say("ready")
		ch.Await("go")
		// The parent's consumer reads nothing: the ring fills and the
		// producer parks for space, where the truncation finds it.
		var seq int64
		op = func() error {
			for {
				if _, err := p.Publish(ctx, func(e *procEvent) { e.set(seq) }); err != nil {
					return err
				}
				if seq++; seq == truncCapacity {
					ch.Say("full")
				}
			}
		}
		stats, close = p.Stats, p.Close
	default:
		cfg := ConsumerConfig{Backend: a.Backend, ID: "c"}
		switch a.Kind {
		case "observer":
			cfg.Observer = true
		case "member":
			cfg.Group = "g"
		}
		c, err := Attach[procEvent](ctx, a.Name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ch.Say("ready")
		ch.Await("go")
		op = func() error {
			for {
				ev, err := c.Recv(ctx)
				if err != nil {
					return err
				}
				if ev.Seq == truncCapacity/2-1 {
					ch.Say("full") // read everything: the next Recv parks
				}
			}
		}
		stats, close = c.Stats, c.Close
	}
	var r truncResult
	err := op()
	r.Err, r.Truncated = err.Error(), errors.Is(err, ErrTruncated)
	r.Again = errors.Is(op(), ErrTruncated)
	r.State = stats().State
	if err := close(); err != nil {
		r.CloseErr = err.Error()
		r.Closed = errors.Is(err, ErrTruncated)
	} else {
		r.Closed = true
	}
	ch.Result(r)
})

// TestMultiProcess_Truncated: for every participant kind (producer,
// joined producer, consumer, observer, group member) and both file-backed
// backends, a child parked in a blocking call (guarded by default) gets
// ErrTruncated when the parent truncates the segment to nothing, again on
// its next call, reads Stats().State "truncated", closes, and exits with
// status 0; the parent's own handle, whose next call takes the fast path
// (Config.TruncationGuard), gets ErrTruncated too.
func TestMultiProcess_Truncated(t *testing.T) {
	for _, b := range []Backend{Shm, File} {
		for _, kind := range []string{"producer", "joined", "consumer", "observer", "member"} {
			t.Run(b.String()+"/"+kind, func(t *testing.T) {
				name := PortableName("trunc")
				if b == File {
					name = filepath.Join(t.TempDir(), name)
				}
				defer shm.Remove(b, name)
				testTruncated(t, truncArgs{Backend: b, Name: name, Kind: kind})
			})
		}
	}
}

func testTruncated(t *testing.T, a truncArgs) {
	ctx := testfix.Context(t, procTimeout)
	o := childtest.Options{Timeout: procTimeout, Life: procDeadline}
	var child *childtest.Proc
	var other func() error // the parent's call on its own handle, after the truncation
	var stats func() Stats // the parent's view of the counters, to see the child park
	switch a.Kind {
	case "producer", "joined":
		if a.Kind == "producer" {
			child = truncRole.Start(t, a, o)
			child.Expect("ready")
		} else {
			p, err := Create[procEvent](a.Name, Config{Backend: a.Backend, Capacity: truncCapacity, MaxProducers: 2, TruncationGuard: true})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			child = truncRole.Start(t, a, o)
			child.Expect("ready")
		}
		c, err := Attach[procEvent](ctx, a.Name, ConsumerConfig{Backend: a.Backend, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		other = func() error { _, err := c.Recv(ctx); return err }
		stats = c.Stats
	default:
		p, err := Create[procEvent](a.Name, Config{Backend: a.Backend, Capacity: truncCapacity, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		child = truncRole.Start(t, a, o)
		child.Expect("ready")
		for seq := int64(0); seq < truncCapacity/2; seq++ {
			if _, err := p.Publish(ctx, func(e *procEvent) { e.set(seq) }); err != nil {
				t.Fatal(err)
			}
		}
		other = func() error { _, err := p.Publish(ctx, func(e *procEvent) {}); return err }
		stats = p.Stats
	}
	child.Send("go")
	child.Expect("full")
	// Truncate once the child is parked: waits are guarded by default
	// (a truncation that finds a participant on a fast path needs
	// TruncationGuard, as the parent's handle has).
	waitParked(t, ctx, stats, a.Kind)
	if err := os.Truncate(shm.Path(a.Backend, a.Name), 0); err != nil {
		t.Fatal(err)
	}
	var r truncResult
	child.Result(&r)
	if err := child.Exit(); err != nil {
		if child.KilledBy(syscall.SIGBUS) {
			t.Fatalf("the %s died of SIGBUS", a.Kind)
		}
		t.Fatalf("child: %v; output:\n%s", err, child.Output())
	}
	t.Logf("%s: %s; close: %q", a.Kind, r.Err, r.CloseErr)
	if !r.Truncated || !r.Again || r.State != "truncated" || !r.Closed {
		t.Errorf("%s after the truncation: %+v; want ErrTruncated twice, State truncated, Close nil or ErrTruncated", a.Kind, r)
	}
	if err := other(); !errors.Is(err, ErrTruncated) {
		t.Errorf("this process's handle after the truncation: %v, want ErrTruncated", err)
	}
}

// waitParked waits until the counters show the child parked: a producer
// kind for space (Stats.ProducerParks), a consumer kind ("c") for data.
func waitParked(t *testing.T, ctx context.Context, stats func() Stats, kind string) {
	t.Helper()
	for {
		st := stats()
		if (kind == "producer" || kind == "joined") && st.ProducerParks > 0 {
			return
		}
		for _, c := range st.Consumers {
			if c.ID == "c" && c.Parks > 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the %s never parked: %v", kind, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
