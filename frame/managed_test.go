package frame

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

// Managed publish: SendManaged under the ring's required-consumer liveness
// policy.

// managedPair creates a Heap frame ring with liveness enabled.
func managedPair(t *testing.T, cfg Config, lc ring.RequiredConfig) (*Producer, string) {
	t.Helper()
	name := heapName(t)
	cfg.Backend = ring.Heap
	p, err := Create(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Require(lc); err != nil {
		t.Fatal(err)
	}
	return p, name
}

func attachHeap(t *testing.T, name, id string) *Consumer {
	t.Helper()
	c, err := Attach(context.Background(), name, ConsumerConfig{Backend: ring.Heap, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSendManaged_OneClaimPerMessage: a multi-frame message is claimed
// with one managed claim of all its frames; a message larger than the ring
// with one managed claim per chunk; SendManaged never takes the unmanaged
// path.
func TestSendManaged_OneClaimPerMessage(t *testing.T) {
	f, p, c := fakePair(testGeometry(8, 1000, 8))
	ctx := context.Background()
	for _, size := range []int{0, 8, 9, 64, 65} {
		if _, err := p.Send(ctx, 1, payloadFor(uint64(size), size)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.SendFlags(ctx, 2, 7, payloadFor(3, 24)); err != nil {
		t.Fatal(err)
	}
	// 65 bytes = 9 frames > 8 slots: chunks of 4, 4 and 1.
	if want := []int{1, 1, 2, 8, 4, 4, 1, 3}; !slices.Equal(f.claims, want) {
		t.Fatalf("claims %v, want %v", f.claims, want)
	}
	dst := make([]byte, 100)
	for i, size := range []int{0, 8, 9, 64, 65, 24} {
		n, m, err := c.TryRecv(dst)
		if err != nil || m.ID != uint64(i+1) || n != size {
			t.Fatalf("message %d: %d bytes %+v %v", i, n, m, err)
		}
	}
	if st := p.stats; st.Messages != 6 || st.Chunked != 1 || st.MultiFrame != 4 {
		t.Fatalf("stats %+v", st)
	}
	// TrySend never takes the waiting claim (where the policy applies);
	// Send takes one per message of a ring's worth or less.
	p.TrySend(0, payloadFor(0, 20))
	if len(f.claims) != 8 {
		t.Fatalf("TrySend made a waiting claim: %v", f.claims)
	}
	mustSend(t, p, 0, payloadFor(0, 20))
	if want := []int{1, 1, 2, 8, 4, 4, 1, 3, 3}; !slices.Equal(f.claims, want) {
		t.Fatalf("claims after Send %v, want %v", f.claims, want)
	}
}

// TestSendManaged_Heap_WithoutLiveness: without EnableLiveness SendManaged
// is Send; EnableLiveness validates its config.
func TestSendManaged_Heap_WithoutLiveness(t *testing.T) {
	p, c := heapPair(t, Config{PayloadCapacity: 16, Capacity: 8}, ConsumerConfig{})
	want := payloadFor(1, 40)
	if id, err := p.Send(context.Background(), 1, want); err != nil || id != 1 {
		t.Fatalf("SendManaged: %d %v", id, err)
	}
	got, _, err := c.RecvAppend(context.Background(), nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("RecvAppend: %v", err)
	}
	if err := p.Require(ring.RequiredConfig{}); !errors.Is(err, ring.ErrInvalidConfig) {
		t.Fatalf("EnableLiveness without required ids: %v", err)
	}
}

// TestSendManaged_Heap_StartupTimeoutNamesMissing: the first managed send
// waits for every required consumer and names the missing ones; it sends
// nothing and uses no id; it is not sticky.
func TestSendManaged_Heap_StartupTimeoutNamesMissing(t *testing.T) {
	p, name := managedPair(t, Config{PayloadCapacity: 16, Capacity: 8},
		ring.RequiredConfig{IDs: []string{"a", "b", "c"}, StartupTimeout: 30 * time.Millisecond})
	a := attachHeap(t, name, "a")
	ctx := context.Background()
	for _, size := range []int{5, 40} { // single- and multi-frame
		_, err := p.Send(ctx, 1, payloadFor(1, size))
		var se *ring.StartupError
		if !errors.As(err, &se) || !errors.Is(err, ring.ErrStartupTimeout) || !slices.Equal(se.Missing, []string{"b", "c"}) {
			t.Fatalf("SendManaged(%d bytes) with b and c missing: %v, want a *ring.StartupError naming [b c]", size, err)
		}
	}
	if p.LastID() != 0 || p.Stats().Messages != 0 {
		t.Fatalf("a refused send used an id: last id %d, stats %+v", p.LastID(), p.Stats())
	}
	if _, _, err := a.TryRecv(make([]byte, 64)); err != ErrEmpty {
		t.Fatalf("a refused send published something: %v", err)
	}
	attachHeap(t, name, "b")
	attachHeap(t, name, "c")
	want := payloadFor(2, 40)
	if id, err := p.Send(ctx, 2, want); err != nil || id != 1 {
		t.Fatalf("SendManaged with all required consumers: %d %v", id, err)
	}
	got, m, err := a.RecvAppend(ctx, nil)
	if err != nil || m.ID != 1 || !bytes.Equal(got, want) {
		t.Fatalf("RecvAppend: %+v %v", m, err)
	}
}

// TestSendManaged_Heap_StallReturnsError: a required consumer that stops
// reading fails the blocked managed send with a *ring.StallError naming it
// and its position, and every later managed send too. The failed message
// left nothing on the ring: the consumer reads exactly the messages sent
// before, whole.
func TestSendManaged_Heap_StallReturnsError(t *testing.T) {
	var alerts []ring.StallAlert
	p, name := managedPair(t, Config{PayloadCapacity: 16, Capacity: 8}, ring.RequiredConfig{
		IDs: []string{"r"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond,
		CheckInterval: 2 * time.Millisecond, Alert: func(a ring.StallAlert) { alerts = append(alerts, a) },
	})
	c := attachHeap(t, name, "r")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// 3 frames, 3 frames, 1 frame: 7 of 8 slots. The 3-frame message after
	// them cannot be claimed until "r" reads.
	sizes := []int{48, 33, 7}
	for i, size := range sizes {
		if _, err := p.Send(ctx, uint8(i), payloadFor(uint64(i), size)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := p.Send(ctx, 9, payloadFor(9, 40))
	var se *ring.StallError
	if !errors.As(err, &se) || !errors.Is(err, ring.ErrConsumerStalled) || se.ID != "r" || se.Position != -1 || se.Action != ring.ReturnError {
		t.Fatalf("blocked Send: %v, want a *ring.StallError for r at -1", err)
	}
	t.Logf("stalled after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if len(alerts) != 1 || alerts[0].ID != "r" {
		t.Fatalf("alerts %+v, want one for r", alerts)
	}
	// Sticky, for single-frame messages too.
	if _, err := p.Send(ctx, 9, nil); !errors.As(err, &se) {
		t.Fatalf("SendManaged after a stall: %v", err)
	}
	if p.LastID() != uint64(len(sizes)) {
		t.Fatalf("last id %d, want %d", p.LastID(), len(sizes))
	}
	for i, size := range sizes {
		got, m, err := c.RecvAppend(ctx, nil)
		if err != nil || m.ID != uint64(i+1) || !bytes.Equal(got, payloadFor(uint64(i), size)) {
			t.Fatalf("message %d: %+v %v", i, m, err)
		}
	}
	if _, _, err := c.TryRecv(make([]byte, 64)); err != ErrEmpty {
		t.Fatalf("after the sent messages: %v, want ErrEmpty", err)
	}
	if st := c.Stats(); st.ReassemblyErrors != 0 || st.Messages != uint64(len(sizes)) {
		t.Fatalf("consumer stats %+v", st)
	}
}

// TestSendManaged_Heap_ShutdownClosesRing: with ring.Shutdown the stall
// also closes the ring: consumers drain, then see end of stream.
func TestSendManaged_Heap_ShutdownClosesRing(t *testing.T) {
	p, name := managedPair(t, Config{PayloadCapacity: 16, Capacity: 4}, ring.RequiredConfig{
		IDs: []string{"r"}, ProgressTimeout: 10 * time.Millisecond, GracePeriod: 10 * time.Millisecond, Action: ring.Shutdown,
	})
	c := attachHeap(t, name, "r")
	ctx := context.Background()
	mustSendManaged := func(size int) error {
		_, err := p.Send(ctx, 0, payloadFor(uint64(size), size))
		return err
	}
	if err := mustSendManaged(40); err != nil { // 3 of 4 slots
		t.Fatal(err)
	}
	var se *ring.StallError
	if err := mustSendManaged(20); !errors.As(err, &se) || se.Action != ring.Shutdown {
		t.Fatalf("blocked Send: %v, want a shutdown *ring.StallError", err)
	}
	got, _, err := c.RecvAppend(ctx, nil)
	if err != nil || !bytes.Equal(got, payloadFor(40, 40)) {
		t.Fatalf("drain: %v", err)
	}
	if _, _, err := c.RecvAppend(ctx, nil); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("after the drain: %v, want ErrEndOfStream", err)
	}
}

// TestSendManaged_Heap_EvictContinues: a stalled required consumer is
// evicted and the managed sends go on; a consumer that keeps up gets every
// message; the evicted one, reading at last, is told it was lapped and
// resynchronises, and never gets a torn message.
func TestSendManaged_Heap_EvictContinues(t *testing.T) {
	const capacity, slots = 16, 8
	var alerts []ring.StallAlert
	p, name := managedPair(t, Config{PayloadCapacity: capacity, Capacity: slots}, ring.RequiredConfig{
		IDs: []string{"slow"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond,
		CheckInterval: 2 * time.Millisecond, Action: ring.Evict, Alert: func(a ring.StallAlert) { alerts = append(alerts, a) },
	})
	slow := attachHeap(t, name, "slow")
	fast := attachHeap(t, name, "fast")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 40
	var blocked time.Duration
	dst := make([]byte, 3*capacity)
	for i := range n {
		size := sizeFor(uint64(i), 3*capacity)
		start := time.Now()
		if id, err := p.Send(ctx, uint8(i), payloadFor(uint64(i), size)); err != nil || id != uint64(i+1) {
			t.Fatalf("SendManaged %d: %d %v", i, id, err)
		}
		blocked = max(blocked, time.Since(start))
		k, m, err := fast.TryRecv(dst)
		if err != nil || m.ID != uint64(i+1) || !bytes.Equal(dst[:k], payloadFor(uint64(i), size)) {
			t.Fatalf("fast consumer, message %d: %+v %v", i, m, err)
		}
	}
	if len(alerts) != 1 || alerts[0].ID != "slow" {
		t.Fatalf("alerts %+v, want one for slow", alerts)
	}
	t.Logf("longest managed send %v (the one that evicted slow)", blocked.Round(time.Millisecond))
	for _, cs := range p.Stats().Ring.Consumers {
		if cs.ID == "slow" && cs.State == "active" {
			t.Fatalf("slow still active after eviction: %+v", cs)
		}
	}
	// The evicted consumer: told once, then a lap report, then only whole
	// messages.
	var lapped bool
	evicted := 0
	delivered := 0
	for {
		k, m, err := slow.TryRecv(dst)
		if err == ErrEmpty {
			break
		}
		if errors.Is(err, ErrLapped) {
			lapped = true
			continue
		}
		if errors.Is(err, ErrEvicted) {
			evicted++
			continue
		}
		if err != nil {
			t.Fatalf("evicted consumer: %v", err)
		}
		i := int(m.ID) - 1
		if !bytes.Equal(dst[:k], payloadFor(uint64(i), sizeFor(uint64(i), 3*capacity))) {
			t.Fatalf("evicted consumer: message %d torn", i)
		}
		delivered++
	}
	st := slow.Stats()
	if evicted != 1 || !lapped || st.Lapped != 1 || st.ReassemblyErrors != 0 || delivered == 0 || delivered >= n {
		t.Fatalf("evicted consumer: lapped %v, %d delivered, stats %+v", lapped, delivered, st)
	}
	t.Logf("evicted consumer: lapped, then %d whole messages (%d frames skipped to resynchronise)", delivered, st.SkippedFrames)
}

// TestFrame_Process_SendManaged_Stall: the required consumer is another
// process that reads a few messages and then hangs. The producer's managed
// send fails with a *ring.StallError naming it at the position it reached;
// a second, healthy consumer process still receives everything that was
// sent, whole.
var stallRole = childtest.Register("frame.stall-consumer", stallConsumer)

func TestFrame_Process_SendManaged_Stall(t *testing.T) {
	const capacity, slots = 64, 16
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := ring.PortableName("fm")
	p, err := Create(name, Config{PayloadCapacity: capacity, Capacity: slots, LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Require(ring.RequiredConfig{
		IDs: []string{"stuck", "healthy"}, StartupTimeout: 10 * time.Second,
		ProgressTimeout: 50 * time.Millisecond, GracePeriod: 50 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	const k = 10 // messages "stuck" reads before it hangs
	opts := childtest.Options{Life: 30 * time.Second}
	stuck := stallRole.Start(t, childArgs{Ring: name, ID: "stuck", N: k}, opts)
	healthy := stallRole.Start(t, childArgs{Ring: name, ID: "healthy"}, opts)
	sent := 0
	var stallErr error
	for i := 0; stallErr == nil; i++ {
		if i > 10*slots+k {
			t.Fatalf("%d managed sends went through with a stuck required consumer", i)
		}
		_, err := p.Send(ctx, uint8(i), payloadFor(uint64(i), sizeFor(uint64(i), 3*capacity)))
		if err != nil {
			stallErr = err
			break
		}
		sent++
	}
	var se *ring.StallError
	if !errors.As(stallErr, &se) || se.ID != "stuck" {
		t.Fatalf("managed send %d: %v, want a *ring.StallError for stuck", sent, stallErr)
	}
	// "stuck" consumed exactly its k messages: its position is the last
	// frame of message k-1.
	last := int64(-1)
	for i := range k {
		last += int64(max(1, (sizeFor(uint64(i), 3*capacity)+capacity-1)/capacity))
	}
	if se.Position != last {
		t.Fatalf("stall at position %d, want %d (the last frame of message %d)", se.Position, last, k-1)
	}
	t.Logf("after %d messages: %v", sent, stallErr)
	// End the stream after what was sent; "healthy" checks it got it all.
	p.Close()
	if got := healthy.ExpectInt("healthy"); got != int64(sent) {
		t.Fatalf("healthy consumer got %d messages, want the %d sent:\n%s", got, sent, healthy.Output())
	}
	healthy.Wait()
	stuck.Kill()
	if got := stuck.ExpectInt("stuck read"); got != k {
		t.Fatalf("stuck consumer read %d messages, want %d:\n%s", got, k, stuck.Output())
	}
}

// stallConsumer is consumer a.ID ("stuck" or "healthy"): "stuck" reads
// a.N messages and hangs, "healthy" reads to the end of the stream; each
// says how many messages it read.
func stallConsumer(t *testing.T, ch *childtest.Child, a childArgs) {
	role := a.ID
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	c, err := Attach(ctx, a.Ring, ConsumerConfig{ID: role, Wait: ring.Block, LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const capacity = 64
	check := func(i int, m Meta, b []byte) {
		if m.ID != uint64(i+1) || !bytes.Equal(b, payloadFor(uint64(i), sizeFor(uint64(i), 3*capacity))) {
			t.Fatalf("%s: message %d: %+v, %d bytes, corrupt or out of order", role, i, m, len(b))
		}
	}
	if role == "stuck" {
		k := a.N
		for i := range k {
			if err := c.Read(ctx, func(m Meta, b []byte) error { check(i, m, b); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		ch.Say("stuck read %d", k)
		<-ctx.Done() // killed by the test
		return
	}
	i := 0
	for m, b := range c.All(ctx) {
		check(i, m, b)
		i++
	}
	if err := c.Err(); err != nil {
		t.Fatalf("healthy: after %d messages: %v", i, err)
	}
	if st := c.Stats(); st.ReassemblyErrors != 0 || st.Lapped != 0 {
		t.Fatalf("healthy: stats %+v", st)
	}
	ch.Say("healthy %d", i)
}

// TestSendManaged_Heap_MultiProducerBlockedLosesNothing: on a
// multi-producer ring a managed send that blocks (or any send whose
// context ends while it waits for room) must not disturb what is already
// published. ClaimManaged interrupts its wait every CheckInterval; ring
// waits for room before taking a claim, so nothing claimed is ever given
// up (a regression test for abandoning such claims).
func TestSendManaged_Heap_MultiProducerBlockedLosesNothing(t *testing.T) {
	p, name := managedPair(t, Config{PayloadCapacity: 16, Capacity: 8, MaxProducers: 2}, ring.RequiredConfig{
		IDs: []string{"r"}, ProgressTimeout: 20 * time.Millisecond, GracePeriod: 20 * time.Millisecond,
	})
	c := attachHeap(t, name, "r")
	ctx := context.Background()
	for i := range 8 {
		if _, err := p.Send(ctx, uint8(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A send whose context ends while it waits (before the policy
	// judges "r" stalled), then one the policy fails.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := p.Send(short, 9, []byte{9}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked Send past its deadline: %v", err)
	}
	var se *ring.StallError
	if _, err := p.Send(ctx, 8, []byte{8}); !errors.As(err, &se) {
		t.Fatalf("blocked Send: %v, want a *ring.StallError", err)
	}
	dst := make([]byte, 16)
	for i := range 8 {
		rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
		n, m, err := c.Recv(rctx, dst)
		rcancel()
		if err != nil || m.ID != uint64(i+1) || n != 1 || dst[0] != byte(i) {
			t.Fatalf("message %d: %v %+v %v (ring %+v)", i, dst[:n], m, err, c.Stats().Ring)
		}
	}
}
