package ring

// BenchmarkPingPong: the cross-process round trip, with its reference
// measured in the same run.
//
//	go test -run XXX -bench PingPong -benchtime=200000x ./ring/
//
// Two processes: this one and an echo child (the ring.pingpong-echo role,
// internal/childtest). Ring: the parent publishes an event on
// ring "ping", the child reads it and publishes it back on ring "pong",
// the parent reads it: one event in flight, BusySpin on every side, Shm
// backend. Reference: the same two processes bounce a counter through two
// uint64 words, 128 bytes apart, of one mmapped /dev/shm file, each side
// spinning on an atomic load. The two alternate in chunks so that both
// see the same machine conditions, after a warm-up of each.
//
// Reported: ring-p50-ns, ring-p99-ns, ref-p50-ns, ref-p99-ns (round-trip
// latency percentiles, one clock read per round trip) and ring/ref-p50.
// ns/op is the wall time of one ring plus one reference round trip.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/internal/shm"
)

const (
	ppWarm     = 2000
	ppChunk    = 1000
	ppDeadline = 5 * time.Minute // bounds every spin if the peer vanishes
)

// ppEvent is one cache line.
type ppEvent struct {
	Seq  int64
	Data [7]int64
}

type ppBlock struct {
	raw      bool
	n        int
	measured bool
}

// ppSchedule is the sequence of blocks both processes run: a warm-up of
// each kind, then ring and reference chunks alternately until each has n
// measured round trips.
func ppSchedule(n int) []ppBlock {
	s := []ppBlock{{false, ppWarm, false}, {true, ppWarm, false}}
	for done := 0; done < n; done += ppChunk {
		k := min(ppChunk, n-done)
		s = append(s, ppBlock{false, k, true}, ppBlock{true, k, true})
	}
	return s
}

// ppRaw is the reference: two words on separate 128-byte lines of a shared
// mapping.
type ppRaw struct {
	m          *shm.Mapping
	ping, pong *uint64
}

func ppRawView(m *shm.Mapping) ppRaw {
	b := m.Bytes()
	return ppRaw{m: m, ping: (*uint64)(unsafe.Pointer(&b[0])), pong: (*uint64)(unsafe.Pointer(&b[128]))}
}

// spinUntil spins on an atomic load until *w == v. Every 2^20 polls it
// looks at the clock, so a vanished peer ends in an error, not a hang.
func spinUntil(w *uint64, v uint64, deadline time.Time) error {
	for i := 1; atomic.LoadUint64(w) != v; i++ {
		if i&(1<<20-1) == 0 && time.Now().After(deadline) {
			return fmt.Errorf("pingpong: no answer for %d after the deadline", v)
		}
	}
	return nil
}

// ppArgs are the echo child's parameters: the rings, the reference's
// segment, the measured round trips of each kind and the CPU to pin to.
type ppArgs struct {
	Ping, Pong, Raw string
	N, CPU          int
}

// ppEchoRole is the echo child of BenchmarkPingPong.
var ppEchoRole = childtest.Register("ring.pingpong-echo", func(t *testing.T, _ *childtest.Child, a ppArgs) {
	if err := ppEcho(a); err != nil {
		t.Fatal(err)
	}
})

func ppEcho(a ppArgs) error {
	n := a.N
	if release, err := PinThread(a.CPU); err == nil {
		defer release()
	}
	deadline := time.Now().Add(ppDeadline)
	m, err := shm.Open(shm.Shm, a.Raw, shm.Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	raw := ppRawView(m)
	attachCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Attach[ppEvent](attachCtx, a.Ping, ConsumerConfig{ID: "echo", Wait: BusySpin})
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := Create[ppEvent](a.Pong, Config{Capacity: 64, Wait: BusySpin, Populate: true})
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	k := uint64(0)
	for _, blk := range ppSchedule(n) {
		for i := 0; i < blk.n; i++ {
			if blk.raw {
				k++
				if err := spinUntil(raw.ping, k, deadline); err != nil {
					return err
				}
				atomic.StoreUint64(raw.pong, k)
				continue
			}
			// Read in place and publish the reply inside the callback: the
			// consumer's cursor store is off the reply's critical path.
			err := c.Read(ctx, func(ev *ppEvent, _ int64) error {
				_, err := p.Publish(ctx, func(e *ppEvent) { *e = *ev })
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func BenchmarkPingPong(b *testing.B) {
	pingName, pongName, rawName := PortableName("ping"), PortableName("pong"), PortableName("ppraw")
	m, err := shm.Create(shm.Shm, rawName, pageSize, shm.Options{Populate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer shm.Remove(shm.Shm, rawName)
	defer m.Close()
	raw := ppRawView(m)
	p, err := Create[ppEvent](pingName, Config{Capacity: 64, Wait: BusySpin, Populate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()

	echo := ppEchoRole.Start(b, ppArgs{Ping: pingName, Pong: pongName, Raw: rawName, N: b.N, CPU: 1},
		childtest.Options{Timeout: 10 * time.Second, Life: ppDeadline + time.Minute})
	fail := func(err error) {
		b.Helper()
		echo.Kill()
		b.Fatalf("%v\nchild output:\n%s", err, echo.Output())
	}
	// Pin after the child started: children inherit the forking thread's
	// affinity. Best effort (a container may forbid it).
	if release, err := PinThread(0); err == nil {
		defer release()
	}
	attachCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Attach[ppEvent](attachCtx, pongName, ConsumerConfig{ID: "parent", Wait: BusySpin})
	if err != nil {
		fail(err)
	}
	defer c.Close()

	deadline := time.Now().Add(ppDeadline)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ringRT := make([]time.Duration, 0, b.N)
	refRT := make([]time.Duration, 0, b.N)
	stamps := make([]time.Time, ppChunk+1)
	k, seq := uint64(0), int64(0)
	b.ResetTimer()
	for _, blk := range ppSchedule(b.N) {
		for i := 0; i < blk.n; i++ {
			stamps[i%ppChunk] = time.Now()
			if blk.raw {
				k++
				atomic.StoreUint64(raw.ping, k)
				if err := spinUntil(raw.pong, k, deadline); err != nil {
					fail(err)
				}
			} else {
				if _, err := p.Publish(context.Background(), func(e *ppEvent) { e.Seq = seq }); err != nil {
					fail(err)
				}
				ev, err := c.Recv(ctx)
				if err != nil {
					fail(err)
				}
				if ev.Seq != seq {
					fail(fmt.Errorf("pingpong: echo of %d came back as %d", seq, ev.Seq))
				}
				seq++
			}
			if blk.measured && i > 0 {
				d := stamps[i%ppChunk].Sub(stamps[(i-1)%ppChunk])
				if blk.raw {
					refRT = append(refRT, d)
				} else {
					ringRT = append(ringRT, d)
				}
			}
		}
		if blk.measured && blk.n > 0 {
			// The block's last round trip, closed by one more clock read.
			d := time.Since(stamps[(blk.n-1)%ppChunk])
			if blk.raw {
				refRT = append(refRT, d)
			} else {
				ringRT = append(ringRT, d)
			}
		}
	}
	b.StopTimer()
	if err := echo.Exit(); err != nil {
		b.Fatalf("echo child: %v\n%s", err, echo.Output())
	}

	if os.Getenv("MYELON_RING_PP_DEBUG") != "" {
		for _, d := range [][]time.Duration{ringRT, refRT} {
			var sum time.Duration
			for _, x := range d {
				sum += x
			}
			slices.Sort(d)
			b.Logf("n=%d mean=%v p999=%v max=%v", len(d), sum/time.Duration(len(d)), d[len(d)*999/1000], d[len(d)-1])
		}
	}
	ringP50, ringP99 := percentiles(ringRT)
	refP50, refP99 := percentiles(refRT)
	b.ReportMetric(float64(ringP50.Nanoseconds()), "ring-p50-ns")
	b.ReportMetric(float64(ringP99.Nanoseconds()), "ring-p99-ns")
	b.ReportMetric(float64(refP50.Nanoseconds()), "ref-p50-ns")
	b.ReportMetric(float64(refP99.Nanoseconds()), "ref-p99-ns")
	if refP50 > 0 {
		b.ReportMetric(float64(ringP50)/float64(refP50), "ring/ref-p50")
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*99/100)]
}
