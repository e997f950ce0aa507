// Command fabric runs the inference fabric: one scheduler and N worker
// processes, which the scheduler launches itself (this same program with
// -role=worker, its rank's runner config in MYELON_RUNNER). Each round the
// scheduler broadcasts a step to every rank, gathers one reply per rank
// and prints the round's latency.
//
//	go run ./examples/fabric -workers 4 -rounds 10
//
// Kill a worker (kill -9) while it runs: the next round reports that rank
// down, the scheduler starts a new worker under the same rank, and the
// rounds after it are complete again.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/myelon-go/myelon/fabric"
)

func main() {
	role := flag.String("role", "scheduler", "scheduler or worker (the scheduler starts the workers)")
	workers := flag.Int("workers", 2, "scheduler: worker processes")
	rounds := flag.Int("rounds", 10, "scheduler: rounds to run")
	session := flag.String("session", fmt.Sprintf("fabric-example-%d", os.Getpid()), "scheduler: session label (segment names derive from it)")
	pause := flag.Duration("pause", 0, "scheduler: pause between rounds")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch *role {
	case "scheduler":
		err = schedule(ctx, *session, *workers, *rounds, *pause)
	case "worker":
		err = work(ctx)
	default:
		log.Fatalf("unknown -role %q: want scheduler or worker", *role)
	}
	if errors.Is(err, context.Canceled) {
		fmt.Println(*role + ": interrupted")
	} else if err != nil {
		log.Fatalf("%s: %v", *role, err)
	}
}

// schedule creates the fabric, launches the workers, and runs the rounds.
func schedule(ctx context.Context, session string, workers, rounds int, pause time.Duration) error {
	cfg := fabric.Config{Session: session, Workers: fabric.WorkerCount(workers)}
	if err := cfg.ApplyEnv(); err != nil { // MYELON_* variables override the flags
		return err
	}
	s, err := fabric.NewScheduler(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("session %q: dispatch ring %s, %d workers\n", session, s.Layout().Dispatch(), workers)

	procs := make([]*exec.Cmd, workers)
	defer func() {
		s.Close() // workers see the end of the dispatch ring and exit
		for _, p := range procs {
			if p != nil {
				p.Wait()
			}
		}
	}()
	launch := func(rank int) error {
		rc, err := s.Layout().Runner(rank)
		if err != nil {
			return err
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cmd := exec.Command(self, "-role=worker")
		cmd.Env = append(os.Environ(), rc.Environ())
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		procs[rank] = cmd
		fmt.Printf("rank %d: worker pid %d\n", rank, cmd.Process.Pid)
		return nil
	}
	for r := range workers {
		if err := launch(r); err != nil {
			return err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = s.Rendezvous(rctx)
	cancel()
	if err != nil {
		return err
	}
	fmt.Println("all ranks attached")

	var lat []time.Duration
	for i := 1; i <= rounds; i++ {
		start := time.Now()
		round, err := s.Broadcast(ctx, fmt.Appendf(nil, "step %d", i))
		if err != nil {
			return err
		}
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		replies, err := round.Gather(gctx)
		cancel()
		d := time.Since(start)
		ok := 0
		for _, r := range replies {
			if r.Err == nil {
				ok++
			}
		}
		fmt.Printf("round %d: %d/%d replies in %v\n", i, ok, workers, d.Round(time.Microsecond))
		var re *fabric.RoundError
		if errors.As(err, &re) {
			for _, e := range re.Ranks {
				fmt.Printf("  %v\n", e)
				if e.Failure == fabric.Down && ctx.Err() == nil {
					// Replace the worker: the new one takes over the rank.
					if p := procs[e.Rank]; p != nil {
						p.Process.Kill()
						p.Wait()
					}
					if err := launch(e.Rank); err != nil {
						return err
					}
					rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					err := s.Rendezvous(rctx)
					cancel()
					if err != nil {
						return err
					}
					fmt.Printf("  rank %d restarted\n", e.Rank)
				}
			}
		} else if err != nil {
			return err
		} else {
			lat = append(lat, d)
		}
		if pause > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		fmt.Printf("%d complete rounds: p50 %v, p99 %v, max %v\n", len(lat),
			lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	}
	return nil
}

// work serves one rank until the scheduler closes the fabric.
func work(ctx context.Context) error {
	rc, err := fabric.RunnerFromEnv()
	if err != nil {
		return err
	}
	w, err := fabric.NewWorker(ctx, rc)
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Serve(ctx, func(ctx context.Context, req, reply []byte) ([]byte, error) {
		return fmt.Appendf(reply, "rank %d did %s", w.Rank(), req), nil
	})
}
