package ring

import (
	"fmt"

	"github.com/myelon-go/myelon/internal/sched"
)

// PinThread locks the calling goroutine to its OS thread and pins that
// thread to cpu, for a goroutine that busy-spins on a ring. release undoes
// both. Best effort: pinning fails where the CPU is not in the process's
// allowed set (for example in a container), and on systems other than
// Linux; the error says so.
//
// Children inherit the affinity of the thread that forks them, so start
// helper processes before pinning, or pass CPUs to them explicitly.
func PinThread(cpu int) (release func(), err error) {
	release, err = sched.PinThread(cpu)
	if err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	return release, nil
}
