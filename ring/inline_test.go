package ring

import (
	"testing"

	"github.com/myelon-go/myelon/internal/testfix"
)

// TestInlining fails when a fast path stops inlining into the publish and
// read calls.
func TestInlining(t *testing.T) {
	testfix.Inlines(t,
		"(*producer).acquireOne",
		"(*producer).tryAcquireOne",
		"(*consumer).ready",
		// readySlow's lean refresh and the release after a read.
		"(*consumer).noteLag",
		"(*consumer).advance",
	)
}
