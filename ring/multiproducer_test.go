package ring

// Multi-process tests of multi-producer rings. The children are
// internal/childtest roles (producer, consumer, observer, member) with
// their parameters in mpxArgs; each reports one mpxResult.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
)

// mpxEvent is self-checking: every field is derived from (Producer, Seq),
// so a torn or stale slot shows without a reference copy.
type mpxEvent struct {
	Producer int64
	Seq      int64
	Check    uint64
	Tail     [5]uint64
}

func mpxCheck(producer, seq int64) uint64 {
	return (uint64(producer)<<48 ^ uint64(seq)) * 0x9e3779b97f4a7c15
}

func mpxFill(producer, seq int64, e *mpxEvent) {
	e.Producer, e.Seq = producer, seq
	c := mpxCheck(producer, seq)
	e.Check = c
	for i := range e.Tail {
		e.Tail[i] = c + uint64(i)
	}
}

// mpxValid reports whether e is an intact event of one of n producers.
func mpxValid(e *mpxEvent, n int) bool {
	if e.Producer < 0 || e.Producer >= int64(n) || e.Seq < 0 {
		return false
	}
	c := mpxCheck(e.Producer, e.Seq)
	if e.Check != c {
		return false
	}
	for i, v := range e.Tail {
		if v != c+uint64(i) {
			return false
		}
	}
	return true
}

// mpxArgs are a child's parameters.
type mpxArgs struct {
	Name      string // the ring
	ID        string // consumer id
	Index     int64  // producer: its index, in every event it publishes
	Count     int64  // producer: events to publish
	Batch     int64  // producer: batches of 1..Batch events
	Producers int    // consumers: how many producers publish
	KillAfter int64  // > 0: the child SIGKILLs itself (see the roles)
	Group     string // member: the consumer group
	Out       string // member: the file of finished events
	Slow      int64  // observer: spins per event
}

// mpxResult is what a child reports.
type mpxResult struct {
	ID      string  `json:"id"`
	Counts  []int64 `json:"counts"`  // events seen per producer
	Skipped uint64  `json:"skipped"` // the consumer's Stats skipped counter
	Lapped  []int64 `json:"lapped"`  // observer: Missed of each LappedError
	MaxGap  int64   `json:"max_gap"` // longest wait between two events, ns
	Err     string  `json:"err"`
}

// mpxRole registers a child role that reports fn's result (and error).
func mpxRole(name string, fn func(mpxArgs) (mpxResult, error)) childtest.Role[mpxArgs] {
	return childtest.Register("ring.mpx-"+name, func(t *testing.T, ch *childtest.Child, a mpxArgs) {
		res, err := fn(a)
		if err != nil {
			res.Err = err.Error()
		}
		ch.Result(res)
	})
}

var (
	mpxProducer = mpxRole("producer", mpxProducerChild)
	mpxConsumer = mpxRole("consumer", mpxConsumerChild)
	mpxObserver = mpxRole("observer", mpxObserverChild)
	mpxMember   = mpxRole("member", mpxMemberChild)
)

// mpxChild is a child process playing one role.
type mpxChild struct{ *childtest.Proc }

// mpxStart starts a child in role r. The child is killed at cleanup if it
// is still running.
func mpxStart(t *testing.T, r childtest.Role[mpxArgs], a mpxArgs) mpxChild {
	t.Helper()
	label := r.Name() + " " + a.ID
	if a.ID == "" {
		label = fmt.Sprintf("%s %d", r.Name(), a.Index)
	}
	return mpxChild{r.Start(t, a, childtest.Options{Label: label, Life: 120 * time.Second})}
}

// exit waits up to d for the child to exit and returns how it ended.
func (c mpxChild) exit(d time.Duration) error {
	c.SetTimeout(d)
	return c.Exit()
}

// result waits (up to d for each) for the result the child reports and
// for its exit; a child that failed or reported an error fails the test.
func (c mpxChild) result(t *testing.T, d time.Duration) mpxResult {
	t.Helper()
	c.SetTimeout(d)
	var res mpxResult
	c.Result(&res)
	c.Wait()
	if res.Err != "" {
		t.Fatalf("child reported %+v; output:\n%s", res, c.Output())
	}
	return res
}

// mpxProducerChild joins ring Name as producer Index and publishes Count
// events in batches of 1..Batch. With KillAfter k it kills itself with
// SIGKILL inside the claim hook of its (k+1)-th claim: after the claim,
// before the publish.
func mpxProducerChild(a mpxArgs) (mpxResult, error) {
	name, idx, count := a.Name, a.Index, a.Count
	batch := max(a.Batch, 1)
	if a.KillAfter > 0 {
		k := int(a.KillAfter)
		claims := 0
		testHookClaimed = func(lo int64) {
			if claims++; claims > k {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	p, err := Join[mpxEvent](context.Background(), name, JoinConfig{LivenessInterval: 50 * time.Millisecond})
	if err != nil {
		return mpxResult{}, err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := int64(0); i < count; {
		n := min(1+i%batch, count-i)
		base := i
		if _, err := p.PublishBatch(ctx, int(n), func(j int, e *mpxEvent) { mpxFill(idx, base+int64(j), e) }); err != nil {
			return mpxResult{}, fmt.Errorf("producer %d at event %d: %w", idx, i, err)
		}
		i += n
	}
	return mpxResult{}, nil
}

// mpxConsumerChild attaches to ring Name as consumer ID and reads until end
// of stream, checking every event and each producer's order. Events are of
// Producers producers.
func mpxConsumerChild(a mpxArgs) (mpxResult, error) {
	name, id := a.Name, a.ID
	producers := a.Producers
	res := mpxResult{ID: id, Counts: make([]int64, producers)}
	cfg := ConsumerConfig{ID: id, LivenessInterval: 50 * time.Millisecond, UnblockTimeout: 50 * time.Millisecond}
	c, err := Attach[mpxEvent](context.Background(), name, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	next := make([]int64, producers)
	last := time.Now()
	for {
		e, err := c.Recv(ctx)
		now := time.Now()
		res.MaxGap = max(res.MaxGap, int64(now.Sub(last)))
		last = now
		if errors.Is(err, ErrEndOfStream) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("after %v events: %w", res.Counts, err)
		}
		if !mpxValid(&e, producers) {
			return res, fmt.Errorf("torn or foreign event %+v", e)
		}
		if e.Seq != next[e.Producer] {
			return res, fmt.Errorf("producer %d: got event %d, want %d (lost, duplicated or reordered)", e.Producer, e.Seq, next[e.Producer])
		}
		next[e.Producer]++
		res.Counts[e.Producer]++
	}
	for _, cs := range c.Stats().Consumers {
		if cs.ID == id {
			res.Skipped = cs.Abandoned
		}
	}
	return res, nil
}

var mpxSink int64

// mpxMemberChild joins group Group of ring Name as member ID and reads
// until end of stream, alternating Next and Lease, checking every event.
// It appends each event it finished, as (producer, seq) int64 pairs, to
// the file Out. With KillAfter k it leases its (k+1)-th event and then
// SIGKILLs itself: it dies holding a claimed, delivered, unfinished event.
func mpxMemberChild(a mpxArgs) (mpxResult, error) {
	name, id, group := a.Name, a.ID, a.Group
	producers := a.Producers
	res := mpxResult{ID: id, Counts: make([]int64, producers)}
	f, err := os.Create(a.Out)
	if err != nil {
		return res, err
	}
	defer f.Close()
	out := bufio.NewWriter(f)
	defer out.Flush()
	kill := int64(-1)
	if a.KillAfter > 0 {
		kill = a.KillAfter
	}
	cfg := ConsumerConfig{ID: id, Group: group, LivenessInterval: 50 * time.Millisecond, UnblockTimeout: 50 * time.Millisecond}
	c, err := Attach[mpxEvent](context.Background(), name, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rec [16]byte
	for n := int64(0); ; n++ {
		var e mpxEvent
		var err error
		if n%2 == 0 && n != kill {
			e, err = c.Recv(ctx)
		} else {
			err = c.Read(ctx, func(ep *mpxEvent, _ int64) error {
				e = *ep
				if n == kill {
					out.Flush()
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
				return nil
			})
		}
		if errors.Is(err, ErrEndOfStream) {
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("after %v events: %w", res.Counts, err)
		}
		if !mpxValid(&e, producers) {
			return res, fmt.Errorf("torn or foreign event %+v", e)
		}
		res.Counts[e.Producer]++
		binary.LittleEndian.PutUint64(rec[:8], uint64(e.Producer))
		binary.LittleEndian.PutUint64(rec[8:], uint64(e.Seq))
		out.Write(rec[:])
	}
}

// mpxFinished reads the (producer, seq) records of member output files and
// returns how often each event, producer*per+seq, was finished.
func mpxFinished(t *testing.T, files []string, producers int, per int64) []int {
	t.Helper()
	seen := make([]int, int64(producers)*per)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+16 <= len(b); i += 16 {
			p, q := int64(binary.LittleEndian.Uint64(b[i:])), int64(binary.LittleEndian.Uint64(b[i+8:]))
			if p < 0 || p >= int64(producers) || q < 0 || q >= per {
				t.Fatalf("%s: record (%d, %d) out of range", f, p, q)
			}
			seen[p*per+q]++
		}
	}
	return seen
}

// mpxObserverChild attaches to ring Name as observer ID and reads until end
// of stream, dawdling Slow spins per event so that the producers lap it.
// Every delivered event must be intact, each producer's events increasing,
// and every gap announced by a *LappedError whose ResumeAt and Missed agree
// with the observer's position. It reports events seen per producer and
// each lap's Missed.
func mpxObserverChild(a mpxArgs) (mpxResult, error) {
	name, id := a.Name, a.ID
	producers, slow := a.Producers, a.Slow
	res := mpxResult{ID: id, Counts: make([]int64, producers)}
	cfg := ConsumerConfig{ID: id, Observer: true, LivenessInterval: 50 * time.Millisecond, UnblockTimeout: 50 * time.Millisecond}
	c, err := Attach[mpxEvent](context.Background(), name, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	last := make([]int64, producers)
	for i := range last {
		last[i] = -1
	}
	var sink int64
	for {
		want := c.Position() + 1
		e, err := c.Recv(ctx)
		var le *LappedError
		switch {
		case errors.Is(err, ErrEndOfStream):
			for _, cs := range c.Stats().Consumers {
				if cs.ID == id {
					res.Skipped = cs.Abandoned
				}
			}
			mpxSink = sink // keep the dawdling loop
			return res, nil
		case errors.As(err, &le):
			if le.Missed <= 0 || le.ResumeAt != want+le.Missed || c.Position() != le.ResumeAt-1 {
				return res, fmt.Errorf("lap report %+v at sequence %d, position now %d", *le, want, c.Position())
			}
			res.Lapped = append(res.Lapped, le.Missed)
			continue
		case err != nil:
			return res, fmt.Errorf("after %v events: %w", res.Counts, err)
		}
		if c.Position() != want {
			return res, fmt.Errorf("delivered sequence %d, want %d", c.Position(), want)
		}
		if !mpxValid(&e, producers) {
			return res, fmt.Errorf("torn or foreign event at sequence %d: %+v", want, e)
		}
		if e.Seq <= last[e.Producer] {
			return res, fmt.Errorf("producer %d: event %d after %d", e.Producer, e.Seq, last[e.Producer])
		}
		last[e.Producer] = e.Seq
		res.Counts[e.Producer]++
		for k := int64(0); k < slow; k++ {
			sink += k
		}
	}
}

// mpxRing creates a multi-producer ring owned by the test process; the
// owner publishes nothing, it holds the ring open and closes it at the end.
func mpxRing(t *testing.T, capacity int) (*Producer[mpxEvent], string) {
	t.Helper()
	name := PortableName("mpx")
	owner, err := Create[mpxEvent](name, Config{Capacity: capacity, MaxProducers: 4, MaxConsumers: 8, LivenessInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	return owner, name
}

// mpxPerProducer is the number of events each producer process publishes.
func mpxPerProducer() int64 {
	if testing.Short() {
		return 20000
	}
	return 200000
}

// TestMultiProducer_Processes_ThreeProducersTwoConsumers: 3 producer
// processes publish 200,000 events each (in batches of 1..7) into one ring
// read by 2 broadcast consumer processes. Each consumer must see every
// event exactly once, intact, in each producer's order.
func TestMultiProducer_Processes_ThreeProducersTwoConsumers(t *testing.T) {
	const producers = 3
	per := mpxPerProducer()
	owner, name := mpxRing(t, 1024)
	var cons []mpxChild
	for _, id := range []string{"bc-0", "bc-1"} {
		cons = append(cons, mpxStart(t, mpxConsumer, mpxArgs{Name: name, ID: id, Producers: 3}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.WaitForConsumerIDs(ctx, "bc-0", "bc-1"); err != nil {
		t.Fatal(err)
	}
	var prods []mpxChild
	for i := range producers {
		prods = append(prods, mpxStart(t, mpxProducer, mpxArgs{Name: name, Index: int64(i), Count: per, Batch: 7}))
	}
	for _, p := range prods {
		p.result(t, 90*time.Second)
	}
	owner.Close()
	for _, c := range cons {
		res := c.result(t, 30*time.Second)
		for i, n := range res.Counts {
			if n != per {
				t.Errorf("%s: %d events of producer %d, want %d", res.ID, n, i, per)
			}
		}
		if res.Skipped != 0 {
			t.Errorf("%s: skipped %d sequences with every producer alive", res.ID, res.Skipped)
		}
	}
}

// TestMultiProducer_Processes_KilledBetweenClaimAndPublish: producer 1 is
// SIGKILLed by the claim hook after publishing K events, holding a claimed
// but unpublished slot. The consumers (UnblockTimeout 50 ms) must skip that
// slot once they find its producer dead, count it, and go on receiving the
// other producers' events, all of them, in order; the ring's abandoned
// counter shows the slot too.
func TestMultiProducer_Processes_KilledBetweenClaimAndPublish(t *testing.T) {
	const producers, killAfter = 3, 5000
	per := mpxPerProducer() / 4
	owner, name := mpxRing(t, 256)
	var cons []mpxChild
	for _, id := range []string{"kc-0", "kc-1"} {
		cons = append(cons, mpxStart(t, mpxConsumer, mpxArgs{Name: name, ID: id, Producers: 3}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.WaitForConsumers(ctx, 2, "kc-"); err != nil {
		t.Fatal(err)
	}
	var prods []mpxChild
	for i := range producers {
		a := mpxArgs{Name: name, Index: int64(i), Count: per, Batch: 1}
		if i == 1 {
			a.KillAfter = killAfter
		}
		prods = append(prods, mpxStart(t, mpxProducer, a))
	}
	if err := prods[1].exit(60 * time.Second); !prods[1].KilledBy(syscall.SIGKILL) {
		t.Fatalf("victim was not killed by SIGKILL: %v\noutput:\n%s", err, prods[1].Output())
	}
	for _, i := range []int{0, 2} {
		prods[i].result(t, 90*time.Second)
	}
	// The survivors could only finish once the consumers had skipped the
	// dead claim (the ring is far smaller than their output).
	if st := owner.Stats(); st.Abandoned != 1 {
		t.Errorf("ring abandoned counter = %d, want 1", st.Abandoned)
	}
	owner.Close()
	for _, c := range cons {
		res := c.result(t, 30*time.Second)
		want := []int64{per, killAfter, per}
		for i, n := range res.Counts {
			if n != want[i] {
				t.Errorf("%s: %d events of producer %d, want %d", res.ID, n, i, want[i])
			}
		}
		if res.Skipped != 1 {
			t.Errorf("%s: skipped %d sequences, want 1 (the victim's claim)", res.ID, res.Skipped)
		}
		// A deadline, not a benchmark: the unblock timeout is 50 ms, a
		// consumer that waited seconds at the dead claim did not unblock.
		if gap := time.Duration(res.MaxGap); gap > 5*time.Second {
			t.Errorf("%s: waited %v at the dead claim, want about the 50 ms unblock timeout", res.ID, gap)
		} else {
			t.Logf("%s: longest wait between events %v", res.ID, gap)
		}
	}
}

// TestMultiProducer_Processes_CoordinationTimeout: with one of two
// expected consumer processes attached, waits by count and by ids end in a
// *CoordinationError that names what is missing and matches both
// ErrCoordinationTimeout and context.DeadlineExceeded.
func TestMultiProducer_Processes_CoordinationTimeout(t *testing.T) {
	owner, name := mpxRing(t, 64)
	c := mpxStart(t, mpxConsumer, mpxArgs{Name: name, ID: "co-0", Producers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.WaitForConsumerIDs(ctx, "co-0"); err != nil {
		t.Fatal(err)
	}

	ctx1, cancel1 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel1()
	err := owner.WaitForConsumers(ctx1, 2, "co-")
	var ce *CoordinationError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCoordinationTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForConsumers: %v, want *CoordinationError matching ErrCoordinationTimeout and DeadlineExceeded", err)
	}
	if ce.Want != 2 || ce.Have != 1 {
		t.Errorf("WaitForConsumers error: want=%d have=%d, want 2 and 1", ce.Want, ce.Have)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	err = owner.WaitForConsumerIDs(ctx2, "co-0", "co-1", "co-2")
	ce = nil
	if !errors.As(err, &ce) || !errors.Is(err, ErrCoordinationTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForConsumerIDs: %v, want *CoordinationError matching ErrCoordinationTimeout and DeadlineExceeded", err)
	}
	if strings.Join(ce.Missing, ",") != "co-1,co-2" || !strings.Contains(err.Error(), "co-1, co-2") {
		t.Errorf("WaitForConsumerIDs error names %v (%q), want co-1 and co-2", ce.Missing, err)
	}
	if pos, ok := owner.ConsumerPosition("co-0"); !ok || pos != -1 {
		t.Errorf("ConsumerPosition(co-0) = %d, %v; want -1, true", pos, ok)
	}
	owner.Close()
	if res := c.result(t, 10*time.Second); res.Counts[0] != 0 {
		t.Errorf("consumer saw %d events, want 0", res.Counts[0])
	}
}

// TestMultiProducer_Processes_LappedObserver: 2 producer processes publish
// into a small ring gated by one broadcast consumer process, while a slow
// observer process reads the same ring. The gating consumer gets every
// event exactly once, in order; the observer never holds the producers
// back, is lapped, and reports it: every event it delivers is intact and in
// each producer's order, and delivered + missed (+ skipped) is every event.
func TestMultiProducer_Processes_LappedObserver(t *testing.T) {
	const producers = 2
	per := mpxPerProducer() / 2
	owner, name := mpxRing(t, 64)
	gate := mpxStart(t, mpxConsumer, mpxArgs{Name: name, ID: "lo-gate", Producers: 2})
	obs := mpxStart(t, mpxObserver, mpxArgs{Name: name, ID: "lo-obs", Producers: 2, Slow: 3000})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.WaitForConsumerIDs(ctx, "lo-gate", "lo-obs"); err != nil {
		t.Fatal(err)
	}
	var prods []mpxChild
	for i := range producers {
		prods = append(prods, mpxStart(t, mpxProducer, mpxArgs{Name: name, Index: int64(i), Count: per, Batch: 4}))
	}
	for _, p := range prods {
		p.result(t, 90*time.Second)
	}
	owner.Close()
	g := gate.result(t, 30*time.Second)
	for i, n := range g.Counts {
		if n != per {
			t.Errorf("gating consumer: %d events of producer %d, want %d", n, i, per)
		}
	}
	o := obs.result(t, 30*time.Second)
	var delivered, missed int64
	for _, n := range o.Counts {
		delivered += n
	}
	for _, m := range o.Lapped {
		missed += m
	}
	if total := int64(producers) * per; delivered+missed+int64(o.Skipped) != total {
		t.Errorf("observer: delivered %d + missed %d + skipped %d != %d events published", delivered, missed, o.Skipped, total)
	}
	if len(o.Lapped) == 0 {
		t.Errorf("observer delivered %d events and was never lapped: it gated the producers, or the test is too gentle", delivered)
	}
	t.Logf("observer: delivered %d, missed %d in %d laps", delivered, missed, len(o.Lapped))
}

// mpxGroupRun runs one group scenario: producers publish per events each
// (producers == 1: the test process itself, on a single-producer ring;
// else child processes on a multi-producer ring) to the members, child
// processes of group "work" (one per kills entry: 0 for a survivor, else
// its KillAfter). It returns how often each event was finished and the ring's
// stats read just before the ring closed.
func mpxGroupRun(t *testing.T, producers int, per int64, capacity int, kills []int64) ([]int, Stats) {
	t.Helper()
	var owner *Producer[mpxEvent]
	var name string
	if producers == 1 {
		name = PortableName("mpg")
		var err error
		if owner, err = Create[mpxEvent](name, Config{Capacity: capacity, MaxConsumers: 8, LivenessInterval: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { owner.Close() })
	} else {
		owner, name = mpxRing(t, capacity)
	}
	dir := t.TempDir()
	var files, ids []string
	var members []mpxChild
	for i, k := range kills {
		id := fmt.Sprintf("w%d", i)
		a := mpxArgs{Name: name, ID: id, Group: "work", Producers: producers, Out: fmt.Sprintf("%s/%s", dir, id), KillAfter: k}
		files, ids = append(files, a.Out), append(ids, id)
		members = append(members, mpxStart(t, mpxMember, a))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.WaitForConsumerIDs(ctx, ids...); err != nil {
		t.Fatal(err)
	}
	if producers == 1 {
		pctx, pcancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer pcancel()
		for i := int64(0); i < per; {
			n := min(1+i%7, per-i)
			base := i
			if _, err := owner.PublishBatch(pctx, int(n), func(j int, e *mpxEvent) { mpxFill(0, base+int64(j), e) }); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
			i += n
		}
	} else {
		var prods []mpxChild
		for i := range producers {
			prods = append(prods, mpxStart(t, mpxProducer, mpxArgs{Name: name, Index: int64(i), Count: per, Batch: 7}))
		}
		for _, p := range prods {
			p.result(t, 90*time.Second)
		}
	}
	// Let the members drain before the stats are read.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := owner.Stats()
		var g GroupStats
		for _, gs := range st.Groups {
			if gs.Name == "work" {
				g = gs
			}
		}
		if g.Position >= st.Published-1 && g.Pending == 0 && g.InDoubt == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := owner.Stats()
	owner.Close()
	for i, m := range members {
		if kills[i] > 0 {
			if err := m.exit(30 * time.Second); !m.KilledBy(syscall.SIGKILL) {
				t.Fatalf("member %d was not killed by SIGKILL: %v\n%s", i, err, m.Output())
			}
			continue
		}
		res := m.result(t, 30*time.Second)
		t.Logf("member %s finished %v events (per producer)", res.ID, res.Counts)
	}
	return mpxFinished(t, files, producers, per), st
}

// TestMultiProducer_Processes_GroupEachEventOnce: a 2-member consumer
// group (two processes) reads what 1 producer (single-producer ring) or 3
// producer processes (multi-producer ring) publish: every event is
// finished by exactly one member, intact.
func TestMultiProducer_Processes_GroupEachEventOnce(t *testing.T) {
	for _, producers := range []int{1, 3} {
		t.Run(fmt.Sprintf("producers=%d", producers), func(t *testing.T) {
			per := mpxPerProducer() / 2
			if producers == 1 {
				per = mpxPerProducer()
			}
			seen, st := mpxGroupRun(t, producers, per, 256, []int64{0, 0})
			for ev, n := range seen {
				if n != 1 {
					t.Fatalf("event %d of producer %d finished %d times by the group, want 1", int64(ev)%per, int64(ev)/per, n)
				}
			}
			for _, g := range st.Groups {
				if g.Lost != 0 || g.Lapped != 0 {
					t.Errorf("group %+v: nothing should be lost or lapped", g)
				}
			}
		})
	}
}

// TestMultiProducer_Processes_GroupMemberKilledMidEvent: one of three
// member processes is SIGKILLed holding a leased, unfinished event. The
// others go on; the dead member's event is redelivered (the group counts
// it) and, across the survivors and what the victim finished before, every
// event is finished exactly once; nothing is lost.
func TestMultiProducer_Processes_GroupMemberKilledMidEvent(t *testing.T) {
	per := mpxPerProducer() / 4
	seen, st := mpxGroupRun(t, 1, per, 64, []int64{0, 0, 1000})
	for ev, n := range seen {
		if n != 1 {
			t.Fatalf("event %d finished %d times by the group, want exactly once", ev, n)
		}
	}
	var g GroupStats
	for _, gs := range st.Groups {
		if gs.Name == "work" {
			g = gs
		}
	}
	if g.Redelivered < 1 || g.Lost != 0 || g.InDoubt != 0 || g.Pending != 0 {
		t.Errorf("group stats %+v: want the victim's event redelivered, nothing lost, in doubt or pending", g)
	}
	t.Logf("group stats %+v", g)
}
