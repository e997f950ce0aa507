package peers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/myelon-go/myelon/bench/hist"
)

// measure drives ini through cfg.Warmup unrecorded and cfg.Count recorded
// round trips. Only RoundTrip lies between the two clock readings.
func measure(ctx context.Context, ini Initiator, cfg Config) (Result, error) {
	unpin, err := cfg.pin(roleInitiator)
	if err != nil {
		return Result{}, err
	}
	defer unpin()
	msg := make([]byte, cfg.Size)
	reply := make([]byte, cfg.Size)
	var seq uint64
	for ; seq < uint64(cfg.Warmup); seq++ {
		Fill(msg, seq)
		if err := ini.RoundTrip(msg, reply); err != nil {
			return Result{}, roundTripError(ctx, seq, err)
		}
		if err := Verify(reply, seq); err != nil {
			return Result{}, err
		}
	}

	actual := hist.New()
	var corrected *hist.Recorder
	var sched hist.Schedule
	start := time.Now()
	if cfg.Rate > 0 {
		corrected = hist.New()
		// withDefaults has checked the rate.
		sched, _ = hist.NewSchedule(cfg.Rate, start)
	}
	for i := range int64(cfg.Count) {
		Fill(msg, seq)
		var intended time.Time
		if corrected != nil {
			intended = sched.Intended(i)
			hist.SleepUntil(intended)
		}
		t0 := time.Now()
		if err := ini.RoundTrip(msg, reply); err != nil {
			return Result{}, roundTripError(ctx, seq, err)
		}
		t1 := time.Now()
		actual.Record(int64(t1.Sub(t0)))
		if corrected != nil {
			corrected.Record(int64(t1.Sub(intended)))
		}
		if err := Verify(reply, seq); err != nil {
			return Result{}, err
		}
		seq++
	}
	elapsed := time.Since(start)

	res := Result{Size: cfg.Size, Count: cfg.Count, Warmup: cfg.Warmup, Mode: ModeMaxThroughput, Verified: true}
	if res.Latency, err = actual.Summary(elapsed); err != nil {
		return Result{}, err
	}
	if corrected != nil {
		s, err := corrected.Summary(elapsed)
		if err != nil {
			return Result{}, err
		}
		res.Mode, res.TargetRate, res.Corrected = ModeFixedRate, cfg.Rate, &s
	}
	return res, nil
}

// roundTripError explains a failed round trip: when the run was cancelled
// (timeout, echo process gone) the cause comes first, since the transport's
// own error ("use of closed connection") is only its consequence.
func roundTripError(ctx context.Context, seq uint64, err error) error {
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		<-ctx.Done() // the deadline has passed: its timer is about to cancel ctx
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("round trip %d: %w (transport: %w)", seq, cause, err)
	}
	return fmt.Errorf("round trip %d: %w", seq, err)
}

// echoAll runs the echo side of cfg: every message, in order.
func echoAll(ctx context.Context, e Echoer, cfg Config) error {
	unpin, err := cfg.pin(roleEcho)
	if err != nil {
		return err
	}
	defer unpin()
	for seq := range cfg.total() {
		if err := e.Echo(seq); err != nil {
			return roundTripError(ctx, seq, err)
		}
	}
	return nil
}
