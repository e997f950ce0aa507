package peers

import (
	"context"
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// Spin budget of spinUntil, in polls: the context and the closed flag are
// looked at every spinCheckEvery polls; after spinTight polls, with a
// single P, each such look also lets the other goroutines of this process
// run.
const (
	spinCheckEvery = 4096
	spinTight      = 1 << 14
)

//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// spinUntil busy-waits until w holds want. While waiting w may only hold
// prev (the peer has not answered yet); any other value is a
// *ProtocolError. It gives up when ctx is done or closed is set.
//
// It waits exactly as the myelon lanes' busy-spin does (ring.BusySpin): a
// poll, one PAUSE, and never a yield of the core. A reference that waited
// differently would not be a lower bound: one that gave up its core on a
// loaded host would wait behind other processes, and one that polled
// without PAUSE would take execution resources from a peer copying a large
// message on a sibling hardware thread (the virtual CPUs here may be
// siblings), which measured the ring up to 13% faster than such a
// reference at 64 KiB. Only with a single P (both ends in one process
// under GOMAXPROCS 1, as in TestRoundTrip_NoAllocs) does a long wait let
// the other goroutines run.
func spinUntil(ctx context.Context, closed *atomic.Bool, w *atomic.Uint64, what string, want, prev uint64) error {
	for i := 1; ; i++ {
		v := w.Load()
		if v == want {
			return nil
		}
		if v != prev {
			return &ProtocolError{What: what, Want: want, Got: v}
		}
		if i%spinCheckEvery == 0 {
			if closed.Load() {
				return ErrClosed
			}
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			default:
			}
			if i >= spinTight && runtime.GOMAXPROCS(0) == 1 {
				runtime.Gosched()
			}
		}
		procyield(1)
	}
}
