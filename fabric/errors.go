package fabric

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors of configuration and naming.
var (
	// ErrInvalidConfig: a Config or RunnerConfig value is out of range.
	ErrInvalidConfig = errors.New("fabric: invalid config")
	// ErrInvalidName: a prefix or segment name breaks the naming rules
	// (ValidateName, ValidatePrefix).
	ErrInvalidName = errors.New("fabric: invalid name")
)

// Errors of rounds and rendezvous.
var (
	// ErrRendezvous: not every rank attached before the context ended.
	// Match *RendezvousError for which ranks were missing.
	ErrRendezvous = errors.New("fabric: rendezvous incomplete")
	// ErrRound: a round ended without a reply from every rank it
	// addressed. Match *RoundError for the ranks and *RankError for each.
	ErrRound = errors.New("fabric: round incomplete")
	// ErrWorkerFailed: a worker's handler returned an error; the rank's
	// *RankError carries its message.
	ErrWorkerFailed = errors.New("fabric: worker failed")
	// ErrWorkerDown: the worker of a rank died (its liveness lock was
	// released), left (closed its return ring), was not connected when
	// the round was sent, or its handler reported the rank down (a
	// DownCause).
	ErrWorkerDown = errors.New("fabric: worker down")
	// ErrClosed: the scheduler or worker was closed.
	ErrClosed = errors.New("fabric: closed")
)

// Failure says why a rank has no reply in a round.
type Failure uint8

// Failures.
const (
	// Failed: the worker answered with an error from its handler (or a
	// reply the scheduler could not decode). Matches ErrWorkerFailed.
	Failed Failure = iota + 1
	// Deadline: the Gather context ended (deadline or cancellation) before
	// the reply came. Matches the context's error.
	Deadline
	// Down: the worker died, left, or was not connected, or its handler
	// returned a DownCause. Matches ErrWorkerDown.
	Down
)

func (f Failure) String() string {
	switch f {
	case Failed:
		return "failed"
	case Deadline:
		return "deadline"
	case Down:
		return "down"
	}
	return "failure(" + strconv.Itoa(int(f)) + ")"
}

// RankError says why one rank has no (valid) reply in a round. It matches
// ErrWorkerFailed, ErrWorkerDown or the context's error, as Failure says,
// through Err.
type RankError struct {
	Rank    int
	Failure Failure
	Err     error // the cause: the handler's message or DownCause, the liveness report, the context's error
}

func (e *RankError) Error() string {
	return fmt.Sprintf("rank %d %s: %v", e.Rank, e.Failure, e.Err)
}

// Unwrap returns the cause.
func (e *RankError) Unwrap() error { return e.Err }

// RoundError lists the ranks of a round without a valid reply, in rank
// order. It matches ErrRound, and through its ranks' errors
// ErrWorkerFailed, ErrWorkerDown and context.DeadlineExceeded as they
// apply (errors.Is walks every rank).
type RoundError struct {
	Round uint64 // the round's correlation id
	Ranks []*RankError
}

func (e *RoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fabric: round %d incomplete: ", e.Round)
	for i, r := range e.Ranks {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.Error())
	}
	return b.String()
}

// Is reports ErrRound.
func (e *RoundError) Is(target error) bool { return target == ErrRound }

// Unwrap returns the ranks' errors.
func (e *RoundError) Unwrap() []error {
	errs := make([]error, len(e.Ranks))
	for i, r := range e.Ranks {
		errs[i] = r
	}
	return errs
}

// Rank returns the error of one rank, or nil if that rank replied.
func (e *RoundError) Rank(rank int) *RankError {
	for _, r := range e.Ranks {
		if r.Rank == rank {
			return r
		}
	}
	return nil
}

// RendezvousError names the ranks that had not attached when a
// rendezvous's context ended. It matches ErrRendezvous and the context's
// error.
type RendezvousError struct {
	Missing []int   // ranks not attached, ascending
	Last    []error // for each missing rank, the last error met connecting to it (nil: none, it has not come up)
	Cause   error   // the context's error
}

func (e *RendezvousError) Error() string {
	var b strings.Builder
	b.WriteString("fabric: rendezvous incomplete: ranks ")
	for i, r := range e.Missing {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(r))
		if e.Last[i] != nil {
			fmt.Fprintf(&b, " (%v)", e.Last[i])
		}
	}
	fmt.Fprintf(&b, " not attached: %v", e.Cause)
	return b.String()
}

// Is reports ErrRendezvous.
func (e *RendezvousError) Is(target error) bool { return target == ErrRendezvous }

// Unwrap returns the context's error.
func (e *RendezvousError) Unwrap() error { return e.Cause }

// HandlerError is the error a worker's handler returned, as the scheduler
// receives it: the message only. It matches ErrWorkerFailed.
type HandlerError struct{ Message string }

func (e *HandlerError) Error() string { return "fabric: worker failed: " + e.Message }

// Is reports ErrWorkerFailed.
func (e *HandlerError) Is(target error) bool { return target == ErrWorkerFailed }

// DownCause is an error a handler returns, alone or wrapped, to report
// that its rank cannot serve although its worker runs: a proxy worker
// whose remote process is gone, say. The scheduler then reports the rank
// Down (matching ErrWorkerDown), as it does a worker that died, instead of
// Failed. A DownCause crosses to the scheduler by value, so errors.Is
// matches a package-level DownCause sentinel there as in the worker. The
// worker stays attached, so the next round reaches its handler again.
type DownCause string

func (c DownCause) Error() string { return string(c) }

// Is reports ErrWorkerDown.
func (c DownCause) Is(target error) bool { return target == ErrWorkerDown }

// reportedDown is a handler's DownCause as the scheduler receives it: the
// handler's whole message, wrapping the cause.
type reportedDown struct {
	cause DownCause
	msg   string
}

func (e *reportedDown) Error() string { return e.msg }

func (e *reportedDown) Unwrap() error { return e.cause }
