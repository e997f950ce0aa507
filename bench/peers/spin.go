package peers

import (
	"context"
	"sync/atomic"
)

// spinCheckEvery is how many polls of spinUntil pass between looks at the
// context and the closed flag (a poll is a load and a compare, about a
// nanosecond).
const spinCheckEvery = 4096

// spinUntil busy-waits until w holds want. While waiting w may only hold
// prev (the peer has not answered yet); any other value is a
// *ProtocolError. It gives up when ctx is done or closed is set.
//
// It never yields, exactly like the myelon lanes' busy-spin wait (which
// polls with one PAUSE between polls and never yields either): a
// reference that gave up its core on a loaded host, where the lanes keep
// theirs, would wait behind other processes and stop being a lower bound.
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
		}
	}
}
