package ring

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuffer collects JSON log lines from any goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// events returns the logged records as maps.
func (l *logBuffer) events(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// find returns the first event with msg whose attributes include want.
func find(events []map[string]any, msg string, want map[string]any) map[string]any {
	for _, e := range events {
		if e["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && e[k] == v
		}
		if ok {
			return e
		}
	}
	return nil
}

// TestEvents_KillAndReap: a producer with a Logger logs what happens to
// its ring when a consumer process is SIGKILLed and reaped, when it closes,
// and when a restarted producer replaces the segment of one that was
// SIGKILLed; a consumer with a Logger logs attaching and detaching.
func TestEvents_KillAndReap(t *testing.T) {
	var logs logBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	name := PortableName("ev")
	p, err := Create[procEvent](name, Config{Capacity: 8, LivenessInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	victim := spawn(t, procArgs{Role: "consume", Name: name, ID: "victim", Read: "idle", Wait: "block", After: "hang"})
	victim.Expect("attached")
	victim.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 9 { // one more than the ring holds: blocks until the reap
		if _, err := p.Publish(ctx, func(e *procEvent) { e.set(int64(i)) }); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Attach[procEvent](ctx, name, ConsumerConfig{ID: "watcher", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.Close()

	ev := logs.events(t)
	for _, want := range []struct {
		msg   string
		attrs map[string]any
	}{
		{"ring created", map[string]any{"ring": name, "capacity": 8.0, "level": "INFO"}},
		{"dead consumer detached", map[string]any{"ring": name, "id": "victim", "pid": float64(victim.Pid()), "level": "WARN"}},
		{"consumer attached", map[string]any{"ring": name, "id": "watcher"}},
		{"consumer detached", map[string]any{"ring": name, "id": "watcher"}},
		{"ring closed", map[string]any{"ring": name, "published": 9.0}},
	} {
		if find(ev, want.msg, want.attrs) == nil {
			t.Errorf("no %q event with %v in:\n%s", want.msg, want.attrs, logs.b.String())
		}
	}

	// A producer SIGKILLed, then a new one under the same name.
	stale := PortableName("evs")
	dead := spawn(t, procArgs{Role: "produce", Name: stale, N: -1, After: "hang", Wait: "block"})
	dead.Expect("created")
	dead.Kill()
	p2, err := Create[procEvent](stale, Config{Capacity: 8, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	p2.Close()
	if find(logs.events(t), "stale ring replaced: its owner had died", map[string]any{"ring": stale, "level": "WARN"}) == nil {
		t.Errorf("no stale replacement event in:\n%s", logs.b.String())
	}
}
