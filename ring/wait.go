package ring

import (
	"fmt"
	"runtime"
	"time"
	_ "unsafe" // for go:linkname

	"github.com/myelon-go/myelon/internal/sched"
)

// WaitStrategy says how a side that must wait (a consumer on an empty ring,
// a producer on a full one) spends the time. The zero value is Block.
//
// Whatever the strategy, a waiter checks its context and the liveness of its
// peers about every Config.LivenessInterval, so no wait is unbounded.
type WaitStrategy struct {
	kind waitKind
	d    time.Duration
}

type waitKind uint8

const (
	waitBlock waitKind = iota
	waitSpin
	waitYield
	waitSleep
)

var (
	// Block spins briefly (1-5 µs), then parks on a futex in
	// the segment. The other side issues a wake syscall only when the waiter
	// count says someone is parked, so publishing costs one extra load while
	// nobody sleeps. Latency after a quiet period is a futex wake-up (a few
	// to tens of microseconds); an idle waiter uses no CPU. The default.
	Block = WaitStrategy{kind: waitBlock}
	// BusySpin polls in a tight loop with a PAUSE hint: the lowest latency,
	// one full core per waiter. Never run more busy-spinners than cores.
	BusySpin = WaitStrategy{kind: waitSpin}
	// Yield polls and, between polls, lets other goroutines run and calls
	// sched_yield: gives the core to other runnable threads and processes,
	// but still shows as 100% CPU when idle.
	Yield = WaitStrategy{kind: waitYield}
)

// Sleep polls every d. Linux timer slack stretches short sleeps: a
// requested microsecond is typically 50-60 µs, so Sleep trades latency for
// CPU more coarsely than d suggests. d <= 0 means 50 µs.
func Sleep(d time.Duration) WaitStrategy {
	if d <= 0 {
		d = 50 * time.Microsecond
	}
	return WaitStrategy{kind: waitSleep, d: d}
}

// String names the strategy as ParseWaitStrategy (and the CLI) reads it.
func (w WaitStrategy) String() string {
	switch w.kind {
	case waitSpin:
		return "spin"
	case waitYield:
		return "yield"
	case waitSleep:
		return "sleep:" + w.d.String()
	}
	return "block"
}

// MarshalText encodes the strategy as String does, so that configs carry
// it as text (JSON, flags, environment).
func (w WaitStrategy) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText decodes what MarshalText (or ParseWaitStrategy) reads.
func (w *WaitStrategy) UnmarshalText(b []byte) error {
	v, err := ParseWaitStrategy(string(b))
	if err == nil {
		*w = v
	}
	return err
}

// ParseWaitStrategy parses "block", "spin", "yield", "sleep" and
// "sleep:<duration>".
func ParseWaitStrategy(s string) (WaitStrategy, error) {
	switch s {
	case "", "block":
		return Block, nil
	case "spin", "busyspin":
		return BusySpin, nil
	case "yield":
		return Yield, nil
	case "sleep":
		return Sleep(0), nil
	}
	if len(s) > 6 && s[:6] == "sleep:" {
		d, err := time.ParseDuration(s[6:])
		if err != nil {
			return WaitStrategy{}, fmt.Errorf("%w: wait strategy %q: %v", ErrInvalidConfig, s, err)
		}
		return Sleep(d), nil
	}
	return WaitStrategy{}, fmt.Errorf("%w: unknown wait strategy %q (want block, spin, yield, sleep[:d])", ErrInvalidConfig, s)
}

// Spin budget of Block before parking: enough to catch a peer that answers
// within a couple of microseconds (a cross-core hand-off) without parking,
// small enough that an idle waiter is asleep almost at once. Each round is
// one PAUSE, 10-40 ns depending on the CPU (about 25 ns here), so the
// budget is 1-5 µs.
const (
	blockSpinRounds = 100
	// spinCheckEvery is how many empty polls a spinning waiter makes between
	// looks at the clock, its context and its peers' liveness.
	spinCheckEvery = 1024
	// blockCheckEvery is the same for Block's spin phase (about 0.4 µs).
	blockCheckEvery = 16
	// spinPause is the pause between polls of BusySpin and of Block's spin
	// phase: one PAUSE. The wait between polls adds directly to hand-off
	// latency: procyield(10) made the cross-process round trip 2.9x the raw
	// reference, one PAUSE 1.4x (BenchmarkPingPong).
	spinPause = 1
)

//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// pause is one poll's worth of waiting for the non-parking strategies.
func (w WaitStrategy) pause() {
	switch w.kind {
	case waitSpin, waitBlock:
		procyield(spinPause)
	case waitYield:
		// Other goroutines first (sched_yield does not reschedule them:
		// with one P a peer goroutine would wait for preemption), then
		// other threads and processes.
		runtime.Gosched()
		sched.Yield()
	case waitSleep:
		time.Sleep(w.d)
	}
}

// checkAt reports whether poll i (from 1) of a wait is followed by a look
// at the context, the clock and the peers: BusySpin's every spinCheckEvery
// polls, Block's every blockCheckEvery polls of its spin phase and then
// after every park, Yield's and Sleep's after every poll. Block's spin
// phase is where a keeping-up consumer spends its waits: a clock read per
// poll there cost more than the poll.
func (w WaitStrategy) checkAt(i int) bool {
	switch w.kind {
	case waitSpin:
		return i%spinCheckEvery == 0
	case waitBlock:
		return i > blockSpinRounds || i%blockCheckEvery == 0
	}
	return true
}
