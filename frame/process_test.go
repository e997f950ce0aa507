package frame

// Multi-process tests: producer and consumers are separate processes on a
// real shm segment, the consumers (or the producer) child processes that
// play roles registered with internal/childtest.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

// TestChildProcess is where a child process of these tests plays its role
// (internal/childtest); run directly it skips.
func TestChildProcess(t *testing.T) { childtest.Run(t) }

// childArgs are the arguments of this package's child roles.
type childArgs struct {
	Ring string // the ring's name
	ID   string // the consumer id
	N    int    // messages (the role says what of)
}

// waitConsumers polls the ring (as the CLI would, without using the
// producer handle) until consumers with all ids are active.
func waitConsumers(t *testing.T, ctx context.Context, name string, ids ...string) {
	t.Helper()
	for {
		_, st, err := ring.Inspect(ring.Shm, name)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range st.Consumers {
			if c.State == "active" && slices.Contains(ids, c.ID) {
				n++
			}
		}
		if n == len(ids) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumers %v did not attach: %v", ids, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

const broadcastCapacity = 256

// TestFrame_Process_Broadcast100k: one producer process sends 100,000
// messages of random sizes from 0 to 3x the frame capacity; two consumer
// processes each receive every one, in order, verified by checksum.
var broadcastRole = childtest.Register("frame.broadcast-consumer", broadcastConsumer)

func TestFrame_Process_Broadcast100k(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	name := ring.PortableName("fb")
	p, err := Create(name, Config{PayloadCapacity: broadcastCapacity, Timestamps: true, Capacity: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var cons [2]*childtest.Proc
	for i := range cons {
		cons[i] = broadcastRole.Start(t, childArgs{Ring: name, ID: "c" + strconv.Itoa(i), N: n}, childtest.Options{Life: 90 * time.Second, Timeout: 90 * time.Second})
	}
	if err := p.WaitForConsumerIDs(ctx, "c0", "c1"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3*broadcastCapacity)
	start := time.Now()
	for i := range n {
		b := buf[:sizeFor(uint64(i), 3*broadcastCapacity)]
		fillPayload(b, uint64(i))
		if _, err := p.Send(ctx, uint8(i), b); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	st := p.Stats()
	t.Logf("producer: %d messages, %d fragments, %d bytes in %v", st.Messages, st.Fragments, st.Bytes, time.Since(start).Round(time.Millisecond))
	p.Close()
	for _, c := range cons {
		c.Wait()
	}
}

func broadcastConsumer(t *testing.T, ch *childtest.Child, a childArgs) {
	n := a.N
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	c, err := Attach(ctx, a.Ring, ConsumerConfig{
		PayloadCapacity: broadcastCapacity,
		ID:              a.ID, Wait: ring.Block,
	})

	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 3*broadcastCapacity)
	dst := make([]byte, 3*broadcastCapacity)
	var got []byte
	var lat []time.Duration
	verify := func(i int, m Meta, b []byte) {
		size := sizeFor(uint64(i), 3*broadcastCapacity)
		fillPayload(want[:size], uint64(i))
		if m.ID != uint64(i+1) || m.Kind != uint8(i) || len(b) != size || checksum(b) != checksum(want[:size]) {
			t.Fatalf("message %d: meta %+v, %d bytes, checksum %x, want id %d size %d checksum %x", i, m, len(b), checksum(b), i+1, size, checksum(want[:size]))
		}
		if d, ok := m.Latency(); ok && i%100 == 0 {
			lat = append(lat, d)
		}
	}
	for i := 0; i < n; i++ {
		var m Meta
		var err error
		switch i % 3 { // every receive path
		case 0:
			var k int
			k, m, err = c.Recv(ctx, dst)
			got = dst[:k]
		case 1:
			err = c.Read(ctx, func(mm Meta, b []byte) error { m = mm; verify(i, mm, b); return nil })
			got = nil
		case 2:
			_, err = c.Process(ctx, 1, func(mm Meta, b []byte) error { m = mm; verify(i, mm, b); return nil })
			got = nil
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got != nil {
			verify(i, m, got)
		}
	}
	if _, _, err := c.Recv(ctx, dst); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("after %d messages: %v, want ErrEndOfStream", n, err)
	}
	st := c.Stats()
	if st.Messages != uint64(n) || st.ReassemblyErrors != 0 || st.SkippedFrames != 0 || st.LateJoinFrames != 0 || st.Lapped != 0 {
		t.Fatalf("stats %+v", st)
	}
	slices.Sort(lat)
	p50 := time.Duration(0)
	if len(lat) > 0 {
		p50 = lat[len(lat)/2]
	}
	ch.Logf("%s: %d messages, %d fragments (%d multi-frame), %d bytes verified; one-way latency p50 %v",
		c.ID(), st.Messages, st.Fragments, st.MultiFrame, st.Bytes, p50)
}

// TestFrame_Process_LateJoinMidMessage: a consumer process attaches while
// the producer is blocked in the middle of a message larger than the ring.
// It must start at the next whole message, with no error, and count the
// frames it skipped.
var lateRole = childtest.Register("frame.late-consumer", lateConsumer)

func TestFrame_Process_LateJoinMidMessage(t *testing.T) {
	const capacity, slots = 64, 8
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := ring.PortableName("fl")
	p, err := Create(name, Config{PayloadCapacity: capacity, Capacity: slots})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	early, err := Attach(context.Background(), name, ConsumerConfig{ID: "early"})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	sizes := lateSizes()
	sent := make(chan error, 1)
	go func() {
		for i, size := range sizes {
			if _, err := p.Send(ctx, uint8(i), payloadFor(uint64(i), size)); err != nil {
				sent <- err
				return
			}
		}
		sent <- p.Close()
	}()
	// The first message is 20 frames: chunks of 4; with "early" reading
	// nothing, the producer publishes two chunks (sequences 0-7) and blocks.
	for {
		_, st, err := ring.Inspect(ring.Shm, name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Published == slots {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("producer published %d, want %d", st.Published, slots)
		}
		time.Sleep(time.Millisecond)
	}
	late := lateRole.Start(t, childArgs{Ring: name}, childtest.Options{Life: 30 * time.Second})
	waitConsumers(t, ctx, name, "late")
	for i, size := range sizes {
		n, m, err := early.RecvAppend(ctx, nil)
		if err != nil || m.Kind != uint8(i) || !bytes.Equal(n, payloadFor(uint64(i), size)) {
			t.Fatalf("early consumer, message %d: %v %+v", i, err, m)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	late.Wait()
}

// lateSizes: message 0 spans 20 frames (2.5 rings); the rest vary.
func lateSizes() []int { return []int{20 * 64, 5, 64, 65, 300, 0, 1000, 129} }

func lateConsumer(t *testing.T, ch *childtest.Child, a childArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	c, err := Attach(ctx, a.Ring, ConsumerConfig{ID: "late", Wait: ring.Block})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sizes := lateSizes()
	i := 1 // joined during message 0: the first whole message is 1
	for m, b := range c.All(ctx) {
		if i >= len(sizes) || m.Kind != uint8(i) || m.ID != uint64(i+1) || !bytes.Equal(b, payloadFor(uint64(i), sizes[i])) {
			t.Fatalf("got message kind %d id %d (%d bytes), want message %d", m.Kind, m.ID, len(b), i)
		}
		i++
	}
	if c.Err() != nil || i != len(sizes) {
		t.Fatalf("loop ended after message %d: %v", i, c.Err())
	}
	st := c.Stats()
	if st.LateJoinFrames != 12 || st.ReassemblyErrors != 0 || st.Messages != uint64(len(sizes)-1) {
		t.Fatalf("stats %+v, want 12 late-join frames (sequences 8-19) and no errors", st)
	}
	ch.Logf("late consumer: joined at sequence 8, inside message id 1 (20 frames); skipped %d frames; then %d whole messages", st.LateJoinFrames, st.Messages)
}
