package frame

import (
	"testing"

	"github.com/myelon-go/myelon/internal/testfix"
)

// TestInlining fails when a fast path stops inlining: the public receive
// methods (their guard is in the method they call, to keep them small),
// and the release that most calls find nothing to do for.
func TestInlining(t *testing.T) {
	testfix.Inlines(t,
		"(*Consumer).Recv",
		"(*Consumer).Read",
		"(*Consumer).Process",
		"(*Consumer).TryProcess",
		"(*Consumer).release",
	)
}
