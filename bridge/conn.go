package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connect dials NATS with endless reconnects, logging the connection's
// events.
func connect(n *NATS, name string, log *slog.Logger) (*nats.Conn, error) {
	if n.Name != "" {
		name = n.Name
	}
	wait := orDur(n.RetryWait, DefaultRetryWait)
	nc, err := nats.Connect(n.URL,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("bridge: disconnected from NATS", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("bridge: reconnected to NATS", "url", c.ConnectedUrl())
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("bridge: connect %s: %w", n.URL, err)
	}
	return nc, nil
}

// waitConnected returns once nc is connected, or with ErrDisconnected
// once it is closed, or ctx's error.
func waitConnected(ctx context.Context, nc *nats.Conn) error {
	if nc.IsConnected() {
		return nil
	}
	ch := nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	defer nc.RemoveStatusListener(ch)
	for {
		switch nc.Status() {
		case nats.CONNECTED:
			return nil
		case nats.CLOSED:
			return ErrDisconnected
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EnsureStream creates the JetStream stream n.Stream capturing n.Subject
// (file storage, limits retention, a duplicate window of
// n.DuplicateWindow), or updates it to that configuration.
func EnsureStream(ctx context.Context, js jetstream.JetStream, n NATS) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       n.Stream,
		Subjects:   []string{n.Subject},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: orDur(n.DuplicateWindow, 2*time.Minute),
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: stream %s: %w", n.Stream, err)
	}
	return s, nil
}

// stream returns n.Stream, created first if n.CreateStream, retrying
// while the server is unreachable.
func stream(ctx context.Context, js jetstream.JetStream, n NATS, log *slog.Logger) (jetstream.Stream, error) {
	for {
		var s jetstream.Stream
		var err error
		if n.CreateStream {
			s, err = EnsureStream(ctx, js, n)
		} else {
			s, err = js.Stream(ctx, n.Stream)
		}
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("bridge: stream %s: %w", n.Stream, err)
		}
		log.Warn("bridge: stream not reachable, retrying", "stream", n.Stream, "err", err)
		if err := sleep(ctx, orDur(n.RetryWait, DefaultRetryWait)); err != nil {
			return nil, err
		}
	}
}

// flush waits until the server has processed everything nc sent, retrying
// while the connection is being re-established, until ctx ends.
func flush(ctx context.Context, nc *nats.Conn) error {
	for {
		if err := waitConnected(ctx, nc); err != nil {
			return err
		}
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := nc.FlushWithContext(fctx)
		cancel()
		// A flush cut by a disconnect also says ErrConnectionClosed (its
		// pong channel is closed); only a closed connection ends the wait.
		if err == nil || ctx.Err() != nil || nc.IsClosed() {
			return err
		}
	}
}
