package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myelon-go/myelon/ring"
)

// demoEvent is what the demo streams: a sequence, the send time on the
// shared monotonic clock, and a payload the consumer checks.
type demoEvent struct {
	Seq    int64
	SentNs int64
	Data   [6]uint64
}

type demoArgs struct {
	Name     string `json:"name"`
	Count    int    `json:"count"`
	Wait     string `json:"wait"`
	Capacity int    `json:"capacity"`
}

type demoResult struct {
	Received    int     `json:"received"`
	Seconds     float64 `json:"seconds"`
	P50, P99    int64
	P999, Max   int64
	ConsumerErr string `json:"error,omitempty"`
}

// monoNs reads CLOCK_MONOTONIC, which every process on the host shares
// (Go's time.Now monotonic reading is relative to each process's start).
func monoNs() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func runDemo(args []string) error {
	fs := newFlags("demo")
	count := fs.Int("count", 2_000_000, "events to stream")
	wait := fs.String("wait", "spin", "wait strategy of both sides: spin, yield, sleep[:d], block")
	capacity := fs.Int("capacity", 4096, "ring capacity (slots, power of two)")
	ops, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(ops) > 0 {
		return usagef("unexpected argument %q", ops[0])
	}
	ws, err := ring.ParseWaitStrategy(*wait)
	if err != nil {
		return err
	}
	a := demoArgs{Name: ring.PortableName("demo"), Count: *count, Wait: *wait, Capacity: *capacity}
	p, err := ring.Create[demoEvent](a.Name, ring.Config{Capacity: a.Capacity, Wait: ws})
	if err != nil {
		return err
	}
	defer p.Close()

	enc, _ := json.Marshal(a)
	cmd, err := startChild("demo-consumer", string(enc))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()

	fmt.Printf("producer pid %d -> consumer pid %d over /dev/shm/%s: %d events of %d bytes, wait=%s\n",
		unix.Getpid(), cmd.Process.Pid, a.Name, a.Count, 64, ws)
	if err := waitConsumers(p, 1, 10*time.Second, done); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	for i := 0; i < a.Count; i++ {
		seq := int64(i)
		if _, err := p.Publish(ctx, func(e *demoEvent) {
			e.Seq = seq
			for j := range e.Data {
				e.Data[j] = uint64(seq) * uint64(j+1)
			}
			e.SentNs = monoNs()
		}); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	pubSecs := time.Since(start).Seconds()
	p.Close()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("consumer: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	var r demoResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return fmt.Errorf("consumer output %q: %w", out.String(), err)
	}
	if r.ConsumerErr != "" {
		return errors.New(r.ConsumerErr)
	}
	fmt.Printf("published %d events in %.3fs (%.2f M events/s)\n", a.Count, pubSecs, float64(a.Count)/pubSecs/1e6)
	fmt.Printf("consumed  %d events in %.3fs (%.2f M events/s), all in order and intact\n", r.Received, r.Seconds, float64(r.Received)/r.Seconds/1e6)
	fmt.Printf("one-way latency (publish -> consumer read, shared monotonic clock): p50 %s  p99 %s  p99.9 %s  max %s\n",
		time.Duration(r.P50), time.Duration(r.P99), time.Duration(r.P999), time.Duration(r.Max))
	fmt.Println("(throughput mode: the ring runs full, so latency includes queueing; see 'myelon bench' for round trips)")
	return nil
}

// waitConsumers waits until n consumers are attached, or the child exits.
func waitConsumers(p *ring.Producer[demoEvent], n int, timeout time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		active := 0
		for _, c := range p.Stats().Consumers {
			if c.State == "active" {
				active++
			}
		}
		if active >= n {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("consumer exited before attaching: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no consumer attached within %v", timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func demoConsumer(args string) error {
	var a demoArgs
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return err
	}
	ws, err := ring.ParseWaitStrategy(a.Wait)
	if err != nil {
		return err
	}
	// The producer created the ring before starting this process: bound
	// the wait for it as the old default ready timeout did.
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	c, err := ring.Attach[demoEvent](actx, a.Name, ring.ConsumerConfig{ID: "demo", Wait: ws, Start: ring.StartAt(0)})
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	lat := make([]int64, 0, a.Count)
	var r demoResult
	var start time.Time
	ctx := context.Background()
	// check reads one event in place; made once, not per event.
	check := func(e *demoEvent, seq int64) error {
		now := monoNs()
		if r.Received == 0 {
			start = time.Now()
		}
		if e.Seq != seq || e.Data[5] != uint64(seq)*6 {
			return fmt.Errorf("event %d corrupt: %+v", seq, *e)
		}
		lat = append(lat, now-e.SentNs)
		return nil
	}
	for {
		err := c.Read(ctx, check)
		if errors.Is(err, ring.ErrEndOfStream) {
			break
		}
		if err != nil {
			r.ConsumerErr = err.Error()
			break
		}
		r.Received++
	}
	r.Seconds = time.Since(start).Seconds()
	if r.ConsumerErr == "" && r.Received != a.Count {
		r.ConsumerErr = fmt.Sprintf("received %d of %d events", r.Received, a.Count)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) int64 { return lat[int(p*float64(len(lat)-1))] }
		r.P50, r.P99, r.P999, r.Max = q(0.50), q(0.99), q(0.999), lat[len(lat)-1]
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
