package typed

import "github.com/myelon-go/myelon/frame"

// FrameOf exposes a typed producer's frame producer to the tests that put
// untagged or mistagged messages on a typed ring.
func FrameOf[T any](p *Producer[T]) *frame.Producer { return p.fp }
