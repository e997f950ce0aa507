package ring

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestInlining fails when a fast path stops inlining: each is split from
// its slow path only so that the compiler inlines it into the publish and
// read calls, and a change that pushes one over the inliner's budget would
// otherwise go unnoticed.
func TestInlining(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with the compiler's inlining report")
	}
	goCmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "build", "-gcflags=-m", "-o", "/dev/null", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, fn := range []string{
		"(*producer).acquireOne",
		"(*producer).tryAcquireOne",
		"(*consumer).ready",
		// readySlow's lean refresh and the release after a read.
		"(*consumer).noteLag",
		"(*consumer).advance",
	} {
		if !slices.ContainsFunc(strings.Split(string(out), "\n"), func(l string) bool {
			return strings.HasSuffix(l, "can inline "+fn) || strings.Contains(l, "can inline "+fn+" ")
		}) {
			t.Errorf("%s no longer inlines (go build -gcflags=-m=2 ./ring says why)", fn)
		}
	}
}
