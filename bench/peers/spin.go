package peers

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Spin budget of spinUntil, in loop iterations (a load and a compare each,
// about a nanosecond): spin flat out for the first ~16 µs, so a prompt peer
// is seen at once; then yield to other goroutines now and then; after about
// 65 µs also yield the core to other processes. A peer that has not
// answered by then is not running, which happens when the machine has more
// runnable threads than cores: spinning on would only delay it further.
const (
	spinTight      = 1 << 14
	spinOSYield    = 1 << 16
	spinYieldEvery = 128
	spinCheckEvery = 4096
)

// spinUntil busy-waits until w holds want. While waiting w may only hold
// prev (the peer has not answered yet); any other value is a
// *ProtocolError. It gives up when ctx is done or closed is set.
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
		if i > spinTight && i%spinYieldEvery == 0 {
			if i > spinOSYield {
				osYield()
			} else {
				runtime.Gosched()
			}
		}
	}
}
