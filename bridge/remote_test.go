package bridge_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/myelon-go/myelon/bridge"
	"github.com/myelon-go/myelon/fabric"
	"github.com/myelon-go/myelon/internal/childtest"
	"github.com/myelon-go/myelon/ring"
	"github.com/nats-io/nats.go"
)

type workerArgs struct {
	Runner  string // fabric.RunnerConfig
	URL     string // with Subject: a proxy worker for a remote rank
	Subject string
}

// The fabric worker role serves one rank: itself (echo, "local:" before the
// request), or, with a subject, as the proxy of a remote rank.
var workerRole = childtest.Register("bridge.fabric.worker", func(t *testing.T, c *childtest.Child, a workerArgs) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, err := fabric.ParseRunner(a.Runner)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fabric.NewWorker(ctx, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h := fabric.Handler(func(_ context.Context, req, reply []byte) ([]byte, error) {
		return append(append(reply, "local:"...), req...), nil
	})
	if a.Subject != "" {
		nc, err := nats.Connect(a.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		h = bridge.RemoteHandler(nc, a.Subject, 10*time.Second)
	}
	c.Say("ready")
	if err := w.Serve(ctx, h); err != nil {
		t.Fatal(err)
	}
})

// The remote role is the remote rank's process: "remote:" before the
// request.
var remoteRole = childtest.Register("bridge.fabric.remote", func(t *testing.T, c *childtest.Child, a workerArgs) {
	nc, err := nats.Connect(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	h := func(_ context.Context, req, reply []byte) ([]byte, error) {
		return append(append(reply, "remote:"...), req...), nil
	}
	if err := bridge.ServeRemote(context.Background(), nc, a.Subject, h, func() { c.Say("ready") }); err != nil {
		t.Fatal(err)
	}
})

// TestFabricRemoteRank: a fabric of two ranks, rank 1 behind NATS: a round
// gathers both replies; with the remote process killed, the next round
// reports rank 1 down, as a dead local rank, and still returns rank 0's
// reply; with a new remote process, the round after gathers both again.
func TestFabricRemoteRank(t *testing.T) {
	srv := runServer(t, t.TempDir(), -1)
	s, err := fabric.NewScheduler(fabric.Config{Session: ring.PortableName("brf"), Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runner := func(rank int) string {
		rc, err := s.Layout().Runner(rank)
		if err != nil {
			t.Fatal(err)
		}
		return rc.String()
	}
	subject := "fabric.rank1." + s.Layout().Dispatch()
	remote := remoteRole.Start(t, workerArgs{URL: srv.ClientURL(), Subject: subject})
	remote.Expect("ready")
	local := workerRole.Start(t, workerArgs{Runner: runner(0)})
	local.Expect("ready")
	proxy := workerRole.Start(t, workerArgs{Runner: runner(1), URL: srv.ClientURL(), Subject: subject})
	proxy.Expect("ready")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Rendezvous(ctx); err != nil {
		t.Fatal(err)
	}

	round, err := s.Broadcast(ctx, []byte("step1"))
	if err != nil {
		t.Fatal(err)
	}
	replies, err := round.Gather(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{string(replies[0].Payload), string(replies[1].Payload)}; !slices.Equal(got, []string{"local:step1", "remote:step1"}) {
		t.Fatalf("replies %q", got)
	}

	// Round latency, one rank at a time: local beside remote.
	for rank := range 2 {
		lat := make([]time.Duration, 0, 200)
		for range cap(lat) {
			start := time.Now()
			r, err := s.Call(ctx, rank, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Gather(ctx); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		t.Logf("rank %d round latency: p50 %v, p99 %v", rank, lat[len(lat)/2], lat[len(lat)*99/100])
	}

	remote.Kill()
	// The server drops the dead process's subscription once it reads the
	// closed connection; a request sent before that would wait for its
	// timeout.
	for srv.GlobalAccount().SubscriptionInterest(subject) {
		if ctx.Err() != nil {
			t.Fatal("the server kept the killed remote's subscription")
		}
		time.Sleep(time.Millisecond)
	}
	round, err = s.Broadcast(ctx, []byte("step2"))
	if err != nil {
		t.Fatal(err)
	}
	replies, err = round.Gather(ctx)
	if !errors.Is(err, fabric.ErrRound) {
		t.Fatalf("round with the remote rank dead: %v, want ErrRound", err)
	}
	if string(replies[0].Payload) != "local:step2" || replies[0].Err != nil {
		t.Errorf("rank 0: %q, %v", replies[0].Payload, replies[0].Err)
	}
	var re *fabric.RankError
	if !errors.As(replies[1].Err, &re) || re.Rank != 1 || re.Failure != fabric.Down ||
		!errors.Is(err, fabric.ErrWorkerDown) || !errors.Is(re, bridge.ErrRemoteDown) || errors.Is(re, fabric.ErrWorkerFailed) {
		t.Errorf("rank 1: %v, want rank 1 down matching fabric.ErrWorkerDown and bridge.ErrRemoteDown", replies[1].Err)
	}

	// The proxy worker stayed attached: a new remote process serves the
	// next round.
	remote = remoteRole.Start(t, workerArgs{URL: srv.ClientURL(), Subject: subject})
	remote.Expect("ready")
	round, err = s.Broadcast(ctx, []byte("step3"))
	if err != nil {
		t.Fatal(err)
	}
	if replies, err = round.Gather(ctx); err != nil {
		t.Fatalf("round with the remote restarted: %v", err)
	}
	if got := []string{string(replies[0].Payload), string(replies[1].Payload)}; !slices.Equal(got, []string{"local:step3", "remote:step3"}) {
		t.Fatalf("replies %q", got)
	}
	remote.Kill()

	// Closing the fabric ends the workers, which remove their presence.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	local.Wait()
	proxy.Wait()
}
