package peers

import (
	"context"
	"errors"
)

// runChan measures two goroutines exchanging the message over two Go
// channels, for scale: the cost of an in-process hand-off. The echo
// goroutine copies each message into its own buffer and sends that back.
func runChan(ctx context.Context, cfg Config) (Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ini := &chanInitiator{ping: make(chan []byte, 1), pong: make(chan []byte, 1), done: ctx.Done(), ctx: ctx}
	echoDone := make(chan struct{})
	go func() {
		defer close(echoDone)
		if err := echoAll(ctx, &chanEcho{ini: ini, buf: make([]byte, cfg.Size)}, cfg); err != nil {
			cancel(err)
		}
	}()
	res, err := measure(ctx, ini, cfg)
	cancel(errors.New("run over"))
	<-echoDone // prompt: every wait of the echo goroutine also selects on done
	return res, err
}

type chanInitiator struct {
	ping, pong chan []byte
	done       <-chan struct{}
	ctx        context.Context
}

func (c *chanInitiator) RoundTrip(msg, reply []byte) error {
	select {
	case c.ping <- msg:
	case <-c.done:
		return context.Cause(c.ctx)
	}
	select {
	case r := <-c.pong:
		copy(reply, r)
		return nil
	case <-c.done:
		return context.Cause(c.ctx)
	}
}

// Close is a no-op: cancelling the run's context interrupts RoundTrip.
func (c *chanInitiator) Close() error { return nil }

type chanEcho struct {
	ini *chanInitiator
	buf []byte
}

func (e *chanEcho) Echo(seq uint64) error {
	var m []byte
	select {
	case m = <-e.ini.ping:
	case <-e.ini.done:
		return context.Cause(e.ini.ctx)
	}
	if err := CheckSeq(m, seq, len(e.buf)); err != nil {
		return err
	}
	copy(e.buf, m)
	select {
	case e.ini.pong <- e.buf:
		return nil
	case <-e.ini.done:
		return context.Cause(e.ini.ctx)
	}
}

func (e *chanEcho) Close() error { return nil }
