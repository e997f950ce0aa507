package main

// The processes of myelon chaos: a producer and consumers that keep a
// ledger, a file each, appended one line per step, so that whatever kills
// them, the driver can check afterwards what was acknowledged and what
// was received (chaos.go).
//
// Ledger lines: a producer writes "v N" once Publish (or Send) of value N
// returned: the event is acknowledged. A consumer writes "start" when it
// (re)attaches, "v N" for value N from inside the read callback, before the
// ring counts the event consumed (so a kill between the two redelivers it:
// at least once, and the driver collapses that one duplicate), and
// "lost N" for N events a *LappedError reported.

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
)

// Chaos scenarios.
const (
	scenarioManaged = "managed" // ring, required consumers: nothing acknowledged may be lost
	scenarioPlain   = "plain"   // ring, plain gating consumers: every loss reported exactly
	scenarioFramed  = "framed"  // frame ring, required consumers, multi-frame messages
	scenarioRestart = "restart" // ring, required consumers, the producer killed and restarted
	scenarioMulti   = "multi"   // multi-producer ring, two producer processes, required consumers
	scenarioGroup   = "group"   // ring, a consumer group: each event to one member
)

var scenarios = []string{scenarioManaged, scenarioPlain, scenarioFramed, scenarioRestart, scenarioMulti, scenarioGroup}

// chaosArgs are a chaos process's parameters.
type chaosArgs struct {
	Name      string
	Scenario  string
	Events    int64
	IDs       []string // producer: the consumers' ids
	ID        string   // consumer: its id
	Ledger    string
	Liveness  time.Duration
	Grace     time.Duration
	Timeout   time.Duration
	Capacity  int
	FramedMax int // framed: the largest message
	// Multi: this producer's part (0: the creator, even values; 1: joins,
	// odd values) and the joiner's ledger, which the creator waits on
	// before it closes the ring.
	Part         int
	JoinerLedger string
}

// stride is the step between a producer's values: each of a multi
// scenario's two producers sends every other value.
func (a *chaosArgs) stride() uint64 {
	if a.Scenario == scenarioMulti {
		return 2
	}
	return 1
}

// chaosEvent is a ring scenario's event: a value and a check word, so a
// torn or stale slot shows.
type chaosEvent struct{ Value, Check uint64 }

func checkOf(v uint64) uint64 { return v*0x9e3779b97f4a7c15 ^ 0xdeadbeef }

// payloadOf is the framed scenario's message for value v: v, then bytes
// derived from it, of a size that varies up to max.
func payloadOf(v uint64, max int) []byte {
	n := 8 + int(checkOf(v)%uint64(max-8))
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, v)
	for i := 8; i < n; i++ {
		b[i] = byte(v) + byte(i)
	}
	return b
}

// ledger appends lines to a file, one write each (a kill loses no whole
// line, and a torn last line is ignored when read).
type ledger struct{ f *os.File }

func openLedger(path string) (*ledger, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &ledger{f}, nil
}

func (l *ledger) line(s string) error {
	_, err := l.f.WriteString(s + "\n")
	return err
}

// readLedger returns a ledger's complete lines.
func readLedger(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		s = ""
	}
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// lastAcked returns the last value a producer's ledger acknowledged, -1 if
// none.
func lastAcked(path string) (int64, error) {
	lines, err := readLedger(path)
	if err != nil {
		return -1, err
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(lines[i], "v "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return -1, nil
}

// lastOf is the last value of part (0 or 1) of a multi scenario of n
// events.
func lastOf(n int64, part int64) int64 {
	if (n-1)%2 == part {
		return n - 1
	}
	return n - 2
}

// waitLedger waits until a ledger acknowledged value v.
func waitLedger(ctx context.Context, path string, v int64) error {
	for {
		if last, err := lastAcked(path); err != nil || last >= v {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to reach %d: %w", path, v, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// chaosRole decodes a chaos process's arguments and bounds its life.
func chaosRole(argsJSON string) (chaosArgs, context.Context, context.CancelFunc, error) {
	var a chaosArgs
	if err := json.Unmarshal([]byte(argsJSON), &a); err != nil {
		return a, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Timeout)
	return a, ctx, cancel, nil
}

func chaosProducer(argsJSON string) error {
	a, ctx, cancel, err := chaosRole(argsJSON)
	if err != nil {
		return err
	}
	defer cancel()
	last, err := lastAcked(a.Ledger)
	if err != nil {
		return err
	}
	led, err := openLedger(a.Ledger)
	if err != nil {
		return err
	}
	if err := led.line("start"); err != nil {
		return err
	}
	req := ring.RequiredConfig{IDs: a.IDs, GracePeriod: a.Grace, Action: ring.ReturnError}
	// A restarted producer's Create finds its dead life's segment; it is
	// not replaced while a required consumer has events to read there
	// (*ring.StaleError with Undrained): wait for them to drain it.
	retry := func(create func() error) error {
		for {
			err := create()
			var se *ring.StaleError
			if !errors.As(err, &se) || len(se.Undrained) == 0 {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %w", err, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	var publish func(v uint64) error
	var drain, closeRing func() error
	switch a.Scenario {
	case scenarioFramed:
		var p *frame.Producer
		err := retry(func() (err error) {
			p, err = frame.Create(a.Name, frame.Config{Capacity: a.Capacity, PayloadCapacity: 256, LivenessInterval: a.Liveness})
			return err
		})
		if err != nil {
			return err
		}
		if err := p.Require(req); err != nil {
			return err
		}
		publish = func(v uint64) error { _, err := p.Send(ctx, 0, payloadOf(v, a.FramedMax)); return err }
		drain, closeRing = func() error { return p.Drain(ctx) }, p.Close
	default:
		// A plain ring stays after Close, so that a consumer restarted
		// late still finds it and learns what it lost; so does a group's,
		// whose members end at end of stream; the driver cleans.
		cfg := ring.Config{Capacity: a.Capacity, LivenessInterval: a.Liveness, KeepOnClose: a.Scenario == scenarioPlain || a.Scenario == scenarioGroup}
		var p *ring.Producer[chaosEvent]
		switch {
		case a.Scenario == scenarioMulti && a.Part == 1:
			p, err = ring.Join[chaosEvent](ctx, a.Name, ring.JoinConfig{LivenessInterval: a.Liveness})
		default:
			if a.Scenario == scenarioMulti {
				cfg.MaxProducers = 2
			}
			err = retry(func() (err error) {
				p, err = ring.Create[chaosEvent](a.Name, cfg)
				return err
			})
		}
		if err != nil {
			return err
		}
		switch {
		case a.Scenario == scenarioPlain || a.Scenario == scenarioGroup:
			if err := p.WaitForConsumerIDs(ctx, a.IDs...); err != nil {
				return err
			}
		default:
			if err := p.Require(req); err != nil {
				return err
			}
		}
		publish = func(v uint64) error {
			_, err := p.Publish(ctx, func(e *chaosEvent) { e.Value, e.Check = v, checkOf(v) })
			return err
		}
		drain, closeRing = func() error { return p.Drain(ctx) }, p.Close
		if a.Scenario == scenarioMulti && a.Part == 0 {
			// Closing the creator ends the stream: first wait for the
			// joiner to have sent its part.
			drain = func() error {
				if err := waitLedger(ctx, a.JoinerLedger, lastOf(a.Events, 1)); err != nil {
					return err
				}
				return p.Drain(ctx)
			}
		}
	}
	defer closeRing()
	first := uint64(a.Part)
	if last >= 0 {
		first = uint64(last) + a.stride()
	}
	for v := first; v < uint64(a.Events); v += a.stride() {
		if err := publish(v); err != nil {
			return fmt.Errorf("publish %d: %w", v, err)
		}
		if err := led.line("v " + strconv.FormatUint(v, 10)); err != nil {
			return err
		}
	}
	if err := drain(); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	return closeRing()
}

func chaosConsumer(argsJSON string) error {
	a, ctx, cancel, err := chaosRole(argsJSON)
	if err != nil {
		return err
	}
	defer cancel()
	// A consumer that read the last values and died before end of stream
	// is done: the producer, which waited for it, may have closed the ring
	// already. (A plain or group ring is kept after Close: they attach.)
	if a.Scenario != scenarioPlain && a.Scenario != scenarioGroup && sawLast(a) {
		return nil
	}
	led, err := openLedger(a.Ledger)
	if err != nil {
		return err
	}
	if err := led.line("start"); err != nil {
		return err
	}
	for {
		err := consumeOnce(ctx, a, led)
		switch {
		case errors.Is(err, ring.ErrEndOfStream):
			// The producer drained and closed the ring: the round is over.
			// Whether every value came is the ledger checks' business.
			return nil
		case errors.Is(err, ring.ErrProducerGone):
			// The producer died: its ring is drained; the restarted
			// producer's is another segment. Attach again, unless the last
			// values are in: a restarted producer with nothing left to
			// send may have closed its ring already.
			if a.Scenario != scenarioPlain && a.Scenario != scenarioGroup && sawLast(a) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w while waiting for a restarted producer", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		default:
			return err
		}
	}
}

// sawLast reports whether a consumer's ledger holds the last value (of
// each producer, in the multi scenario).
func sawLast(a chaosArgs) bool {
	lines, _ := readLedger(a.Ledger)
	want := map[string]bool{"v " + strconv.FormatInt(a.Events-1, 10): false}
	if a.Scenario == scenarioMulti && a.Events > 1 {
		want["v "+strconv.FormatInt(a.Events-2, 10)] = false
	}
	for _, l := range lines {
		if _, ok := want[l]; ok {
			want[l] = true
		}
	}
	for _, seen := range want {
		if !seen {
			return false
		}
	}
	return true
}

// consumeOnce attaches and reads until the ring ends under it (its
// error: end of stream, or the producer gone).
func consumeOnce(ctx context.Context, a chaosArgs, led *ledger) error {
	record := func(v uint64) error { return led.line("v " + strconv.FormatUint(v, 10)) }
	if a.Scenario == scenarioFramed {
		c, err := frame.Attach(ctx, a.Name, frame.ConsumerConfig{ID: a.ID, LivenessInterval: a.Liveness})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := led.line("attach"); err != nil {
			return err
		}
		for {
			err := c.Read(ctx, func(m frame.Meta, p []byte) error {
				if len(p) < 8 {
					return fmt.Errorf("message %d: %d bytes", m.ID, len(p))
				}
				v := binary.LittleEndian.Uint64(p)
				if want := payloadOf(v, a.FramedMax); string(want) != string(p) {
					return fmt.Errorf("message %d (value %d): content differs", m.ID, v)
				}
				return record(v)
			})
			if err != nil {
				return err
			}
		}
	}
	cc := ring.ConsumerConfig{ID: a.ID, LivenessInterval: a.Liveness}
	if a.Scenario == scenarioGroup {
		cc.Group = "workers"
	}
	c, err := ring.Attach[chaosEvent](ctx, a.Name, cc)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := led.line("attach"); err != nil {
		return err
	}
	for {
		err := c.Read(ctx, func(e *chaosEvent, _ int64) error {
			if e.Check != checkOf(e.Value) {
				return fmt.Errorf("event %d: torn (check %#x)", e.Value, e.Check)
			}
			return record(e.Value)
		})
		var le *ring.LappedError
		if errors.As(err, &le) {
			if err := led.line("lost " + strconv.FormatInt(le.Missed, 10)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}
