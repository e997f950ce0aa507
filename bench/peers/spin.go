package peers

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Spin budget of spinUntil, in polls (a load and a compare, about a
// nanosecond each): the context and the closed flag are looked at every
// spinCheckEvery polls; after spinTight polls (about 16 µs) each such look
// also lets the other goroutines of this process run.
const (
	spinCheckEvery = 4096
	spinTight      = 1 << 14
)

// spinUntil busy-waits until w holds want. While waiting w may only hold
// prev (the peer has not answered yet); any other value is a
// *ProtocolError. It gives up when ctx is done or closed is set.
//
// It never gives its core to another process, like the myelon lanes'
// busy-spin wait (which polls with one PAUSE between polls and never yields
// either): a reference that gave up its core on a loaded host, where the
// lanes keep theirs, would wait behind other processes and stop being a
// lower bound. After a long wait it does let other goroutines run
// (runtime.Gosched), which keeps both ends in one process (GOMAXPROCS 1)
// moving and costs a lone spinner nothing but the call.
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
			if i >= spinTight {
				runtime.Gosched()
			}
		}
	}
}
