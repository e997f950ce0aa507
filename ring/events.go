package ring

// Lifecycle logging: a handle given a *slog.Logger (Config.Logger,
// ConsumerConfig.Logger, JoinConfig.Logger) logs what an operator wants in
// the process's own logs: the ring created, a stale segment replaced,
// consumers attaching and leaving, producers joining and closing, and
// every entry of the error log as it happens (a dead consumer detached,
// a stall, an eviction, abandoned sequences, the producer gone, a lap).
// Without a Logger nothing is logged. Every event is on a slow path.

import (
	"context"
	"log/slog"
)

// event logs msg with the ring's name and attrs, if the handle has a
// Logger.
func (s *segment) event(level slog.Level, msg string, attrs ...slog.Attr) {
	if s.log == nil {
		return
	}
	s.log.LogAttrs(context.Background(), level, msg, append(attrs, slog.String("ring", s.name))...)
}

// errorEvents are the log messages, levels and detail names of the error
// log's kinds (logError).
var errorEvents = [...]struct {
	msg    string
	level  slog.Level
	detail string
}{
	ErrorLapped:       {"consumer lapped", slog.LevelDebug, "missed"},
	ErrorCorrupt:      {"impossible value in the segment", slog.LevelError, "value"},
	ErrorDeadConsumer: {"dead consumer detached", slog.LevelWarn, "entry"},
	ErrorAbandoned:    {"dead producer's sequences abandoned", slog.LevelWarn, "count"},
	ErrorStall:        {"required consumer stalled", slog.LevelWarn, "position"},
	ErrorEvicted:      {"required consumer evicted", slog.LevelError, "position"},
	ErrorProducerGone: {"producer gone", slog.LevelWarn, "position"},
}

// errorEvent logs an entry of the error log as it is recorded.
func (s *segment) errorEvent(k ErrorKind, detail int64) {
	if s.log == nil {
		return
	}
	if int(k) < len(errorEvents) && errorEvents[k].msg != "" {
		e := errorEvents[k]
		if k == ErrorDeadConsumer && detail >= 0 && detail < int64(len(s.consumers)) {
			c := &s.consumers[detail]
			s.event(e.level, e.msg, slog.String("id", c.entryID()), slog.Int("pid", int(c.pid.Load())), slog.Int64(e.detail, detail))
			return
		}
		s.event(e.level, e.msg, slog.Int64(e.detail, detail))
		return
	}
	s.event(slog.LevelWarn, "layer error", slog.String("kind", k.String()), slog.Int64("detail", detail))
}
