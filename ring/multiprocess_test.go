package ring

// Multi-process tests: producer and consumers are separate OS processes
// (the test binary re-executed, see proc_test.go), sharing the ring only
// through the segment. Every wait is bounded; children are killed when a
// test ends.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/testfix"
)

// procCount is full in a normal run and short under -short.
func procCount(full, short int64) int64 {
	if testing.Short() {
		return short
	}
	return full
}

// checkStream asserts that a consumer child read exactly the sequences
// [first, last], in order, each with intact contents, and was not lapped.
func checkStream(t *testing.T, who string, r consumeResult, first, last int64) {
	t.Helper()
	if r.Bad != 0 {
		t.Errorf("%s: %d bad events, first: %s", who, r.Bad, r.BadMsg)
	}
	if len(r.Lapped) != 0 {
		t.Errorf("%s: lapped: %+v", who, r.Lapped)
	}
	if want := last - first + 1; r.Count != want || r.First != first || r.Last != last {
		t.Errorf("%s: read %d events [%d, %d], want %d events [%d, %d]", who, r.Count, r.First, r.Last, want, first, last)
	}
}

func checkEnd(t *testing.T, who string, r consumeResult, want string) {
	t.Helper()
	if r.End != want {
		t.Errorf("%s: reading ended with %s (%s), want %s", who, r.End, r.EndMsg, want)
	}
}

// TestMultiProcess_SPSC_MillionInOrder streams 1,000,000 events (100,000
// with -short) from a producer process to a consumer process, on the shm
// and the file backend: the consumer sees every sequence once, in order,
// with every field intact, then end of stream.
func TestMultiProcess_SPSC_MillionInOrder(t *testing.T) {
	n := procCount(1_000_000, 100_000)
	for _, b := range []Backend{Shm, File} {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b, "spsc")
			prod := spawn(t, procArgs{Role: "produce", Name: name, Backend: b, Capacity: 4096, N: n, Consumers: 1})
			prod.Expect("created")
			cons := spawn(t, procArgs{Role: "consume", Name: name, Backend: b, ID: "spsc", Read: "next"})
			if start := cons.ExpectInt("attached"); start != -1 {
				t.Fatalf("consumer attached at position %d before anything was published, want -1", start)
			}
			begin := time.Now()
			var pr produceResult
			prod.Result(&pr)
			var cr consumeResult
			cons.Result(&cr)
			prod.Wait()
			cons.Wait()
			t.Logf("%d events in %v (%.1f M events/s)", n, time.Since(begin), float64(n)/time.Since(begin).Seconds()/1e6)
			if pr.Err != "" || pr.Published != n {
				t.Fatalf("producer: published %d, err %q; want %d", pr.Published, pr.Err, n)
			}
			checkStream(t, "consumer", cr, 0, n-1)
			checkEnd(t, "consumer", cr, "end_of_stream")
		})
	}
}

// TestMultiProcess_OneProducerThreeConsumers broadcasts to three consumer
// processes (lease, process and iterator reads; Block, Block and Yield
// waits: never more than two spinning processes on this 2-core machine).
// Each sees every event in order.
func TestMultiProcess_OneProducerThreeConsumers(t *testing.T) {
	n := procCount(200_000, 20_000)
	name := segName(t, Shm, "spmc")
	prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 1024, N: n, Batch: 32, Consumers: 3})
	prod.Expect("created")
	reads := []struct{ read, wait string }{{"lease", "block"}, {"process", "block"}, {"all", "yield"}}
	var cons []*childtest.Proc
	for i, r := range reads {
		c := spawn(t, procArgs{Role: "consume", Name: name, ID: "c" + r.read, Read: r.read, Wait: r.wait})
		if start := c.ExpectInt("attached"); start != -1 {
			t.Fatalf("consumer %d attached at %d, want -1", i, start)
		}
		cons = append(cons, c)
	}
	var pr produceResult
	prod.Result(&pr)
	if pr.Err != "" || pr.Published != n {
		t.Fatalf("producer: published %d, err %q; want %d", pr.Published, pr.Err, n)
	}
	if len(pr.Stats.Consumers) != 3 {
		t.Errorf("producer saw %d consumer entries, want 3: %+v", len(pr.Stats.Consumers), pr.Stats.Consumers)
	}
	for i, c := range cons {
		var cr consumeResult
		c.Result(&cr)
		c.Wait()
		checkStream(t, reads[i].read+" consumer", cr, 0, n-1)
		checkEnd(t, reads[i].read+" consumer", cr, "end_of_stream")
	}
	prod.Wait()
}

// TestMultiProcess_LateJoin_StartsAtProducerPosition attaches a consumer
// process while the producer process is streaming: its first event is at
// or after the published count it saw just before attaching (never 0), and
// it then reads every later event in order up to the last one published.
func TestMultiProcess_LateJoin_StartsAtProducerPosition(t *testing.T) {
	const announce = 5000
	name := segName(t, Shm, "late")
	prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 1024, N: -1, Pace: 20 * time.Microsecond, Announce: announce})
	prod.Expect("running")
	cons := spawn(t, procArgs{Role: "consume", Name: name, ID: "late", Inspect: true})
	start := cons.ExpectInt("attached")
	time.Sleep(200 * time.Millisecond) // let it read a stretch of the stream
	prod.Send("stop")
	total := prod.ExpectInt("published")
	var pr produceResult
	prod.Result(&pr)
	var cr consumeResult
	cons.Result(&cr)
	prod.Wait()
	cons.Wait()
	t.Logf("published %d before attach, consumer started after %d, read [%d, %d] of %d", cr.Before, start, cr.First, cr.Last, total)
	if cr.Before < announce {
		t.Fatalf("consumer saw %d published before attaching, want >= %d", cr.Before, announce)
	}
	if cr.Start != start || cr.Start+1 < cr.Before {
		t.Errorf("consumer started after %d (said %d), want >= %d (published before attach - 1)", cr.Start, start, cr.Before-1)
	}
	if cr.Count == 0 {
		t.Fatalf("late consumer read nothing in 200ms of streaming (published %d)", total)
	}
	checkStream(t, "late consumer", cr, cr.Start+1, total-1)
	if cr.First == 0 {
		t.Errorf("late consumer started at 0")
	}
	checkEnd(t, "late consumer", cr, "end_of_stream")
}

// TestMultiProcess_Rejoin_ResumesByID: a consumer process reads part of the
// stream and leaves (Close, or SIGKILL); another process attaching under
// the same id resumes right after the last event consumed: no gap, no
// duplicate, unless the producer lapped the dead one, which the rejoiner
// learns as a *LappedError whose count accounts for every event.
func TestMultiProcess_Rejoin_ResumesByID(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		// Capacity above n: with the first consumer gone nothing gates the
		// producer, and it must not lap the id's position.
		const n, k = 3000, 1000
		name := segName(t, Shm, "rejc")
		prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 4096, N: n, Consumers: 1, After: "hang"})
		prod.Expect("created")
		a := spawn(t, procArgs{Role: "consume", Name: name, ID: "r", Read: "process", Stop: k, After: "close"})
		var ar consumeResult
		a.Result(&ar)
		a.Wait()
		checkStream(t, "first consumer", ar, 0, k-1)
		b := spawn(t, procArgs{Role: "consume", Name: name, ID: "r"})
		if start := b.ExpectInt("attached"); start != k-1 {
			t.Errorf("rejoined at position %d, want %d", start, k-1)
		}
		prod.ExpectInt("published")
		prod.Send("close")
		var br consumeResult
		b.Result(&br)
		b.Wait()
		prod.Wait()
		checkStream(t, "rejoined consumer", br, k, n-1)
		checkEnd(t, "rejoined consumer", br, "end_of_stream")
	})

	const capacity, k = 64, 1000
	const n = k + 10*capacity
	// killFirst runs a first consumer "r" that reads k events and is then
	// killed while the producer is gated on it.
	killFirst := func(t *testing.T, name string) {
		a := spawn(t, procArgs{Role: "consume", Name: name, ID: "r", Stop: k, After: "hang"})
		if pos := a.ExpectInt("pos"); pos != k-1 {
			t.Fatalf("first consumer stopped at %d, want %d", pos, k-1)
		}
		var ar consumeResult
		a.Result(&ar)
		checkStream(t, "first consumer", ar, 0, k-1)
		// The producer is gated exactly one lap ahead of the stopped consumer.
		waitFor(t, "the producer to fill the ring", func() bool {
			_, st, err := Inspect(Shm, name)
			return err == nil && st.Published == k+capacity
		})
		a.Kill()
	}

	t.Run("sigkill_gated", func(t *testing.T) {
		// The producer's liveness interval is longer than the test: it is
		// still gated on the dead consumer's entry when the id rejoins, so
		// nothing may be lost.
		name := segName(t, Shm, "rejg")
		prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: capacity, N: n, Consumers: 1, Liveness: time.Minute})
		prod.Expect("created")
		killFirst(t, name)
		if _, st, err := Inspect(Shm, name); err != nil || st.Published != k+capacity {
			t.Fatalf("after the kill: published %d (%v), want the producer still gated at %d", st.Published, err, k+capacity)
		}
		b := spawn(t, procArgs{Role: "consume", Name: name, ID: "r"})
		if start := b.ExpectInt("attached"); start != k-1 {
			t.Errorf("rejoined at position %d, want %d", start, k-1)
		}
		var pr produceResult
		prod.Result(&pr)
		var br consumeResult
		b.Result(&br)
		prod.Wait()
		b.Wait()
		checkStream(t, "rejoined consumer", br, k, n-1)
		checkEnd(t, "rejoined consumer", br, "end_of_stream")
		if pr.Stats.DeadConsumers != 0 {
			t.Errorf("producer detached %d dead consumers, want 0 (the rejoin took the entry over)", pr.Stats.DeadConsumers)
		}
	})

	t.Run("sigkill_lapped", func(t *testing.T) {
		// A short liveness interval: the producer detaches the dead
		// consumer and laps its position before the id rejoins.
		name := segName(t, Shm, "rejl")
		prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: capacity, N: n, Consumers: 1, Liveness: 50 * time.Millisecond, After: "hang"})
		prod.Expect("created")
		killFirst(t, name)
		if got := prod.ExpectInt("published"); got != n {
			t.Fatalf("producer published %d, want %d", got, n)
		}
		b := spawn(t, procArgs{Role: "consume", Name: name, ID: "r"})
		start := b.ExpectInt("attached")
		prod.Send("close")
		var pr produceResult
		prod.Result(&pr)
		var br consumeResult
		b.Result(&br)
		prod.Wait()
		b.Wait()
		if pr.Stats.DeadConsumers != 1 {
			t.Errorf("producer detached %d dead consumers, want 1", pr.Stats.DeadConsumers)
		}
		if len(br.Lapped) != 1 {
			t.Fatalf("rejoined consumer got %d lapped errors (%+v), want 1", len(br.Lapped), br.Lapped)
		}
		l := br.Lapped[0]
		t.Logf("rejoined at %d: %+v", start, l)
		if l.ResumeAt < n-capacity || l.ResumeAt > n || start != l.ResumeAt-1 {
			t.Errorf("resume at %d (position %d), want in [%d, %d] (the oldest event still safe)", l.ResumeAt, start, n-capacity, n)
		}
		if l.Missed != l.ResumeAt-k {
			t.Errorf("missed %d, want %d (from the first consumer's end %d to the resume point %d)", l.Missed, l.ResumeAt-k, k, l.ResumeAt)
		}
		if br.Bad != 0 || (br.Count > 0 && (br.First != l.ResumeAt || br.Last != n-1)) || k+l.Missed+br.Count != n {
			t.Errorf("rejoined consumer read %d events [%d, %d] (%d bad: %s); with %d read before and %d missed, want all %d accounted for",
				br.Count, br.First, br.Last, br.Bad, br.BadMsg, k, l.Missed, n)
		}
		checkEnd(t, "rejoined consumer", br, "end_of_stream")
	})
}

// TestMultiProcess_ConsumerKilled_ProducerProceeds kills a consumer process
// that gates a full ring: the producer (this process) detaches it within a
// bounded time of its liveness interval, counts it in
// Stats().DeadConsumers, and the live consumer process still reads every
// event in order.
func TestMultiProcess_ConsumerKilled_ProducerProceeds(t *testing.T) {
	const capacity, k, liveness = 64, 500, 50 * time.Millisecond
	const n = k + 20*capacity
	name := segName(t, Shm, "ckill")
	p, err := Create[procEvent](name, Config{Capacity: capacity, LivenessInterval: liveness})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	victim := spawn(t, procArgs{Role: "consume", Name: name, ID: "victim", Stop: k, After: "hang"})
	healthy := spawn(t, procArgs{Role: "consume", Name: name, ID: "healthy"})
	victim.Expect("attached")
	healthy.Expect("attached")

	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	type pubDone struct {
		err error
		at  time.Time
	}
	done := make(chan pubDone, 1)
	go func() {
		var cur int64
		fill := func(e *procEvent) { e.set(cur) }
		for ; cur < n; cur++ {
			if _, err := p.Publish(ctx, fill); err != nil {
				done <- pubDone{err, time.Now()}
				return
			}
		}
		done <- pubDone{nil, time.Now()}
	}()
	if pos := victim.ExpectInt("pos"); pos != k-1 {
		t.Fatalf("victim stopped at %d, want %d", pos, k-1)
	}
	waitFor(t, "the producer to fill the ring", func() bool { return p.Stats().Published == k+capacity })
	time.Sleep(6 * liveness) // several liveness probes with the victim alive
	st := p.Stats()
	if st.Published != k+capacity || st.DeadConsumers != 0 || st.FullWaits == 0 {
		t.Fatalf("with the victim alive and stopped: published %d, dead consumers %d, full waits %d; want %d, 0, > 0",
			st.Published, st.DeadConsumers, st.FullWaits, k+capacity)
	}
	killed := time.Now()
	victim.Kill()
	var d pubDone
	select {
	case d = <-done:
	case <-time.After(procTimeout):
		t.Fatalf("producer still blocked %v after the gating consumer was killed (published %d)", procTimeout, p.Stats().Published)
	}
	if d.err != nil {
		t.Fatalf("publish: %v", d.err)
	}
	took := d.at.Sub(killed)
	t.Logf("producer finished %v after the kill (liveness interval %v)", took, liveness)
	if bound := 40 * liveness; took > bound {
		t.Errorf("producer took %v to get past a dead consumer, want < %v", took, bound)
	}
	st = p.Stats()
	if st.DeadConsumers != 1 {
		t.Errorf("Stats().DeadConsumers = %d, want 1", st.DeadConsumers)
	}
	for _, c := range st.Consumers {
		if c.ID == "victim" && (c.State != "detached" || c.Position != k-1) {
			t.Errorf("victim entry: %+v, want detached at %d", c, k-1)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var hr consumeResult
	healthy.Result(&hr)
	healthy.Wait()
	checkStream(t, "healthy consumer", hr, 0, n-1)
	checkEnd(t, "healthy consumer", hr, "end_of_stream")
}

// TestMultiProcess_ProducerKilled_ConsumerGetsProducerGone kills the
// producer process: a consumer (this process) first reads everything it
// published, then gets ErrProducerGone within a bounded time, whether it
// was blocked at the kill or still had events to drain.
func TestMultiProcess_ProducerKilled_ConsumerGetsProducerGone(t *testing.T) {
	const n, liveness = 500, 50 * time.Millisecond
	for _, blocked := range []bool{true, false} {
		t.Run(map[bool]string{true: "blocked", false: "undrained"}[blocked], func(t *testing.T) {
			name := segName(t, Shm, "pkill")
			prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 1024, N: n, Consumers: 1, After: "hang"})
			prod.Expect("created")
			c, err := Attach[procEvent](context.Background(), name, ConsumerConfig{ID: "orphan", LivenessInterval: liveness})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := prod.ExpectInt("published"); got != n {
				t.Fatalf("producer published %d, want %d", got, n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
			defer cancel()
			drain := func() {
				t.Helper()
				for i := int64(0); i < n; i++ {
					e, err := c.Recv(ctx)
					if err != nil {
						t.Fatalf("event %d: %v", i, err)
					}
					if !e.valid(i) {
						t.Fatalf("event %d: bad contents %+v", i, e)
					}
				}
			}
			type nextDone struct {
				err error
				at  time.Time
			}
			res := make(chan nextDone, 1)
			var killed time.Time
			if blocked {
				drain()
				go func() {
					_, err := c.Recv(ctx)
					res <- nextDone{err, time.Now()}
				}()
				select {
				case r := <-res:
					t.Fatalf("Next returned %v with the producer alive and idle", r.err)
				case <-time.After(6 * liveness):
				}
				killed = time.Now()
				prod.Kill()
			} else {
				killed = time.Now()
				prod.Kill()
				drain()
				_, err := c.Recv(ctx)
				res <- nextDone{err, time.Now()}
			}
			var r nextDone
			select {
			case r = <-res:
			case <-time.After(procTimeout):
				t.Fatalf("consumer still blocked %v after the producer was killed", procTimeout)
			}
			took := r.at.Sub(killed)
			t.Logf("ErrProducerGone %v after the kill (liveness interval %v)", took, liveness)
			if !errors.Is(r.err, ErrProducerGone) {
				t.Fatalf("after the producer died: %v, want ErrProducerGone", r.err)
			}
			if bound := 40 * liveness; took > bound {
				t.Errorf("consumer took %v to notice the dead producer, want < %v", took, bound)
			}
			if _, err := c.Recv(ctx); !errors.Is(err, ErrProducerGone) {
				t.Errorf("Next after ErrProducerGone: %v, want ErrProducerGone again", err)
			}
		})
	}
}

// TestMultiProcess_CleanClose_DrainsThenEnds: the producer process
// publishes n events, closes and exits (removing the segment) before the
// consumer process reads any; the consumer still drains all n, in order,
// then gets ErrEndOfStream.
func TestMultiProcess_CleanClose_DrainsThenEnds(t *testing.T) {
	const n = 10000
	name := segName(t, Shm, "close")
	prod := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 16384, N: n, Consumers: 1})
	prod.Expect("created")
	cons := spawn(t, procArgs{Role: "consume", Name: name, ID: "drain", WaitGo: true})
	cons.Expect("attached")
	var pr produceResult
	prod.Result(&pr)
	prod.Wait()
	if pr.Err != "" || pr.Published != n || pr.Stats.Published != n {
		t.Fatalf("producer: published %d (stats %d), err %q; want %d", pr.Published, pr.Stats.Published, pr.Err, n)
	}
	if _, err := os.Stat("/dev/shm/" + name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("segment after the owner's Close: %v, want it removed", err)
	}
	cons.Send("go")
	var cr consumeResult
	cons.Result(&cr)
	cons.Wait()
	checkStream(t, "consumer", cr, 0, n-1)
	checkEnd(t, "consumer", cr, "end_of_stream")
}

// TestMultiProcess_IdleBlockedConsumer_NoCPU: a consumer process blocked
// (Block) on an idle ring for a second uses almost no CPU, measured by the
// child itself (getrusage) and from outside (/proc/<pid>/stat). A
// busy-spinning consumer is the control: the same measurement sees it burn.
func TestMultiProcess_IdleBlockedConsumer_NoCPU(t *testing.T) {
	const limit = 50 * time.Millisecond
	name := segName(t, Shm, "idle")
	p, err := Create[procEvent](name, Config{Capacity: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	measure := func(id, wait string, d time.Duration) (self, outside time.Duration) {
		t.Helper()
		c := spawn(t, procArgs{Role: "consume", Name: name, ID: id, Read: "idle", Wait: wait, Timeout: d})
		c.Expect("attached")
		before := procCPU(t, c.Pid())
		c.Expect("waited")
		outside = procCPU(t, c.Pid()) - before
		var r consumeResult
		c.Result(&r)
		c.Send("exit")
		c.Wait()
		checkEnd(t, id, r, "deadline")
		if r.Count != 0 {
			t.Errorf("%s read %d events from an idle ring", id, r.Count)
		}
		return r.CPU, outside
	}
	self, outside := measure("blocked", "block", time.Second)
	t.Logf("blocked consumer over 1s: %v CPU (getrusage), %v (/proc, 10ms ticks)", self, outside)
	if self > limit || outside > limit {
		t.Errorf("blocked idle consumer used %v CPU (getrusage) / %v (/proc) over 1s, want < %v", self, outside, limit)
	}
	spin, spinOutside := measure("spinner", "spin", 500*time.Millisecond)
	t.Logf("control: busy-spinning consumer over 0.5s: %v CPU (getrusage), %v (/proc)", spin, spinOutside)
	if spin < limit {
		t.Errorf("control: a busy-spinning consumer measured only %v CPU over 0.5s: the measurement cannot tell", spin)
	}
}

// TestMultiProcess_AttachErrors: attaching to or creating over a ring that
// another process owns fails with a typed error for each mismatch.
func TestMultiProcess_AttachErrors(t *testing.T) {
	wantLayout := func(t *testing.T, err error, field string) {
		t.Helper()
		var le *LayoutError
		if !errors.Is(err, ErrLayout) || !errors.As(err, &le) || le.Field != field {
			t.Fatalf("got %v, want a *LayoutError on %q", err, field)
		}
		t.Logf("%v", err)
	}
	wantIs := func(t *testing.T, err, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("got %v, want %v", err, target)
		}
		t.Logf("%v", err)
	}

	// One live owner process for the mismatch cases.
	name := segName(t, Shm, "attach")
	owner := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 64, After: "hang"})
	owner.Expect("published")

	t.Run("capacity", func(t *testing.T) {
		_, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Capacity: 128})
		wantLayout(t, err, "capacity")
	})
	t.Run("slot_size", func(t *testing.T) {
		_, err := Attach[procEvent](context.Background(), name, ConsumerConfig{SlotSize: 128})
		wantLayout(t, err, "slot_size")
	})
	t.Run("kind", func(t *testing.T) {
		_, err := AttachBytes(context.Background(), name, ConsumerConfig{})
		wantLayout(t, err, "kind")
	})
	t.Run("element_type", func(t *testing.T) {
		_, err := Attach[procEventRenamed](context.Background(), name, ConsumerConfig{})
		wantLayout(t, err, "element_type")
	})
	t.Run("element_size", func(t *testing.T) {
		_, err := Attach[procEventSmall](context.Background(), name, ConsumerConfig{})
		wantLayout(t, err, "element_size")
	})
	t.Run("missing", func(t *testing.T) {
		// Attach waits for a missing ring until its context ends, then
		// says it was never created.
		_, err := Attach[procEvent](testfix.Context(t, 50*time.Millisecond), PortableName("missing"), ConsumerConfig{})
		wantIs(t, err, ErrNotFound)
		wantIs(t, err, context.DeadlineExceeded)
		_, err = Attach[procEvent](testfix.Context(t, 50*time.Millisecond), filepath.Join(t.TempDir(), "missing"), ConsumerConfig{Backend: File})
		wantIs(t, err, ErrNotFound)
	})
	t.Run("exist_live_owner", func(t *testing.T) {
		_, err := Create[procEvent](name, Config{Capacity: 64})
		wantIs(t, err, ErrExist)
		_, err = Create[procEvent](name, Config{Capacity: 64})
		wantIs(t, err, ErrExist)
		wantIs(t, Reclaim(Shm, name), ErrExist)
		// Nothing was clobbered: the owner's ring still works.
		c, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Capacity: 64})
		if err != nil {
			t.Fatalf("attach after the failed creates: %v", err)
		}
		if info := c.Info(); info.OwnerPID != uint32(owner.Pid()) {
			t.Errorf("owner pid %d, want %d", info.OwnerPID, owner.Pid())
		}
		c.Close()
	})

	// staleRing leaves a ring whose creator process was SIGKILLed.
	staleRing := func(t *testing.T) (string, int) {
		name := segName(t, Shm, "stale")
		creator := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 64, After: "hang"})
		creator.Expect("published")
		creator.Kill()
		return name, creator.Pid()
	}
	t.Run("stale_reclaim", func(t *testing.T) {
		name, pid := staleRing(t)
		_, err := Create[procEvent](name, Config{Capacity: 64, KeepStale: true})
		var se *StaleError
		if !errors.Is(err, ErrStale) || !errors.As(err, &se) || se.OwnerPID != uint32(pid) || se.Name != name {
			t.Fatalf("create over a dead owner's ring: %v, want a *StaleError naming %q and pid %d", err, name, pid)
		}
		t.Logf("%v", err)
		if _, st, err := Inspect(Shm, name); err != nil || st.ProducerAlive {
			t.Errorf("Inspect of the stale ring: alive=%v, %v; want a dead producer", st.ProducerAlive, err)
		}
		if err := Reclaim(Shm, name); err != nil {
			t.Fatalf("Reclaim: %v", err)
		}
		p, err := Create[procEvent](name, Config{Capacity: 64})
		if err != nil {
			t.Fatalf("create after Reclaim: %v", err)
		}
		if info := p.Info(); info.OwnerPID != uint32(os.Getpid()) {
			t.Errorf("owner pid %d after reclaiming, want ours %d", info.OwnerPID, os.Getpid())
		}
		p.Close()
	})
	t.Run("stale_config_reclaim", func(t *testing.T) {
		name, _ := staleRing(t)
		p, err := Create[procEvent](name, Config{Capacity: 64})
		if err != nil {
			t.Fatalf("create over a dead owner's ring: %v", err)
		}
		if info := p.Info(); info.OwnerPID != uint32(os.Getpid()) {
			t.Errorf("owner pid %d after reclaiming, want ours %d", info.OwnerPID, os.Getpid())
		}
		p.Close()
	})

	t.Run("symlink_file", func(t *testing.T) {
		dir := t.TempDir()
		real, link := filepath.Join(dir, "real"), filepath.Join(dir, "link")
		creator := spawn(t, procArgs{Role: "produce", Name: real, Backend: File, Capacity: 64, After: "hang"})
		creator.Expect("published")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		_, err := Attach[procEvent](context.Background(), link, ConsumerConfig{Backend: File})
		wantIs(t, err, ErrNotRegular)
		_, err = Create[procEvent](link, Config{Backend: File, Capacity: 64})
		wantIs(t, err, ErrNotRegular)
		wantIs(t, Reclaim(File, link), ErrNotRegular)
		if _, err := os.Lstat(real); err != nil {
			t.Errorf("the link's target after the refused calls: %v", err)
		}
	})
	t.Run("symlink_shm", func(t *testing.T) {
		link := segName(t, Shm, "link")
		if err := os.Symlink("/dev/shm/"+name, "/dev/shm/"+link); err != nil {
			t.Fatal(err)
		}
		_, err := Attach[procEvent](context.Background(), link, ConsumerConfig{})
		wantIs(t, err, ErrNotRegular)
	})
	t.Run("mode", func(t *testing.T) {
		name := segName(t, Shm, "mode")
		creator := spawn(t, procArgs{Role: "produce", Name: name, Capacity: 64, Perm: 0o644, After: "hang"})
		creator.Expect("published")
		if fi, err := os.Stat("/dev/shm/" + name); err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("segment mode: %v, %v; want 0644", fi.Mode(), err)
		}
		// A zero Perm refuses a mode that grants anything to others; a set
		// Perm wants exactly the segment's mode.
		_, err := Attach[procEvent](context.Background(), name, ConsumerConfig{})
		wantIs(t, err, ErrPermission)
		_, err = Attach[procEvent](context.Background(), name, ConsumerConfig{Perm: 0o600})
		wantIs(t, err, ErrPermission)
		c, err := Attach[procEvent](context.Background(), name, ConsumerConfig{Perm: 0o644})
		if err != nil {
			t.Fatalf("attach with the segment's mode: %v", err)
		}
		c.Close()
		// Creating over a live segment is refused whatever mode either has.
		_, err = Create[procEvent](name, Config{Capacity: 64})
		wantIs(t, err, ErrExist)
		_, err = Create[procEvent](name, Config{Capacity: 64, Perm: 0o644})
		wantIs(t, err, ErrExist)
		// Once the owner is dead, a creator passing the mode reclaims it.
		creator.Kill()
		p, err := Create[procEvent](name, Config{Capacity: 64, Perm: 0o644})
		if err != nil {
			t.Fatalf("create with the segment's mode over a dead owner's ring: %v", err)
		}
		p.Close()
	})
}

// TestProducerAlive_EveryHandle: Stats().ProducerAlive is true from a
// consumer in another process, from Inspect and from a producer that
// joined, while the creator lives; after the creator's SIGKILL it is false
// from the consumer and from Inspect, and the joined producer keeps the
// ring alive (true) until it closes.
func TestProducerAlive_EveryHandle(t *testing.T) {
	for _, b := range []Backend{Shm, File} {
		t.Run(b.String(), func(t *testing.T) {
			name := segName(t, b, "alive")
			prod := spawn(t, procArgs{Role: "produce", Name: name, Backend: b, Capacity: 8, N: 0, After: "hang"})
			prod.Expect("created")
			ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
			defer cancel()
			c, err := Attach[procEvent](ctx, name, ConsumerConfig{Backend: b, ID: "watcher"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if st := c.Stats(); !st.ProducerAlive {
				t.Errorf("consumer's Stats with the producer alive: ProducerAlive false")
			}
			if _, st, err := Inspect(b, name); err != nil || !st.ProducerAlive {
				t.Errorf("Inspect with the producer alive: ProducerAlive %v, %v", st.ProducerAlive, err)
			}
			prod.Kill()
			if st := c.Stats(); st.ProducerAlive {
				t.Errorf("consumer's Stats after SIGKILL: ProducerAlive true")
			}
			if _, st, err := Inspect(b, name); err != nil || st.ProducerAlive {
				t.Errorf("Inspect after SIGKILL: ProducerAlive %v, %v", st.ProducerAlive, err)
			}
		})
	}
	t.Run("joined", func(t *testing.T) {
		name := segName(t, Shm, "alivej")
		creator, err := Create[procEvent](name, Config{Capacity: 8, MaxProducers: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer creator.Close()
		ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
		defer cancel()
		j, err := Join[procEvent](ctx, name, JoinConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		c, err := Attach[procEvent](ctx, name, ConsumerConfig{ID: "watcher"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for what, st := range map[string]Stats{"creator": creator.Stats(), "joined producer": j.Stats(), "consumer": c.Stats()} {
			if !st.ProducerAlive {
				t.Errorf("%s's Stats: ProducerAlive false with both producers open", what)
			}
		}
		// The creator "dies" (its owner lock and its producer entry's lock
		// drop); the joined producer lives on.
		creator.p.s.m.Unlock(lockProducer)
		creator.p.s.m.Unlock(lockProducers + int64(creator.p.slot))
		if st := c.Stats(); !st.ProducerAlive {
			t.Error("consumer's Stats: ProducerAlive false while a joined producer lives")
		}
		j.Close()
		if st := c.Stats(); st.ProducerAlive {
			t.Error("consumer's Stats: ProducerAlive true with every producer gone")
		}
	})
}
