package bridge_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats-server/v2/server"
)

// TestCoreServerRestart: ring -> outbound (core) -> NATS -> inbound (core)
// -> ring, the server shut down at a third of the stream and started again
// on its port. What the package doc promises for core mode: what arrives
// arrives once, in order and intact; while the server is down the outbound
// bridge reads nothing from the ring (the producer meets a full ring) and
// does not spin; both bridges reconnect, and every message sent once they
// have arrives, unless a full subscription dropped it (InboundStats.Lost).
// Messages in flight at the shutdown, or sent before both bridges are back,
// may be lost, and no counter shows them: the test logs how many.
func TestCoreServerRestart(t *testing.T) {
	// The sender holds message hold back until both bridges are back, so
	// that there are messages to send then.
	const n, hold = 20_000, 12_000
	store := t.TempDir()
	srv := runServer(t, store, -1)
	url := srv.ClientURL()
	src, dst := ring.PortableName("bcs"), ring.PortableName("bcd")
	reclaim(t, src)
	reclaim(t, dst)
	subject := "myelon." + src
	natsCfg := bridge.NATS{URL: url, Subject: subject, Mode: bridge.Core, RetryWait: bridge.Duration(100 * time.Millisecond)}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	p, err := frame.Create(src, frame.Config{Capacity: 512, PayloadCapacity: 224})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in, final := startInbound(ctx, t, bridge.InboundConfig{NATS: natsCfg, Ring: dst, Capacity: 512, PayloadCapacity: 224})
	out := outboundRole.Start(t, outboundArgs{bridge.OutboundConfig{NATS: natsCfg, Ring: src, ConsumerID: "out"}}, childOptions)
	out.Expect("ready")

	var next atomic.Int64 // the index of the next message the sender sends
	resume := make(chan struct{})
	sent := make(chan error, 1)
	senderDone := make(chan struct{})
	defer func() { // the producer is the sender's until it returns
		cancel()
		<-senderDone
	}()
	go func() {
		defer close(senderDone)
		for i := range n {
			if i == hold {
				select {
				case <-resume:
				case <-ctx.Done():
					sent <- ctx.Err()
					return
				}
			}
			if _, err := p.SendFlags(ctx, uint8(i%7), uint8(i%5), payload(i)); err != nil {
				sent <- err
				return
			}
			next.Store(int64(i + 1))
		}
		sent <- p.Drain(ctx) // the outbound bridge has read every message
	}()

	buf := make([]byte, 1024)
	last, received := -1, 0
	after, lostAfter := n, 0 // every message from after on was sent with both bridges back; how many of those were lost
	for last < n-1 {
		if received == n/3 && after == n {
			restart(t, ctx, &srv, store, subject, src, out.Pid())
			// The sender began message next.Load()+1 after the bridges were
			// back; next.Load() itself may have gone into the ring before.
			after = int(next.Load()) + 1
			t.Logf("server back, both bridges reconnected; the sender's next message %d", after-1)
			close(resume)
		}
		k, m, err := final.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("after message %d: %v\n%s", last, err, ringState(src, dst))
		}
		if k < 8 {
			t.Fatalf("after message %d: a message of %d bytes", last, k)
		}
		i := int(binary.LittleEndian.Uint64(buf))
		if i <= last {
			t.Fatalf("message %d after message %d: out of order or repeated", i, last)
		}
		if i > last+1 {
			t.Logf("messages %d to %d lost", last+1, i-1)
			lostAfter += max(0, i-max(last+1, after))
		}
		if m.Kind != uint8(i%7) || m.Flags != uint8(i%5) {
			t.Fatalf("message %d: kind %d flags %d, want %d %d", i, m.Kind, m.Flags, i%7, i%5)
		}
		checkPayload(t, i, buf[:k])
		last = i
		received++
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}

	// The producer closes the ring: the outbound bridge flushes and ends;
	// the inbound bridge closes its ring, which ends after message n-1.
	p.Close()
	var ost bridge.OutboundStats
	out.Result(&ost)
	out.Wait()
	in.Send("stop")
	var is bridge.InboundStats
	in.Result(&is)
	in.Wait()
	if _, _, err := final.Recv(ctx, buf); !errors.Is(err, frame.ErrEndOfStream) {
		t.Fatalf("after message %d: %v, want end of stream", n-1, err)
	}
	lost := n - received
	t.Logf("received %d of %d: %d lost, %d of them of the %d sent with both bridges back; outbound %+v, inbound %+v", received, n, lost, lostAfter, n-after, ost, is)
	if ost.Published+ost.Errors != n || ost.Acked != ost.Published {
		t.Errorf("outbound counters %+v: want every one of %d messages published (and so acked) or failed", ost, n)
	}
	if is.Written != uint64(received) || is.Errors != 0 || is.Lost > uint64(lost) {
		t.Errorf("inbound counters %+v, want %d written, no errors, at most %d lost", is, received, lost)
	}
	if uint64(lostAfter) > is.Lost {
		t.Errorf("%d messages sent with both bridges back lost, %d counted lost", lostAfter, is.Lost)
	}
}

// restart shuts the server down, checks that the outbound bridge (process
// pid) neither reads the ring nor spins meanwhile, starts the server again
// on its port and waits until both bridges are back: connected, and the
// inbound one subscribed.
func restart(t *testing.T, ctx context.Context, srv **server.Server, store, subject, src string, pid int) {
	t.Helper()
	port := portOf(t, (*srv).Addr().String())
	(*srv).Shutdown()
	(*srv).WaitForShutdown()
	t.Logf("server down")

	// The bridge finishes the batch it was publishing, then waits.
	time.Sleep(300 * time.Millisecond)
	pos0, cpu0 := position(t, src, "out"), cpuTime(t, pid)
	const window = 700 * time.Millisecond
	time.Sleep(window)
	pos1, cpu1 := position(t, src, "out"), cpuTime(t, pid)
	if pos1 != pos0 {
		t.Errorf("with the server down the outbound bridge read the ring from %d to %d", pos0, pos1)
	}
	if cpu0 >= 0 && cpu1-cpu0 > window/4 {
		t.Errorf("with the server down the outbound bridge used %v of CPU in %v", cpu1-cpu0, window)
	}

	*srv = runServer(t, store, port)
	for (*srv).NumClients() < 2 || !(*srv).GlobalAccount().SubscriptionInterest(subject) {
		if ctx.Err() != nil {
			t.Fatalf("bridges not back: %d clients, interest in %s %v", (*srv).NumClients(), subject, (*srv).GlobalAccount().SubscriptionInterest(subject))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// position returns the ring position of the consumer id of ring name.
func position(t *testing.T, name, id string) int64 {
	t.Helper()
	_, st, err := ring.Inspect(ring.Shm, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Consumers {
		if c.ID == id {
			return c.Position
		}
	}
	t.Fatalf("ring %s: no consumer %s", name, id)
	return 0
}

// cpuTime returns the user and system CPU time process pid has used, from
// /proc (in USER_HZ ticks, 100 a second), or -1 where there is no /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The fields after the command name (which may hold spaces) start at
	// the state, field 3; utime and stime are fields 14 and 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
