package bridge_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestBackPressure: a stream holds 96 MiB the destination ring's consumer
// does not read yet. The inbound bridge fills the small ring, then waits
// with at most one fetch batch in memory: its resident set stays far below
// the stream's size. Then the consumer reads everything, in order.
func TestBackPressure(t *testing.T) {
	const count, size = 2000, 48 << 10
	srv := runServer(t, t.TempDir(), -1)
	dst := ring.PortableName("brbp")
	reclaim(t, dst)
	n := bridge.NATS{URL: srv.ClientURL(), Subject: "bp." + dst, Mode: bridge.JetStream, Stream: "P" + dst}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := bridge.EnsureStream(ctx, js, n); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, size)
	for i := range count {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if _, err := js.PublishAsync(n.Subject, msg); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}

	in, final := startInbound(ctx, t, bridge.InboundConfig{NATS: n, Ring: dst, Capacity: 64, PayloadCapacity: 4064, Batch: 8})

	// Wait until the bridge has filled the ring (64 frames hold 4 messages
	// of 13) and waits for room with its next batch in hand.
	for {
		_, st, err := ring.Inspect(ring.Shm, dst)
		if err != nil {
			t.Fatal(err)
		}
		if st.Published >= 4*13 && st.FullWaits > 0 {
			break
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			t.Fatal("the inbound bridge never filled the ring")
		}
	}
	rss := residentMiB(t, in.Pid())
	t.Logf("inbound bridge resident set with the ring full and %d MiB in the stream: %d MiB", count*size>>20, rss)
	if rss >= count*size>>20/2 {
		t.Errorf("inbound bridge resident set %d MiB: it buffers the stream", rss)
	}

	buf := make([]byte, size)
	for i := range count {
		k, _, err := final.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if k != size || binary.LittleEndian.Uint64(buf) != uint64(i) {
			t.Fatalf("message %d: %d bytes, index %d", i, k, binary.LittleEndian.Uint64(buf))
		}
	}
	in.Send("stop")
	var is bridge.InboundStats
	in.Result(&is)
	in.Wait()
	if is.Written != count {
		t.Errorf("inbound wrote %d, want %d", is.Written, count)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// residentMiB reads a process's resident set size (VmRSS) in MiB.
func residentMiB(tb testing.TB, pid int) int {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				tb.Fatal(err)
			}
			return kb >> 10
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}
