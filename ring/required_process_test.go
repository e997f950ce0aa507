package ring

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// Required-consumer liveness across processes: the producer is this test
// process, the required consumers are child processes.

// managedPublisher publishes n events with PublishManaged in a goroutine
// and reports the error that ended it (nil when all n went out).
func managedPublisher(ctx context.Context, p *Producer[procEvent], n int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		var cur int64
		fill := func(e *procEvent) { e.set(cur) }
		for ; cur < n; cur++ {
			if _, err := p.Publish(ctx, fill); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func livenessRing(t *testing.T, prefix string, lc RequiredConfig) (*Producer[procEvent], string) {
	t.Helper()
	name := segName(t, Shm, prefix)
	p, err := Create[procEvent](name, Config{Capacity: 64, LivenessInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Require(lc); err != nil {
		t.Fatal(err)
	}
	return p, name
}

func awaitPublisher(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(procTimeout):
		t.Fatalf("managed publish still blocked after %v", procTimeout)
		return nil
	}
}

func TestLivenessProcess_StartupTimeoutNamesMissing(t *testing.T) {
	p, name := livenessRing(t, "lstart", RequiredConfig{IDs: []string{"a", "b"}, StartupTimeout: 200 * time.Millisecond})
	a := spawn(t, procArgs{Role: "consume", Name: name, ID: "a"})
	a.Expect("attached")
	_, err := p.Publish(context.Background(), func(*procEvent) {})
	var se *StartupError
	if !errors.Is(err, ErrStartupTimeout) || !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"b"}) {
		t.Fatalf("got %v, want a StartupError missing [b]", err)
	}
	a.Kill()
}

func TestLivenessProcess_StalledConsumerFailsWithIDAndPosition(t *testing.T) {
	const k = 100
	alerts := make(chan StallAlert, 4)
	p, name := livenessRing(t, "lstall", RequiredConfig{IDs: []string{"slow"}, ProgressTimeout: 100 * time.Millisecond,
		GracePeriod: 100 * time.Millisecond, Alert: func(a StallAlert) { alerts <- a }})
	slow := spawn(t, procArgs{Role: "consume", Name: name, ID: "slow", Stop: k, After: "hang"})
	slow.Expect("attached")
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	start := time.Now()
	err := awaitPublisher(t, managedPublisher(ctx, p, 10_000))
	var se *StallError
	if !errors.Is(err, ErrConsumerStalled) || !errors.As(err, &se) || se.ID != "slow" || se.Position != k-1 || se.Action != ReturnError {
		t.Fatalf("got %v, want a StallError for slow at %d", err, k-1)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("failed after %v, before progress timeout + grace (200ms)", took)
	}
	select {
	case a := <-alerts:
		if a.ID != "slow" {
			t.Errorf("alert for %q, want slow", a.ID)
		}
	default:
		t.Error("no alert before the failure")
	}
	slow.Kill()
}

// A required consumer killed mid-stream and restarted under its id within
// the grace period resumes exactly where it stopped: the producer kept
// gating on the dead consumer's position and nothing is lost.
func TestLivenessProcess_RejoinAfterKillWithinGraceLosesNothing(t *testing.T) {
	const k, n = 300, 3000
	p, name := livenessRing(t, "lrejoin", RequiredConfig{IDs: []string{"r"}, ProgressTimeout: 100 * time.Millisecond, GracePeriod: 20 * time.Second})
	first := spawn(t, procArgs{Role: "consume", Name: name, ID: "r", Stop: k, After: "hang"})
	first.Expect("attached")
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	done := managedPublisher(ctx, p, n)
	if pos := first.ExpectInt("pos"); pos != k-1 {
		t.Fatalf("first consumer stopped at %d, want %d", pos, k-1)
	}
	waitFor(t, "the producer to block on the stopped consumer", func() bool { return p.Stats().Published == k+64 })
	first.Kill()
	time.Sleep(300 * time.Millisecond) // dead past the progress timeout, within grace
	if st := p.Stats(); st.Published != k+64 || st.DeadConsumers != 0 {
		t.Fatalf("after the kill: published %d, dead consumers %d; want %d and 0 (a required consumer keeps gating)", st.Published, st.DeadConsumers, k+64)
	}
	second := spawn(t, procArgs{Role: "consume", Name: name, ID: "r", Stop: n - k})
	second.Expect("attached")
	if err := awaitPublisher(t, done); err != nil {
		t.Fatalf("managed publish: %v", err)
	}
	var r consumeResult
	second.Result(&r)
	second.Wait()
	checkStream(t, "rejoined consumer", r, k, n-1)
}

// Evict: a required consumer that is alive but stuck is detached after the
// grace period; publishing goes on and another consumer sees everything.
func TestLivenessProcess_EvictStalledConsumerContinues(t *testing.T) {
	const k, n = 100, 2000
	p, name := livenessRing(t, "levict", RequiredConfig{IDs: []string{"stuck"}, ProgressTimeout: 50 * time.Millisecond, GracePeriod: 50 * time.Millisecond, Action: Evict})
	stuck := spawn(t, procArgs{Role: "consume", Name: name, ID: "stuck", Stop: k, After: "hang"})
	healthy := spawn(t, procArgs{Role: "consume", Name: name, ID: "healthy", Stop: n})
	stuck.Expect("attached")
	healthy.Expect("attached")
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	defer cancel()
	if err := awaitPublisher(t, managedPublisher(ctx, p, n)); err != nil {
		t.Fatalf("managed publish with evict: %v", err)
	}
	var r consumeResult
	healthy.Result(&r)
	healthy.Wait()
	checkStream(t, "healthy consumer", r, 0, n-1)
	for _, c := range p.Stats().Consumers {
		if c.ID == "stuck" && c.State != "detached" {
			t.Errorf("evicted consumer entry: %+v, want detached", c)
		}
	}
	stuck.Kill()
}
