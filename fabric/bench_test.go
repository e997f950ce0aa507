package fabric

// Benchmarks of a round (broadcast to every rank, gather every reply)
// against worker processes, and of the return path the fabric did not
// choose: one return ring per rank (created by its worker, so its
// liveness lock is the worker's), each read by a goroutine of the
// scheduler that hands replies to the gatherer over a channel.
//
//	go test -run '^$' -bench . ./fabric
//
// Every process waits with Block (the benchmark host has 2 cores).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
)

var benchWorkers = []int{1, 2, 4}

const benchPayload = 64

// BenchmarkRound: the fabric's round trip, Broadcast plus Gather of a
// 64-byte request and reply, with 1, 2 and 4 worker processes.
func BenchmarkRound(b *testing.B) {
	for _, n := range benchWorkers {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			cfg := Config{Session: "bench-" + ring.PortableName("r"), Workers: WorkerCount(n), DispatchDepth: 256, ReturnDepth: 64, PayloadCapacity: 256, Wait: ring.Block}
			s, err := NewScheduler(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for r := range n {
				rc, _ := s.Layout().Runner(r)
				workerRole.Start(b, workerArgs{Runner: rc, Echo: true}, childtest.Options{Life: 5 * time.Minute})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := s.Rendezvous(ctx); err != nil {
				b.Fatal(err)
			}
			req := make([]byte, benchPayload)
			measure(b, func() error {
				r, err := s.Broadcast(ctx, req)
				if err != nil {
					return err
				}
				_, err = r.Gather(ctx)
				return err
			})
		})
	}
}

// BenchmarkReturnPath_PerRankRings: the same rounds with one return ring
// per rank, read by one goroutine per rank.
func BenchmarkReturnPath_PerRankRings(b *testing.B) {
	for _, n := range benchWorkers {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			dname := ring.PortableName("fbd")
			disp, err := frame.Create(dname, frame.Config{Capacity: 256, PayloadCapacity: 256, MaxConsumers: n + 1, Wait: ring.Block})
			if err != nil {
				b.Fatal(err)
			}
			defer disp.Close()
			replies := make(chan uint64, n)
			ids := make([]string, n)
			// The readers stop (and are waited for) before their consumers
			// close: a consumer is used by one goroutine at a time.
			rctx, stopReaders := context.WithCancel(ctx)
			var readers sync.WaitGroup
			defer readers.Wait()
			defer stopReaders()
			for r := range n {
				ids[r] = WorkerID(r)
				rname := fmt.Sprintf("%s%d", dname, r)
				perRankReplierRole.Start(b, perRankArgs{Dispatch: dname, Return: rname, Rank: r}, childtest.Options{Life: 5 * time.Minute})
				c, err := frame.Attach(ctx, rname, frame.ConsumerConfig{ID: schedulerID, Wait: ring.Block})
				if err != nil {
					b.Fatal(err)
				}
				readers.Add(1)
				go func() {
					defer readers.Done()
					defer c.Close()
					for {
						var corr uint64
						err := c.Read(rctx, func(m frame.Meta, p []byte) error {
							c, _, _, ok := parseReply(m.Kind, p, n)
							if !ok {
								return errors.New("malformed reply")
							}
							corr = c
							return nil
						})
						if err != nil {
							return
						}
						replies <- corr
					}
				}()
			}
			if err := disp.WaitForConsumerIDs(ctx, ids...); err != nil {
				b.Fatal(err)
			}
			req := make([]byte, reqHeaderSize+benchPayload)
			var corr uint64
			measure(b, func() error {
				corr++
				putRequest(req, corr, allRanks)
				if _, err := disp.Send(ctx, kindRequest, req); err != nil {
					return err
				}
				for range n {
					if got := <-replies; got != corr {
						return fmt.Errorf("reply to round %d in round %d", got, corr)
					}
				}
				return nil
			})
		})
	}
}

type perRankArgs struct {
	Dispatch, Return string
	Rank             int
}

// perRankReplierRole answers every request on its own return ring.
var perRankReplierRole = childtest.Register("fabric.per-rank-replier", func(t *testing.T, ch *childtest.Child, a perRankArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ret, err := frame.Create(a.Return, frame.Config{Capacity: 64, PayloadCapacity: 256, MaxConsumers: 2, Wait: ring.Block})
	if err != nil {
		t.Fatal(err)
	}
	defer ret.Close()
	if err := ret.WaitForConsumerIDs(ctx, schedulerID); err != nil {
		t.Fatal(err)
	}
	disp, err := frame.Attach(ctx, a.Dispatch, frame.ConsumerConfig{ID: WorkerID(a.Rank), Wait: ring.Block})
	if err != nil {
		t.Fatal(err)
	}
	defer disp.Close()
	var corr uint64
	var reply []byte
	for {
		err := disp.Read(ctx, func(m frame.Meta, p []byte) error {
			c, _, ok := parseRequest(m.Kind, p)
			if !ok {
				return errors.New("malformed request")
			}
			corr = c
			reply = append(append(reply[:0], make([]byte, replyHeaderSize)...), p[reqHeaderSize:]...)
			return nil
		})
		if errors.Is(err, ring.ErrEndOfStream) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		putReply(reply, corr, statusOK, a.Rank)
		if _, err := ret.Send(ctx, kindReply, reply); err != nil {
			t.Fatal(err)
		}
	}
})

// measure runs round b.N times after a warm-up and reports the round
// latency's percentiles and the rounds per second.
func measure(b *testing.B, round func() error) {
	for range 200 {
		if err := round(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if err := round(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rounds/s")
}
