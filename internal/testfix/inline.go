package testfix

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Inlines fails the test for each function of the package in the current
// directory (a package's tests run there) that the compiler no longer
// inlines, named as the inlining report does, e.g. "(*consumer).ready".
// Fast paths are split from their slow paths only so that they inline
// into the calls that use them; a change that pushes one over the
// inliner's budget would otherwise go unnoticed. Skipped in -short mode
// (it builds the package) and where there is no go command.
func Inlines(tb testing.TB, fns ...string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("builds the package with the compiler's inlining report")
	}
	goCmd, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		tb.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "build", "-gcflags=-m", "-o", "/dev/null", ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	for _, fn := range fns {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasSuffix(l, "can inline "+fn) || strings.Contains(l, "can inline "+fn+" ")
		}) {
			tb.Errorf("%s no longer inlines (go build -gcflags=-m=2 says why)", fn)
		}
	}
}
