//go:build linux

package frame

// A segment truncated under a framed producer or consumer, with real
// processes: the participant parked in Send or Recv gets
// ring.ErrTruncated, again on its next call, closes and exits normally
// (no SIGBUS); this process's handle, guarded on its fast paths
// (TruncationGuard), gets it too.

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/shm"
	"github.com/myelon-go/myelon/internal/testfix"
	"github.com/myelon-go/myelon/ring"
)

const (
	truncCapacity = 32
	truncTimeout  = 30 * time.Second
)

type truncArgs struct {
	Backend ring.Backend
	Name    string
	Kind    string // producer or consumer
}

type truncResult struct {
	Err       string
	Truncated bool // errors.Is(err, ring.ErrTruncated)
	Again     bool // the next call says so again
	Closed    bool // Close returned nil or ring.ErrTruncated
}

var truncRole = childtest.Register("frame.truncated", func(t *testing.T, ch *childtest.Child, a truncArgs) {
	ctx := testfix.Context(t, truncTimeout)
	payload := make([]byte, 100)
	var op func() error
	var close func() error
	if a.Kind == "producer" {
		p, err := Create(a.Name, Config{Backend: a.Backend, Capacity: truncCapacity, PayloadCapacity: 128})
		if err != nil {
			t.Fatal(err)
		}
		ch.Say("ready")
		ch.Await("go")
		n := 0
		op = func() error {
			for {
				if _, err := p.Send(ctx, 1, payload); err != nil {
					return err
				}
				if n++; n == truncCapacity {
					ch.Say("full") // the next Send parks for room
				}
			}
		}
		close = p.Close
	} else {
		c, err := Attach(ctx, a.Name, ConsumerConfig{Backend: a.Backend})
		if err != nil {
			t.Fatal(err)
		}
		ch.Say("ready")
		ch.Await("go")
		buf := make([]byte, 128)
		n := 0
		op = func() error {
			for {
				if _, _, err := c.Recv(ctx, buf); err != nil {
					return err
				}
				if n++; n == truncCapacity/2 {
					ch.Say("full") // read everything: the next Recv parks
				}
			}
		}
		close = c.Close
	}
	var r truncResult
	err := op()
	r.Err, r.Truncated = err.Error(), errors.Is(err, ring.ErrTruncated)
	r.Again = errors.Is(op(), ring.ErrTruncated)
	err = close()
	r.Closed = err == nil || errors.Is(err, ring.ErrTruncated)
	ch.Result(r)
})

// TestFrame_Process_Truncated: a framed producer parked for room and a
// framed consumer parked for a message, on both file-backed backends, get
// ring.ErrTruncated when this process truncates their segment to nothing,
// and exit with status 0.
func TestFrame_Process_Truncated(t *testing.T) {
	for _, b := range []ring.Backend{ring.Shm, ring.File} {
		for _, kind := range []string{"producer", "consumer"} {
			t.Run(b.String()+"/"+kind, func(t *testing.T) {
				name := ring.PortableName("ftrunc")
				if b == ring.File {
					name = filepath.Join(t.TempDir(), name)
				}
				defer shm.Remove(b, name)
				testTruncated(t, truncArgs{Backend: b, Name: name, Kind: kind})
			})
		}
	}
}

func testTruncated(t *testing.T, a truncArgs) {
	ctx := testfix.Context(t, truncTimeout)
	o := childtest.Options{Timeout: truncTimeout, Life: 3 * truncTimeout}
	payload := make([]byte, 100)
	var child *childtest.Proc
	var other func() error // this process's call on its own handle, after the truncation
	var parked func() bool // the counters show the child parked
	if a.Kind == "producer" {
		child = truncRole.Start(t, a, o)
		child.Expect("ready")
		c, err := Attach(ctx, a.Name, ConsumerConfig{Backend: a.Backend, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 128)
		other = func() error { _, _, err := c.Recv(ctx, buf); return err }
		parked = func() bool { return c.Stats().Ring.ProducerParks > 0 }
	} else {
		p, err := Create(a.Name, Config{Backend: a.Backend, Capacity: truncCapacity, PayloadCapacity: 128, TruncationGuard: true})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		child = truncRole.Start(t, a, o)
		child.Expect("ready")
		for range truncCapacity / 2 {
			if _, err := p.Send(ctx, 1, payload); err != nil {
				t.Fatal(err)
			}
		}
		other = func() error { _, err := p.Send(ctx, 1, payload); return err }
		parked = func() bool {
			for _, c := range p.Stats().Ring.Consumers {
				if c.Parks > 0 {
					return true
				}
			}
			return false
		}
	}
	child.Send("go")
	child.Expect("full")
	// Truncate once the child is parked: waits are guarded by default.
	for !parked() {
		if ctx.Err() != nil {
			t.Fatalf("the framed %s never parked", a.Kind)
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.Truncate(shm.Path(a.Backend, a.Name), 0); err != nil {
		t.Fatal(err)
	}
	var r truncResult
	child.Result(&r)
	if err := child.Exit(); err != nil {
		if child.KilledBy(syscall.SIGBUS) {
			t.Fatalf("the framed %s died of SIGBUS", a.Kind)
		}
		t.Fatalf("child: %v; output:\n%s", err, child.Output())
	}
	t.Logf("framed %s: %s", a.Kind, r.Err)
	if !r.Truncated || !r.Again || !r.Closed {
		t.Errorf("framed %s after the truncation: %+v; want ErrTruncated twice, then Close nil or ErrTruncated", a.Kind, r)
	}
	if err := other(); !errors.Is(err, ring.ErrTruncated) {
		t.Errorf("this process's handle after the truncation: %v, want ring.ErrTruncated", err)
	}
}
