package ring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
)

// followed is what a follower child read from one segment: the producer
// that created it, the sequences it read there and how reading ended.
type followed struct {
	OwnerPID    uint32
	First, Last int64
	Count       int64
	Bad         int64
	BadMsg      string
	End         string
}

// follow is the consumer a supervisor's restarts must not strand: it reads
// under one id, and whenever its producer is gone it attaches again (to the
// restarted producer's ring) until the stream ends cleanly.
func follow(t *testing.T, ch *childtest.Child, a procArgs) {
	w, err := ParseWaitStrategy(a.Wait)
	if err != nil {
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	var segs []followed
	for {
		c, err := Attach[procEvent](ctx, a.Name, ConsumerConfig{Backend: a.Backend, ID: a.ID, Wait: w, LivenessInterval: a.Liveness})
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		f := followed{OwnerPID: c.Info().OwnerPID, First: -1, Last: -1}
		r := consumeResult{First: -1, Last: -1, next: -1}
		for {
			var e procEvent
			if e, err = c.Recv(ctx); err != nil {
				break
			}
			r.see(e.Seq, &e)
		}
		f.First, f.Last, f.Count, f.Bad, f.BadMsg, f.End = r.First, r.Last, r.Count, r.Bad, r.BadMsg, errName(err)
		segs = append(segs, f)
		c.Close()
		ch.Say("segment %d %s %d", f.OwnerPID, f.End, f.Count)
		if !errors.Is(err, ErrProducerGone) {
			break
		}
		// The dead producer's segment stays under the name until its
		// successor replaces it: attaching again may find it once more
		// (ErrProducerGone at once); pause rather than spin on it.
		time.Sleep(5 * time.Millisecond)
	}
	ch.Result(segs)
}

// TestProcess_SupervisorRestartsKilledProducer: a supervisor (this test)
// runs a producer process, SIGKILLs it mid-stream twice and restarts it
// under the same name each time, with no manual step: Create replaces the
// dead owner's segment. The consumer process is told each time (its reads
// end with ErrProducerGone after the events it had, never a hang), attaches
// again under its id and goes on with the next producer's stream, in
// order, to the final clean end of stream.
func TestProcess_SupervisorRestartsKilledProducer(t *testing.T) {
	name := segName(t, Shm, "restart")
	const liveness = 20 * time.Millisecond
	follower := spawn(t, procArgs{Role: "follow", Name: name, ID: "follower", Wait: "block", Liveness: liveness})
	var pids []int
	const final = 500
	for gen := range 3 {
		a := procArgs{Role: "produce", Name: name, Capacity: 64, Liveness: liveness, Consumers: 1, Wait: "block"}
		if gen < 2 {
			a.N, a.Pace, a.Announce, a.After = -1, time.Millisecond, 200, "hang"
		} else {
			a.N = final
		}
		p := spawn(t, a)
		if line := p.Expect("created"); line == "" {
			t.Fatalf("generation %d: producer did not create the ring: %s", gen, p.Output())
		}
		pids = append(pids, p.Pid())
		if gen < 2 {
			p.Expect("running")
			p.Kill() // SIGKILL mid-stream: no Close, the segment stays behind
			follower.Expect(fmt.Sprintf("segment %d producer_gone", p.Pid()))
			continue
		}
		var res produceResult
		p.Result(&res)
		if res.Err != "" || res.Published != final {
			t.Fatalf("final producer: %+v", res)
		}
	}
	var segs []followed
	follower.Result(&segs)
	// Group what the follower read by producer: each producer's stream
	// must have been read in order from its first event, without a gap.
	byPID := map[uint32][]followed{}
	for _, f := range segs {
		if f.Bad != 0 {
			t.Fatalf("segment of pid %d: %d bad events: %s", f.OwnerPID, f.Bad, f.BadMsg)
		}
		byPID[f.OwnerPID] = append(byPID[f.OwnerPID], f)
	}
	for gen, pid := range pids {
		fs := byPID[uint32(pid)]
		if len(fs) == 0 {
			t.Fatalf("generation %d (pid %d): the follower never read its ring; segments %+v", gen, pid, segs)
		}
		next := int64(0)
		var count int64
		for _, f := range fs {
			if f.Count > 0 && f.First != next {
				t.Fatalf("generation %d: a segment read from %d, want %d (gap or repeat): %+v", gen, f.First, next, fs)
			}
			if f.Count > 0 {
				next = f.Last + 1
			}
			count += f.Count
		}
		last := fs[len(fs)-1]
		switch {
		case gen < 2 && (last.End != "producer_gone" || count < 200-64):
			t.Fatalf("killed generation %d: read %d events, ended %q; want producer_gone after at least %d", gen, count, last.End, 200-64)
		case gen == 2 && (last.End != "end_of_stream" || count != final):
			t.Fatalf("final generation: read %d events, ended %q; want %d and end_of_stream", count, last.End, final)
		}
		t.Logf("generation %d (pid %d): %d events in %d attachment(s), ended %s", gen, pid, count, len(fs), last.End)
	}
	if _, err := os.Stat("/dev/shm/" + name); err == nil {
		t.Errorf("the final producer's Close left its segment behind")
	}
}
