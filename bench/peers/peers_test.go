package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	for _, f := range []string{"setup", "corrupt", "crash", "hang"} {
		if err := Register(faultPeer{fault: f}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	MaybeRunChild()
	os.Exit(m.Run())
}

// checkResult checks what every successful run must satisfy.
func checkResult(t *testing.T, r Result, peer string, cfg Config) {
	t.Helper()
	s := r.Latency
	if r.Peer != peer || r.Size != cfg.Size || r.Count != cfg.Count || r.Warmup != cfg.Warmup || !r.Verified {
		t.Errorf("result header %+v does not match peer %s and %+v", r, peer, cfg)
	}
	if s.Count != int64(cfg.Count) {
		t.Errorf("count = %d, want %d", s.Count, cfg.Count)
	}
	if !(s.Min > 0 && s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max) {
		t.Errorf("percentiles out of order or zero: %+v", s)
	}
	if !(s.Throughput > 0 && s.DurationSecs > 0 && s.Mean >= float64(s.Min) && s.Mean <= float64(s.Max)) {
		t.Errorf("rate or mean not sane: %+v", s)
	}
}

func TestRun_Smoke(t *testing.T) {
	for _, peer := range Names() {
		if !isBuiltin(peer) {
			continue
		}
		for _, size := range []int{64, 4096} {
			t.Run(fmt.Sprintf("%s/%dB", peer, size), func(t *testing.T) {
				cfg := Config{Size: size, Count: 200, Warmup: 20, Timeout: 30 * time.Second}
				r, err := Run(context.Background(), peer, cfg)
				if err != nil {
					t.Fatal(err)
				}
				checkResult(t, r, peer, cfg)
				if r.Mode != ModeMaxThroughput || r.Corrected != nil {
					t.Errorf("mode %q corrected %v, want max throughput without correction", r.Mode, r.Corrected)
				}
				t.Logf("%s %d B: p50 %d ns, p99 %d ns, max %d ns, %.0f round trips/s",
					peer, size, r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Latency.Throughput)
			})
		}
	}
}

func isBuiltin(name string) bool {
	switch name {
	case RawAtomic, Chan, UnixSocket, Pipe, TCP, Shmipc, GRPC, ZMQ:
		return true
	}
	return false
}

func TestRun_FixedRate(t *testing.T) {
	for _, peer := range []string{RawAtomic, UnixSocket} {
		t.Run(peer, func(t *testing.T) {
			cfg := Config{Size: 64, Count: 200, Rate: 20_000, Timeout: 30 * time.Second}
			start := time.Now()
			r, err := Run(context.Background(), peer, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r, peer, cfg)
			if r.Mode != ModeFixedRate || r.TargetRate != 20_000 || r.Corrected == nil {
				t.Fatalf("mode %q rate %v corrected %v", r.Mode, r.TargetRate, r.Corrected)
			}
			c := r.Corrected
			if c.Count != 200 || c.P50 < r.Latency.P50 || c.Max < r.Latency.Max {
				t.Errorf("corrected %+v should dominate actual %+v", c, r.Latency)
			}
			// 200 messages at 20k/s cannot finish in under 199 intervals.
			if min := 199 * 50 * time.Microsecond; time.Since(start) < min || r.Latency.Throughput > 20_000*1.01 {
				t.Errorf("ran faster than the rate: %v, %.0f/s", time.Since(start), r.Latency.Throughput)
			}
		})
	}
}

func TestRun_JSON(t *testing.T) {
	r, err := Run(context.Background(), Chan, Config{Count: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"adapter", "message_size", "num_messages", "warmup_messages", "measurement_mode", "latency_stats", "verification_passed"} {
		if _, ok := m[k]; !ok {
			t.Errorf("result JSON lacks %q: %s", k, b)
		}
	}
	if ls, _ := m["latency_stats"].(map[string]any); ls["p50"] == nil || ls["p9999"] == nil {
		t.Errorf("latency_stats lacks percentiles: %s", b)
	}
}

func TestRun_BadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := Run(ctx, "carrier-pigeon", Config{}); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("unknown peer: err = %v", err)
	}
	for _, cfg := range []Config{{Size: 7}, {Size: MaxSize + 1}, {Count: -1}, {Warmup: -1}, {Rate: -5}, {Timeout: -1}} {
		_, err := Run(ctx, UnixSocket, cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrBadConfig) {
			t.Errorf("Run(%+v) err = %v, want *ConfigError", cfg, err)
		}
	}
	if err := Register(streamPeer{name: UnixSocket}); !errors.Is(err, ErrDuplicatePeer) {
		t.Errorf("duplicate Register err = %v", err)
	}
	if err := Register(streamPeer{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("nameless Register err = %v", err)
	}
	if err := Register(nil); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Register(nil) err = %v", err)
	}
	t.Setenv(childEnv, "{}")
	if _, err := Run(ctx, UnixSocket, Config{}); !errors.Is(err, ErrNested) {
		t.Errorf("Run inside an echo process: err = %v", err)
	}
}

func TestRun_EchoSetupFails(t *testing.T) {
	_, err := Run(context.Background(), "fault-setup", Config{Count: 10, Timeout: 20 * time.Second})
	var ee *EchoError
	if !errors.As(err, &ee) || !errors.Is(err, ErrEchoFailed) {
		t.Fatalf("err = %v, want *EchoError", err)
	}
	if want := "injected setup failure"; !contains(ee.Stderr, want) {
		t.Fatalf("stderr %q lacks %q", ee.Stderr, want)
	}
}

func TestRun_CorruptEcho(t *testing.T) {
	_, err := Run(context.Background(), "fault-corrupt", Config{Size: 128, Count: 10, Timeout: 20 * time.Second})
	var pe *PayloadError
	if !errors.As(err, &pe) || pe.Seq != 3 || pe.Offset != 64 {
		t.Fatalf("err = %v, want *PayloadError at message 3 offset 64", err)
	}
}

func TestRun_EchoCrashes(t *testing.T) {
	start := time.Now()
	_, err := Run(context.Background(), "fault-crash", Config{Count: 100, Timeout: 20 * time.Second})
	if !errors.Is(err, ErrEchoFailed) {
		t.Fatalf("err = %v, want ErrEchoFailed", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to notice the crash", d)
	}
}

func TestRun_EchoHangs(t *testing.T) {
	start := time.Now()
	_, err := Run(context.Background(), "fault-hang", Config{Count: 100, Timeout: time.Second})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to give up on a hung echo", d)
	}
}

func TestRun_ContextCancelledDuringSpin(t *testing.T) {
	// The raw reference spins; cancelling must still end it promptly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, RawAtomic, Config{Size: 1 << 20, Count: 1 << 30, Timeout: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to stop", d)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// faultPeer is the Unix socket peer with a fault injected in its echo.
type faultPeer struct {
	fault string
}

func (f faultPeer) Name() string { return "fault-" + f.fault }

func (f faultPeer) Prepare(dir string, cfg Config) (Opener, Link, error) {
	return streamPeer{name: f.Name(), network: "unix"}.Prepare(dir, cfg)
}

func (f faultPeer) Serve(ctx context.Context, link Link, cfg Config, ready func() error) (Echoer, error) {
	if f.fault == "setup" {
		return nil, errors.New("injected setup failure")
	}
	e, err := streamPeer{name: f.Name(), network: "unix"}.Serve(ctx, link, cfg, ready)
	if err != nil {
		return nil, err
	}
	return &faultEcho{streamEcho: e.(*streamEcho), fault: f.fault}, nil
}

type faultEcho struct {
	*streamEcho
	fault string
}

func (f *faultEcho) Echo(seq uint64) error {
	switch {
	case f.fault == "crash" && seq == 5:
		os.Exit(3)
	case f.fault == "hang" && seq == 2:
		time.Sleep(time.Hour) // the initiator's timeout must kill us
	case f.fault == "corrupt" && seq == 3:
		if _, err := readFull(f.rw, f.buf); err != nil {
			return err
		}
		f.buf[64] ^= 0xff
		_, err := f.rw.Write(f.buf)
		return err
	}
	return f.streamEcho.Echo(seq)
}

func TestRun_Serialised(t *testing.T) {
	// A second run waits for the first; one whose timeout passes while
	// waiting gives up with ErrTimeout.
	first := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), "fault-hang", Config{Count: 10, Timeout: time.Second})
		first <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := Run(context.Background(), Chan, Config{Count: 10, Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrTimeout) {
		t.Errorf("second run err = %v, want ErrTimeout while waiting", err)
	}
	if err := <-first; !errors.Is(err, ErrTimeout) {
		t.Errorf("first run err = %v, want ErrTimeout", err)
	}
}
