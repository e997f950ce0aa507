// Package testfix holds small fixtures the tests of several packages of
// this repository share.
package testfix

import (
	"context"
	"os"
	"testing"
	"time"
)

// Within runs f in a goroutine and fails the test if it has not returned
// after d: a call that must not block, checked without hanging the test.
func Within(tb testing.TB, d time.Duration, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		tb.Fatalf("%s did not return within %v", what, d)
	}
}

// Context is a context that ends after d, or when the test ends.
func Context(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// DirNames lists the names in dir, hidden ones included, sorted.
func DirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}
