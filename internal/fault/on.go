//go:build myelonfault

package fault

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Enabled reports whether fault injection is compiled in (the build tag
// myelonfault).
const Enabled = true

var (
	once sync.Once
	mu   sync.Mutex // one draw at a time: the sequence is the seed's
	dec  *decider
)

// load reads the plan from the environment, once. A malformed plan is
// fatal: a chaos run must not silently run without its faults.
func load() {
	s := os.Getenv(EnvVar)
	if s == "" {
		return
	}
	p, err := ParsePlan(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dec = newDecider(p)
}

// Hit is a point where the process's plan may delay, stop or kill it.
func Hit(p Point) { do(p, false) }

// Check is Hit at a point where the operation may also fail: it returns
// ErrInjected when the plan says so.
func Check(p Point) error {
	if do(p, true) == Fail {
		return fmt.Errorf("%w at %s", ErrInjected, p)
	}
	return nil
}

func do(p Point, canFail bool) Action {
	once.Do(load)
	if dec == nil {
		return ""
	}
	mu.Lock()
	a, d := dec.decide(p, canFail)
	mu.Unlock()
	if a != "" {
		// One line per fault, for whoever runs us (myelon chaos counts them).
		fmt.Fprintf(os.Stderr, "%s%s@%s\n", LogPrefix, a, p)
	}
	switch a {
	case Delay:
		time.Sleep(d)
	case Stop:
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	case Kill:
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return a
}
