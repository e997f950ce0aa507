package testfix

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fatalRecorder records the message of a Fatalf (and returns).
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
}

func TestWithin(t *testing.T) {
	ran := false
	Within(t, time.Second, "a quick call", func() { ran = true })
	if !ran {
		t.Fatal("f did not run")
	}
	rec := &fatalRecorder{TB: t}
	release := make(chan struct{})
	defer close(release)
	Within(rec, 20*time.Millisecond, "a blocked call", func() { <-release })
	if !strings.Contains(rec.msg, "a blocked call did not return within 20ms") {
		t.Fatalf("message %q", rec.msg)
	}
}

func TestContext(t *testing.T) {
	ctx := Context(t, 10*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context did not end")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v", ctx.Err())
	}
	var long context.Context
	t.Run("ends with the test", func(t *testing.T) { long = Context(t, time.Hour) })
	if !errors.Is(long.Err(), context.Canceled) {
		t.Fatalf("after its test: %v", long.Err())
	}
}
